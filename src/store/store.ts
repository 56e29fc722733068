import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { Role, hashApiToken, type Role as RoleType } from '../auth/api-token.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { RecordNotFoundError, StoreUnavailableError, asStoreError } from './store-errors.js';
import type { Database } from './tables.js';
import { EventLog, type AppendedEvent, type EventLogOptions } from './event-log.js';
import { GroupCommit } from './group-commit.js';
import { deliveryPort, type DeliveryPort } from './delivery-port.js';
import { TenantStore, type Actor, type ApiKeyRecord, type StoreNotifier, type TenantShared } from './tenant-store.js';

export interface Organization {
  id: string;
  slug: string;
  name: string;
  createdAt: Date;
}

/** An authenticated API key: who is calling, in which organisation, with which role. */
export interface Principal {
  keyId: string;
  keyName: string;
  role: RoleType;
  organization: Organization;
}

/** The organisation created on first start. */
export const DEFAULT_ORGANIZATION_SLUG = 'default';

const SLUG = /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/;

/** A slug that is not lowercase letters, digits and inner dashes or underscores (1..63), e.g. `mssp_partner`. */
export class InvalidSlugError extends Error {
  readonly code = 'SIEMGATE_INVALID_SLUG';
  constructor(slug: string) {
    super(`organisation slug ${JSON.stringify(slug)} must be 1 to 63 lowercase letters, digits or inner dashes or underscores`);
    this.name = 'InvalidSlugError';
  }
}

/**
 * The gateway's persistent state. Only authentication, organisations and operator tooling (CLI,
 * bootstrap) work across organisations here; everything a request may touch goes through
 * {@link Store.tenant}, which is scoped to one organisation.
 *
 * @example
 * ```ts
 * const store = new Store(db, new SecretBox(key));
 * const principal = await store.authenticate(token);
 * const integrations = await store.tenant(principal!.organization.id).listIntegrations();
 * ```
 */
export class Store {
  readonly #listeners: StoreNotifier[] = [];
  readonly #shared: TenantShared;
  /** The organisations' event logs (appends go through {@link TenantStore.ingest}; delivery reads them). */
  readonly log: EventLog;

