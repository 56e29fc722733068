import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { makeEvents, postEvents, startIdReceiver, waitFor, type IdReceiver, type TestEvent } from '../support/fault-kit.js';

/**
 * Fault: the database stops taking writes (read-only, disk full). Every write must be answered with a clear
 * STORE_UNAVAILABLE (HTTP 503), never a 500; reads keep working; nothing is half-written; once the operator fixes the
 * disk everything works again, the file passes `PRAGMA integrity_check`, and every acknowledged event is delivered.
 *
 * Four ways to get there:
 * - `PRAGMA query_only` on the gateway's own connection: SQLite refuses every write with SQLITE_READONLY, exactly as
 *   for a read-only file. Works for any user (root ignores `chmod`, and `chmod` does not affect an open file anyway).
 * - `PRAGMA max_page_count` at the current size: SQLite answers SQLITE_FULL, as on a full disk.
 * - A real full disk: the database on a 2 MiB tmpfs (needs root with CAP_SYS_ADMIN; skipped otherwise).
 * - A real read-only file underneath the running gateway: `chattr +i` on the database and its WAL (needs root with
 *   CAP_LINUX_IMMUTABLE on a file system that has the flag; skipped otherwise).
 */

const CREATE = 'mutation($input: CreateSiemIntegrationInput!) { createSiemIntegration(input: $input) { id } }';
const INGEST = 'mutation($events: [SecurityEventInput!]!) { ingestEvents(events: $events) { accepted } }';
const CREATE_KEY = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token apiKey { id } } }';
const UPDATE = 'mutation($id: ID!, $input: UpdateSiemIntegrationInput!) { updateSiemIntegration(id: $id, input: $input) { id } }';
const LIST = '{ siemIntegrations { id name } apiKeys { id } }';

const isRoot = process.getuid?.() === 0;

