import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import pino from 'pino';
import { SECRET_KEY_BYTES } from './crypto/secret-box.js';
import { EgressPolicy } from './net/egress-policy.js';
import { isPostgresUrl, redactDatabaseUrl } from './store/database-url.js';

/** A setting from the environment has a value the gateway cannot use. The message names the setting. */
export class SettingsError extends Error {
  readonly code = 'SIEMGATE_BAD_SETTING';
  constructor(
    readonly setting: string,
    detail: string,
  ) {
    super(`${setting}: ${detail}`);
    this.name = 'SettingsError';
  }
}

/** The gateway's settings, read once at start from the environment. */
export interface Settings {
  /** `PORT`: the HTTP port. @default 4000 */
  port: number;
  /** `HOST`: the address to listen on. @default "0.0.0.0" */
  host: string;
  /** `SIEMGATE_DB`: path of the SQLite file. @default "./data/siemgate.db" */
  databasePath: string;
  /**
   * `SIEMGATE_DATABASE_URL`: `postgres://user:password@host:5432/db` runs the store on PostgreSQL instead of the
   * SQLite file (which is then unused). Never logged with its password.
   */
  databaseUrl?: string;
  /**
   * `SIEMGATE_SECRET_KEY`: base64 of 32 random bytes; encrypts secrets at rest. When unset, a key file is
   * generated beside the database (`<db>.key`, mode 0600) and `secretKeySource` is `"file"`.
   */
  secretKey?: Buffer;
  /** `SIEMGATE_BOOTSTRAP_TOKEN`: when set, this exact token is ensured as organisation `default`'s admin key. */
  bootstrapToken?: string;
  /** `SIEMGATE_GRAPHIQL`: serve GraphiQL and allow introspection. @default true */
  graphiql: boolean;
  /** `SIEMGATE_MAX_BODY_BYTES`: the largest request body accepted. @default 1048576 (1 MiB) */
  maxBodyBytes: number;
  /** `SIEMGATE_EGRESS_ALLOW`: comma-separated CIDRs or host:port exempt from the egress policy. @default [] */
  egressAllow: string[];
  /** `SIEMGATE_EGRESS_DENY_PRIVATE`: also refuse RFC 1918 and ULA destinations. @default false */
  egressDenyPrivate: boolean;
  /** `SIEMGATE_LOG_LEVEL`: pino level. @default "info" */
  logLevel: string;
  /** `SIEMGATE_MAX_INGEST_BYTES`: the largest `POST /v1/events` body. @default 10485760 (10 MiB) */
  maxIngestBytes: number;
  /** `SIEMGATE_MAX_INGEST_EVENTS`: the most events in one `POST /v1/events`. @default 10000 */
  maxIngestEvents: number;
  /** `SIEMGATE_INGEST_CONCURRENCY`: ingest requests parsed and committed at once, across organisations (served in turn). @default 2 */
  ingestConcurrency: number;
  /** `SIEMGATE_INGEST_READS_PER_ORG`: ingest bodies one organisation may have arriving (or waiting to be stored) at once. @default 4 */
  ingestReadsPerOrganization: number;
  /** `SIEMGATE_INGEST_BUFFER_BYTES_PER_ORG`: bytes of ingest bodies one organisation may have buffered at once (at least `maxIngestBytes`). @default 20971520 */
  ingestBufferBytesPerOrganization: number;
  /** `SIEMGATE_INGEST_BODY_TIMEOUT_MS`: time an ingest body may take to arrive, per MiB of its size and at least this; then 408. @default 10000 */
  ingestBodyTimeoutMs: number;
  /** `SIEMGATE_RETENTION_DAYS`: undelivered events older than this go to dead letters. @default 7 */
  retentionDays: number;
  /** `SIEMGATE_RETRY_BASE_MS`: first retry backoff step. @default 1000 */
  retryBaseMs: number;
  /** `SIEMGATE_RETRY_MAX_MS`: longest backoff while a SIEM stays down. @default 300000 (5 minutes) */
  retryMaxMs: number;
  /** `SIEMGATE_SHUTDOWN_TIMEOUT_MS`: on SIGTERM, how long in-flight batches may finish before they are handed back. @default 10000 */
  shutdownTimeoutMs: number;
  /**
   * `SIEMGATE_LEASE_SECONDS`: how long a replica's delivery lease of an integration lasts without renewal
   * (renewed every third of it); a dead replica's integrations are taken over within two of these. @default 15
   */
  leaseSeconds: number;
  /**
   * `SIEMGATE_DB_SYNCHRONOUS`: `FULL` (every commit survives power loss) or `NORMAL` (survives a process
   * crash, may lose the last commits on power loss; faster). @default "FULL"
   */
  dbSynchronous: 'FULL' | 'NORMAL';
  /** `SIEMGATE_INGEST_THREADS`: worker threads that parse, validate and serialise `POST /v1/events` bodies; 0: the main thread. @default cores − 1 (at least 1) */
  ingestThreads: number;
  /** `SIEMGATE_METRICS`: serve Prometheus metrics at `GET /metrics` (404 when false). @default true */
  metrics: boolean;
  /**
   * `SIEMGATE_METRICS_TOKEN`: when set, `GET /metrics` requires `Authorization: Bearer <token>` (16 to 256
   * characters without spaces). @default undefined (no token: protect the port by network policy)
   */
  metricsToken?: string;
  /**
   * `SIEMGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION`: active subscriptions one graphql-ws connection may hold;
   * one more is refused with `QUERY_LIMIT_EXCEEDED` and the connection stays open. @default 100
   */
  maxSubscriptionsPerConnection: number;
  /**
   * `SIEMGATE_CORS_ORIGINS`: comma-separated exact origins (`https://console.example.com`) whose browser
   * pages may call the API cross-origin. Empty: no CORS headers for any origin. Never with credentials.
   * @default []
   */
  corsOrigins: string[];
  /**
   * `SIEMGATE_REDIS_URL`: `redis://[user:password@]host[:port][/db]` (or `rediss://`, TLS) carrying live status,
   * delivery attempts and wake-ups between replicas. Unset: they stay within this replica. May hold a password:
   * never logged. @default undefined
   */
  redisUrl?: string;
  /** `SIEMGATE_REDIS_PREFIX`: prefix of the Redis channels (deployments sharing one Redis need different ones). @default "siemgate:" */
  redisPrefix: string;
}

