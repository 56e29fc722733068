import { z } from 'zod';
import {
  base64KeyRule, dcrImmutableIdRule, facilityRule, guidRule, headerNameRule, headerValueRule, hostRule, identifierRule,
  logTypeRule, pemCertificateRule, pemPrivateKeyRule, portRule, secretRule, streamNameRule, tenantIdRule, textRule,
  timeoutSecondsRule, urlRule,
} from './shared/config-rules.js';
import type { DestinationConfig, SiemIntegrationType } from './types.js';

/** One broken rule in a destination config; `path` is relative to the config, e.g. `endpoint` or `tls.caCert`. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** A destination config breaks one or more rules. */
export class DestinationConfigError extends Error {
  readonly code = 'SIEMGATE_INVALID_CONFIG';
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '));
    this.name = 'DestinationConfigError';
  }
}

const tls = z
  .object({
    caCert: pemCertificateRule.optional(),
    clientCert: pemCertificateRule.optional(),
    clientKey: pemPrivateKeyRule.optional(),
    rejectUnauthorized: z.boolean().default(true),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (!!v.clientCert !== !!v.clientKey) {
      ctx.addIssue({ code: 'custom', path: [v.clientCert ? 'clientKey' : 'clientCert'], message: 'clientCert and clientKey must be given together' });
    }
  });

const http = {
  tls: tls.optional(),
  timeoutSeconds: timeoutSecondsRule.optional(),
  gzip: z.boolean().optional(),
};

const splunk = z
  .object({
    type: z.literal('SPLUNK'),
    endpoint: urlRule,
    token: secretRule,
    index: identifierRule.optional(),
    source: identifierRule.optional(),
    sourcetype: identifierRule.default('_json'),
    host: identifierRule.optional(),
    indexerAck: z.boolean().optional(),
    ...http,
  })
  .strict();

const DATA_COLLECTOR_FIELDS = ['workspaceId', 'sharedKey'] as const;
const LOGS_INGESTION_FIELDS = ['dceEndpoint', 'dcrImmutableId', 'streamName', 'tenantId', 'clientId', 'clientSecret'] as const;

/**
 * Sentinel comes as one flat shape (as admins type it) and is told apart by which fields are present:
 * workspaceId/sharedKey → HTTP Data Collector API; dceEndpoint/dcrImmutableId/... → Logs Ingestion API.
 */
const sentinelFlat = z
  .object({
    type: z.literal('SENTINEL'),
    api: z.enum(['DATA_COLLECTOR', 'LOGS_INGESTION']).optional(),
    workspaceId: guidRule.optional(),
    sharedKey: base64KeyRule.optional(),
    logType: logTypeRule.optional(),
    endpoint: urlRule.optional(),
    dceEndpoint: urlRule.optional(),
    dcrImmutableId: dcrImmutableIdRule.optional(),
    streamName: streamNameRule.optional(),
    tenantId: tenantIdRule.optional(),
    clientId: guidRule.optional(),
    clientSecret: secretRule.optional(),
    authorityHost: urlRule.optional(),
    ...http,
  })
  .strict()
  .transform((v, ctx) => {
    const hasDc = DATA_COLLECTOR_FIELDS.some((f) => v[f] !== undefined) || v.logType !== undefined || v.endpoint !== undefined;
    const hasLi = LOGS_INGESTION_FIELDS.some((f) => v[f] !== undefined) || v.authorityHost !== undefined;
    const api = v.api ?? (hasLi && !hasDc ? 'LOGS_INGESTION' : 'DATA_COLLECTOR');
    const required = api === 'DATA_COLLECTOR' ? DATA_COLLECTOR_FIELDS : LOGS_INGESTION_FIELDS;
    const other = api === 'DATA_COLLECTOR' ? ['dceEndpoint', 'dcrImmutableId', 'streamName', 'tenantId', 'clientId', 'clientSecret', 'authorityHost'] : ['workspaceId', 'sharedKey', 'logType', 'endpoint'];
    const missing = required.filter((f) => v[f] === undefined);
    const apiName = api === 'DATA_COLLECTOR' ? 'the HTTP Data Collector API' : 'the Logs Ingestion API';
    for (const f of missing) ctx.addIssue({ code: 'custom', path: [f], message: `is required for ${apiName} (missing: ${missing.join(', ')})` });
    for (const f of other) {
      if ((v as Record<string, unknown>)[f] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [f], message: `belongs to the other Sentinel API; give either workspaceId/sharedKey (Data Collector) or dceEndpoint/dcrImmutableId/streamName/tenantId/clientId/clientSecret (Logs Ingestion)` });
      }
    }
    if (missing.length > 0) return z.NEVER;
    const common = { tls: v.tls, timeoutSeconds: v.timeoutSeconds, gzip: v.gzip };
    if (api === 'DATA_COLLECTOR') {
      return { type: 'SENTINEL' as const, api, workspaceId: v.workspaceId!, sharedKey: v.sharedKey!, logType: v.logType ?? 'ARXSecAudit', endpoint: v.endpoint, ...common };
    }
    return {
      type: 'SENTINEL' as const, api, dceEndpoint: v.dceEndpoint!, dcrImmutableId: v.dcrImmutableId!, streamName: v.streamName!,
      tenantId: v.tenantId!, clientId: v.clientId!, clientSecret: v.clientSecret!, authorityHost: v.authorityHost ?? 'https://login.microsoftonline.com', ...common,
    };
  });

