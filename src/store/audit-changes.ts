import type { Selectable } from 'kysely';
import { SECRET_FIELDS, splitSecrets } from '../destinations/destination-config.js';
import type { DestinationConfig } from '../destinations/types.js';
import { REDACTED } from './redact.js';
import type { SiemIntegrationsTable } from './tables.js';

/** Audit actions, as stored and delivered. */
export const AuditAction = {
  INTEGRATION_CREATED: 'siem.integration.created',
  INTEGRATION_UPDATED: 'siem.integration.updated',
  INTEGRATION_DELETED: 'siem.integration.deleted',
  API_KEY_CREATED: 'api_key.created',
  API_KEY_REVOKED: 'api_key.revoked',
  QUEUE_DISCARDED: 'siem.queue.discarded',
} as const;

/** Human-readable names of audit events as they are delivered to SIEMs. */
export const AUDIT_EVENT_NAMES: Record<string, string> = {
  'siem.integration.created': 'SIEM integration created',
  'siem.integration.updated': 'SIEM integration updated',
  'siem.integration.deleted': 'SIEM integration deleted',
  'api_key.created': 'API key created',
  'api_key.revoked': 'API key revoked',
  'siem.dead_letters.replayed': 'Dead letters replayed',
  'siem.queue.discarded': 'Queued events discarded',
};

/** What the audit log shows of an integration: everything but secrets, which appear only as `[REDACTED]` when set. */
export function auditView(row: Selectable<SiemIntegrationsTable>, config: DestinationConfig): Record<string, unknown> {
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
export function diffViews(before: Record<string, unknown>, after: Record<string, unknown>, rotatedSecrets: string[]): Record<string, unknown> {
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
export function changedSecretPaths(before: DestinationConfig, after: DestinationConfig): string[] {
  const a = splitSecrets(before).secrets;
  const b = splitSecrets(after).secrets;
  return SECRET_FIELDS[before.type].filter((path) => JSON.stringify(a[path]) !== JSON.stringify(b[path]));
}