/** The values `SIEMGATE_LOG_LEVEL` accepts: pino's levels, and `silent`. */
export const LOG_LEVELS = [...Object.keys(pino.levels.values), 'silent'] as const;

function parseBoolean(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim().toLowerCase();
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new SettingsError(name, `expected true or false, got ${JSON.stringify(raw)}`);
}

function parseInteger(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new SettingsError(name, `expected a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new SettingsError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function parseChoice<T extends string>(name: string, raw: string | undefined, choices: readonly T[], fallback: T): T {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim().toUpperCase() as T;
  if (!choices.includes(value)) throw new SettingsError(name, `expected one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`);
  return value;
}

/**
 * A Redis URL as error messages may show it: its password (and user name) replaced by `***`; text that
 * does not parse as a URL is not shown at all (it may be a password pasted in the wrong place).
 */
export function redactedRedisUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    if (url.username) url.username = '***';
    return url.href;
  } catch {
    return '(not shown)';
  }
}

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
const HOSTNAME = /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * One setting: its environment variable, what it means, its default as documentation shows it, and its
 * parser. `--help`, the README's settings table (checked by a test) and {@link loadSettings} are all
 * derived from {@link SETTINGS}.
 */
export interface SettingSpec<K extends keyof Settings = keyof Settings> {
  /** The environment variable. */
  env: string;
  /** The default as documentation shows it: a literal value (`"4000"`), or `null` with {@link defaultNote}. */
  default: string | null;
  /** Describes a default that is not a literal value (e.g. "a key file beside the database"). */
  defaultNote?: string;
  /** What the setting does, one line. */
  description: string;
  /** Reads the value (`undefined` when unset or blank). @throws SettingsError naming {@link env} */
  parse(raw: string | undefined): Settings[K];
}

/**
 * Every setting the gateway reads, once each, in the order `--help` and the README list them.
 * To add one: a field in {@link Settings} and a row here (the type checker insists on both).
 */
export const SETTINGS: { readonly [K in keyof Settings]-?: SettingSpec<K> } = {
  port: {
    env: 'PORT',
    default: '4000',
    description: 'HTTP port (0: any free port)',
    parse: (raw) => parseInteger('PORT', raw, 4000, 0, 65535),
  },
  host: {
    env: 'HOST',
    default: '0.0.0.0',
    description: 'address to listen on: an IP address (`0.0.0.0` every IPv4 interface, `::` every interface) or a host name',
    parse: (raw) => {
      const host = raw?.trim() || '0.0.0.0';
      // A name of digits and dots only is a mistyped IP address, not a host name (RFC 3696 §2: no all-numeric top-level label).
      if (isIP(host) === 0 && (!HOSTNAME.test(host) || /^[\d.]+$/.test(host))) throw new SettingsError('HOST', `expected an IP address or a host name, got ${JSON.stringify(raw)}`);
      return host;
    },
  },
  databasePath: {
    env: 'SIEMGATE_DB',
    default: './data/siemgate.db',
    description: 'SQLite file; `serve` creates it, every other command needs it to exist',
    parse: (raw) => {
      const path = resolve(raw?.trim() || 'data/siemgate.db');
      if (existsSync(path) && statSync(path).isDirectory()) throw new SettingsError('SIEMGATE_DB', `${path} is a directory, expected a file`);
      return path;
    },
  },
  databaseUrl: {
    env: 'SIEMGATE_DATABASE_URL',
    default: null,
    defaultNote: 'SQLite (`SIEMGATE_DB`)',
    description: '`postgres://user:password@host:5432/db`: the store on PostgreSQL (needs `SIEMGATE_SECRET_KEY`); its password is never logged',
    parse: (raw) => {
      const url = raw?.trim();
      if (!url) return undefined;
      // Never echo the value: it may carry a password.
      if (!isPostgresUrl(url)) throw new SettingsError('SIEMGATE_DATABASE_URL', `expected a postgres:// or postgresql:// URL, got ${redactDatabaseUrl(url)}`);
      return url;
    },
  },
  secretKey: {
    env: 'SIEMGATE_SECRET_KEY',
    default: null,
    defaultNote: 'key file beside the DB',
    description: 'base64 of 32 bytes (`openssl rand -base64 32`); encrypts secrets at rest. Unset: `<db>.key` (mode 0600), generated by `serve`',
    parse: (value) => {
      const raw = value?.trim();
      if (!raw) return undefined;
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(raw)) throw new SettingsError('SIEMGATE_SECRET_KEY', 'must be base64 (e.g. `openssl rand -base64 32`)');
      const key = Buffer.from(raw, 'base64');
      if (key.length !== SECRET_KEY_BYTES) {
        throw new SettingsError('SIEMGATE_SECRET_KEY', `must decode to ${SECRET_KEY_BYTES} bytes, got ${key.length} (use \`openssl rand -base64 32\`)`);
      }
      return key;
    },
  },
  bootstrapToken: {
    env: 'SIEMGATE_BOOTSTRAP_TOKEN',
    default: null,
    description: "this exact token (24 to 256 characters) is created as organisation `default`'s admin key when no key with it exists (a revoked one stays revoked; `siemgate keys create` is the way back)",
    parse: (raw) => {
      const token = raw?.trim() || undefined;
      if (token !== undefined && (token.length < 24 || token.length > 256 || /\s/.test(token))) {
        throw new SettingsError('SIEMGATE_BOOTSTRAP_TOKEN', 'must be 24 to 256 characters without spaces');
      }
      return token;
    },
  },
  graphiql: {
    env: 'SIEMGATE_GRAPHIQL',
    default: 'true',
    description: 'GraphiQL and introspection (`true` or `false`)',
    parse: (raw) => parseBoolean('SIEMGATE_GRAPHIQL', raw, true),
  },
  maxBodyBytes: {
    env: 'SIEMGATE_MAX_BODY_BYTES',
    default: '1048576',
    description: 'largest GraphQL request body',
    parse: (raw) => parseInteger('SIEMGATE_MAX_BODY_BYTES', raw, 1024 * 1024, 1024, 256 * 1024 * 1024),
  },
  egressAllow: {
    env: 'SIEMGATE_EGRESS_ALLOW',
    default: null,
    description: 'comma-separated CIDRs or `host:port` exempt from the egress policy',
    parse: (raw) => {
      const allow = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      try {
        new EgressPolicy({ allow });
      } catch (error) {
        throw new SettingsError('SIEMGATE_EGRESS_ALLOW', (error as Error).message);
      }
      return allow;
    },
  },
  egressDenyPrivate: {
    env: 'SIEMGATE_EGRESS_DENY_PRIVATE',
    default: 'false',
    description: 'also refuse private ranges (RFC 1918, ULA) (`true` or `false`)',
    parse: (raw) => parseBoolean('SIEMGATE_EGRESS_DENY_PRIVATE', raw, false),
  },
  logLevel: {
    env: 'SIEMGATE_LOG_LEVEL',
    default: 'info',
    description: `pino level: ${LOG_LEVELS.join(', ')} (serve: JSON logs on stdout)`,
    parse: (raw) => {
      const level = raw?.trim().toLowerCase() || 'info';
      if (!(LOG_LEVELS as readonly string[]).includes(level)) {
        throw new SettingsError('SIEMGATE_LOG_LEVEL', `expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(raw)}`);
      }
      return level;
    },
  },
  maxIngestBytes: {
    env: 'SIEMGATE_MAX_INGEST_BYTES',
    default: '10485760',
    description: 'largest `POST /v1/events` body',
    parse: (raw) => parseInteger('SIEMGATE_MAX_INGEST_BYTES', raw, 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  },
  maxIngestEvents: {
    env: 'SIEMGATE_MAX_INGEST_EVENTS',
    default: '10000',
    description: 'most events per `POST /v1/events`',
    parse: (raw) => parseInteger('SIEMGATE_MAX_INGEST_EVENTS', raw, 10_000, 1, 1_000_000),
  },
  ingestConcurrency: {
    env: 'SIEMGATE_INGEST_CONCURRENCY',
    default: '2',
    description: '`POST /v1/events` requests read and stored at once; more wait (bounds memory)',
    parse: (raw) => parseInteger('SIEMGATE_INGEST_CONCURRENCY', raw, 2, 1, 64),
  },
  ingestReadsPerOrganization: {
    env: 'SIEMGATE_INGEST_READS_PER_ORG',
    default: '4',
    description: 'ingest bodies one organisation may have arriving (or waiting to be stored) at once; more wait in its own queue',
    parse: (raw) => parseInteger('SIEMGATE_INGEST_READS_PER_ORG', raw, 4, 1, 1024),
  },
  ingestBufferBytesPerOrganization: {
    env: 'SIEMGATE_INGEST_BUFFER_BYTES_PER_ORG',
    default: '20971520',
    description: 'bytes of ingest bodies one organisation may have buffered at once (at least `SIEMGATE_MAX_INGEST_BYTES`)',
    parse: (raw) => parseInteger('SIEMGATE_INGEST_BUFFER_BYTES_PER_ORG', raw, 20 * 1024 * 1024, 1024, 16 * 1024 * 1024 * 1024),
  },
  ingestBodyTimeoutMs: {
    env: 'SIEMGATE_INGEST_BODY_TIMEOUT_MS',
    default: '10000',
    description: 'time an ingest body may take to arrive, per MiB of its size and at least this; then 408 `REQUEST_TIMEOUT`',
    parse: (raw) => parseInteger('SIEMGATE_INGEST_BODY_TIMEOUT_MS', raw, 10_000, 50, 3_600_000),
  },
  retentionDays: {
    env: 'SIEMGATE_RETENTION_DAYS',
    default: '7',
    description: 'undelivered events older than this become dead letters',
    parse: (raw) => parseInteger('SIEMGATE_RETENTION_DAYS', raw, 7, 1, 3650),
  },
  retryBaseMs: {
    env: 'SIEMGATE_RETRY_BASE_MS',
    default: '1000',
    description: 'first retry backoff step',
    parse: (raw) => parseInteger('SIEMGATE_RETRY_BASE_MS', raw, 1000, 1, 600_000),
  },
  retryMaxMs: {
    env: 'SIEMGATE_RETRY_MAX_MS',
    default: '300000',
    description: 'longest backoff while a SIEM is down',
    parse: (raw) => parseInteger('SIEMGATE_RETRY_MAX_MS', raw, 300_000, 1, 86_400_000),
  },
  shutdownTimeoutMs: {
    env: 'SIEMGATE_SHUTDOWN_TIMEOUT_MS',
    default: '10000',
    description: 'how long in-flight batches may finish on SIGTERM before they are handed back',
    parse: (raw) => parseInteger('SIEMGATE_SHUTDOWN_TIMEOUT_MS', raw, 10_000, 0, 600_000),
  },
  leaseSeconds: {
    env: 'SIEMGATE_LEASE_SECONDS',
    default: '15',
    description: "how long a replica's lease on an integration's delivery lasts unrenewed (renewed every third of it); a dead replica's integrations move to the others within two of these",
    parse: (raw) => parseInteger('SIEMGATE_LEASE_SECONDS', raw, 15, 1, 3600),
  },
  dbSynchronous: {
    env: 'SIEMGATE_DB_SYNCHRONOUS',
    default: 'FULL',
    description: '`FULL`: every commit survives power loss; `NORMAL`: survives a crash, may lose the last commits on power loss, faster',
    parse: (raw) => parseChoice('SIEMGATE_DB_SYNCHRONOUS', raw, ['FULL', 'NORMAL'] as const, 'FULL'),
  },
  ingestThreads: {
    env: 'SIEMGATE_INGEST_THREADS',
    default: 'cores − 1 (at least 1)',
    description: 'worker threads that parse, validate and serialise `POST /v1/events` bodies (bodies under 64 KiB stay on the main thread); `0`: all on the main thread',
    parse: (raw) => parseInteger('SIEMGATE_INGEST_THREADS', raw, Math.max(1, availableParallelism() - 1), 0, 64),
  },
  metrics: {
    env: 'SIEMGATE_METRICS',
    default: 'true',
    description: 'serve Prometheus metrics at `GET /metrics` (`true` or `false`; 404 when false)',
    parse: (raw) => parseBoolean('SIEMGATE_METRICS', raw, true),
  },
  metricsToken: {
    env: 'SIEMGATE_METRICS_TOKEN',
    default: null,
    description: 'bearer token `GET /metrics` requires (16 to 256 characters without spaces); unset: protect the port by network policy',
    parse: (raw) => {
      if (raw === undefined) return undefined;
      if (!/^\S{16,256}$/.test(raw)) throw new SettingsError('SIEMGATE_METRICS_TOKEN', 'must be 16 to 256 characters without spaces (e.g. `openssl rand -hex 32`)');
      return raw;
    },
  },
  maxSubscriptionsPerConnection: {
    env: 'SIEMGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION',
    default: '100',
    description: 'active subscriptions one WebSocket connection may hold; one more is refused with `QUERY_LIMIT_EXCEEDED`',
    parse: (raw) => parseInteger('SIEMGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION', raw, 100, 1, 10_000),
  },
  corsOrigins: {
    env: 'SIEMGATE_CORS_ORIGINS',
    default: null,
    description: 'comma-separated exact origins (`https://console.example.com`) whose pages may call the API cross-origin; none by default, never with credentials',
    parse: (raw) => {
      const origins = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      for (const origin of origins) {
        let parsed: URL | undefined;
        try {
          parsed = new URL(origin);
        } catch {
          parsed = undefined;
        }
        if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) {
          throw new SettingsError('SIEMGATE_CORS_ORIGINS', `expected exact origins like https://console.example.com (scheme, host, optional port; no path or "*"), got ${JSON.stringify(origin)}`);
        }
      }
      return origins;
    },
  },
  redisUrl: {
    env: 'SIEMGATE_REDIS_URL',
    default: null,
    defaultNote: 'none: this replica alone',
    description:
      'Redis (`redis://[:password@]host:port[/db]`, `rediss://` for TLS) carrying live status, delivery attempts and wake-ups between replicas; `/readyz` answers 503 while it is unreachable. Unset: they stay within this replica',
    parse: (raw) => {
      const value = raw?.trim();
      if (!value) return undefined;
      let url: URL | undefined;
      try {
        url = new URL(value);
      } catch {
        url = undefined;
      }
      if (!url || !/^rediss?:$/.test(url.protocol) || !url.hostname || (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname))) {
        throw new SettingsError('SIEMGATE_REDIS_URL', `expected redis://[user:password@]host[:port][/db] or rediss://…, got ${redactedRedisUrl(value)}`);
      }
      return value;
    },
  },
  redisPrefix: {
    env: 'SIEMGATE_REDIS_PREFIX',
    default: 'siemgate:',
    description: 'prefix of the Redis pub/sub channels; deployments sharing one Redis need different ones (channels ignore the `/db` number)',
    parse: (raw) => {
      const prefix = raw?.trim() || 'siemgate:';
      if (!/^[A-Za-z0-9:._-]{1,64}$/.test(prefix)) throw new SettingsError('SIEMGATE_REDIS_PREFIX', `expected 1 to 64 letters, digits or ":._-", got ${JSON.stringify(raw)}`);
      return prefix;
    },
  },
};