const syslogProtocol = z.enum(['UDP', 'TCP', 'TLS']);

const syslog = z
  .object({
    type: z.literal('SYSLOG'),
    host: hostRule,
    port: portRule.optional(),
    protocol: syslogProtocol.default('TCP'),
    facility: facilityRule.default('local0'),
    format: z.enum(['RFC5424', 'RFC3164']).default('RFC5424'),
    tls: tls.optional(),
    timeoutSeconds: timeoutSecondsRule.optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.tls && v.protocol !== 'TLS') ctx.addIssue({ code: 'custom', path: ['tls'], message: 'applies only with protocol TLS' });
  })
  .transform((v) => ({ ...v, port: v.port ?? (v.protocol === 'TLS' ? 6514 : 514) }));

const webhook = z
  .object({
    type: z.literal('WEBHOOK'),
    endpoint: urlRule,
    secret: secretRule.optional(),
    signatureScheme: z.enum(['ARX', 'STANDARD_WEBHOOKS']).default('ARX'),
    headers: z.array(z.object({ name: headerNameRule, value: headerValueRule }).strict()).max(50, 'at most 50 headers').default([]),
    ...http,
  })
  .strict()
  .superRefine((v, ctx) => {
    const seen = new Set<string>();
    v.headers.forEach((h, i) => {
      const key = h.name.toLowerCase();
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['headers', i, 'name'], message: `duplicates header ${h.name}` });
      seen.add(key);
    });
  });

const crowdstrike = z
  .object({
    type: z.literal('CROWDSTRIKE'),
    endpoint: urlRule,
    token: secretRule,
    repository: identifierRule.optional(),
    parser: identifierRule.optional(),
    ...http,
  })
  .strict();

const arcsight = z
  .object({
    type: z.literal('ARCSIGHT'),
    endpoint: urlRule,
    token: secretRule,
    smartConnectorId: identifierRule.optional(),
    deviceVendor: textRule(63).default('RAXE'),
    deviceProduct: textRule(63).default('ThreatDetection'),
    ...http,
  })
  .strict();

