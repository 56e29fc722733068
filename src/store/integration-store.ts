import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import {
  DestinationConfigError, mergeConfig, parseDestinationConfig,
} from '../destinations/destination-config.js';
import { descriptorOf } from '../destinations/registry.js';
import type { DestinationConfig, SiemIntegrationType } from '../destinations/types.js';
import { AuditAction, auditView, changedSecretPaths, diffViews } from './audit-changes.js';
import { errorTrackingUpdate, type DeliveryOutcomeUpdate } from './error-tracking.js';
import {
  INTEGRATION_RECORD_COLUMNS, toIntegrationRecord,
  type Actor, type CreateIntegrationInput, type IntegrationFilter, type SiemIntegrationRecord, type UpdateIntegrationInput,
} from './records.js';
import { openDestinationConfig, sealDestinationConfig } from './sealed-config.js';
import { InvalidInputError, RecordNotFoundError } from './store-errors.js';
import type { SiemIntegrationsTable } from './tables.js';
import { TenantScoped, iso } from './tenant-scope.js';

/** One organisation's SIEM integrations: their sealed configs, batching, routing and error tracking. */
export class IntegrationStore extends TenantScoped {
  /** The organisation's integrations, oldest first. */
  async listIntegrations(filter: IntegrationFilter = {}): Promise<SiemIntegrationRecord[]> {
    // Not the sealed secrets: a list never opens them.
    let q = this.db.selectFrom('siem_integrations').select(INTEGRATION_RECORD_COLUMNS).where('organization_id', '=', this.organizationId);
    if (filter.type !== undefined) q = q.where('type', '=', filter.type);
    if (filter.enabled !== undefined) q = q.where('enabled', '=', filter.enabled ? 1 : 0);
    if (filter.customerId !== undefined) q = q.where('customer_id', '=', filter.customerId);
    const rows = await q.orderBy('created_at').orderBy('id').execute();
    return rows.map(toIntegrationRecord);
  }

  /** One integration, or null when there is none with this id in this organisation. */
  async findIntegration(id: string): Promise<SiemIntegrationRecord | null> {
    const row = await this.selectIntegration(this.db, id);
    return row ? toIntegrationRecord(row) : null;
  }

  /** Like {@link findIntegration}, but throws {@link RecordNotFoundError}. */
  async getIntegration(id: string): Promise<SiemIntegrationRecord> {
    const found = await this.findIntegration(id);
    if (!found) throw new RecordNotFoundError('SiemIntegration', id);
    return found;
  }

  /** The decrypted, complete destination config, for adapters. Never leaves the process. */
  async getDestinationConfig(id: string): Promise<DestinationConfig> {
    const row = await this.selectIntegration(this.db, id);
    if (!row) throw new RecordNotFoundError('SiemIntegration', id);
    return this.decryptConfig(row);
  }

  /**
   * Creates an integration and its `siem.integration.created` audit entry.
   *
   * @throws InvalidInputError naming each broken rule by input path (`config.<type>.<field>`).
   */
  async createIntegration(input: CreateIntegrationInput, actor: Actor): Promise<SiemIntegrationRecord> {
    const member = input.type.toLowerCase();
    const config = parseOrThrow(input.type, input.config, `config.${member}`);
    const batching = { ...descriptorOf(input.type).batching, ...stripUndefined(input.batching ?? {}) };
    const id = randomUUID();
    const now = iso(this.now());
    const sealed = sealDestinationConfig(config, id, this.box);
    const row: Selectable<SiemIntegrationsTable> = {
      id,
      organization_id: this.organizationId,
      customer_id: input.customerId ?? null,
      type: input.type,
      name: input.name,
      enabled: input.enabled === false ? 0 : 1,
      config: sealed.config,
      secrets: sealed.secrets,
      batch_size: batching.batchSize,
      flush_interval_seconds: batching.flushIntervalSeconds,
      retry_count: batching.retryCount,
      timeout_seconds: batching.timeoutSeconds,
      error_count: 0,
      last_error: null,
      last_error_at: null,
      last_event_at: null,
      last_tested_ok_at: null,
      created_at: now,
      updated_at: now,
      filter: input.filter ? JSON.stringify(input.filter) : null,
    };
    await this.write(async (trx) => {
      await trx.insertInto('siem_integrations').values(row).execute();
      // A new integration receives events from now on.
      await trx.insertInto('delivery_state').values({ integration_id: id, organization_id: this.organizationId, cursor_seq: await this.log.head(trx, this.organizationId), delivered: 0, succeeded_attempts: 0, failed_attempts: 0, dead_lettered: 0, updated_at: now }).execute();
      return this.audit(trx, actor, AuditAction.INTEGRATION_CREATED, 'SiemIntegration', id, { after: auditView(row, config) });
    });
    this.notify.integrationChanged(this.organizationId, id);
    return toIntegrationRecord(row);
  }

