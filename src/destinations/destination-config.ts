import { descriptorOf, SECRET_FIELDS, type DestinationConfig, type SiemIntegrationType } from './registry.js';

/**
 * Validation, partial-update merge and secret handling of destination configs, the same for every
 * destination: what differs lives in each destination's descriptor (`src/destinations/<name>/descriptor.ts`).
 */

export { SECRET_FIELDS };

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
  const result = descriptorOf(type).schema.safeParse(stripUndefined({ ...value, type }));
  if (!result.success) {
    throw new DestinationConfigError(
      result.error.issues.map((issue) => ({
        path: issue.path.join('.'),
        message: issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')} for ${type}` : issue.message,
      })),
    );
  }
  return result.data;
}

function stripUndefined<T extends Record<string, unknown>>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || v === null) continue;
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? stripUndefined(v as Record<string, unknown>) : v;
  }
  return out as T;
}

/** Names of the header-list fields of a type (their header names stay public, as `headerNames`). */
function headerListFields(type: SiemIntegrationType): string[] {
  return Object.entries(descriptorOf(type).fields).filter(([, f]) => f.type === 'Headers').map(([name]) => name);
}

/**
 * Splits a config into its public part and its secret fields (the descriptor's `secret` markers). Of a
 * header list, the names stay public as `headerNames`.
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
  for (const field of headerListFields(config.type)) {
    const headers = (config as unknown as Record<string, { name: string }[] | undefined>)[field];
    if (headers) publicConfig.headerNames = headers.map((h) => h.name);
  }
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
 * keep their values; nested `tls` merges field by field; `headers` is replaced as a whole. Then the
 * destination's own cases (its descriptor's `merge`), e.g. a CEF transport change dropping the old transport's fields.
 *
 * @example
 * ```ts
 * mergeConfig(stored, { index: 'security' }); // token and everything else unchanged
 * ```
 */
export function mergeConfig(stored: DestinationConfig, patch: Record<string, unknown>): Record<string, unknown> {
  const descriptor = descriptorOf(stored.type);
  const merged: Record<string, unknown> = structuredClone(stored) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (descriptor.fields[key]?.type === 'Tls' && value !== null && typeof value === 'object') {
      merged[key] = { ...(merged[key] as Record<string, unknown> | undefined), ...stripUndefined(value as Record<string, unknown>) };
    } else {
      merged[key] = value;
    }
  }
  descriptor.merge?.(stored, patch, merged);
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
