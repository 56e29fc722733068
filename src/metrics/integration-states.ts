import { integrationHealth, type IntegrationHealth } from '../delivery/integration-health.js';
import type { Store } from '../store/store.js';
import { toIntegrationRecord } from '../store/records.js';
import type { SiemIntegrationRecord } from '../store/tenant-store.js';

/** One integration as metrics and operator logs label it. */
export interface IntegrationState {
  record: SiemIntegrationRecord;
  /** The organisation's slug (label values are ids, types and slugs, never free text). */
  organization: string;
  health: IntegrationHealth;
}

/**
 * Every integration of every organisation with its health, in one query over the integrations table
 * (no read of the event log). Used at scrape time and once at start.
 *
 * @example
 * ```ts
 * for (const s of await listIntegrationStates(store)) console.log(s.record.id, s.health);
 * ```
 */
export async function listIntegrationStates(store: Store): Promise<IntegrationState[]> {
  const rows = await store.db
    .selectFrom('siem_integrations')
    .innerJoin('organizations', 'organizations.id', 'siem_integrations.organization_id')
    .selectAll('siem_integrations')
    .select('organizations.slug as organization_slug')
    .execute();
  return rows.map(({ organization_slug, ...row }) => {
    const record = toIntegrationRecord(row);
    return { record, organization: organization_slug, health: integrationHealth(record) };
  });
}

/**
 * Organisation id → slug, loaded once and reloaded when an unknown id appears (organisations are
 * created at run time; slugs never change).
 */
export class OrganizationSlugs {
  readonly #slugs = new Map<string, string>();
  #loading?: Promise<void>;

  constructor(private readonly store: Store) {}

  /** The slug if known now, else undefined (call {@link resolve}). */
  get(organizationId: string): string | undefined {
    return this.#slugs.get(organizationId);
  }

  async resolve(organizationId: string): Promise<string> {
    const known = this.#slugs.get(organizationId);
    if (known !== undefined) return known;
    this.#loading ??= this.store.db
      .selectFrom('organizations')
      .select(['id', 'slug'])
      .execute()
      .then((rows) => {
        for (const r of rows) this.#slugs.set(r.id, r.slug);
      })
      .finally(() => (this.#loading = undefined));
    await this.#loading;
    return this.#slugs.get(organizationId) ?? organizationId;
  }
}