function canMountTmpfs(): boolean {
  if (!isRoot || process.platform !== 'linux') return false;
  const dir = mkdtempSync(join(tmpdir(), 'siemgate-mountcheck-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function canChattr(): boolean {
  if (!isRoot || process.platform !== 'linux') return false;
  const dir = mkdtempSync(join(tmpdir(), 'siemgate-chattrcheck-'));
  const file = join(dir, 'f');
  try {
    execFileSync('touch', [file]);
    execFileSync('chattr', ['+i', file], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', file], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    try {
      execFileSync('chattr', ['-i', file], { stdio: 'ignore' });
    } catch {
      // not set
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Events large enough that a batch of them needs fresh database pages. */
const bigEvents = (n: number): TestEvent[] => makeEvents(n, { data: { blob: 'x'.repeat(20_000) } });

function integrityCheck(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

function expectStoreUnavailable(res: { status: number; errors?: { extensions?: Record<string, any>; message: string }[]; data?: unknown }, what: string) {
  // Soft: on a failure the rest of the scenario (recovery, integrity) still runs and reports.
  expect.soft(res.status, `${what}: HTTP status (${JSON.stringify(res).slice(0, 400)})`).toBe(503);
  expect.soft(res.errors?.[0]?.extensions?.code, `${what}: ${JSON.stringify(res.errors)}`).toBe('STORE_UNAVAILABLE');
  expect.soft(res.errors?.[0]?.message).toMatch(/cannot store/i);
}

function expectRestUnavailable(res: { status: number; json: any; text: string }, what: string) {
  expect.soft(res.status, `${what}: ${res.text}`).toBe(503);
  expect.soft(res.json?.error?.code, `${what}: ${res.text}`).toBe('STORE_UNAVAILABLE');
}

/**
 * The shared scenario: a working integration; the store becomes unavailable; writes are refused cleanly; the store
 * comes back; refused events are not stored (re-sending them counts no duplicates); everything acknowledged arrives;
 * after a restart the file is intact.
 */
async function scenario(options: {
  dir?: string;
  /** May return events it got acknowledged on the way (they must be delivered too). */
  makeUnavailable: (g: TestGateway) => Promise<TestEvent[] | void>;
  restore: (g: TestGateway) => Promise<void>;
  /** Whether every kind of write fails (read-only), or only writes that need space (disk full). */
  everyWriteFails: boolean;
}) {
  const rx: IdReceiver = await startIdReceiver();
  const g = await startTestGateway({ dir: options.dir, env: { SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '200', SIEMGATE_LOG_LEVEL: process.env.FAULT_LOG_LEVEL ?? 'silent' } });
  try {
    const created = await g.gql(CREATE, {
      input: { name: 'store fault', config: { webhook: { endpoint: `${rx.url}/hook` } }, batching: { batchSize: 100, flushIntervalSeconds: 1 } },
    });
    expect(created.errors).toBeUndefined();
    const integrationId = created.data.createSiemIntegration.id;
    const before = makeEvents(5);
    expect((await postEvents(g.url, before)).status).toBe(202);
    await waitFor(() => rx.missing(before.map((e) => e.id)).length === 0, { message: 'events before the fault delivered' });
    const listBefore = (await g.gql(LIST)).data;

    const acknowledgedOnTheWay = (await options.makeUnavailable(g)) ?? [];

    const refused = bigEvents(20);
    expectRestUnavailable(await postEvents(g.url, refused), 'POST /v1/events');
    const refusedRest = await postEvents(g.url, refused);
    expectRestUnavailable(refusedRest, 'POST /v1/events again');
    expect.soft(refusedRest.json?.error?.message).toMatch(/cannot store events/i);
    expect.soft(refusedRest.text).not.toMatch(/SQLITE|stack|\.ts:/);
    expectStoreUnavailable(await g.gql(INGEST, { events: bigEvents(20) }), 'ingestEvents');
    if (options.everyWriteFails) {
      expectStoreUnavailable(await g.gql(CREATE, { input: { name: 'during the fault', config: { syslog: { host: 'syslog.example.com' } } } }), 'createSiemIntegration');
      expectStoreUnavailable(await g.gql(UPDATE, { id: integrationId, input: { name: 'renamed during the fault' } }), 'updateSiemIntegration');
      expectStoreUnavailable(await g.gql(CREATE_KEY, { input: { name: 'during the fault', role: 'VIEWER' } }), 'createApiKey');
    }
    // Reads and health keep working.
    const listDuring = await g.gql(LIST);
    expect(listDuring.errors).toBeUndefined();
    expect(listDuring.data).toEqual(listBefore);
    expect((await fetch(`${g.url}/healthz`)).status).toBe(200);

    await options.restore(g);

    // Nothing of the refused writes was kept: the same events are new to the store.
    const resent = await postEvents(g.url, refused);
    expect(resent.status, resent.text).toBe(202);
    expect(resent.json).toEqual({ accepted: 20, duplicates: 0, movedToData: 0 });
    const after = makeEvents(5);
    expect((await postEvents(g.url, after)).status).toBe(202);
    const key = await g.gql(CREATE_KEY, { input: { name: 'after the fault', role: 'VIEWER' } });
    expect(key.errors).toBeUndefined();
    const renamed = await g.gql(UPDATE, { id: integrationId, input: { name: 'after the fault' } });
    expect(renamed.errors).toBeUndefined();

    const acknowledged = [...before, ...acknowledgedOnTheWay, ...refused, ...after].map((e) => e.id);
    await waitFor(() => rx.missing(acknowledged).length === 0, { timeoutMs: 10_000, message: () => `acknowledged events delivered (missing ${rx.missing(acknowledged).length})` });
    const inSqlite = (await sql<{ result: string }>`PRAGMA integrity_check`.execute(g.store.db)).rows;
    expect(inSqlite).toEqual([{ integrity_check: 'ok' }]);
    const listAfter = (await g.gql(LIST)).data;
    await g.stop();

    // A fresh connection on the file: intact; a restart serves the same state.
    expect(integrityCheck(g.env.SIEMGATE_DB!)).toBe('ok');
    const again = await startTestGateway({ dir: g.dir });
    try {
      expect((await again.gql(LIST)).data).toEqual(listAfter);
    } finally {
      await again.stop();
    }
    console.log(`[fault] store unavailable: ${acknowledged.length} acknowledged events delivered, ${rx.duplicates()} duplicates`);
  } finally {
    await g.stop();
    await rx.close();
    // The caller owns a directory it passed in; the one startTestGateway made is removed here.
    if (!options.dir) rmSync(g.dir, { recursive: true, force: true });
  }
}

describe('read-only database', () => {
  it('answers every write with STORE_UNAVAILABLE (HTTP 503), keeps reads working, and recovers intact (PRAGMA query_only)', async () => {
    await scenario({
      everyWriteFails: true,
      makeUnavailable: async (g) => {
        await sql`PRAGMA query_only = ON`.execute(g.store.db);
      },
      restore: async (g) => {
        await sql`PRAGMA query_only = OFF`.execute(g.store.db);
      },
    });
  });

  it.skipIf(!canChattr())('answers STORE_UNAVAILABLE (HTTP 503), not 500, when the database file becomes read-only underneath it (chattr +i)', async () => {
    const { dir, cleanup } = (() => {
      const d = mkdtempSync(join(tmpdir(), 'siemgate-ro-'));
      return { dir: d, cleanup: () => rmSync(d, { recursive: true, force: true }) };
    })();
    const files = (g: TestGateway) => [g.env.SIEMGATE_DB!, `${g.env.SIEMGATE_DB!}-wal`];
    let locked: string[] = [];
    const unlock = () => {
      for (const f of locked) execFileSync('chattr', ['-i', f], { stdio: 'ignore' });
      locked = [];
    };
    try {
      await scenario({
        dir,
        everyWriteFails: true,
        makeUnavailable: async (g) => {
          // Not the -shm file: SQLite maps it into memory, and an immutable mapping would kill the process (SIGBUS).
          for (const f of files(g)) {
            execFileSync('chattr', ['+i', f]);
            locked.push(f);
          }
        },
        restore: async () => unlock(),
      });
    } finally {
      unlock();
      cleanup();
    }
  });
});

describe('disk full', () => {
  it('answers ingestion with STORE_UNAVAILABLE (HTTP 503) when SQLite runs out of pages, and recovers intact (PRAGMA max_page_count)', async () => {
    await scenario({
      everyWriteFails: false,
      makeUnavailable: async (g) => {
        const [{ page_count }] = (await sql<{ page_count: number }>`PRAGMA page_count`.execute(g.store.db)).rows as [{ page_count: number }];
        await sql.raw(`PRAGMA max_page_count = ${page_count}`).execute(g.store.db);
      },
      restore: async (g) => {
        await sql`PRAGMA max_page_count = 1073741823`.execute(g.store.db);
      },
    });
  });

  it.skipIf(!canMountTmpfs())('answers ingestion with STORE_UNAVAILABLE (HTTP 503), not 500, on a really full disk (2 MiB tmpfs), and recovers once it grows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'siemgate-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
    try {
      await scenario({
        dir,
        everyWriteFails: false,
        makeUnavailable: async (g) => {
          // Fill the disk with acknowledged events until a write is refused; those acknowledged must arrive later.
          const acknowledged: TestEvent[] = [];
          for (let i = 0; i < 200; i++) {
            const batch = bigEvents(5);
            const res = await postEvents(g.url, batch);
            if (res.status !== 202) {
              expectRestUnavailable(res, `POST /v1/events on a full disk (batch ${i})`);
              return acknowledged;
            }
            acknowledged.push(...batch);
          }
          throw new Error('the 2 MiB disk never filled up');
        },
        restore: async () => {
          execFileSync('mount', ['-o', 'remount,size=64m', dir]);
        },
      });
    } finally {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

