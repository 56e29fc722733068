import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, describe } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { redactDatabaseUrl } from '../../src/store/database-url.js';
import type { Database } from '../../src/store/tables.js';
import { databaseFiles } from './api.js';

/**
 * The store's two dialects, for suites that run once on each (as Kysely tests its dialects): SQLite (a temporary
 * file, the default) and PostgreSQL (a fresh database per gateway, created here and dropped when the suite ends, so
 * test files run in parallel on one server).
 *
 * PostgreSQL is the machine's, at `SIEMGATE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`,
 * a user allowed to create databases). Where it does not answer, its suites are skipped and say why, except in CI
 * (`CI` set), where a missing PostgreSQL fails the run: CI must prove both dialects.
 */

export type DialectName = 'sqlite' | 'postgres';

/** The server and user tests create their databases with. */
export const POSTGRES_ADMIN_URL = process.env.SIEMGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function postgresProblem(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${redactDatabaseUrl(POSTGRES_ADMIN_URL)} does not answer (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Why PostgreSQL suites are skipped here, or undefined when PostgreSQL answers. */
export const POSTGRES_UNAVAILABLE = await postgresProblem();
if (POSTGRES_UNAVAILABLE && process.env.CI) {
  throw new Error(`${POSTGRES_UNAVAILABLE}; CI runs every store suite on PostgreSQL too (.ci/run starts it)`);
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** A PostgreSQL database of its own for one test (or one gateway). */
export interface PostgresTestDatabase {
  name: string;
  /** Its URL, as `SIEMGATE_DATABASE_URL` takes it. */
  url: string;
  /** Drops it, closing whatever connections are still open to it. Idempotent. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database `siemgate_test_<random>` on the test server.
 *
 * @example
 * ```ts
 * const database = await createPostgresDatabase();
 * try { ... database.url ... } finally { await database.drop(); }
 * ```
 */
export async function createPostgresDatabase(): Promise<PostgresTestDatabase> {
  const name = `siemgate_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: url.toString(),
    drop: () => (dropped ??= adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

/** One dialect, as a looped suite sees it. */
export interface TestDialect {
  name: DialectName;
  /**
   * Settings that put a gateway on a fresh, empty database of this dialect: none for SQLite (the gateway's temporary
   * directory holds its file), `SIEMGATE_DATABASE_URL` of a new database for PostgreSQL, dropped when the suite ends.
   * Restarting a gateway with the same settings reopens the same data.
   */
  databaseEnv(): Promise<Record<string, string>>;
  /** A fresh, empty (unmigrated) store database of this dialect, for tests that build a `Store` themselves; destroy it after. */
  openDatabase(): Promise<Kysely<Database>>;
}

/** Every dialect, the embedded default first. */
export const DIALECTS: readonly DialectName[] = ['sqlite', 'postgres'];

/**
 * Runs `suite` once per dialect, each in its own `describe` (`… on sqlite`, `… on postgres`), the way Kysely runs its
 * tests on every dialect. The PostgreSQL databases a suite created are dropped after it. Hooks and `let`s the suite
 * needs go inside `suite`, so each dialect has its own.
 *
 * @example
 * ```ts
 * forEachDialect((dialect) => {
 *   let g: TestGateway;
 *   beforeAll(async () => { g = await startTestGateway({ env: await dialect.databaseEnv() }); });
 *   it('…', async () => { ... });
 * });
 * ```
 */
export function forEachDialect(suite: (dialect: TestDialect) => void, title = 'the store'): void {
  for (const name of DIALECTS) {
    const skip = name === 'postgres' && POSTGRES_UNAVAILABLE !== undefined;
    describe.skipIf(skip)(`${title} on ${name}${skip ? ` (skipped: ${POSTGRES_UNAVAILABLE})` : ''}`, () => {
      const created: PostgresTestDatabase[] = [];
      // Registered first, so it runs after the suite's own afterAll hooks (which stop its gateways).
      afterAll(async () => {
        await Promise.all(created.splice(0).map((d) => d.drop()));
      });
      const databaseEnv = async (): Promise<Record<string, string>> => {
        if (name === 'sqlite') return {};
        const database = await createPostgresDatabase();
        created.push(database);
        return { SIEMGATE_DATABASE_URL: database.url };
      };
      suite({
        name,
        databaseEnv,
        async openDatabase() {
          const url = (await databaseEnv()).SIEMGATE_DATABASE_URL;
          return openDatabase({ path: ':memory:', url });
        },
      });
    });
  }
}

/**
 * Everything a gateway's database holds at rest, for searching it for plaintext: the SQLite file and its write-ahead
 * log, or on PostgreSQL every row of every table of the database (as PostgreSQL's text form of the row).
 *
 * @example
 * ```ts
 * for (const f of await storedData(g.env)) expect(f.bytes.includes(secret)).toBe(false);
 * ```
 */
export async function storedData(env: NodeJS.ProcessEnv): Promise<{ name: string; bytes: Buffer }[]> {
  const url = env.SIEMGATE_DATABASE_URL;
  if (!url) return databaseFiles({ env });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>("select table_name as name from information_schema.tables where table_schema = 'public' order by 1");
    const dumps = [];
    for (const { name } of tables.rows) {
      const rows = await client.query<{ row: string }>(`select t::text as row from "${name}" t`);
      dumps.push({ name: `table ${name}`, bytes: Buffer.from(rows.rows.map((r) => r.row).join('\n'), 'utf8') });
    }
    return dumps;
  } finally {
    await client.end();
  }
}