/** The rows of {@link SETTINGS}, in order. */
export function settingSpecs(): SettingSpec[] {
  return Object.values(SETTINGS) as SettingSpec[];
}

/** The settings part of `siemgate --help`: one line per setting, with its default. */
export function settingsHelp(): string {
  const width = Math.max(...settingSpecs().map((s) => s.env.length)) + 2;
  return settingSpecs()
    .map((s) => {
      const fallback = s.default !== null ? ` (default: ${s.default})` : s.defaultNote ? ` (default: ${s.defaultNote})` : '';
      return `  ${s.env.padEnd(width)}${s.description}${fallback}`;
    })
    .join('\n');
}

/** The README's settings table rows (`| setting | default | meaning |`), one per setting. */
export function settingsMarkdownRows(): string[] {
  return settingSpecs().map((s) => {
    const fallback = s.default !== null ? `\`${s.default}\`` : (s.defaultNote ?? '—');
    return `| \`${s.env}\` | ${fallback} | ${s.description.replaceAll('|', '\\|')} |`;
  });
}

/**
 * Reads and checks every setting of {@link SETTINGS}. Throws {@link SettingsError} naming the first bad setting.
 *
 * @example
 * ```ts
 * try {
 *   const settings = loadSettings(process.env);
 * } catch (e) {
 *   if (e instanceof SettingsError) { console.error(e.message); process.exit(78); }
 * }
 * ```
 */
