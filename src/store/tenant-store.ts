import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { ROLES, generateApiToken, hashApiToken, visibleTokenPrefix, type Role } from '../auth/api-token.js';
import type { SecretBox } from '../crypto/secret-box.js';
import {
  DestinationConfigError, mergeConfig, parseDestinationConfig,
} from '../destinations/destination-config.js';
import { descriptorOf } from '../destinations/registry.js';
import type { DestinationConfig, SiemIntegrationType } from '../destinations/types.js';
import type { PreparedEvents } from '../events/prepare-events.js';
import type { SecurityEvent } from '../events/security-event.js';
import type { EventFacts } from '../events/stored-event.js';
import { errorTrackingUpdate, type DeliveryOutcomeUpdate } from './error-tracking.js';
import type { RoutingFilter } from './routing.js';
import type { AppendedEvent, EventLog } from './event-log.js';
import { isPostgres } from './database.js';
import type { GroupCommit } from './group-commit.js';
import { redactSecrets } from './redact.js';
import { InvalidInputError, RecordNotFoundError, asStoreError } from './store-errors.js';
import { openDestinationConfig, sealDestinationConfig } from './sealed-config.js';
import type { Database, SiemIntegrationsTable } from './tables.js';

import { AUDIT_EVENT_NAMES, AuditAction, auditView, changedSecretPaths, diffViews } from './audit-changes.js';
import {
  INTEGRATION_RECORD_COLUMNS, toApiKeyRecord, toCounters, toIntegrationRecord,
  type Actor, type ApiKeyRecord, type AuditPage, type CreateIntegrationInput, type DeadLetterPage, type DeadLetterRecord,
  type DeliveryCounters, type IntegrationFilter, type SiemIntegrationRecord, type UpdateIntegrationInput,
} from './records.js';

export * from './records.js';
export { AuditAction } from './audit-changes.js';

/** The API key that sent events was revoked (or deleted) before they could be committed; nothing was stored. */
export class ApiKeyRevokedError extends Error {
  readonly code = 'SIEMGATE_API_KEY_REVOKED';
  constructor() {
    super('The API key is invalid or revoked');
    this.name = 'ApiKeyRevokedError';
  }
}
export type { DeliveryOutcomeUpdate };

/** How the store tells the delivery engine about changes, after they commit. */
export interface StoreNotifier {
  eventsAppended(organizationId: string, events: AppendedEvent[]): void;
  integrationChanged(organizationId: string, integrationId: string): void;
  /** An API key was revoked in this process (other processes' revocations are found by polling, see RevocationMonitor). */
  apiKeyRevoked?(organizationId: string, keyId: string): void;
}


/** One `POST /v1/events` waiting to be committed. */
export interface IngestJob {
  prepared: PreparedEvents;
  keyId?: string;
}

/** What every TenantStore of a {@link Store} shares. */
export interface TenantShared {
  db: Kysely<Database>;
  box: SecretBox;
  now: () => Date;
  notify: StoreNotifier;
  log: EventLog;
  /** Ingests of one organisation arriving together commit together (one fsync). */
  ingestCommits: GroupCommit<IngestJob, { accepted: number; duplicates: number }>;
}

const iso = (d: Date) => d.toISOString();

/**
 * Everything one organisation may read and change. Every query here filters on `organization_id`, so a
 * resolver holding a `TenantStore` cannot reach another organisation's rows, whatever id it is given:
 * tenant scoping lives here, not in resolvers.
 *
 * Every change and its audit entry are written in one transaction: a rejected change writes nothing.
 *
 * @example
 * ```ts
 * const tenant = store.tenant(principal.organizationId);
 * const created = await tenant.createIntegration({ name: 'Splunk', type: 'SPLUNK', config }, actor);
 * ```
 */
export class TenantStore {
  private readonly db: Kysely<Database>;
  private readonly box: SecretBox;
  private readonly now: () => Date;
  private readonly notify: StoreNotifier;
  private readonly log: EventLog;
  private readonly ingestCommits: GroupCommit<IngestJob, { accepted: number; duplicates: number }>;