const cef = z
  .object({
    type: z.literal('CEF'),
    transport: z.enum(['HTTP', 'UDP', 'TCP', 'TLS']).default('HTTP'),
    endpoint: urlRule.optional(),
    token: secretRule.optional(),
    host: hostRule.optional(),
    port: portRule.optional(),
    facility: facilityRule.default('local0'),
    deviceVendor: textRule(63).default('RAXE'),
    deviceProduct: textRule(63).default('ThreatDetection'),
    ...http,
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.transport === 'HTTP') {
      if (!v.endpoint) ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'is required for transport HTTP' });
      if (v.host !== undefined) ctx.addIssue({ code: 'custom', path: ['host'], message: 'applies only to transports UDP, TCP and TLS; use endpoint for HTTP' });
      if (v.port !== undefined) ctx.addIssue({ code: 'custom', path: ['port'], message: 'applies only to transports UDP, TCP and TLS; put the port in the endpoint URL' });
    } else {
      if (!v.host) ctx.addIssue({ code: 'custom', path: ['host'], message: `is required for transport ${v.transport}` });
      if (v.endpoint !== undefined) ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'applies only to transport HTTP' });
      if (v.token !== undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: 'applies only to transport HTTP (syslog has no token)' });
      if (v.tls && v.transport !== 'TLS') ctx.addIssue({ code: 'custom', path: ['tls'], message: 'applies only to transports HTTP and TLS' });
    }
  })
  .transform((v) => (v.transport === 'HTTP' ? v : { ...v, port: v.port ?? (v.transport === 'UDP' ? 514 : 6514) }));

const SCHEMAS: Record<SiemIntegrationType, z.ZodTypeAny> = {
  SPLUNK: splunk,
  SENTINEL: sentinelFlat,
  SYSLOG: syslog,
  WEBHOOK: webhook,
  CROWDSTRIKE: crowdstrike,
  ARCSIGHT: arcsight,
  CEF: cef,
};

/**
 * Checks a complete destination config and fills in defaults. The single gate every stored config
 * passes through, on create and on every update (after the partial update is merged).
 *
 * @throws DestinationConfigError naming every broken rule by path.
 * @example
 * ```ts
 * const config = parseDestinationConfig('SPLUNK', { endpoint: 'https://splunk:8088/services/collector/event', token: 't' });
 * config.sourcetype; // "_json"
 * ```
 */
export function parseDestinationConfig(type: SiemIntegrationType, value: Record<string, unknown>): DestinationConfig {
  const result = SCHEMAS[type].safeParse(stripUndefined({ ...value, type }));
  if (!result.success) {
    throw new DestinationConfigError(
      result.error.issues.map((issue) => ({
        path: issue.path.join('.'),
        message: issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')} for ${type}` : issue.message,
      })),
    );
  }
  return result.data as DestinationConfig;
}

function stripUndefined<T extends Record<string, unknown>>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || v === null) continue;
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? stripUndefined(v as Record<string, unknown>) : v;
  }
  return out as T;
}

/**
 * Config fields that are secrets, per type, as dotted paths. They are sealed at rest, never returned by
 * the API (only `hasX` flags), and redacted from the audit log.
 */
export const SECRET_FIELDS: Record<SiemIntegrationType, readonly string[]> = {
  SPLUNK: ['token', 'tls.clientKey'],
  SENTINEL: ['sharedKey', 'clientSecret', 'tls.clientKey'],
  SYSLOG: ['tls.clientKey'],
  WEBHOOK: ['secret', 'headers', 'tls.clientKey'],
  CROWDSTRIKE: ['token', 'tls.clientKey'],
  ARCSIGHT: ['token', 'tls.clientKey'],
  CEF: ['token', 'tls.clientKey'],
};

/**
 * Splits a config into its public part and its secret fields.
 *
 * @example
 * ```ts
 * const { publicConfig, secrets } = splitSecrets(config);
 * // publicConfig has no token; secrets = { token: '...' }
 * ```
 */
export function splitSecrets(config: DestinationConfig): { publicConfig: Record<string, unknown>; secrets: Record<string, unknown> } {
  const publicConfig = structuredClone(config) as unknown as Record<string, unknown>;
  const secrets: Record<string, unknown> = {};
  for (const path of SECRET_FIELDS[config.type]) {
    const [head, tail] = path.split('.') as [string, string | undefined];
    if (tail === undefined) {
      if (publicConfig[head] !== undefined) secrets[path] = publicConfig[head];
      delete publicConfig[head];
    } else {
      const parent = publicConfig[head] as Record<string, unknown> | undefined;
      if (parent && parent[tail] !== undefined) {
        secrets[path] = parent[tail];
        delete parent[tail];
      }
    }
  }
  if (config.type === 'WEBHOOK') publicConfig.headerNames = config.headers.map((h) => h.name);
  return { publicConfig, secrets };
}

