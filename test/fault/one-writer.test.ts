import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../support/cli.js';
import { ADMIN_TOKEN, exited, gql, runCli, spawnServe, tempDir } from '../support/gateway.js';

/**
 * One writer per database file: a second `siemgate serve` on the same SQLite file must not start (two delivery engines
 * would deliver every event twice and race on the queue). It exits 78 (EX_CONFIG) with one line naming the file and
 * the process holding it. The lock dies with its process: after kill -9 a new server starts at once. The CLI's key
 * commands keep working on the file while the server runs. Every file of the database is private (0600).
 */

const { dir, cleanup } = tempDir();
const DB = join(dir, 'data', 'siemgate.db'); // the data directory does not exist yet: serve creates it
const env: NodeJS.ProcessEnv = {
  PORT: '0',
  HOST: '127.0.0.1',
  SIEMGATE_DB: DB,
  SIEMGATE_SECRET_KEY: '', // the key file beside the database is generated: its mode is checked too
  SIEMGATE_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
  SIEMGATE_LOG_LEVEL: 'warn', // not silent: spawnServe waits for the start line
};
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  cleanup();
});


const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');
const VIEWER = '{ viewer { role } }';

describe('siemgate serve: one process per database file', () => {
  it('refuses a second server (exit 78, one line with the file and the holder), keeps the CLI working, and recovers from kill -9', async () => {
    const first = await spawnServe(env);
    children.push(first.child);
    expect((await gql(`${first.url}/graphql`, VIEWER)).data).toEqual({ viewer: { role: 'ADMIN' } });

    const second = await runCli(['serve'], env);
    expect(second.code).toBe(78);
    expect(second.stdout).toBe('');
    expect(lines(second.stderr), second.stderr).toHaveLength(1);
    expect(second.stderr).toContain(DB);
    expect(second.stderr).toContain(`pid ${first.child.pid}`);
    expect(second.stderr).toContain(`host ${hostname()}`);

    // The first server was not disturbed, and the CLI's key commands (readers and writers of the same file, run here:
    // another process than the server's) still work.
    expect((await gql(`${first.url}/graphql`, VIEWER)).data).toEqual({ viewer: { role: 'ADMIN' } });
    const created = await runCliInProcess(['keys', 'create', '--org', 'default', '--role', 'viewer', '--name', 'while serving'], env);
    expect(created.code, created.stderr).toBe(0);
    const listed = await runCliInProcess(['keys', 'list', '--org', 'default'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('while serving');

    // Every file of the database is the owner's only, after writes (the WAL and SHM exist while the server runs).
    expect({
      db: mode(DB),
      wal: mode(`${DB}-wal`),
      shm: mode(`${DB}-shm`),
      lock: mode(`${DB}.lock`),
      key: mode(join(dir, 'data', 'siemgate.key')),
      dir: mode(join(dir, 'data')),
    }).toEqual({ db: '600', wal: '600', shm: '600', lock: '600', key: '600', dir: '700' });

    // kill -9 leaves no stale lock: a new server starts on the same file straight away.
    first.child.kill('SIGKILL');
    expect(await exited(first.child)).toMatchObject({ signal: 'SIGKILL' });
    const third = await spawnServe(env);
    children.push(third.child);
    expect((await gql(`${third.url}/graphql`, VIEWER)).data).toEqual({ viewer: { role: 'ADMIN' } });

    // And it is the holder now (this process is refused too: `serve`'s own main, run here).
    const fourth = await runCliInProcess(['serve'], env);
    expect(fourth.code).toBe(78);
    expect(fourth.stderr).toContain(`pid ${third.child.pid}`);

    third.child.kill('SIGTERM');
    expect(await exited(third.child)).toMatchObject({ code: 0 });
  }, 180_000);
});