  constructor(
    shared: TenantShared,
    readonly organizationId: string,
  ) {
    this.db = shared.db;
    this.box = shared.box;
    this.now = shared.now;
    this.notify = shared.notify;
    this.log = shared.log;
    this.ingestCommits = shared.ingestCommits;
  }

  // ── integrations ────────────────────────────────────────────────────────────

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

  // ── events and delivery ─────────────────────────────────────────────────────

  /**
   * Stores validated events in the organisation's log: committed before this resolves, so an
   * acknowledged event survives a crash. Ids already stored are skipped (idempotent re-sends).
   * With `keyId`, stores nothing and throws {@link ApiKeyRevokedError} unless that key is still active at commit.
   */
  async ingest(events: readonly SecurityEvent[], options: { keyId?: string } = {}): Promise<{ accepted: number; duplicates: number }> {
    let duplicates = 0;
    await this.write(async (trx) => {
      // The key that sent the events must still be valid when they commit: checked inside the same
      // transaction, so a key revoked while its upload was in progress stores nothing.
      if (options.keyId !== undefined) await this.checkKeyActive(trx, options.keyId);
      const result = await this.log.append(trx, this.organizationId, events, this.now());
      duplicates = result.duplicates;
      return result.appended;
    });
    return { accepted: events.length, duplicates };
  }

  /**
   * {@link ingest} for events prepared by `prepareEvents` (validated and serialised, possibly on another thread).
   * Same guarantees: committed before this resolves, ids stored once, nothing stored when `keyId` was revoked.
   */
  ingestPrepared(prepared: PreparedEvents, options: { keyId?: string } = {}): Promise<{ accepted: number; duplicates: number }> {
    return this.ingestCommits.submit(this.organizationId, { prepared, keyId: options.keyId });
  }

  /** Commits ingests of this organisation that arrived together in one transaction (see {@link GroupCommit}). */
  async commitIngests(jobs: readonly IngestJob[]): Promise<({ accepted: number; duplicates: number } | Error)[]> {
    const results: ({ accepted: number; duplicates: number } | Error)[] = [];
    await this.write(async (trx) => {
      results.length = 0;
      const appended: AppendedEvent[] = [];
      for (const { prepared, keyId } of jobs) {
        try {
          if (keyId !== undefined) await this.checkKeyActive(trx, keyId);
        } catch (error) {
          results.push(error as Error);
          continue;
        }
        const lines = prepared.lines.split('\n');
        const facts = JSON.parse(prepared.facts) as EventFacts[];
        const result = await this.log.appendStored(trx, this.organizationId, { lines, facts, joined: prepared.lines, factsJson: prepared.facts }, this.now());
        for (const a of result.appended) appended.push(a);
        results.push({ accepted: prepared.count, duplicates: result.duplicates });
      }
      return appended;
    });
    return results;
  }

  /** Throws {@link ApiKeyRevokedError} unless the key is still active in this organisation (inside the commit's transaction). */
  private async checkKeyActive(trx: Transaction<Database>, keyId: string): Promise<void> {
    const query = trx.selectFrom('api_keys').select('revoked_at').where('id', '=', keyId).where('organization_id', '=', this.organizationId);
    // PostgreSQL: a revocation committing meanwhile waits for this transaction, or this one sees it (SQLite has one writer).
    const key = await (isPostgres(this.db) ? query.forShare() : query).executeTakeFirst();
    if (!key || key.revoked_at !== null) throw new ApiKeyRevokedError();
  }

  /** Delivery counters of one integration. @throws RecordNotFoundError */
  async deliveryState(integrationId: string): Promise<DeliveryCounters> {
    const row = await this.db
      .selectFrom('delivery_state')
      .selectAll()
      .where('integration_id', '=', integrationId)
      .where('organization_id', '=', this.organizationId)
      .executeTakeFirst();
    if (!row) throw new RecordNotFoundError('SiemIntegration', integrationId);
    return toCounters(row);
  }