export function loadSettings(env: NodeJS.ProcessEnv): Settings {
  const settings: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(SETTINGS) as [keyof Settings, SettingSpec][]) {
    const raw = env[spec.env];
    settings[key] = spec.parse(raw === undefined || raw.trim() === '' ? undefined : raw);
  }
  // Settings that depend on another: the per-organisation buffer must hold the largest body.
  const ingest = settings as Pick<Settings, 'maxIngestBytes' | 'ingestBufferBytesPerOrganization'>;
  if (env.SIEMGATE_INGEST_BUFFER_BYTES_PER_ORG === undefined || env.SIEMGATE_INGEST_BUFFER_BYTES_PER_ORG.trim() === '') {
    ingest.ingestBufferBytesPerOrganization = Math.max(ingest.ingestBufferBytesPerOrganization, ingest.maxIngestBytes);
  } else if (ingest.ingestBufferBytesPerOrganization < ingest.maxIngestBytes) {
    throw new SettingsError('SIEMGATE_INGEST_BUFFER_BYTES_PER_ORG', `must be at least SIEMGATE_MAX_INGEST_BYTES (${ingest.maxIngestBytes}), got ${ingest.ingestBufferBytesPerOrganization}`);
  }
  return settings as unknown as Settings;
}

/**
 * Returns the secret key: the configured one, or the key file beside the database, generated (mode 0600) on
 * first use unless `create` is false (then a missing key file throws {@link SettingsError}).
 *
 * @example
 * ```ts
 * const { key, generated } = resolveSecretKey(settings);
 * if (generated) log.warn('generated a secret key file; back it up');
 * ```
 */