  /**
   * Partial update: only given fields change; omitted config fields (secrets included) keep their stored
   * values; the type cannot change. Writes `siem.integration.updated` with before/after of the changed fields.
   *
   * @throws RecordNotFoundError, InvalidInputError
   */
  async updateIntegration(id: string, input: UpdateIntegrationInput, actor: Actor): Promise<SiemIntegrationRecord> {
    let updated: Selectable<SiemIntegrationsTable> | undefined;
    await this.write(async (trx) => {
      const row = await this.selectIntegration(trx, id);
      if (!row) throw new RecordNotFoundError('SiemIntegration', id);
      const type = row.type as SiemIntegrationType;
      if (input.type !== undefined && input.type !== type) {
        throw new InvalidInputError([{
          path: `config.${input.type.toLowerCase()}`,
          message: `the type of an integration cannot change (this one is ${type}); give config.${type.toLowerCase()}, or create a new integration`,
        }]);
      }
      const stored = this.decryptConfig(row);
      const config = input.config ? parseOrThrow(type, mergeConfig(stored, input.config), `config.${type.toLowerCase()}`) : stored;
      const sealed = input.config ? sealDestinationConfig(config, id, this.box) : { config: row.config, secrets: row.secrets };
      const next: Selectable<SiemIntegrationsTable> = {
        ...row,
        name: input.name ?? row.name,
        enabled: input.enabled === undefined ? row.enabled : input.enabled ? 1 : 0,
        customer_id: input.customerId === undefined ? row.customer_id : input.customerId,
        config: sealed.config,
        secrets: sealed.secrets,
        batch_size: input.batching?.batchSize ?? row.batch_size,
        flush_interval_seconds: input.batching?.flushIntervalSeconds ?? row.flush_interval_seconds,
        retry_count: input.batching?.retryCount ?? row.retry_count,
        timeout_seconds: input.batching?.timeoutSeconds ?? row.timeout_seconds,
        filter: input.filter === undefined ? row.filter : input.filter === null ? null : JSON.stringify(input.filter),
        updated_at: iso(this.now()),
      };
      const changes = diffViews(auditView(row, stored), auditView(next, config), changedSecretPaths(stored, config));
      await trx
        .updateTable('siem_integrations')
        .set({
          name: next.name, enabled: next.enabled, customer_id: next.customer_id, config: next.config, secrets: next.secrets,
          batch_size: next.batch_size, flush_interval_seconds: next.flush_interval_seconds, retry_count: next.retry_count,
          timeout_seconds: next.timeout_seconds, filter: next.filter, updated_at: next.updated_at,
        })
        .where('id', '=', id)
        .where('organization_id', '=', this.organizationId)
        .execute();
      // Disabling pauses: the cursor stays where it is, so events queued before and while disabled are
      // delivered after re-enabling (dropping them is `discardQueuedEvents`).
      updated = next;
      return this.audit(trx, actor, AuditAction.INTEGRATION_UPDATED, 'SiemIntegration', id, changes);
    });
    this.notify.integrationChanged(this.organizationId, id);
    return toIntegrationRecord(updated!);
  }

  /** Deletes an integration; writes `siem.integration.deleted`. @throws RecordNotFoundError */
  async deleteIntegration(id: string, actor: Actor): Promise<string> {
    await this.write(async (trx) => {
      const row = await this.selectIntegration(trx, id);
      if (!row) throw new RecordNotFoundError('SiemIntegration', id);
      await trx.deleteFrom('siem_integrations').where('id', '=', id).where('organization_id', '=', this.organizationId).execute();
      await trx.deleteFrom('delivery_state').where('integration_id', '=', id).execute();
      await trx.deleteFrom('dead_letters').where('integration_id', '=', id).where('organization_id', '=', this.organizationId).execute();
      return this.audit(trx, actor, AuditAction.INTEGRATION_DELETED, 'SiemIntegration', id, { before: auditView(row, this.decryptConfig(row)) });
    });
    this.notify.integrationChanged(this.organizationId, id);
    return id;
  }

  /**
   * Error tracking, as the product documentation defines it: a failure increments `errorCount` and sets
   * `lastError`/`lastErrorAt`; a success resets `errorCount` to 0, clears `lastError` and sets `lastEventAt`.
   * `error` must already be free of secrets (adapters guarantee it).
   */
  async recordDeliveryOutcome(id: string, outcome: DeliveryOutcomeUpdate): Promise<SiemIntegrationRecord> {
    const result = await this.run(() =>
      this.db
        .updateTable('siem_integrations')
        .set(errorTrackingUpdate(outcome, outcome.at ?? this.now()) as never)
        .where('id', '=', id)
        .where('organization_id', '=', this.organizationId)
        .executeTakeFirst(),
    );
    if (result.numUpdatedRows === 0n) throw new RecordNotFoundError('SiemIntegration', id);
    return this.getIntegration(id);
  }

  private decryptConfig(row: Selectable<SiemIntegrationsTable>): DestinationConfig {
    return openDestinationConfig(row, this.box);
  }
}

function parseOrThrow(type: SiemIntegrationType, value: Record<string, unknown>, prefix: string): DestinationConfig {
  try {
    return parseDestinationConfig(type, value);
  } catch (error) {
    if (error instanceof DestinationConfigError) {
      throw new InvalidInputError(error.issues.map((i) => ({ path: i.path ? `${prefix}.${i.path}` : prefix, message: i.message })));
    }
    throw error;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}
