import { integrationHealth } from '../delivery/integration-health.js';
import { SECRET_FIELDS } from '../destinations/destination-config.js';
import { SiemIntegrationType } from '../destinations/types.js';
import type { ConfigIssue } from '../destinations/destination-config.js';
import type { SiemIntegrationRecord } from '../store/records.js';
import { DESTINATION_FIELDS, TLS_FIELDS, memberOf, type DestinationMember, type FieldSpec } from './destination-fields.js';

/**
 * The REST representation of integrations, as the product documentation writes it: snake_case keys
 * (`workspace_id`, `shared_key`, `log_type`), lower-case `integration_type` and enum values (`tcp`),
 * webhook `headers` as an object of name → value, and secrets only as `has_<field>` booleans.
 * Derived from the destination field table, so GraphQL, REST and the OpenAPI document cannot drift apart.
 */

/** `workspaceId` → `workspace_id`. */
export const snake = (camel: string): string => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Lower-case REST type names, in the documentation's order. */
export const REST_TYPES = Object.keys(DESTINATION_FIELDS) as DestinationMember[];

/** `splunk` → `SPLUNK`, or undefined for an unknown name. */
export function typeFromRest(name: unknown): SiemIntegrationType | undefined {
  return typeof name === 'string' && (REST_TYPES as string[]).includes(name) ? (name.toUpperCase() as SiemIntegrationType) : undefined;
}

/** Whether a config field (top-level, camelCase) is a secret of this type: write-only, answered as `has_<field>`. */
export function isSecretField(type: SiemIntegrationType, field: string): boolean {
  return SECRET_FIELDS[type].includes(field);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Translates a REST `config` object to the internal (camelCase) config. Unknown keys, and `headers` or
 * `tls` of the wrong shape, are issues with REST paths (`config.foo`); value rules are left to the
 * store's check, whose paths {@link restPath} translates back.
 *
 * @example
 * ```ts
 * configFromRest('SENTINEL', { workspace_id: 'w', shared_key: 'k' }); // { config: { workspaceId: 'w', sharedKey: 'k' }, issues: [] }
 * ```
 */
export function configFromRest(type: SiemIntegrationType, rest: Record<string, unknown>): { config: Record<string, unknown>; issues: ConfigIssue[] } {
  const member = memberOf(type);
  const fields = DESTINATION_FIELDS[member].fields;
  const bySnake = new Map(Object.keys(fields).map((f) => [snake(f), f]));
  const config: Record<string, unknown> = {};
  const issues: ConfigIssue[] = [];
  for (const [key, value] of Object.entries(rest)) {
    const field = bySnake.get(key);
    if (!field) {
      issues.push({ path: `config.${key}`, message: `is not a ${member} field (known: ${[...bySnake.keys()].join(', ')})` });
      continue;
    }
    const spec = fields[field]!;
    if (value === null || value === undefined) continue;
    if (spec.type === 'Headers') {
      if (!isPlainObject(value)) issues.push({ path: `config.${key}`, message: 'must be an object of header names to values' });
      else config[field] = Object.entries(value).map(([name, v]) => ({ name, value: v }));
    } else if (spec.type === 'Tls') {
      if (!isPlainObject(value)) {
        issues.push({ path: `config.${key}`, message: 'must be an object' });
        continue;
      }
      const tlsBySnake = new Map(Object.keys(TLS_FIELDS).map((f) => [snake(f), f]));
      const tls: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const f = tlsBySnake.get(k);
        if (!f) issues.push({ path: `config.${key}.${k}`, message: `is not a tls field (known: ${[...tlsBySnake.keys()].join(', ')})` });
        else if (v !== null && v !== undefined) tls[f] = v;
      }
      config[field] = tls;
    } else if (typeof spec.type === 'object') {
      config[field] = typeof value === 'string' ? value.toUpperCase() : value;
    } else {
      config[field] = value;
    }
  }
  return { config, issues };
}

/**
 * Translates an input path of the service or store (`config.sentinel.workspaceId`, `batching.batchSize`,
 * `customerId`, `config.webhook.headers.0.name`) to the REST body's path (`config.workspace_id`,
 * `batching.batch_size`, `customer_id`, `config.headers.X-Custom-Header`).
 */
