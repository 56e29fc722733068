import type { Selectable } from 'kysely';
import type { Role } from '../auth/api-token.js';
import type { RoutingFilter } from './routing.js';
import type { SiemIntegrationType } from '../destinations/types.js';
import type { SiemIntegrationsTable } from './tables.js';

// The store's domain records (what `TenantStore` returns) and their mapping from rows.

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
  /** Optional routing filter (minimum severity, event types). */
  filter: RoutingFilter | null;
  errorCount: number;
  lastError: string | null;
  lastErrorAt: Date | null;
  lastEventAt: Date | null;
  /** When a connection test last succeeded. */
  lastTestedOkAt: Date | null;
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
  filter?: RoutingFilter | null;
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
  /** `null` removes the filter. */
  filter?: RoutingFilter | null;
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


/** Cumulative delivery counters of one integration (kept in the store, so they survive restarts). */
export interface DeliveryCounters {
  cursorSeq: number;
  delivered: number;
  succeededAttempts: number;
  failedAttempts: number;
  deadLettered: number;
}

export interface DeadLetterRecord {
  id: string;
  integrationId: string;
  eventId: string;
  /** The canonical event as stored. */
  event: Record<string, unknown>;
  /** `rejected`: the SIEM refused the payload; `expired`: older than the retention before it could be delivered. */
  reason: 'rejected' | 'expired';
  error: string;
  httpStatus: number | null;
  /** `dead`: kept; `replaying`: queued to be sent again. */
  status: 'dead' | 'replaying';
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface DeadLetterPage {
  edges: { node: DeadLetterRecord; cursor: string }[];
  hasNextPage: boolean;
  endCursor: string | null;
}

const dateOrNull = (s: string | null) => (s === null ? null : new Date(s));

/** The columns a {@link SiemIntegrationRecord} is made of: every one but the sealed secrets. */
export const INTEGRATION_RECORD_COLUMNS = [
  'id', 'organization_id', 'customer_id', 'type', 'name', 'enabled', 'config', 'batch_size', 'flush_interval_seconds', 'retry_count',
  'timeout_seconds', 'error_count', 'last_error', 'last_error_at', 'last_event_at', 'last_tested_ok_at', 'created_at', 'updated_at', 'filter',
] as const satisfies readonly Exclude<keyof SiemIntegrationsTable, 'secrets'>[];

/** Row → record. */
export function toIntegrationRecord(row: Omit<Selectable<SiemIntegrationsTable>, 'secrets'>): SiemIntegrationRecord {
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
    lastTestedOkAt: dateOrNull(row.last_tested_ok_at),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    filter: row.filter ? (JSON.parse(row.filter) as RoutingFilter) : null,
  };
}

/** Row → record. */
export function toCounters(row: { cursor_seq: number; delivered: number; succeeded_attempts: number; failed_attempts: number; dead_lettered: number }): DeliveryCounters {
  return {
    cursorSeq: Number(row.cursor_seq),
    delivered: Number(row.delivered),
    succeededAttempts: Number(row.succeeded_attempts),
    failedAttempts: Number(row.failed_attempts),
    deadLettered: Number(row.dead_lettered),
  };
}

/** Row → record. */
export function toApiKeyRecord(row: {
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
