import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { ROLES, generateApiToken, hashApiToken, visibleTokenPrefix, type Role } from '../auth/api-token.js';
import type { SecretBox } from '../crypto/secret-box.js';
import {
  DestinationConfigError, SECRET_FIELDS, joinSecrets, mergeConfig, parseDestinationConfig, splitSecrets,
} from '../destinations/destination-config.js';
import type { DestinationConfig, SiemIntegrationType } from '../destinations/types.js';
import { REDACTED, redactSecrets } from './redact.js';
import { InvalidInputError, RecordNotFoundError, asStoreError } from './store-errors.js';
import type { Database, SiemIntegrationsTable } from './tables.js';

/** Who made a change, as the audit log records it. */
export interface Actor {
  /** The API key used; null for the CLI and the bootstrap. */
  keyId: string | null;
  /** e.g. the key's name, `cli`, `bootstrap`. */
  name: string;
}

export interface Batching {
  /** Events per batch. @default 100 */
  batchSize: number;
  /** Longest wait before a partial batch is sent. @default 10 */
  flushIntervalSeconds: number;
  /** Quick retries before a batch falls back to the slow retry schedule. @default 3 */
  retryCount: number;
  /** Per-attempt timeout. @default 30 */
  timeoutSeconds: number;
}

export const DEFAULT_BATCHING: Batching = { batchSize: 100, flushIntervalSeconds: 10, retryCount: 3, timeoutSeconds: 30 };

/** An integration as stored, without its secrets: what the API shows. */
export interface SiemIntegrationRecord {
  id: string;
  organizationId: string;
  customerId: string | null;
  type: SiemIntegrationType;
  name: string;
  enabled: boolean;
  /** The config without secret fields. */
  config: Record<string, unknown>;
  /** Which secret fields are set (dotted paths, e.g. `token`, `tls.clientKey`). */
  secretFields: string[];
  batching: Batching;
  errorCount: number;
  lastError: string | null;
  lastErrorAt: Date | null;
  lastEventAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateIntegrationInput {
  name: string;
  type: SiemIntegrationType;
  /** The given config fields (defaults are filled in by the store). */
  config: Record<string, unknown>;
  enabled?: boolean;
  customerId?: string | null;
  batching?: Partial<Batching>;
}

export interface UpdateIntegrationInput {
  name?: string;
  /** Must match the stored type when given. */
  type?: SiemIntegrationType;
  config?: Record<string, unknown>;
  enabled?: boolean;
  /** `null` clears it (the integration then receives every customer's events). */
  customerId?: string | null;
  batching?: Partial<Batching>;
}

export interface IntegrationFilter {
  type?: SiemIntegrationType;
  enabled?: boolean;
  customerId?: string;
}

export interface ApiKeyRecord {
  id: string;
  organizationId: string;
  name: string;
  role: Role;
  tokenPrefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface AuditEntry {
  id: string;
  organizationId: string;
  action: string;
  actorKeyId: string | null;
  actorName: string;
  targetType: string;
  targetId: string;
  changes: Record<string, unknown>;
  createdAt: Date;
}

export interface AuditPage {
  /** Entries with their opaque cursors. */
  edges: { node: AuditEntry; cursor: string }[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** Result of a delivery attempt or connection test, for error tracking. */
export type DeliveryOutcomeUpdate =
  /** `eventsDelivered: false` for a connection test: it resets errors but is not a delivered event. */
  | { success: true; at?: Date; eventsDelivered?: boolean }
  | { success: false; error: string; at?: Date };

/** Audit actions, as stored and delivered. */
export const AuditAction = {
  INTEGRATION_CREATED: 'siem.integration.created',
  INTEGRATION_UPDATED: 'siem.integration.updated',
  INTEGRATION_DELETED: 'siem.integration.deleted',
  API_KEY_CREATED: 'api_key.created',
  API_KEY_REVOKED: 'api_key.revoked',
} as const;

/** Error text kept in `lastError` is bounded. */
const MAX_LAST_ERROR_LENGTH = 1000;

const iso = (d: Date) => d.toISOString();
const dateOrNull = (s: string | null) => (s === null ? null : new Date(s));

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
  constructor(
    private readonly db: Kysely<Database>,
    private readonly box: SecretBox,
    readonly organizationId: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  // ── integrations ────────────────────────────────────────────────────────────

  /** The organisation's integrations, oldest first. */
  async listIntegrations(filter: IntegrationFilter = {}): Promise<SiemIntegrationRecord[]> {
    let q = this.db.selectFrom('siem_integrations').selectAll().where('organization_id', '=', this.organizationId);
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
    const batching = { ...DEFAULT_BATCHING, ...stripUndefined(input.batching ?? {}) };
    const id = randomUUID();
    const now = iso(this.now());
    const { publicConfig, secrets } = splitSecrets(config);
    const row: Selectable<SiemIntegrationsTable> = {
      id,
      organization_id: this.organizationId,
      customer_id: input.customerId ?? null,
      type: input.type,
      name: input.name,
      enabled: input.enabled === false ? 0 : 1,
      config: JSON.stringify({ ...publicConfig, secretFields: Object.keys(secrets) }),
      secrets: this.box.seal(JSON.stringify(secrets), id),
      batch_size: batching.batchSize,
      flush_interval_seconds: batching.flushIntervalSeconds,
      retry_count: batching.retryCount,
      timeout_seconds: batching.timeoutSeconds,
      error_count: 0,
      last_error: null,
      last_error_at: null,
      last_event_at: null,
      created_at: now,
      updated_at: now,
    };
    await this.write(async (trx) => {
      await trx.insertInto('siem_integrations').values(row).execute();
      await this.audit(trx, actor, AuditAction.INTEGRATION_CREATED, 'SiemIntegration', id, { after: auditView(row, config) });
    });
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
      const { publicConfig, secrets } = splitSecrets(config);
      const next: Selectable<SiemIntegrationsTable> = {
        ...row,
        name: input.name ?? row.name,
        enabled: input.enabled === undefined ? row.enabled : input.enabled ? 1 : 0,
        customer_id: input.customerId === undefined ? row.customer_id : input.customerId,
        config: JSON.stringify({ ...publicConfig, secretFields: Object.keys(secrets) }),
        secrets: input.config ? this.box.seal(JSON.stringify(secrets), id) : row.secrets,
        batch_size: input.batching?.batchSize ?? row.batch_size,
        flush_interval_seconds: input.batching?.flushIntervalSeconds ?? row.flush_interval_seconds,
        retry_count: input.batching?.retryCount ?? row.retry_count,
        timeout_seconds: input.batching?.timeoutSeconds ?? row.timeout_seconds,
        updated_at: iso(this.now()),
      };
      const changes = diffViews(auditView(row, stored), auditView(next, config), changedSecretPaths(stored, config));
      await trx
        .updateTable('siem_integrations')
        .set({
          name: next.name, enabled: next.enabled, customer_id: next.customer_id, config: next.config, secrets: next.secrets,
          batch_size: next.batch_size, flush_interval_seconds: next.flush_interval_seconds, retry_count: next.retry_count,
          timeout_seconds: next.timeout_seconds, updated_at: next.updated_at,
        })
        .where('id', '=', id)
        .where('organization_id', '=', this.organizationId)
        .execute();
      await this.audit(trx, actor, AuditAction.INTEGRATION_UPDATED, 'SiemIntegration', id, changes);
      updated = next;
    });
    return toIntegrationRecord(updated!);
  }