export function restPath(path: string, headerNames: readonly string[] = []): string {
  const parts = path.split('.');
  if (parts[0] === 'config' && (REST_TYPES as string[]).includes(parts[1] ?? '')) parts.splice(1, 1);
  if (parts[0] === 'config' && parts[1] === 'headers' && /^\d+$/.test(parts[2] ?? '')) {
    const name = headerNames[Number(parts[2])];
    return name === undefined ? 'config.headers' : `config.headers.${name}`;
  }
  return parts.map((p) => (/^\d+$/.test(p) ? p : snake(p))).join('.');
}

/** The REST answer for one integration. Never carries a secret, whole or in part. */
export interface RestIntegration {
  id: string;
  integration_type: DestinationMember;
  name: string;
  enabled: boolean;
  customer_id: string | null;
  config: Record<string, unknown>;
  batching: { batch_size: number; flush_interval_seconds: number; retry_count: number; timeout_seconds: number };
  health: 'unknown' | 'healthy' | 'degraded' | 'failing' | 'disabled';
  error_count: number;
  last_error: string | null;
  last_error_at: string | null;
  last_event_at: string | null;
  created_at: string;
  updated_at: string;
}

/** Secret fields of a type that the REST answer shows as `has_<field>` (top level only; `tls.clientKey` shows as `tls.has_client_key`). */
export function secretFlags(type: SiemIntegrationType): string[] {
  return SECRET_FIELDS[type].filter((f) => !f.includes('.'));
}

const enumOut = (spec: FieldSpec, value: unknown) => (typeof spec.type === 'object' && typeof value === 'string' ? value.toLowerCase() : value);

/**
 * The REST representation of an integration record.
 *
 * @example
 * ```ts
 * toRestIntegration(record).config; // { endpoint: 'https://…', has_token: true, index: 'arxsec', sourcetype: '_json', … }
 * ```
 */
export function toRestIntegration(record: SiemIntegrationRecord): RestIntegration {
  const member = memberOf(record.type);
  const fields = DESTINATION_FIELDS[member].fields;
  const config: Record<string, unknown> = {};
  if (record.type === SiemIntegrationType.SENTINEL && typeof record.config.api === 'string') config.api = record.config.api.toLowerCase();
  for (const [field, spec] of Object.entries(fields)) {
    if (isSecretField(record.type, field)) {
      config[`has_${snake(field)}`] = record.secretFields.includes(field);
      if (field === 'headers') config.header_names = (record.config.headerNames as string[] | undefined) ?? [];
      continue;
    }
    const value = record.config[field];
    if (spec.type === 'Tls') {
      const tls = value as Record<string, unknown> | undefined;
      const hasClientKey = record.secretFields.includes('tls.clientKey');
      if (!tls && !hasClientKey) continue;
      config.tls = {
        ...(tls?.caCert !== undefined ? { ca_cert: tls.caCert } : {}),
        ...(tls?.clientCert !== undefined ? { client_cert: tls.clientCert } : {}),
        reject_unauthorized: tls?.rejectUnauthorized !== false,
        has_client_key: hasClientKey,
      };
      continue;
    }
    // Defaults the store does not write (e.g. `gzip` when created without it) are shown as they act.
    const effective = value ?? spec.default;
    if (effective !== undefined && effective !== null) config[snake(field)] = enumOut(spec, effective);
  }
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: record.id,
    integration_type: member,
    name: record.name,
    enabled: record.enabled,
    customer_id: record.customerId,
    config,
    batching: {
      batch_size: record.batching.batchSize,
      flush_interval_seconds: record.batching.flushIntervalSeconds,
      retry_count: record.batching.retryCount,
      timeout_seconds: record.batching.timeoutSeconds,
    },
    health: integrationHealth(record).toLowerCase() as RestIntegration['health'],
    error_count: record.errorCount,
    last_error: record.lastError,
    last_error_at: iso(record.lastErrorAt),
    last_event_at: iso(record.lastEventAt),
    created_at: record.createdAt.toISOString(),
    updated_at: record.updatedAt.toISOString(),
  };
}