export function resolveSecretKey(
  settings: Pick<Settings, 'secretKey' | 'databasePath'> & Partial<Pick<Settings, 'databaseUrl'>>,
  options: { create?: boolean } = {},
): { key: Buffer; source: 'env' | 'file'; path?: string; generated: boolean } {
  if (settings.secretKey) return { key: settings.secretKey, source: 'env', generated: false };
  // A shared database needs the same key in every process that uses it: a key file beside a local path would differ
  // from one host to the next, and secrets sealed by one replica could not be opened by another.
  if (settings.databaseUrl) throw new SettingsError('SIEMGATE_SECRET_KEY', 'must be set when SIEMGATE_DATABASE_URL is set (every replica uses the same key; `openssl rand -base64 32`)');
  const path = settings.databasePath.replace(/\.(db|sqlite3?)$/i, '') + '.key';
  if (existsSync(path)) {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== SECRET_KEY_BYTES) throw new SettingsError('SIEMGATE_SECRET_KEY', `key file ${path} does not hold ${SECRET_KEY_BYTES} base64 bytes`);
    return { key, source: 'file', path, generated: false };
  }
  if (options.create === false) {
    throw new SettingsError('SIEMGATE_SECRET_KEY', `not set, and there is no key file at ${path}: set it to the key \`siemgate serve\` uses`);
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(SECRET_KEY_BYTES);
  writeFileSync(path, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { key, source: 'file', path, generated: true };
}
