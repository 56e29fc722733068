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
  created_at: string;
  updated_at: string;
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

export interface Database {
  organizations: OrganizationsTable;
  api_keys: ApiKeysTable;
  siem_integrations: SiemIntegrationsTable;
  audit_log: AuditLogTable;
}