/**
 * The inverse of {@link splitSecrets}.
 *
 * @example
 * ```ts
 * const config = joinSecrets(publicConfig, secrets);
 * ```
 */
export function joinSecrets(publicConfig: Record<string, unknown>, secrets: Record<string, unknown>): DestinationConfig {
  const { headerNames: _derived, ...config } = structuredClone(publicConfig);
  for (const [path, value] of Object.entries(secrets)) {
    const [head, tail] = path.split('.') as [string, string | undefined];
    if (tail === undefined) config[head] = value;
    else config[head] = { ...(config[head] as Record<string, unknown> | undefined), [tail]: value };
  }
  return config as unknown as DestinationConfig;
}

/**
 * Applies a partial update: fields given in `patch` replace stored ones, omitted fields (secrets included)
 * keep their values; nested `tls` merges field by field; `headers` is replaced as a whole.
 *
 * @example
 * ```ts
 * mergeConfig(stored, { index: 'security' }); // token and everything else unchanged
 * ```
 */
export function mergeConfig(stored: DestinationConfig, patch: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = structuredClone(stored) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (key === 'tls' && value !== null && typeof value === 'object') {
      merged.tls = { ...(merged.tls as Record<string, unknown> | undefined), ...stripUndefined(value as Record<string, unknown>) };
    } else {
      merged[key] = value;
    }
  }
  // Switching Sentinel API by giving the other API's fields: drop the stored fields of the old API.
  if (stored.type === 'SENTINEL') {
    const toLi = LOGS_INGESTION_FIELDS.some((f) => patch[f] !== undefined);
    const toDc = DATA_COLLECTOR_FIELDS.some((f) => patch[f] !== undefined);
    if (stored.api === 'DATA_COLLECTOR' && toLi && !toDc) {
      for (const f of ['workspaceId', 'sharedKey', 'logType', 'endpoint']) delete merged[f];
      delete merged.api;
    } else if (stored.api === 'LOGS_INGESTION' && toDc && !toLi) {
      for (const f of [...LOGS_INGESTION_FIELDS, 'authorityHost']) delete merged[f];
      delete merged.api;
    }
  }
  if (stored.type === 'CEF' && patch.transport !== undefined && patch.transport !== stored.transport) {
    // A transport change drops the fields of the old transport unless given again.
    if (patch.transport === 'HTTP') {
      if (patch.host === undefined) delete merged.host;
      if (patch.port === undefined) delete merged.port;
    } else {
      if (patch.endpoint === undefined) delete merged.endpoint;
      if (patch.token === undefined) delete merged.token;
      if (patch.port === undefined) delete merged.port;
    }
  }
  if (stored.type === 'SYSLOG' && patch.protocol !== undefined && patch.port === undefined && patch.protocol !== stored.protocol) {
    const defaultPort = stored.protocol === 'TLS' ? 6514 : 514;
    if (stored.port === defaultPort) delete merged.port;
  }
  return merged;
}

/**
 * Every secret value of a config as plain strings, derived from {@link SECRET_FIELDS} (the one list of
 * what is secret), for scrubbing texts that leave the process: `lastError`, attempt errors, test
 * results. Of `headers`, the values (header names are public, like `headerNames`).
 *
 * @example
 * ```ts
 * createSecretScrubber(secretValues(config)).scrub(result.message);
 * ```
 */
export function secretValues(config: DestinationConfig): string[] {
  const out: string[] = [];
  const collect = (v: unknown) => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.name === 'string' && 'value' in o) collect(o.value);
      else Object.values(o).forEach(collect);
    }
  };
  collect(splitSecrets(config).secrets);
  return out;
}