  /** Delivery counters of every integration of the organisation, by integration id. */
  async deliveryStates(): Promise<Map<string, DeliveryCounters>> {
    const rows = await this.db
      .selectFrom('delivery_state')
      .select(['integration_id', 'cursor_seq', 'delivered', 'succeeded_attempts', 'failed_attempts', 'dead_lettered'])
      .where('organization_id', '=', this.organizationId)
      .execute();
    return new Map(rows.map((r) => [r.integration_id, toCounters(r)]));
  }

  /** Dead letters of an integration, oldest first, as a page. @throws RecordNotFoundError */
  async deadLetters(integrationId: string, options: { first: number; after?: string | null }): Promise<DeadLetterPage> {
    await this.getIntegration(integrationId);
    let q = this.db
      .selectFrom('dead_letters')
      .selectAll()
      .where('integration_id', '=', integrationId)
      .where('organization_id', '=', this.organizationId);
    if (options.after) {
      const seq = Number(Buffer.from(options.after, 'base64url').toString('utf8').replace(/^dl:/, ''));
      if (!Number.isSafeInteger(seq)) throw new InvalidInputError([{ path: 'after', message: 'is not a cursor from this connection' }]);
      q = q.where('event_seq', '>', seq);
    }
    const rows = await q.orderBy('event_seq').limit(options.first + 1).execute();
    const page = rows.slice(0, options.first);
    const cursorOf = (seq: number) => Buffer.from(`dl:${seq}`, 'utf8').toString('base64url');
    return {
      edges: page.map((r) => ({
        cursor: cursorOf(r.event_seq),
        node: {
          id: r.id,
          integrationId: r.integration_id,
          eventId: r.event_id,
          event: JSON.parse(r.payload) as Record<string, unknown>,
          reason: r.reason as DeadLetterRecord['reason'],
          error: r.error,
          httpStatus: r.http_status,
          status: r.status as DeadLetterRecord['status'],
          attempts: r.attempts,
          createdAt: new Date(r.created_at),
          updatedAt: new Date(r.updated_at),
        },
      })),
      hasNextPage: rows.length > options.first,
      endCursor: page.length ? cursorOf(page.at(-1)!.event_seq) : null,
    };
  }

  /**
   * Queues an integration's dead letters to be sent again (ahead of new events). Returns how many.
   * Writes `siem.dead_letters.replayed`. @throws RecordNotFoundError
   */
  async replayDeadLetters(integrationId: string, actor: Actor): Promise<number> {
    let count = 0;
    await this.write(async (trx) => {
      const row = await this.selectIntegration(trx, integrationId);
      if (!row) throw new RecordNotFoundError('SiemIntegration', integrationId);
      const result = await trx
        .updateTable('dead_letters')
        .set({ status: 'replaying', updated_at: iso(this.now()) })
        .where('integration_id', '=', integrationId)
        .where('organization_id', '=', this.organizationId)
        .where('status', '=', 'dead')
        .executeTakeFirst();
      count = Number(result.numUpdatedRows);
      if (count === 0) return [];
      return this.audit(trx, actor, 'siem.dead_letters.replayed', 'SiemIntegration', integrationId, { count });
    });
    if (count > 0) this.notify.integrationChanged(this.organizationId, integrationId);
    return count;
  }