  constructor(
    readonly db: Kysely<Database>,
    readonly box: SecretBox,
    private readonly now: () => Date = () => new Date(),
    options: { log?: EventLogOptions } = {},
  ) {
    const listeners = this.#listeners;
    this.log = new EventLog(db, options.log);
    this.#shared = {
      db,
      box,
      now,
      log: this.log,
      ingestCommits: new GroupCommit((org, jobs) => this.tenant(org).commitIngests(jobs)),
      notify: {
        eventsAppended: (org: string, events: AppendedEvent[]) => listeners.forEach((l) => l.eventsAppended(org, events)),
        integrationChanged: (org: string, id: string) => listeners.forEach((l) => l.integrationChanged(org, id)),
        apiKeyRevoked: (org: string, id: string) => listeners.forEach((l) => l.apiKeyRevoked?.(org, id)),
      },
    };
  }

  /** The store of one organisation. */
  tenant(organizationId: string): TenantStore {
    return new TenantStore(this.#shared, organizationId);
  }

  /** The delivery engine's narrow access (see {@link DeliveryPort}): never the database handle itself. */
  delivery(): DeliveryPort {
    return deliveryPort({
      db: this.db,
      box: this.box,
      log: this.log,
      subscribe: (listener) => this.subscribe(listener),
      tenant: (organizationId) => this.tenant(organizationId),
    });
  }

  /** Subscribes to committed changes (the delivery engine uses this to wake up). Returns an unsubscribe function. */
  subscribe(listener: StoreNotifier): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /**
   * Looks an API token up by its hash. Returns null for unknown or revoked tokens.
   * @throws StoreUnavailableError when the database cannot answer (never "unknown token" for an outage).
   * Updates `last_used_at` at most once a minute per key, so reads stay cheap.
   */
  async authenticate(token: string): Promise<Principal | null> {
    const row = await this.run(() => this.db
      .selectFrom('api_keys')
      .innerJoin('organizations', 'organizations.id', 'api_keys.organization_id')
      .select([
        'api_keys.id as keyId', 'api_keys.name as keyName', 'api_keys.role', 'api_keys.revoked_at', 'api_keys.last_used_at',
        'organizations.id as orgId', 'organizations.slug', 'organizations.name as orgName', 'organizations.created_at as orgCreatedAt',
      ])
      .where('api_keys.token_hash', '=', hashApiToken(token))
      .executeTakeFirst());
    if (!row || row.revoked_at) return null;
    const now = this.now();
    if (!row.last_used_at || now.getTime() - Date.parse(row.last_used_at) > 60_000) {
      // Best effort: a read-only database must not lock everyone out.
      await this.db.updateTable('api_keys').set({ last_used_at: now.toISOString() }).where('id', '=', row.keyId).execute().catch(() => undefined);
    }
    return {
      keyId: row.keyId,
      keyName: row.keyName,
      role: row.role as RoleType,
      organization: { id: row.orgId, slug: row.slug, name: row.orgName, createdAt: new Date(row.orgCreatedAt) },
    };
  }

  /** True while the key with this id exists and is not revoked: one primary-key lookup, for checks on every operation. */
  async isApiKeyActive(keyId: string): Promise<boolean> {
    const row = await this.db.selectFrom('api_keys').select('revoked_at').where('id', '=', keyId).executeTakeFirst();
    return row !== undefined && row.revoked_at === null;
  }

  /** Of these key ids, the ones revoked (or gone), by primary-key lookups in chunks. */
  async inactiveApiKeyIds(keyIds: readonly string[]): Promise<string[]> {
    const inactive: string[] = [];
    for (let i = 0; i < keyIds.length; i += 500) {
      const chunk = keyIds.slice(i, i + 500);
      const rows = await this.db.selectFrom('api_keys').select(['id', 'revoked_at']).where('id', 'in', chunk).execute();
      const active = new Set(rows.filter((r) => r.revoked_at === null).map((r) => r.id));
      for (const id of chunk) if (!active.has(id)) inactive.push(id);
    }
    return inactive;
  }

  async findOrganization(slug: string): Promise<Organization | null> {
    const row = await this.db.selectFrom('organizations').selectAll().where('slug', '=', slug).executeTakeFirst();
    return row ? { id: row.id, slug: row.slug, name: row.name, createdAt: new Date(row.created_at) } : null;
  }

  /** Returns the organisation with this slug, creating it if new. @throws InvalidSlugError */
  async ensureOrganization(slug: string, name = slug): Promise<{ organization: Organization; created: boolean }> {
    if (!SLUG.test(slug)) throw new InvalidSlugError(slug);
    const existing = await this.findOrganization(slug);
    if (existing) return { organization: existing, created: false };
    const row = { id: randomUUID(), slug, name, created_at: this.now().toISOString() };
    try {
      await this.db.insertInto('organizations').values(row).onConflict((oc) => oc.column('slug').doNothing()).execute();
    } catch (error) {
      throw asStoreError(error);
    }
    const organization = await this.findOrganization(slug);
    return { organization: organization!, created: organization!.id === row.id };
  }

  /** True when at least one API key (revoked or not) exists. */
  async hasAnyApiKey(): Promise<boolean> {
    const row = await this.db.selectFrom('api_keys').select('id').limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * First-start bootstrap. With `token`, that exact token is created as an admin key of organisation
   * `default` only when no key with its hash exists: a key that exists, revoked or not, is left as it is,
   * so a revoked bootstrap key stays revoked across restarts (`siemgate keys create` is the way back).
   * Without a token, and only when no key exists at all, a new admin key is created and its token
   * returned (to be printed once).
   */
  async bootstrap(token: string | undefined): Promise<{ token?: string; created: boolean }> {
    const actor: Actor = { keyId: null, name: 'bootstrap' };
    if (token) {
      const existing = await this.db.selectFrom('api_keys').select('id').where('token_hash', '=', hashApiToken(token)).executeTakeFirst();
      if (existing) return { created: false };
      const { organization } = await this.ensureOrganization(DEFAULT_ORGANIZATION_SLUG, 'Default organisation');
      try {
        await this.tenant(organization.id).createApiKey({ name: 'bootstrap', role: Role.ADMIN, token }, actor);
      } catch (error) {
        // Replicas starting together on one database race to create it: the one that lost finds it made.
        const made = await this.db.selectFrom('api_keys').select('id').where('token_hash', '=', hashApiToken(token)).executeTakeFirst();
        if (made) return { created: false };
        throw error;
      }
      return { created: true };
    }
    if (await this.hasAnyApiKey()) return { created: false };
    const { organization } = await this.ensureOrganization(DEFAULT_ORGANIZATION_SLUG, 'Default organisation');
    const created = await this.tenant(organization.id).createApiKey({ name: 'bootstrap admin', role: Role.ADMIN }, actor);
    return { token: created.token, created: true };
  }

  /** Operator tooling: revokes any key by id, whatever its organisation. @throws RecordNotFoundError */
  async revokeApiKeyById(id: string, actor: Actor): Promise<ApiKeyRecord> {
    const row = await this.db.selectFrom('api_keys').select('organization_id').where('id', '=', id).executeTakeFirst();
    if (!row) throw new RecordNotFoundError('ApiKey', id);
    return this.tenant(row.organization_id).revokeApiKey(id, actor);
  }

  /** Runs a read, turning a database that cannot answer into {@link StoreUnavailableError}. */
  private async run<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      throw asStoreError(error);
    }
  }

  /**
   * Checks the database answers (for `/readyz`) within `timeoutMs`.
   * @throws StoreUnavailableError when it does not (refused, lost, or no answer in time).
   */
  async ping(timeoutMs = 3_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(`the database did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.db.selectFrom('organizations').select('id').limit(1).execute(), late]);
    } catch (error) {
      throw asStoreError(error);
    } finally {
      clearTimeout(timer);
    }
  }
}
