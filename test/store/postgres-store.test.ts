import { parseSecurityEvents } from '../../src/events/event-schema.js';
import { Writable } from 'node:stream';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../db/migrations/index.js';
import { closedPort } from '../support/api.js';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { createLogger } from '../../src/logger.js';
import { SettingsError, loadSettings, resolveSecretKey } from '../../src/settings.js';
import { isPostgres, openPostgresDatabase, redactDatabaseUrl } from '../../src/store/database.js';
import { migrateToLatest } from '../../src/store/sqlite-database.js';
import { Store } from '../../src/store/store.js';
import type { Database } from '../../src/store/tables.js';
import { POSTGRES_UNAVAILABLE, createPostgresDatabase, type PostgresTestDatabase } from '../support/dialects.js';
import { makeEvents } from '../support/delivery.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/fault-kit.js';

/**
 * Issue 13, first part: `SIEMGATE_DATABASE_URL=postgres://…` runs the same store on PostgreSQL. What is particular to
 * PostgreSQL is here (migrations under a lock, bigint as numbers, the URL's password, readiness while the server is
 * unreachable); the store's behaviour on both dialects is proven by the suites looped with `forEachDialect`.
 */

const PASSWORD = 'Pw7kQ2xZ9mV4'; // trust auth on the test server ignores it; it must still never be shown