  /**
   * Drops an integration's backlog: moves its cursor to the head of the log and sends its dead letters
   * queued for replay back to `dead`, in one transaction with the `siem.queue.discarded` audit entry
   * (delivered like every audit event, so it reaches this integration too when it routes there).
   * Events ingested afterwards are delivered as usual. @throws RecordNotFoundError
   */
  async discardQueuedEvents(integrationId: string, actor: Actor): Promise<{ discarded: number; replaysCancelled: number }> {
    const result = { discarded: 0, replaysCancelled: 0 };
    await this.write(async (trx) => {
      const row = await this.selectIntegration(trx, integrationId);
      if (!row) throw new RecordNotFoundError('SiemIntegration', integrationId);
      const state = await trx.selectFrom('delivery_state').select('cursor_seq').where('integration_id', '=', integrationId).executeTakeFirstOrThrow();
      const cursor = Number(state.cursor_seq);
      const head = await this.log.head(trx, this.organizationId);
      const route = { customerId: row.customer_id, filter: row.filter ? (JSON.parse(row.filter) as RoutingFilter) : null };
      result.discarded = await this.log.countRouted(trx, this.organizationId, route, cursor, head);
      const at = iso(this.now());
      if (head > cursor) await trx.updateTable('delivery_state').set({ cursor_seq: head, updated_at: at }).where('integration_id', '=', integrationId).execute();
      const cancelled = await trx
        .updateTable('dead_letters')
        .set({ status: 'dead', updated_at: at })
        .where('integration_id', '=', integrationId)
        .where('organization_id', '=', this.organizationId)
        .where('status', '=', 'replaying')
        .executeTakeFirst();
      result.replaysCancelled = Number(cancelled.numUpdatedRows);
      return this.audit(trx, actor, AuditAction.QUEUE_DISCARDED, 'SiemIntegration', integrationId, { discarded: result.discarded, replaysCancelled: result.replaysCancelled });
    });
    this.notify.integrationChanged(this.organizationId, integrationId);
    return result;
  }

