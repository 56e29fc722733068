import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseLockedError, acquireDatabaseLock } from '../../src/store/database-lock.js';
import { migrateToLatest, openSqliteDatabase } from '../../src/store/sqlite-database.js';
import { tempDir } from '../support/gateway.js';

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});
function fresh(): string {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return join(dir, 'nested', 'siemgate.db');
}

describe('database file modes', () => {
  it('creates a new database, its directory, WAL and SHM private to the owner (0600/0700), not left to the umask', async () => {
    const path = fresh();
    const db = openSqliteDatabase(path);
    try {
      await migrateToLatest(db);
      await sql`INSERT INTO organizations (id, slug, name, created_at) VALUES ('org_1', 'acme', 'Acme', '2026-01-01T00:00:00Z')`.execute(db);
      expect(existsSync(`${path}-wal`)).toBe(true);
      expect({ db: mode(path), wal: mode(`${path}-wal`), shm: mode(`${path}-shm`), dir: mode(join(path, '..')) }).toEqual({ db: '600', wal: '600', shm: '600', dir: '700' });
    } finally {
      await db.destroy();
    }
  });

  it('leaves the mode of an existing database as it is (documented: chmod 600 it)', async () => {
    const path = fresh();
    await openSqliteDatabase(path).destroy();
    const { chmodSync } = await import('node:fs');
    chmodSync(path, 0o640);
    await openSqliteDatabase(path).destroy();
    expect(mode(path)).toBe('640');
  });
});

describe('acquireDatabaseLock', () => {
  it('holds <db>.lock (0600) until released; a second holder is refused with the file and the holder named', () => {
    const path = fresh();
    const lock = acquireDatabaseLock(path);
    expect(lock.path).toBe(`${path}.lock`);
    expect(mode(lock.path)).toBe('600');
    let refused: unknown;
    try {
      acquireDatabaseLock(path);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(DatabaseLockedError);
    expect((refused as DatabaseLockedError).holder).toMatchObject({ pid: process.pid });
    expect((refused as Error).message).toMatch(new RegExp(`^database ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by siemgate serve pid ${process.pid} on host \\S+ \\(since \\d{4}-`));
    lock.release();
    acquireDatabaseLock(path).release();
  });

  it('is an OS lock another process sees, and the holder record names this process', () => {
    const path = fresh();
    const lock = acquireDatabaseLock(path);
    try {
      const script = `import { acquireDatabaseLock } from ${JSON.stringify(fileURLToPath(new URL('../../src/store/database-lock.ts', import.meta.url)))};
try { acquireDatabaseLock(${JSON.stringify(path)}); console.log('acquired'); } catch (e) { console.log(e.message); }`;
      const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(out.stdout.trim()).toMatch(new RegExp(`is in use by siemgate serve pid ${process.pid} on host`));
    } finally {
      lock.release();
    }
  });

  it('does nothing for an in-memory database', () => {
    const lock = acquireDatabaseLock(':memory:');
    acquireDatabaseLock(':memory:').release();
    lock.release();
  });
});
