import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, POSTGRES_UNAVAILABLE, type PostgresTestDatabase } from '../support/dialects.js';
import { ADMIN_TOKEN, exited, gql, spawnServe } from '../support/gateway.js';
import { makeEvents, postEvents, sleep, startIdReceiver, startProducers, waitFor, type IdReceiver } from '../support/fault-kit.js';
import { subscribe } from '../support/ws-subscribe.js';

/**
 * Scale-out, as an operator runs it: three `siemgate serve` processes on one PostgreSQL database and one Redis,
 * no proxy in front. Producers post round-robin to all three; one replica is killed with SIGKILL under load.
 * Every acknowledged event must reach every SIEM; duplicates only from batches in flight at the kill (one per
 * integration the dead replica owned). Live status crosses replicas, and a replica started later takes a share.
 */

const BATCH_SIZE = 100;
const CHUNK = 200;
const LEASE_SECONDS = 2;
const INTEGRATIONS = 4;

const children: ChildProcess[] = [];
const receivers: IdReceiver[] = [];
let database: PostgresTestDatabase | undefined;

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(receivers.map((r) => r.close()));
  await database?.drop();
});


describe.skipIf(POSTGRES_UNAVAILABLE !== undefined)('three replicas on PostgreSQL and Redis', () => {
  it('deliver every acknowledged event when one is killed under load, show status across replicas, and share the work with a late one', async () => {
    database = await createPostgresDatabase();
    const env: NodeJS.ProcessEnv = {
      PORT: '0',
      HOST: '127.0.0.1',
      SIEMGATE_DATABASE_URL: database.url,
      SIEMGATE_REDIS_URL: 'redis://127.0.0.1:6379',
      SIEMGATE_REDIS_PREFIX: `siemgate-test-${randomBytes(4).toString('hex')}:`,
      SIEMGATE_LEASE_SECONDS: String(LEASE_SECONDS),
      SIEMGATE_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
      SIEMGATE_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
      SIEMGATE_LOG_LEVEL: 'warn',
      SIEMGATE_EGRESS_ALLOW: '127.0.0.1/32',
      SIEMGATE_RETRY_BASE_MS: '20',
      SIEMGATE_RETRY_MAX_MS: '200',
    };
    // Started together: migrations and the bootstrap key must survive the race.
    const replicas = await Promise.all([spawnServe(env), spawnServe(env), spawnServe(env)]);
    children.push(...replicas.map((r) => r.child));

    // Four SIEMs, each a little slow, so that batches are in flight most of the time; the last one fails on demand.
    let failing = false;
    for (let i = 0; i < INTEGRATIONS; i++) {
      const last = i === INTEGRATIONS - 1;
      receivers.push(await startIdReceiver({ responder: () => (last && failing ? { status: 503 } : { status: 200, delayMs: 10 }) }));
    }
    const batching = { batchSize: BATCH_SIZE, flushIntervalSeconds: 1, retryCount: 3, timeoutSeconds: 5 };
    const ids: string[] = [];
    for (const [i, rx] of receivers.entries()) {
      const res = await gql(`${replicas[i % 3]!.url}/graphql`, 'mutation($input: CreateSiemIntegrationInput!) { createSiemIntegration(input: $input) { id } }', {
        input: { name: `siem-${i}`, config: { webhook: { endpoint: `${rx.url}/hook` } }, batching },
      });
      expect(res.errors).toBeUndefined();
      ids.push(res.data.createSiemIntegration.id);
    }

    // Live status across replicas: a subscriber on replica 0 sees the last integration fail and recover, wherever it is delivered.
    const watched = ids.at(-1)!;
    const status = await subscribe(replicas[0]!.url, ADMIN_TOKEN, 'subscription($id: ID!) { siemIntegrationStatus(id: $id) { health } }', { id: watched });

    // Producers post round-robin to the three replicas until the kill; only 202-acknowledged chunks count.
    const load = startProducers(replicas.map((r) => r.url), { producers: 4, chunk: CHUNK });
    const { acknowledged, unanswered } = load;

    await waitFor(() => receivers.every((rx) => rx.batches.length >= 3) && acknowledged.size >= 3_000, {
      timeoutMs: 30_000,
      message: () => `load to build up (acknowledged ${acknowledged.size}, batches ${receivers.map((rx) => rx.batches.length).join('/')})`,
    });
    replicas[2]!.child.kill('SIGKILL');
    expect((await exited(replicas[2]!.child)).signal).toBe('SIGKILL');
    await sleep(300);
    await load.stop();

    // The survivors take the dead replica's integrations over (within two lease periods) and deliver everything.
    for (const [i, rx] of receivers.entries()) {
      await waitFor(() => rx.missing(acknowledged).length === 0, {
        timeoutMs: 30_000,
        message: () => `SIEM ${i}: every acknowledged event (missing ${rx.missing(acknowledged).length})`,
      });
    }
    await waitFor(async () => (await gql(`${replicas[0]!.url}/graphql`, '{ deliveryStats { queued } }')).data?.deliveryStats.queued === 0, {
      timeoutMs: 15_000,
      message: 'queues to drain',
    });
    await sleep(300);
    for (const [i, rx] of receivers.entries()) {
      const unknown = [...rx.delivered.keys()].filter((id) => !acknowledged.has(id) && !unanswered.has(id));
      console.log(`[replicas] SIEM ${i}: ${acknowledged.size} acknowledged, ${rx.missing(acknowledged).length} missing, ${rx.duplicates()} duplicate deliveries`);
      expect(unknown).toEqual([]);
      expect(rx.duplicates()).toBeLessThanOrEqual(BATCH_SIZE);
    }

    // Status: FAILING, then HEALTHY again, seen on replica 0 whichever replica delivers the integration.
    failing = true;
    await postEvents(replicas[1]!.url, makeEvents(5));
    await waitFor(() => status.results.some((r: any) => r.siemIntegrationStatus?.health === 'FAILING'), { timeoutMs: 20_000, message: 'FAILING on replica 0' });
    failing = false;
    await waitFor(() => status.results.at(-1)?.siemIntegrationStatus?.health === 'HEALTHY', { timeoutMs: 20_000, message: 'HEALTHY again on replica 0' });
    await status.close();

    // A replica started later takes its share: it delivers some integration's new events.
    const late = await spawnServe(env);
    children.push(late.child);
    await waitFor(
      async () => {
        const res = await gql(`${late.url}/graphql`, '{ siemIntegrations { id stats { p50LatencyMs } } }');
        // Only the replica running an integration's worker has its latencies.
        await postEvents(late.url, makeEvents(10));
        return res.data?.siemIntegrations.some((i: any) => i.stats.p50LatencyMs !== null);
      },
      { timeoutMs: 6 * LEASE_SECONDS * 1000, intervalMs: 500, message: 'the late replica to deliver its share' },
    );

    for (const r of [replicas[0]!, replicas[1]!, late]) r.child.kill('SIGTERM');
    for (const r of [replicas[0]!, replicas[1]!, late]) expect(await exited(r.child)).toEqual({ code: 0, signal: null });
  }, 120_000);
});
