import type { Generated } from 'kysely';

/** Row types of the store's tables, as Kysely sees them. Timestamps are ISO-8601 UTC text. */
export interface OrganizationsTable {
  id: string;
  slug: string;
  name: string;
  created_at: string;
}

export interface ApiKeysTable {
  id: string;
  organization_id: string;
  name: string;
  role: string;
  token_hash: string;
  token_prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface SiemIntegrationsTable {
  id: string;
  organization_id: string;
  customer_id: string | null;
  type: string;
  name: string;
  /** 0 or 1 (portable boolean). */
  enabled: number;
  config: string;
  secrets: string;
  batch_size: number;
  flush_interval_seconds: number;
  retry_count: number;
  timeout_seconds: number;
  error_count: Generated<number>;
  last_error: string | null;
  last_error_at: string | null;
  last_event_at: string | null;
  /** When a connection test last succeeded (ISO 8601), or null. */
  last_tested_ok_at: string | null;
  created_at: string;
  updated_at: string;
  /** JSON { minSeverity, eventTypes } or null. */
  filter: string | null;
}

export interface AuditLogTable {
  id: string;
  organization_id: string;
  action: string;
  actor_key_id: string | null;
  actor_name: string;
  target_type: string;
  target_id: string;
  changes: string;
  created_at: string;
}

/** One segment of an organisation's event log: the events of one committed append (see event-log.ts). */
export interface EventSegmentsTable {
  id: Generated<number>;
  organization_id: string;
  first_position: number;
  last_position: number;
  received_at: string;
  /** Stored lines joined by "\n"; '' once every integration has moved past them. */
  events: string;
  /** JSON `[id, customerId | null, severityRank, type, timeMs][]`, one entry per event. */
  facts: string;
}

/** The next position of each organisation's log; appends lock the row. */
export interface LogHeadsTable {
  organization_id: string;
  next_position: number;
}

export interface DeliveryStateTable {
  integration_id: string;
  organization_id: string;
  cursor_seq: number;
  delivered: number;
  succeeded_attempts: number;
  failed_attempts: number;
  dead_lettered: number;
  updated_at: string;
}

export interface DeadLettersTable {
  id: string;
  organization_id: string;
  integration_id: string;
  event_seq: number;
  event_id: string;
  payload: string;
  reason: string;
  error: string;
  http_status: number | null;
  status: string;
  attempts: number;
  created_at: string;
  updated_at: string;
}

/** Who delivers an integration (see lease-*.ts in src/delivery): `owner` is a replica id, null when released. */
export interface DeliveryLeasesTable {
  integration_id: string;
  owner: string | null;
  /** Epoch ms; past it, another replica may claim the lease. */
  expires_at: number;
}

/** Every live replica and its last heartbeat (epoch ms). */
export interface ReplicasTable {
  id: string;
  started_at: number;
  heartbeat_at: number;
}

export interface Database {
  event_segments: EventSegmentsTable;
  log_heads: LogHeadsTable;
  delivery_state: DeliveryStateTable;
  dead_letters: DeadLettersTable;
  delivery_leases: DeliveryLeasesTable;
  replicas: ReplicasTable;
  organizations: OrganizationsTable;
  api_keys: ApiKeysTable;
  siem_integrations: SiemIntegrationsTable;
  audit_log: AuditLogTable;
}
