import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { DELIVERY_TIMEOUT_MS, INGEST_POSTERS, WARMUP_EVENTS } from '../config.js';
import { GatewayClient } from '../gateway-client.js';
import { GatewayProcess } from '../gateway-process.js';
import { forEachConcurrently, summarizeLatencies, wallClockMs, type LatencySummary } from '../measure.js';
import { HEC_PATH, payloadsFor, THROUGHPUT_CUSTOMER } from '../payloads.js';
import { ReceiverProcess } from '../receiver-process.js';

const run = promisify(execFile);

/** The PostgreSQL server the scale-out figures use (trust auth, as on the CI machine). */
export const BENCH_POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Integrations routed every event: with 3 replicas, one each (leases spread them). */
const INTEGRATIONS = 3;
const EVENTS = 60_000;
const PGBENCH_SECONDS = 8;

/** One replica count's figure. */
export interface ReplicaRun {
  replicas: number;
  /** Deliveries (events × integrations) per second, first post to the receiver's last event. */
  deliveriesPerSec: number;
  /** Events per second acknowledged (202) by the replicas together. */
  ingestPerSec: number;
}

export interface ScaleOutResult {
  runs: ReplicaRun[];
  /**
   * With 3 replicas: one event posted to each replica in turn, for an integration (batchSize 1) whose lease one of
   * them holds; from the post to the receiver's arrival. Two posts in three land on a replica that does not deliver
   * the integration: the owner learns of the event by a wake-up over Redis (its idle re-check is 30 s).
   */
  wakeUp?: LatencySummary;
  /** PostgreSQL alone, the log's write pattern (pgbench): one segment of `eventsPerSegment` a transaction. */
  append: { clients: number; segmentsPerSec: number; eventsPerSegment: number; eventsPerSec: number } | null;
  notes: string[];
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Why the scale-out figures cannot be measured here, or undefined. */
export async function scaleOutUnavailable(): Promise<string | undefined> {
  try {
    await admin('select 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${BENCH_POSTGRES_URL} does not answer (${(error as Error).message})`;
  }
}

function databaseUrl(name: string): string {
  const url = new URL(BENCH_POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * End to end on PostgreSQL + Redis with `replicas` gateways on one database: {@link INTEGRATIONS} HEC integrations
 * routed every event, events posted round-robin to the replicas by {@link INGEST_POSTERS} posters.
 */
async function measureReplicas(replicas: number, log: (line: string) => void): Promise<ReplicaRun & { wakeUp?: LatencySummary }> {
  const name = `siemgate_bench_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const receiver = await ReceiverProcess.start('hec');
  const env = {
    SIEMGATE_DATABASE_URL: databaseUrl(name),
    SIEMGATE_REDIS_URL: REDIS_URL,
    SIEMGATE_REDIS_PREFIX: `${name}:`,
    SIEMGATE_LEASE_SECONDS: '3',
  };
  const gateways: GatewayProcess[] = [];
  const clients: GatewayClient[] = [];
  try {
    gateways.push(await GatewayProcess.start({ label: `scale-${replicas}-0`, env }));
    for (let i = 1; i < replicas; i++) gateways.push(await GatewayProcess.start({ label: `scale-${replicas}-${i}`, env }));
    clients.push(...gateways.map((g) => new GatewayClient(g.url)));
    for (let i = 1; i <= INTEGRATIONS; i++) {
      await clients[0]!.createSplunkIntegration({ name: `scale #${i}`, endpoint: `${receiver.url}${HEC_PATH}`, customerId: THROUGHPUT_CUSTOMER });
    }
    // Leases spread over the replicas (a few lease periods), then a warm-up through every replica.
    await new Promise((resolve) => setTimeout(resolve, replicas > 1 ? 7_000 : 500));
    const payloads = await payloadsFor(EVENTS);
    let next = 0;
    await receiver.reset();
    await forEachConcurrently(payloads.warmup, INGEST_POSTERS, (body) => clients[next++ % clients.length]!.postEvents(body));
    await receiver.waitFor(WARMUP_EVENTS * INTEGRATIONS, DELIVERY_TIMEOUT_MS);
    await receiver.reset();

    const startedAt = performance.timeOrigin + performance.now();
    await forEachConcurrently(payloads.ingest, INGEST_POSTERS, (body) => clients[next++ % clients.length]!.postEvents(body));
    const ingestMs = performance.timeOrigin + performance.now() - startedAt;
    const stats = await receiver.waitFor(payloads.events * INTEGRATIONS, DELIVERY_TIMEOUT_MS);
    const ms = stats.lastAt! - startedAt;
    const result = { replicas, deliveriesPerSec: (stats.events * 1000) / ms, ingestPerSec: (payloads.events * 1000) / ingestMs };
    log(`  scale-out: ${replicas} replica(s): ${Math.round(result.deliveriesPerSec).toLocaleString('en-US')} deliveries/s, ingest ${Math.round(result.ingestPerSec).toLocaleString('en-US')} ev/s`);
    if (replicas === 1) return result;
    const wakeUp = await measureWakeUp(clients, receiver);
    log(`  scale-out: wake-up across replicas (post → delivered, batchSize 1): p50 ${wakeUp.p50Ms.toFixed(1)} ms, p99 ${wakeUp.p99Ms.toFixed(1)} ms, max ${wakeUp.maxMs.toFixed(1)} ms`);
    return { ...result, wakeUp };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(gateways.map((g) => g.stop()));
    await receiver.stop();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  }
}

const WAKE_UP_SAMPLES = 60;
const WAKE_CUSTOMER = 'cust_wake';

/** See {@link ScaleOutResult.wakeUp}. */
async function measureWakeUp(clients: GatewayClient[], receiver: ReceiverProcess): Promise<LatencySummary> {
  await clients[0]!.createSplunkIntegration({ name: 'wake-up', endpoint: `${receiver.url}${HEC_PATH}`, customerId: WAKE_CUSTOMER, batching: { batchSize: 1, flushIntervalSeconds: 1 } });
  // The leases of 4 integrations settle over 3 replicas (a round every lease/3).
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  const samples: number[] = [];
  for (let i = 0; i < WAKE_UP_SAMPLES + 3; i++) {
    await receiver.reset();
    const startedAt = wallClockMs();
    await clients[i % clients.length]!.postEvents(JSON.stringify([{ type: 'scan', severity: 'HIGH', name: 'wake-up', customerId: WAKE_CUSTOMER }]));
    const stats = await receiver.waitFor(1, DELIVERY_TIMEOUT_MS);
    if (i >= 3) samples.push(stats.lastAt! - startedAt); // the first of each replica warms its connections
  }
  return summarizeLatencies(samples);
}

/**
 * PostgreSQL's own rate for the log's write pattern, with pgbench: per transaction, lock the organisation's head,
 * insert one segment of 500 events (~165 KB of stored lines and their facts), move the head.
 */
async function measureAppendRate(log: (line: string) => void): Promise<ScaleOutResult['append']> {
  const eventsPerSegment = 500;
  const clients = 4;
  const name = `siemgate_pgbench_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const dir = mkdtempSync(join(tmpdir(), 'siemgate-pgbench-'));
  const script = join(dir, 'append.sql');
  // The same statements EventLog.appendStored runs, with a segment the size of a 500-event request.
  writeFileSync(
    script,
    [
      '\\set org random(1, 8)',
      'BEGIN;',
      "SELECT next_position FROM log_heads WHERE organization_id = 'org' || :org FOR UPDATE;",
      `INSERT INTO event_segments (organization_id, first_position, last_position, received_at, events, facts) SELECT 'org' || :org, next_position, next_position + ${eventsPerSegment - 1}, now()::text, repeat('{"id":"0c6a1f0e-6b2e-4a55-9d6e-1c2f3a4b5c6d","event_type":"scan","severity":"high"} ', ${Math.round(165_000 / 80)}), repeat('["0c6a1f0e-6b2e-4a55-9d6e-1c2f3a4b5c6d","cust_bench",3,"scan",1706619000000],', ${eventsPerSegment}) FROM log_heads WHERE organization_id = 'org' || :org;`,
      `UPDATE log_heads SET next_position = next_position + ${eventsPerSegment} WHERE organization_id = 'org' || :org;`,
      'COMMIT;',
      '',
    ].join('\n'),
  );
  try {
    const db = new pg.Client({ connectionString: databaseUrl(name) });
    await db.connect();
    try {
      await db.query(`CREATE TABLE log_heads (organization_id text PRIMARY KEY, next_position bigint NOT NULL);
        CREATE TABLE event_segments (id bigserial PRIMARY KEY, organization_id text NOT NULL, first_position bigint NOT NULL, last_position bigint NOT NULL, received_at text NOT NULL, events text NOT NULL, facts text NOT NULL);
        CREATE UNIQUE INDEX event_segments_org_last_idx ON event_segments (organization_id, last_position);
        INSERT INTO log_heads SELECT 'org' || i, 1 FROM generate_series(1, 8) i;`);
    } finally {
      await db.end();
    }
    const url = new URL(databaseUrl(name));
    const { stdout } = await run('pgbench', ['-n', '-c', String(clients), '-j', '2', '-T', String(PGBENCH_SECONDS), '-f', script, '-h', url.hostname, '-p', url.port || '5432', '-U', decodeURIComponent(url.username) || 'postgres', name], { maxBuffer: 1 << 20 });
    const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? NaN);
    const result = { clients, segmentsPerSec: tps, eventsPerSegment, eventsPerSec: tps * eventsPerSegment };
    log(`  scale-out: PostgreSQL alone, the log's appends (pgbench, ${clients} clients): ${Math.round(tps)} segments/s = ${Math.round(result.eventsPerSec).toLocaleString('en-US')} ev/s`);
    return result;
  } catch (error) {
    log(`  scale-out: pgbench failed (${(error as Error).message.split('\n')[0]}); no append rate`);
    return null;
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  }
}

/** End to end with 1 and 3 replicas on PostgreSQL, and PostgreSQL's own append rate, all on this machine. */
export async function measureScaleOut(log: (line: string) => void): Promise<ScaleOutResult> {
  const one = await measureReplicas(1, log);
  const { wakeUp, ...three } = await measureReplicas(3, log);
  const append = await measureAppendRate(log);
  return {
    runs: [one, three],
    wakeUp,
    append,
    notes: ['replicas, receiver, PostgreSQL, Redis and the posters share the same 2 cores: the figures show the cost of coordination, not the gain of more hosts'],
  };
}
