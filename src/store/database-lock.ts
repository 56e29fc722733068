import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { createPrivateFile } from './sqlite-database.js';

/** The process that holds a database's lock, as it recorded itself in the lock file. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO 8601 time the holder took the lock. */
  startedAt: string;
}

/**
 * Thrown by {@link acquireDatabaseLock} when another process (or this one) already holds the lock. The message is one
 * line naming the database file and the holder: `database /data/siemgate.db is in use by siemgate serve pid 4711 on
 * host gw-1 (since 2026-05-01T10:00:00.000Z)`.
 */
export class DatabaseLockedError extends Error {
  readonly code = 'SIEMGATE_DATABASE_LOCKED';
  readonly databasePath: string;
  /** Undefined when the holder could not be read (it was still writing its record). */
  readonly holder: LockHolder | undefined;

  constructor(databasePath: string, holder: LockHolder | undefined) {
    const who = holder ? `siemgate serve pid ${holder.pid} on host ${holder.host} (since ${holder.startedAt})` : 'another siemgate serve process';
    super(`database ${databasePath} is in use by ${who}; only one server may use a database file`);
    this.name = 'DatabaseLockedError';
    this.databasePath = databasePath;
    this.holder = holder;
  }
}

/** A held lock; {@link DatabaseLock.release} gives it back (process exit, even kill -9, does too). */
export interface DatabaseLock {
  /** The lock file, `<database>.lock`. */
  readonly path: string;
  release(): void;
}

/** Locks held by this process, by absolute database path (a second acquisition must not touch the file, see below). */
const heldHere = new Map<string, LockHolder>();

const HOLDER_READ_ATTEMPTS = 20;
const HOLDER_READ_PAUSE_MS = 50;

/**
 * Takes the one-writer lock of a SQLite database: `<database>.lock`, a small SQLite file (mode 0600) that this process
 * keeps open in `locking_mode=EXCLUSIVE` with its pid, host and start time written inside. The lock itself is SQLite's
 * POSIX advisory lock (fcntl; LockFileEx on Windows): the kernel drops it when the process ends in any way, kill -9
 * included, so there is never a stale lock to clean up, and pid reuse cannot fool it (the pid is only reported, never
 * trusted). The database itself is not locked: `siemgate keys …` and other readers keep working while the server runs.
 * As with every fcntl lock, it is not reliable on network file systems that do not implement POSIX locks.
 *
 * @throws DatabaseLockedError when another process holds the lock (its record, when readable, names it); its message
 * names the database by its absolute path.
 * @example
 * ```ts
 * const lock = acquireDatabaseLock('./data/siemgate.db');
 * try { await runServer(); } finally { lock.release(); }
 * ```
 */
export function acquireDatabaseLock(databasePath: string): DatabaseLock {
  if (databasePath === ':memory:') return { path: databasePath, release: () => undefined };
  const absolute = resolve(databasePath);
  const path = `${absolute}.lock`;
  // Within one process POSIX locks are shared and closing any descriptor of the file drops them all: never open the
  // file a second time here, answer from memory instead.
  const mine = heldHere.get(absolute);
  if (mine) throw new DatabaseLockedError(absolute, mine);

  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  createPrivateFile(path);
  const db = new SQLite(path, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if (isBusy(error)) throw new DatabaseLockedError(absolute, readHolder(path));
    throw error;
  }
  const holder: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  try {
    db.exec('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, host TEXT NOT NULL, started_at TEXT NOT NULL)');
    db.prepare('INSERT OR REPLACE INTO holder (id, pid, host, started_at) VALUES (1, ?, ?, ?)').run(holder.pid, holder.host, holder.startedAt);
    // In EXCLUSIVE locking mode the commit keeps the lock: it is held until release() or the end of the process.
    db.exec('COMMIT');
  } catch (error) {
    db.close();
    throw error;
  }
  heldHere.set(absolute, holder);
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      heldHere.delete(absolute);
      db.close();
    },
  };
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

/**
 * Reads the holder's record. The holder keeps the file exclusively locked, so SQLite cannot read it in place; the file is
 * copied (a plain read, which the advisory lock does not prevent) and the copy opened. A holder that is still writing
 * its record (or a record left by an earlier holder whose process is gone) is retried for a short while.
 */
function readHolder(lockPath: string): LockHolder | undefined {
  let last: LockHolder | undefined;
  for (let attempt = 0; attempt < HOLDER_READ_ATTEMPTS; attempt++) {
    last = readHolderCopy(lockPath);
    if (last && (last.host !== hostname() || isAlive(last.pid))) return last;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, HOLDER_READ_PAUSE_MS);
  }
  return undefined;
}

function readHolderCopy(lockPath: string): LockHolder | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'siemgate-lock-'));
  try {
    const copy = join(dir, 'holder.db');
    copyFileSync(lockPath, copy);
    const db = new SQLite(copy, { readonly: true, fileMustExist: true, timeout: 0 });
    try {
      const row = db.prepare('SELECT pid, host, started_at AS startedAt FROM holder WHERE id = 1').get() as LockHolder | undefined;
      return row && Number.isInteger(row.pid) ? { pid: row.pid, host: row.host, startedAt: row.startedAt } : undefined;
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}