  // ── API keys ────────────────────────────────────────────────────────────────

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const rows = await this.db.selectFrom('api_keys').selectAll().where('organization_id', '=', this.organizationId).orderBy('created_at').orderBy('id').execute();
    return rows.map(toApiKeyRecord);
  }

  /**
   * Creates an API key and returns its token, the only time it is ever available. Writes `api_key.created`.
   * With `token`, that exact token is used (the bootstrap token); otherwise a new one is generated.
   */
  async createApiKey(input: { name: string; role: Role; token?: string }, actor: Actor): Promise<{ key: ApiKeyRecord; token: string }> {
    if (!ROLES.includes(input.role)) throw new InvalidInputError([{ path: 'role', message: `must be one of ${ROLES.join(', ')}` }]);
    const token = input.token ?? generateApiToken();
    const row = {
      id: randomUUID(),
      organization_id: this.organizationId,
      name: input.name,
      role: input.role,
      token_hash: hashApiToken(token),
      token_prefix: visibleTokenPrefix(token),
      created_at: iso(this.now()),
      last_used_at: null,
      revoked_at: null,
    };
    await this.write(async (trx) => {
      await trx.insertInto('api_keys').values(row).execute();
      return this.audit(trx, actor, AuditAction.API_KEY_CREATED, 'ApiKey', row.id, { after: { name: row.name, role: row.role, tokenPrefix: row.token_prefix } });
    });
    return { key: toApiKeyRecord(row), token };
  }

  /** Revokes a key (idempotent for an already revoked key); writes `api_key.revoked`. @throws RecordNotFoundError */
  async revokeApiKey(id: string, actor: Actor): Promise<ApiKeyRecord> {
    let result: ApiKeyRecord | undefined;
    await this.write(async (trx) => {
      const row = await trx.selectFrom('api_keys').selectAll().where('id', '=', id).where('organization_id', '=', this.organizationId).executeTakeFirst();
      if (!row) throw new RecordNotFoundError('ApiKey', id);
      if (row.revoked_at) {
        result = toApiKeyRecord(row);
        return [];
      }
      const revokedAt = iso(this.now());
      await trx.updateTable('api_keys').set({ revoked_at: revokedAt }).where('id', '=', id).where('organization_id', '=', this.organizationId).execute();
      result = toApiKeyRecord({ ...row, revoked_at: revokedAt });
      return this.audit(trx, actor, AuditAction.API_KEY_REVOKED, 'ApiKey', id, { before: { name: row.name, role: row.role, tokenPrefix: row.token_prefix } });
    });
    this.notify.apiKeyRevoked?.(this.organizationId, id);
    return result!;
  }

  // ── audit log ───────────────────────────────────────────────────────────────

  /**
   * The audit log, newest first, as a page for a Relay-style connection. `after` is an opaque cursor from a previous page.
   */
  async auditLog(options: { first: number; after?: string | null; action?: string | null }): Promise<AuditPage> {
    let q = this.db.selectFrom('audit_log').selectAll().where('organization_id', '=', this.organizationId);
    if (options.action) q = q.where('action', '=', options.action);
    if (options.after) {
      const cursor = decodeCursor(options.after);
      q = q.where((eb) => eb.or([eb('created_at', '<', cursor.createdAt), eb.and([eb('created_at', '=', cursor.createdAt), eb('id', '<', cursor.id)])]));
    }
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.first + 1).execute();
    const page = rows.slice(0, options.first);
    const last = page.at(-1);
    return {
      edges: page.map((r) => ({
        cursor: encodeCursor(r.created_at, r.id),
        node: {
        id: r.id,
        organizationId: r.organization_id,
        action: r.action,
        actorKeyId: r.actor_key_id,
        actorName: r.actor_name,
        targetType: r.target_type,
        targetId: r.target_id,
        changes: JSON.parse(r.changes) as Record<string, unknown>,
        createdAt: new Date(r.created_at),
        },
      })),
      hasNextPage: rows.length > options.first,
      endCursor: last ? encodeCursor(last.created_at, last.id) : null,
    };
  }

  // ── internals ───────────────────────────────────────────────────────────────

  private selectIntegration(db: Kysely<Database> | Transaction<Database>, id: string) {
    return db.selectFrom('siem_integrations').selectAll().where('id', '=', id).where('organization_id', '=', this.organizationId).executeTakeFirst();
  }

  private decryptConfig(row: Selectable<SiemIntegrationsTable>): DestinationConfig {
    return openDestinationConfig(row, this.box);
  }

  /**
   * Writes an audit entry and, in the same transaction, enters it into the organisation's event log:
   * the gateway's own audit trail is delivered to its SIEMs like any other event (secrets redacted).
   */
  private async audit(trx: Transaction<Database>, actor: Actor, action: string, targetType: string, targetId: string, changes: Record<string, unknown>): Promise<AppendedEvent[]> {
    const at = this.now();
    const id = randomUUID();
    const redacted = redactSecrets(changes);
    await trx
      .insertInto('audit_log')
      .values({
        id,
        organization_id: this.organizationId,
        action,
        actor_key_id: actor.keyId,
        actor_name: actor.name,
        target_type: targetType,
        target_id: targetId,
        changes: JSON.stringify(redacted),
        created_at: iso(at),
      })
      .execute();
    const event: SecurityEvent = {
      id,
      time: at,
      type: action,
      name: AUDIT_EVENT_NAMES[action] ?? action,
      severity: action.endsWith('.deleted') || action.endsWith('.revoked') || action === AuditAction.QUEUE_DISCARDED ? 'MEDIUM' : 'LOW',
      outcome: 'success',
      data: { targetType, targetId, actor: { keyId: actor.keyId, name: actor.name }, changes: redacted },
    };
    const { appended } = await this.log.append(trx, this.organizationId, [event], at);
    return appended;
  }

  /** Runs a write transaction; events it appended are announced to the delivery engine after commit. */
  private async write(fn: (trx: Transaction<Database>) => Promise<AppendedEvent[] | void>): Promise<void> {
    const appended = await this.log.write(this.organizationId, fn);
    if (appended && appended.length > 0) this.notify.eventsAppended(this.organizationId, appended);
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw asStoreError(error);
    }
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







function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt))) throw new InvalidInputError([{ path: 'after', message: 'is not a cursor from this connection' }]);
  return { createdAt, id };
}
