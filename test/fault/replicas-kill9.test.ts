import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, exited, gql, spawnServe } from '../support/gateway.js';
import { POSTGRES_UNAVAILABLE, createPostgresDatabase, type PostgresTestDatabase } from '../support/dialects.js';
import { sleep, startIdReceiver, startProducers, waitFor, type IdReceiver } from '../support/fault-kit.js';

/**
 * Issue 13, "replicas share the work safely", with real processes and no Redis (wake-ups across replicas by polling;
 * test/fault/replicas.test.ts is the same with Redis): three `siemgate serve` on one PostgreSQL database
 * share six integrations through delivery leases (a replica started later takes its share); producers post round
 * robin to all three; one is killed with `-9` under load. Its integrations move to the other two once its leases run
 * out, every acknowledged event reaches every SIEM, and only the batches it had in flight arrive twice.
 */

const BATCH_SIZE = 50;
const CHUNK = 100;
const INTEGRATIONS = 6;
const LEASE_SECONDS = 2;

const children: ChildProcess[] = [];
const receivers: IdReceiver[] = [];
let database: PostgresTestDatabase | undefined;

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(receivers.map((r) => r.close()));
  await database?.drop();
});

/** Lease owners by integration, read from the database. */
async function owners(url: string): Promise<Map<string, string | null>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ integration_id: string; owner: string | null }>('select integration_id, owner from delivery_leases');
    return new Map(rows.map((r) => [r.integration_id, r.owner]));
  } finally {
    await client.end();
  }
}

/** How many leases each owner holds (unowned ones under `null`). */
function shares(map: Map<string, string | null>): Map<string | null, number> {
  const out = new Map<string | null, number>();
  for (const owner of map.values()) out.set(owner, (out.get(owner) ?? 0) + 1);
  return out;
}