  /** Deletes an integration; writes `siem.integration.deleted`. @throws RecordNotFoundError */
  async deleteIntegration(id: string, actor: Actor): Promise<string> {
    await this.write(async (trx) => {
      const row = await this.selectIntegration(trx, id);
      if (!row) throw new RecordNotFoundError('SiemIntegration', id);
      await trx.deleteFrom('siem_integrations').where('id', '=', id).where('organization_id', '=', this.organizationId).execute();
      await this.audit(trx, actor, AuditAction.INTEGRATION_DELETED, 'SiemIntegration', id, { before: auditView(row, this.decryptConfig(row)) });
    });
    return id;
  }

  /**
   * Error tracking, as the product documentation defines it: a failure increments `errorCount` and sets
   * `lastError`/`lastErrorAt`; a success resets `errorCount` to 0, clears `lastError` and sets `lastEventAt`.
   * `error` must already be free of secrets (adapters guarantee it).
   */
  async recordDeliveryOutcome(id: string, outcome: DeliveryOutcomeUpdate): Promise<SiemIntegrationRecord> {
    const at = iso(outcome.at ?? this.now());
    const q = this.db.updateTable('siem_integrations').where('id', '=', id).where('organization_id', '=', this.organizationId);
    const result = outcome.success
      ? await this.run(() =>
          q.set(outcome.eventsDelivered === false ? { error_count: 0, last_error: null } : { error_count: 0, last_error: null, last_event_at: at }).executeTakeFirst(),
        )
      : await this.run(() =>
          q
            .set((eb) => ({
              error_count: eb('error_count', '+', 1),
              last_error: outcome.error.slice(0, MAX_LAST_ERROR_LENGTH),
              last_error_at: at,
            }))
            .executeTakeFirst(),
        );
    if (result.numUpdatedRows === 0n) throw new RecordNotFoundError('SiemIntegration', id);
    return this.getIntegration(id);
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
      await this.audit(trx, actor, AuditAction.API_KEY_CREATED, 'ApiKey', row.id, { after: { name: row.name, role: row.role, tokenPrefix: row.token_prefix } });
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
        return;
      }
      const revokedAt = iso(this.now());
      await trx.updateTable('api_keys').set({ revoked_at: revokedAt }).where('id', '=', id).where('organization_id', '=', this.organizationId).execute();
      await this.audit(trx, actor, AuditAction.API_KEY_REVOKED, 'ApiKey', id, { before: { name: row.name, role: row.role, tokenPrefix: row.token_prefix } });
      result = toApiKeyRecord({ ...row, revoked_at: revokedAt });
    });
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
    const { secretFields: _ignored, ...publicConfig } = JSON.parse(row.config) as Record<string, unknown>;
    const secrets = JSON.parse(this.box.open(row.secrets, row.id)) as Record<string, unknown>;
    return joinSecrets(publicConfig, secrets);
  }

  private async audit(trx: Transaction<Database>, actor: Actor, action: string, targetType: string, targetId: string, changes: Record<string, unknown>) {
    await trx
      .insertInto('audit_log')
      .values({
        id: randomUUID(),
        organization_id: this.organizationId,
        action,
        actor_key_id: actor.keyId,
        actor_name: actor.name,
        target_type: targetType,
        target_id: targetId,
        changes: JSON.stringify(redactSecrets(changes)),
        created_at: iso(this.now()),
      })
      .execute();
  }

  private async write(fn: (trx: Transaction<Database>) => Promise<void>): Promise<void> {
    await this.run(() => this.db.transaction().execute(fn));
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

function toIntegrationRecord(row: Selectable<SiemIntegrationsTable>): SiemIntegrationRecord {
  const { secretFields, ...config } = JSON.parse(row.config) as Record<string, unknown> & { secretFields?: string[] };
  return {
    id: row.id,
    organizationId: row.organization_id,
    customerId: row.customer_id,
    type: row.type as SiemIntegrationType,
    name: row.name,
    enabled: row.enabled === 1,
    config,
    secretFields: secretFields ?? [],
    batching: {
      batchSize: row.batch_size,
      flushIntervalSeconds: row.flush_interval_seconds,
      retryCount: row.retry_count,
      timeoutSeconds: row.timeout_seconds,
    },
    errorCount: row.error_count,
    lastError: row.last_error,
    lastErrorAt: dateOrNull(row.last_error_at),
    lastEventAt: dateOrNull(row.last_event_at),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toApiKeyRecord(row: {
  id: string; organization_id: string; name: string; role: string; token_prefix: string; created_at: string; last_used_at: string | null; revoked_at: string | null;
}): ApiKeyRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    role: row.role as Role,
    tokenPrefix: row.token_prefix,
    createdAt: new Date(row.created_at),
    lastUsedAt: dateOrNull(row.last_used_at),
    revokedAt: dateOrNull(row.revoked_at),
  };
}

/** What the audit log shows of an integration: everything but secrets, which appear only as `[REDACTED]` when set. */
function auditView(row: Selectable<SiemIntegrationsTable>, config: DestinationConfig): Record<string, unknown> {
  const view = structuredClone(config) as unknown as Record<string, unknown>;
  for (const path of SECRET_FIELDS[config.type]) {
    const [head, tail] = path.split('.') as [string, string | undefined];
    const holder = tail === undefined ? view : (view[head] as Record<string, unknown> | undefined);
    const key = tail ?? head;
    if (holder && holder[key] !== undefined) holder[key] = REDACTED;
  }
  return {
    name: row.name,
    type: row.type,
    enabled: row.enabled === 1,
    customerId: row.customer_id,
    batching: { batchSize: row.batch_size, flushIntervalSeconds: row.flush_interval_seconds, retryCount: row.retry_count, timeoutSeconds: row.timeout_seconds },
    config: view,
  };
}

/**
 * Before/after of the fields that changed. Secrets compare by value (inside the transaction) but are
 * recorded only as `[REDACTED]`, so an audit reader sees that a token was rotated, never the token.
 */
function diffViews(before: Record<string, unknown>, after: Record<string, unknown>, rotatedSecrets: string[]): Record<string, unknown> {
  const changed: { field: string; before: unknown; after: unknown }[] = [];
  const rotated = new Set(rotatedSecrets.map((p) => `config.${p}`));
  const walk = (a: unknown, b: unknown, path: string) => {
    const isObj = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
    if (isObj(a) && isObj(b)) {
      const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
      for (const k of keys) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b) || rotated.has(path)) changed.push({ field: path, before: a ?? null, after: b ?? null });
  };
  walk(before, after, '');
  return { changed: changed.map((c) => c.field), before: Object.fromEntries(changed.map((c) => [c.field, c.before])), after: Object.fromEntries(changed.map((c) => [c.field, c.after])) };
}

/** Secret fields whose value differs between two configs of the same integration. */
function changedSecretPaths(before: DestinationConfig, after: DestinationConfig): string[] {
  const a = splitSecrets(before).secrets;
  const b = splitSecrets(after).secrets;
  return SECRET_FIELDS[before.type].filter((path) => JSON.stringify(a[path]) !== JSON.stringify(b[path]));
}

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt))) throw new InvalidInputError([{ path: 'after', message: 'is not a cursor from this connection' }]);
  return { createdAt, id };
}
