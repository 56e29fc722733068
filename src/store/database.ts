import { Kysely, PostgresDialect, sql, type RawBuilder } from 'kysely';
import { createRequire } from 'node:module';
import type pg from 'pg';

/** `pg` is loaded when a PostgreSQL URL is used: an embedded (SQLite) gateway does not carry it in memory. */
const loadPg = (): typeof pg => createRequire(import.meta.url)('pg') as typeof pg;
import { isPostgresUrl, redactDatabaseUrl } from './database-url.js';
import { openSqliteDatabase } from './sqlite-database.js';
import type { Database } from './tables.js';

export { isPostgresUrl, redactDatabaseUrl } from './database-url.js';

/** Where the store lives: the embedded SQLite file, or a PostgreSQL database shared by every replica. */
export interface DatabaseLocation {
  /** `SIEMGATE_DB`: the SQLite file, used when {@link url} is unset. */
  path: string;
  /** `SIEMGATE_DATABASE_URL`: `postgres://user:password@host:5432/db`. */
  url?: string;
  /** SQLite's `synchronous` pragma (PostgreSQL commits durably by its own `synchronous_commit`). */
  synchronous?: 'FULL' | 'NORMAL';
  /** SQLite, `FULL`: flush the WAL off the event loop with a `WalBarrier` instead of in each COMMIT (see `openSqliteDatabase`). */
  flushOffThread?: boolean;
}

/** Options of {@link openPostgresDatabase}. */
export interface PostgresDatabaseOptions {
  /** Connections in the pool. @default 10 */
  maxConnections?: number;
  /** How long to wait for a connection before the query fails. @default 10000 */
  connectionTimeoutMs?: number;
  /**
   * An idle pooled connection failed (the server restarted, an administrator terminated it). The pool drops it and
   * opens another on the next query; without a listener this error would end the process.
   */
  onIdleError?: (error: Error) => void;
}

/** OID of `int8` (`bigint`, `bigserial`, and what `count(*)` returns). */
const INT8_OID = 20;

/**
 * `bigint` values as JavaScript numbers, not strings: the store's sequence numbers and counters fit in 2^53, and
 * the SQLite driver returns numbers too, so both dialects hand rows of the same types to the store. A value beyond
 * 2^53 throws rather than being rounded.
 */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} is beyond 2^53; the store cannot represent it exactly`);
  return value;
}

const storeTypes = (driver: typeof pg): pg.CustomTypesConfig => ({
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : driver.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
});

/** What to show an operator for the database in use: the SQLite file's path, or the URL with its password redacted. */
export function describeDatabase(location: DatabaseLocation): string {
  return location.url ? redactDatabaseUrl(location.url) : location.path;
}

/**
 * Opens the store on PostgreSQL through Kysely's PostgresDialect over a `pg` pool. Nothing connects until the first
 * query; `bigint` columns come back as numbers (see {@link parseInt8}).
 *
 * @example
 * ```ts
 * const db = openPostgresDatabase('postgres://siemgate@db:5432/siemgate', { onIdleError: (e) => log.warn({ err: e }) });
 * await migrateToLatest(db);
 * ```
 */
export function openPostgresDatabase(url: string, options: PostgresDatabaseOptions = {}): Kysely<Database> {
  if (!isPostgresUrl(url)) throw new Error(`not a postgres:// URL: ${redactDatabaseUrl(url)}`);
  const driver = loadPg();
  const pool = new driver.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    application_name: 'siemgate',
    types: storeTypes(driver),
  });
  pool.on('error', (error) => options.onIdleError?.(error));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * Opens the store where `location` says: PostgreSQL when it has a URL, else the SQLite file (created if needed).
 *
 * @example
 * ```ts
 * const db = openDatabase({ path: settings.databasePath, url: settings.databaseUrl, synchronous: settings.dbSynchronous });
 * ```
 */
export function openDatabase(location: DatabaseLocation, options: Pick<PostgresDatabaseOptions, 'onIdleError'> = {}): Kysely<Database> {
  return location.url ? openPostgresDatabase(location.url, options) : openSqliteDatabase(location.path, { synchronous: location.synchronous, flushOffThread: location.flushOffThread && location.synchronous !== 'NORMAL' });
}

/** True when `db` talks to PostgreSQL (the same test as the migrations' `isPostgres`). */
export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter.constructor.name === 'PostgresAdapter';
}

/**
 * The larger of a column and a value, in the dialect of `db`: SQLite's scalar `max(a, b)` is PostgreSQL's
 * `GREATEST(a, b)` (PostgreSQL's `max` is only the aggregate).
 *
 * @example
 * ```ts
 * await trx.updateTable('delivery_state').set({ cursor_seq: greatest(trx, 'cursor_seq', seq) }).execute();
 * ```
 */
export function greatest(db: Kysely<any>, column: string, value: number): RawBuilder<number> {
  return isPostgres(db) ? sql<number>`greatest(${sql.ref(column)}, ${value})` : sql<number>`max(${sql.ref(column)}, ${value})`;
}