describe('SIEMGATE_DATABASE_URL', () => {
  const base = { SIEMGATE_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') };

  it('takes a postgres:// or postgresql:// URL; unset, the store stays the SQLite file', () => {
    expect(loadSettings({ ...base, SIEMGATE_DATABASE_URL: 'postgres://app@db:5432/siemgate' }).databaseUrl).toBe('postgres://app@db:5432/siemgate');
    expect(loadSettings({ ...base, SIEMGATE_DATABASE_URL: 'postgresql://db/siemgate' }).databaseUrl).toBe('postgresql://db/siemgate');
    expect(loadSettings(base).databaseUrl).toBeUndefined();
  });

  it('refuses any other value naming the setting, without echoing a password', () => {
    for (const raw of [`mysql://app:${PASSWORD}@db/siemgate`, PASSWORD, `http://app:${PASSWORD}@db`]) {
      let error: unknown;
      try {
        loadSettings({ ...base, SIEMGATE_DATABASE_URL: raw });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SettingsError);
      expect((error as SettingsError).setting).toBe('SIEMGATE_DATABASE_URL');
      expect((error as Error).message).not.toContain(PASSWORD);
    }
  });

  it('needs SIEMGATE_SECRET_KEY: replicas sharing a database must seal secrets with one key, not a key file each', () => {
    const settings = loadSettings({ SIEMGATE_DATABASE_URL: 'postgres://db/siemgate', SIEMGATE_DB: '/nonexistent/siemgate.db' });
    expect(() => resolveSecretKey(settings)).toThrow(/SIEMGATE_SECRET_KEY: must be set when SIEMGATE_DATABASE_URL is set/);
  });

  it('a gateway that cannot reach its database does not start, and says which database without its password', async () => {
    const url = `postgres://postgres:${PASSWORD}@127.0.0.1:${await closedPort()}/siemgate`;
    const failed = await startTestGateway({ env: { SIEMGATE_DATABASE_URL: url } }).then(
      async (g) => {
        await g.stop();
        return undefined;
      },
      (error: Error) => error,
    );
    expect(failed?.message).toMatch(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/siemgate: cannot migrate the database: connect ECONNREFUSED/);
    expect(failed?.message).not.toContain(PASSWORD);
  });

  it('is shown with its password redacted', () => {
    expect(redactDatabaseUrl(`postgres://app:${PASSWORD}@db:5432/siemgate?sslmode=require`)).toBe('postgres://app:***@db:5432/siemgate?sslmode=require');
    expect(redactDatabaseUrl(`postgres://db/siemgate?password=${PASSWORD}`)).toBe('postgres://db/siemgate?password=***');
    expect(redactDatabaseUrl('postgres://app@db/siemgate')).toBe('postgres://app@db/siemgate');
    expect(redactDatabaseUrl(`not a url ${PASSWORD}`)).toBe('***');
  });
});

describe.skipIf(POSTGRES_UNAVAILABLE !== undefined)(`the store on PostgreSQL${POSTGRES_UNAVAILABLE ? ` (skipped: ${POSTGRES_UNAVAILABLE})` : ''}`, () => {
  const databases: PostgresTestDatabase[] = [];
  const fresh = async () => {
    const database = await createPostgresDatabase();
    databases.push(database);
    return database;
  };
  afterAll(async () => {
    await Promise.all(databases.map((d) => d.drop()));
  });

  it('runs the migrations once, under a lock, when several replicas start at once on a fresh database', async () => {
    const { url } = await fresh();
    const replicas: Kysely<Database>[] = Array.from({ length: 6 }, () => openPostgresDatabase(url, { maxConnections: 2 }));
    try {
      expect(isPostgres(replicas[0]!)).toBe(true);
      const applied = await Promise.all(replicas.map((db) => migrateToLatest(db)));
      // Every migration applied by exactly one replica; the others found it done.
      expect(applied.flat().sort()).toEqual(Object.keys(migrations).sort());
      const recorded = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(replicas[0]!);
      expect(recorded.rows.map((r) => r.name)).toEqual(Object.keys(migrations).sort());
      expect(await migrateToLatest(replicas[1]!)).toEqual([]);
    } finally {
      await Promise.all(replicas.map((db) => db.destroy()));
    }
  });

  it('hands bigint columns and counts to the store as numbers, as SQLite does', async () => {
    const { url } = await fresh();
    const db = openPostgresDatabase(url);
    try {
      await migrateToLatest(db);
      const store = new Store(db, new SecretBox(Buffer.alloc(32, 1)));
      const { organization } = await store.ensureOrganization('acme');
      for (let i = 0; i < 3; i++) await store.tenant(organization.id).ingest(parseSecurityEvents(makeEvents(1)));
      const rows = await db.selectFrom('event_segments').select(['first_position', 'last_position']).orderBy('last_position').execute();
      expect(rows.flatMap((r) => [typeof r.first_position, typeof r.last_position])).toEqual(Array(6).fill('number'));
      expect(rows.map((r) => r.last_position)).toEqual([1, 2, 3]);
      const counted = await db.selectFrom('event_segments').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      expect(counted.n).toBe(3);
    } finally {
      await db.destroy();
    }
  });

  describe('a gateway whose URL carries a password, behind a proxy the test cuts', () => {
    let g: TestGateway;
    let proxy: TcpProxy;
    let url: string;
    const lines: string[] = [];
    const log = () => lines.join('');

    beforeAll(async () => {
      const database = await fresh();
      proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(database.url).port || 5432) });
      const target = new URL(database.url);
      target.host = `127.0.0.1:${proxy.port}`;
      target.password = PASSWORD;
      url = target.toString();
      const stream = new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      });
      g = await startTestGateway({ env: { SIEMGATE_DATABASE_URL: url }, logger: createLogger({ level: 'debug', destination: stream }) });
    });
    afterAll(async () => {
      await g?.stop({ removeDatabase: true });
      await proxy?.close();
    });

    it('names the database in its start line with the password redacted', () => {
      const listening = lines.flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'siemgate listening');
      expect(listening.database).toBe(redactDatabaseUrl(url));
      expect(listening.database).toContain(':***@');
    });

    it('/readyz answers 200 while the database answers, 503 STORE_UNAVAILABLE while it does not, and 200 again once it is back', async () => {
      expect((await fetch(`${g.url}/readyz`)).status).toBe(200);

      proxy.cut();
      const down = await fetch(`${g.url}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ error: { code: 'STORE_UNAVAILABLE', message: 'Not ready: the database does not answer' } });
      // GraphQL meanwhile answers 503 STORE_UNAVAILABLE, not 401: an outage is not an unknown key.
      const during = await g.gql('{ viewer { role } }');
      expect(during.status).toBe(503);
      expect(during.errors?.[0]?.extensions?.code).toBe('STORE_UNAVAILABLE');

      proxy.restore();
      await waitFor(async () => (await fetch(`${g.url}/readyz`)).status === 200, { message: '/readyz never answered 200 again' });
      expect(dataOfViewer(await g.gql('{ viewer { role } }'))).toBe('ADMIN');
    });

    it('never writes the password to its log, at debug level, through start, outage and recovery', () => {
      expect(lines.length).toBeGreaterThan(0);
      expect(log()).not.toContain(PASSWORD);
    });
  });
});

function dataOfViewer(answer: { data?: { viewer?: { role?: string } }; errors?: unknown }): string | undefined {
  expect(answer.errors).toBeUndefined();
  return answer.data?.viewer?.role;
}
