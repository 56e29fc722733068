import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SECRET_KEY_BYTES } from './crypto/secret-box.js';
import { EgressPolicy } from './net/egress-policy.js';

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
  /** `SIEMGATE_INGEST_CONCURRENCY`: `POST /v1/events` requests read and stored at once; others wait (bounds memory). @default 2 */
  ingestConcurrency: number;
  /** `SIEMGATE_RETENTION_DAYS`: undelivered events older than this go to dead letters. @default 7 */
  retentionDays: number;
  /** `SIEMGATE_RETRY_BASE_MS`: first retry backoff step. @default 1000 */
  retryBaseMs: number;
  /** `SIEMGATE_RETRY_MAX_MS`: longest backoff while a SIEM stays down. @default 300000 (5 minutes) */
  retryMaxMs: number;
  /** `SIEMGATE_SHUTDOWN_TIMEOUT_MS`: on SIGTERM, how long in-flight batches may finish before they are handed back. @default 10000 */
  shutdownTimeoutMs: number;
  /**
   * `SIEMGATE_DB_SYNCHRONOUS`: `FULL` (every commit survives power loss) or `NORMAL` (survives a process
   * crash, may lose the last commits on power loss; faster). @default "FULL"
   */
  dbSynchronous: 'FULL' | 'NORMAL';
}

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, '1': true, yes: true, on: true, false: false, '0': false, no: false, off: false };

function parseBoolean(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  const value = BOOLEAN_WORDS[raw.trim().toLowerCase()];
  if (value === undefined) throw new SettingsError(name, `expected true or false, got ${JSON.stringify(raw)}`);
  return value;
}

function parseInteger(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new SettingsError(name, `expected a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new SettingsError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function parseChoice<T extends string>(name: string, raw: string | undefined, choices: readonly T[], fallback: T): T {
  if (raw === undefined || raw === '') return fallback;
  const value = raw.trim().toUpperCase() as T;
  if (!choices.includes(value)) throw new SettingsError(name, `expected one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`);
  return value;
}

/**
 * Reads and checks the settings. Throws {@link SettingsError} naming the first bad setting.
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
  const port = parseInteger('PORT', env.PORT, 4000, 0, 65535);
  const databasePath = resolve(env.SIEMGATE_DB?.trim() || 'data/siemgate.db');

  let secretKey: Buffer | undefined;
  if (env.SIEMGATE_SECRET_KEY !== undefined && env.SIEMGATE_SECRET_KEY !== '') {
    const raw = env.SIEMGATE_SECRET_KEY.trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(raw)) throw new SettingsError('SIEMGATE_SECRET_KEY', 'must be base64 (e.g. `openssl rand -base64 32`)');
    secretKey = Buffer.from(raw, 'base64');
    if (secretKey.length !== SECRET_KEY_BYTES) {
      throw new SettingsError('SIEMGATE_SECRET_KEY', `must decode to ${SECRET_KEY_BYTES} bytes, got ${secretKey.length} (use \`openssl rand -base64 32\`)`);
    }
  }

  const bootstrapToken = env.SIEMGATE_BOOTSTRAP_TOKEN?.trim() || undefined;
  if (bootstrapToken !== undefined && (bootstrapToken.length < 24 || bootstrapToken.length > 256 || /\s/.test(bootstrapToken))) {
    throw new SettingsError('SIEMGATE_BOOTSTRAP_TOKEN', 'must be 24 to 256 characters without spaces');
  }

  const egressAllow = (env.SIEMGATE_EGRESS_ALLOW ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  try {
    new EgressPolicy({ allow: egressAllow });
  } catch (error) {
    throw new SettingsError('SIEMGATE_EGRESS_ALLOW', (error as Error).message);
  }

  return {
    port,
    host: env.HOST?.trim() || '0.0.0.0',
    databasePath,
    secretKey,
    bootstrapToken,
    graphiql: parseBoolean('SIEMGATE_GRAPHIQL', env.SIEMGATE_GRAPHIQL, true),
    maxBodyBytes: parseInteger('SIEMGATE_MAX_BODY_BYTES', env.SIEMGATE_MAX_BODY_BYTES, 1024 * 1024, 1024, 256 * 1024 * 1024),
    egressAllow,
    egressDenyPrivate: parseBoolean('SIEMGATE_EGRESS_DENY_PRIVATE', env.SIEMGATE_EGRESS_DENY_PRIVATE, false),
    logLevel: env.SIEMGATE_LOG_LEVEL?.trim() || 'info',
    maxIngestBytes: parseInteger('SIEMGATE_MAX_INGEST_BYTES', env.SIEMGATE_MAX_INGEST_BYTES, 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxIngestEvents: parseInteger('SIEMGATE_MAX_INGEST_EVENTS', env.SIEMGATE_MAX_INGEST_EVENTS, 10_000, 1, 1_000_000),
    ingestConcurrency: parseInteger('SIEMGATE_INGEST_CONCURRENCY', env.SIEMGATE_INGEST_CONCURRENCY, 2, 1, 64),
    retentionDays: parseInteger('SIEMGATE_RETENTION_DAYS', env.SIEMGATE_RETENTION_DAYS, 7, 1, 3650),
    retryBaseMs: parseInteger('SIEMGATE_RETRY_BASE_MS', env.SIEMGATE_RETRY_BASE_MS, 1000, 1, 600_000),
    retryMaxMs: parseInteger('SIEMGATE_RETRY_MAX_MS', env.SIEMGATE_RETRY_MAX_MS, 300_000, 1, 86_400_000),
    shutdownTimeoutMs: parseInteger('SIEMGATE_SHUTDOWN_TIMEOUT_MS', env.SIEMGATE_SHUTDOWN_TIMEOUT_MS, 10_000, 0, 600_000),
    dbSynchronous: parseChoice('SIEMGATE_DB_SYNCHRONOUS', env.SIEMGATE_DB_SYNCHRONOUS, ['FULL', 'NORMAL'] as const, 'FULL'),
  };
}

/**
 * Returns the secret key: the configured one, or the key file beside the database, generated (mode 0600) on first use.
 *
 * @example
 * ```ts
 * const { key, generated } = resolveSecretKey(settings);
 * if (generated) log.warn('generated a secret key file; back it up');
 * ```
 */
export function resolveSecretKey(settings: Pick<Settings, 'secretKey' | 'databasePath'>): { key: Buffer; source: 'env' | 'file'; path?: string; generated: boolean } {
  if (settings.secretKey) return { key: settings.secretKey, source: 'env', generated: false };
  const path = settings.databasePath.replace(/\.(db|sqlite3?)$/i, '') + '.key';
  if (existsSync(path)) {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== SECRET_KEY_BYTES) throw new SettingsError('SIEMGATE_SECRET_KEY', `key file ${path} does not hold ${SECRET_KEY_BYTES} base64 bytes`);
    return { key, source: 'file', path, generated: false };
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(SECRET_KEY_BYTES);
  writeFileSync(path, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { key, source: 'file', path, generated: true };
}