describe.skipIf(POSTGRES_UNAVAILABLE !== undefined)(`three replicas on PostgreSQL${POSTGRES_UNAVAILABLE ? ` (skipped: ${POSTGRES_UNAVAILABLE})` : ''}`, () => {
  it('share the integrations, and a kill -9 of one loses nothing: its integrations move to the others', async () => {
    database = await createPostgresDatabase();
    const env: NodeJS.ProcessEnv = {
      PORT: '0',
      HOST: '127.0.0.1',
      SIEMGATE_DATABASE_URL: database.url,
      SIEMGATE_SECRET_KEY: Buffer.alloc(32, 5).toString('base64'),
      SIEMGATE_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
      SIEMGATE_LOG_LEVEL: 'warn', // not silent: spawnServe waits for the start line
      SIEMGATE_EGRESS_ALLOW: '127.0.0.1/32',
      SIEMGATE_RETRY_BASE_MS: '20',
      SIEMGATE_RETRY_MAX_MS: '200',
      SIEMGATE_LEASE_SECONDS: String(LEASE_SECONDS),
      SIEMGATE_INGEST_THREADS: '0',
    };
    const url = database.url;

    // Two replicas first, started together (migrations and the bootstrap key survive the race).
    const replicas: Awaited<ReturnType<typeof spawnServe>>[] = await Promise.all([spawnServe(env, 60_000), spawnServe(env, 60_000)]);
    children.push(...replicas.map((r) => r.child));
    const batching = { batchSize: BATCH_SIZE, flushIntervalSeconds: 1, retryCount: 3, timeoutSeconds: 5 };
    const create = 'mutation($input: CreateSiemIntegrationInput!) { createSiemIntegration(input: $input) { id } }';
    const integrationIds: string[] = [];
    for (let i = 0; i < INTEGRATIONS; i++) {
      // A little slow to answer, so that batches are in flight most of the time.
      const rx = await startIdReceiver({ responder: () => ({ status: 200, delayMs: 10 }) });
      receivers.push(rx);
      const res = await gql(`${replicas[0]!.url}/graphql`, create, { input: { name: `webhook ${i}`, config: { webhook: { endpoint: `${rx.url}/hook` } }, batching } });
      expect(res.errors).toBeUndefined();
      integrationIds.push(res.data.createSiemIntegration.id);
    }
    await waitFor(async () => {
      const s = shares(await owners(url));
      return s.size === 2 && !s.has(null) && [...s.values()].every((n) => n === INTEGRATIONS / 2);
    }, { timeoutMs: 20_000, message: 'two replicas to hold three leases each' });

    // A third replica, started later, takes its share.
    const third = await spawnServe(env, 60_000);
    children.push(third.child);
    replicas.push(third);
    await waitFor(async () => {
      const s = shares(await owners(url));
      return s.size === 3 && !s.has(null) && [...s.values()].every((n) => n === INTEGRATIONS / 3);
    }, { timeoutMs: 20_000, message: 'three replicas to hold two leases each' });

    // Producers post round robin to the three replicas; only 202-acknowledged chunks count as ingested.
    const load = startProducers(replicas.map((r) => r.url), { producers: 3, chunk: CHUNK });
    await waitFor(() => load.acknowledged.size >= 3_000 && receivers.every((r) => r.batches.length >= 2), {
      timeoutMs: 30_000,
      message: () => `load to build up (acknowledged ${load.acknowledged.size}, batches ${receivers.map((r) => r.batches.length).join(' ')})`,
    });

    // Kill the second replica mid-flight.
    const before = await owners(url);
    const victim = replicas[1]!;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    expect((await exited(victim.child)).signal).toBe('SIGKILL');
    await sleep(200);
    await load.stop();
    const ingested = load.acknowledged;

    // Its leases (the owner that vanishes) move to the two others.
    await waitFor(async () => {
      const s = shares(await owners(url));
      return s.size === 2 && !s.has(null) && [...s.values()].every((n) => n === INTEGRATIONS / 2);
    }, { timeoutMs: 20_000, message: 'the survivors to hold three leases each' });
    console.log(`[fault] replicas kill -9: leases taken over ${Date.now() - killedAt} ms after the kill (lease ${LEASE_SECONDS} s)`);
    const after = await owners(url);
    const deadOwner = [...new Set(before.values())].find((o) => ![...after.values()].includes(o));
    const orphaned = new Set(integrationIds.filter((id) => before.get(id) === deadOwner));
    expect(orphaned.size).toBe(INTEGRATIONS / 3);

    // Every acknowledged event reaches every SIEM (events ingested on one replica for another's integration are
    // found by the owner's own polling without Redis: allow for it).
    for (const [i, rx] of receivers.entries()) {
      await waitFor(() => rx.missing(ingested).length === 0, {
        timeoutMs: 60_000,
        message: () => `integration ${i}: every acknowledged event (missing ${rx.missing(ingested).length} of ${ingested.size})`,
      });
    }
    await sleep(300);
    for (const [i, rx] of receivers.entries()) {
      const extra = [...rx.delivered.keys()].filter((id) => !ingested.has(id) && !load.unanswered.has(id));
      console.log(`[fault] replicas kill -9, integration ${i}${orphaned.has(integrationIds[i]!) ? ' (taken over)' : ''}: ${ingested.size} acknowledged, ${rx.duplicates()} duplicate deliveries, ${rx.batches.length} requests`);
      expect(extra).toEqual([]); // nothing arrives that no producer sent
      // Only the batch in flight at the kill may arrive twice, and only for the dead replica's integrations.
      expect(rx.duplicates()).toBeLessThanOrEqual(orphaned.has(integrationIds[i]!) ? BATCH_SIZE : 0);
    }

    // The survivors still shut down cleanly, handing their leases back.
    for (const r of [replicas[0]!, replicas[2]!]) r.child.kill('SIGTERM');
    for (const r of [replicas[0]!, replicas[2]!]) expect(await exited(r.child)).toEqual({ code: 0, signal: null });
    expect(shares(await owners(url))).toEqual(new Map([[null, INTEGRATIONS]]));
  }, 240_000);
});
