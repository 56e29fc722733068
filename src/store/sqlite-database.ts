import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type MigrationResultSet } from 'kysely';
import { migrations } from '../../db/migrations/index.js';
import type { Database } from './tables.js';
import type { WalBarrier } from './wal-barrier.js';

/** Options of {@link openSqliteDatabase}. */
export interface SqliteDatabaseOptions {
  /**
   * `synchronous` pragma. `FULL` makes every commit durable across power loss (an fsync per commit);
   * `NORMAL` is durable across process crashes (kill -9) in WAL mode but may lose the last commits on power loss.
   * @default "FULL"
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** Open read-only (for tools that only inspect). @default false */
  readonly?: boolean;
  /**
   * With `synchronous: 'FULL'`: commits do not fsync; the caller makes them durable with a {@link WalBarrier} on
   * `<path>-wal` (the flush off the event loop, shared by the commits waiting together). @default false
   */
  flushOffThread?: boolean;
}

/** Owner read/write only: the database holds tenants' events, key hashes and sealed SIEM credentials. */
const PRIVATE_FILE_MODE = 0o600;
const PRIVATE_DIR_MODE = 0o700;

/**
 * Creates `path` empty with mode 0600 unless it exists (an existing file keeps its mode). SQLite treats an empty file as
 * a new database, and creates its `-wal`, `-shm` and `-journal` files with the mode of the database file, so creating
 * the database this way makes every file of it 0600 from the first byte on.
 *
 * @example
 * ```ts
 * createPrivateFile('/data/siemgate.db'); // then new SQLite('/data/siemgate.db')
 * ```
 */
export function createPrivateFile(path: string): void {
  try {
    writeFileSync(path, '', { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
  }
}

/**
 * Opens (creating if needed) the embedded SQLite store in WAL mode and returns a Kysely instance over it.
 * A new database file, its directory (when created here) and the WAL/SHM files are private to the owner (0600/0700).
 *
 * @example
 * ```ts
 * const db = openSqliteDatabase('./data/siemgate.db');
 * await migrateToLatest(db);
 * ```
 */
export function openSqliteDatabase(path: string, options: SqliteDatabaseOptions = {}): Kysely<Database> {
  if (path !== ':memory:' && !path.startsWith('file:')) {
    mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
    if (!options.readonly) createPrivateFile(path);
  }
  const sqlite = new SQLite(path, { readonly: options.readonly ?? false });
  if (!options.readonly) {
    sqlite.pragma('journal_mode = WAL');
    // Checkpoint every ~40 MiB of WAL instead of every 4 MiB: ingest commits rarely pay for a checkpoint.
    sqlite.pragma('wal_autocheckpoint = 10000');
  }
  sqlite.pragma(`synchronous = ${options.flushOffThread ? 'NORMAL' : (options.synchronous ?? 'FULL')}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
}

/**
 * Applies every pending migration from `db/migrations`. Idempotent: safe on every start and on an existing file.
 *
 * @throws Error naming the migration that failed (or saying the database could not be migrated at all: unreachable).
 * @example
 * ```ts
 * const applied = await migrateToLatest(db); // names of the migrations applied now
 * ```
 */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const detail = error instanceof Error ? error.message : String(error ?? 'unknown error');
    // Not a migration's fault when none failed: the database could not be reached or locked (PostgreSQL).
    throw new Error(failed ? `database migration ${failed.migrationName} failed: ${detail}` : `cannot migrate the database: ${detail}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
