import { randomUUID } from 'node:crypto';
import { Socket, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryEngine, type StatusMessage } from '../../src/delivery/delivery-engine.js';
import type { DeliveryAttempt } from '../../src/delivery/integration-worker.js';
import { RedisBus } from '../../src/delivery/redis-bus.js';
import { LocalBus, decodeBusMessage, encodeBusMessage, groupAppended } from '../../src/delivery/replica-bus.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { loadSettings, SettingsError } from '../../src/settings.js';
import { Store } from '../../src/store/store.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import {
  ATTEMPTS_SUBSCRIPTION, HEC_BUSY, HEC_SUCCESS, STATUS_SUBSCRIPTION, connectWs, createSplunkIntegration, ingest, makeEvent, startHecSink, waitFor,
  type HecSink, type WsClient,
} from '../support/delivery.js';
import { dataOf } from '../support/api.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Issue 13, "wake-ups and live status across replicas": with `SIEMGATE_REDIS_URL`, status changes and
 * delivery attempts published on one replica reach subscribers of every replica, and events appended on
 * one replica wake the worker of another at once; without it (or while Redis is down) each replica works
 * alone and loses nothing.
 *
 * Two replicas sharing one database: gateway A (a real server with its SQLite file) and replica B, a
 * delivery engine of its own over the same database through a second `Store` (so B, like a replica on
 * PostgreSQL, hears nothing of A's commits except through the bus). Integrations created through B's
 * store are delivered by B alone: A's engine never learns of them. Each test uses its own channel prefix
 * on the machine's Redis, so parallel runs do not hear each other.
 */

const REDIS_URL = process.env.SIEMGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const silent = createLogger({ level: 'silent' });

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
function later<T extends { close(): Promise<unknown> } | { stop(): Promise<unknown> }>(thing: T): T {
  cleanups.push(() => ('close' in thing ? thing.close() : thing.stop()));
  return thing;
}

/** A fresh channel prefix: this test's replicas hear one another and no one else. */
const freshPrefix = () => `siemgate-test:${randomUUID()}:`;

/** A logger at `level` whose JSON lines are kept (`text()`: all of them). */
function capturingLogger(level = 'info'): { log: Logger; text: () => string } {
  const raw: string[] = [];
  const log = createLogger({ level, destination: { write: (line: string) => void raw.push(line) } });
  return { log, text: () => raw.join('') };
}
function parsedLines(text: string): { msg: string; level: number }[] {
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

/** Gateway A on Redis (at `redisUrl`) with channel `prefix`. */
async function gatewayOnRedis(prefix: string, options: { redisUrl?: string; logger?: Logger } = {}): Promise<TestGateway> {
  const g = await startTestGateway({ env: { SIEMGATE_REDIS_URL: options.redisUrl ?? REDIS_URL, SIEMGATE_REDIS_PREFIX: prefix, SIEMGATE_RETRY_BASE_MS: '20' }, logger: options.logger });
  cleanups.push(() => g.stop({ removeDatabase: true }));
  return g;
}

/** Replica B: a second store over A's database and a delivery engine on its own Redis connections. */
async function replicaB(a: TestGateway, prefix: string, redisUrl = REDIS_URL, leaseMs?: number): Promise<{ store: Store; engine: DeliveryEngine; bus: RedisBus; attempts: DeliveryAttempt[] }> {
  const store = new Store(a.store.db, a.store.box);
  const bus = new RedisBus({ url: redisUrl, prefix, log: silent });
  const engine = new DeliveryEngine({ store: store.delivery(), egress: new EgressPolicy({ allow: ['127.0.0.0/8'] }), log: silent, bus, retryBaseMs: 20, retryMaxMs: 100, leaseMs });
  const attempts: DeliveryAttempt[] = [];
  engine.observers.add({ attempt: (attempt) => void attempts.push(attempt) });
  await engine.start();
  cleanups.push(async () => {
    await engine.stop(1000);
    await bus.close();
  });
  await Promise.all([bus.ready(), a.engine.bus.ready()]);
  await waitFor(() => bus.connected && a.engine.bus.connected, { message: 'both replicas connected to Redis' });
  return { store, engine, bus, attempts };
}

async function defaultOrganization(g: TestGateway): Promise<string> {
  return (await g.store.ensureOrganization('default')).organization.id;
}

/** Creates a Splunk integration through `store` (so only the engine on that store delivers it). */
async function createThrough(store: Store, organizationId: string, sink: HecSink, batchSize = 1, enabled = true) {
  return store.tenant(organizationId).createIntegration(
    { name: `B Splunk ${randomUUID().slice(0, 8)}`, type: 'SPLUNK', enabled, config: { endpoint: sink.endpoint, token: 'hec-token-0000-1111' }, batching: { batchSize, flushIntervalSeconds: 1 } },
    { keyId: null, name: 'test' },
  );
}

const securityEvent = (): SecurityEvent => ({ id: randomUUID(), time: new Date(), type: 'scan', name: 'Prompt Injection Detected', severity: 'HIGH' });

const clients: WsClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});
function ws(g: TestGateway): WsClient {
  const client = connectWs(g.url);
  clients.push(client);
  return client;
}

describe('the wire format', () => {
  it('brings Dates back as Dates, and leaves strings that look like dates alone', () => {
    const at = new Date('2026-11-30T08:00:00.123Z');
    const message = { at, nested: { list: [{ when: at }, 'x'], text: '2026-11-30T08:00:00.123Z' }, none: null };
    const { replica, message: decoded } = decodeBusMessage(encodeBusMessage('replica-1', message));
    expect(replica).toBe('replica-1');
    expect(decoded).toEqual(message);
    expect((decoded as typeof message).nested.list[0]).toEqual({ when: at });
    expect((decoded as typeof message).nested.text).toBe('2026-11-30T08:00:00.123Z');
  });

  it('groups appended events by what routing looks at', () => {
    const events = [
      { seq: 1, customerId: 'a', severityRank: 3, type: 'scan' },
      { seq: 2, customerId: 'a', severityRank: 3, type: 'scan' },
      { seq: 3, customerId: null, severityRank: 3, type: 'scan' },
      { seq: 4, customerId: '', severityRank: 3, type: 'scan' },
      { seq: 5, customerId: 'a', severityRank: 1, type: 'scan' },
    ];
    expect(groupAppended(events)).toEqual([
      ['a', 3, 'scan', 2],
      [null, 3, 'scan', 1],
      ['', 3, 'scan', 1],
      ['a', 1, 'scan', 1],
    ]);
  });

  it('in-process buses reach the others, never themselves', async () => {
    const [one, two] = LocalBus.network(2);
    const heard: [string, unknown][] = [];
    const own: unknown[] = [];
    two!.subscribe('status:', (topic, m) => heard.push([topic, m]));
    one!.subscribe('status:', (_topic, m) => own.push(m));
    one!.publish('status:org', { at: new Date(0) });
    await waitFor(() => heard.length === 1);
    expect(heard).toEqual([['status:org', { at: new Date(0) }]]);
    expect(own).toEqual([]);
    expect(new LocalBus().crossReplica).toBe(false);
  });
});

describe('live status across replicas', () => {
  it('a subscriber on replica A sees FAILING and recovery of an integration delivered by replica B', async () => {
    const prefix = freshPrefix();
    const a = await gatewayOnRedis(prefix);
    const b = await replicaB(a, prefix);
    const sink = later(await startHecSink(() => HEC_BUSY));
    const org = await defaultOrganization(a);
    const integration = await createThrough(b.store, org, sink);

    const status = ws(a).subscribe(STATUS_SUBSCRIPTION, { id: integration.id }, 'siemIntegrationStatus');
    const attempts = ws(a).subscribe(ATTEMPTS_SUBSCRIPTION, { integrationId: integration.id }, 'deliveryAttempts');
    await status.waitForValue((v) => v.id === integration.id); // the snapshot, read by A from the shared database
    await waitFor(() => a.engine.status.subscriberCount(`status:${org}`) > 0 && a.engine.attempts.subscriberCount(`attempts:${org}`) > 0);

    const event = securityEvent();
    await b.store.tenant(org).ingest([event]);
    const failing = await status.waitForValue((v) => v.health === 'FAILING');
    expect(failing).toMatchObject({ id: integration.id, errorCount: expect.any(Number) });
    expect(failing.errorCount).toBeGreaterThanOrEqual(3);
    // Dates crossed the wire as dates: GraphQL serialised them as ISO timestamps.
    expect(new Date(failing.lastErrorAt).toISOString()).toBe(failing.lastErrorAt);
    const failedAttempt = await attempts.waitForValue((v) => v.success === false);
    expect(failedAttempt).toMatchObject({ integrationId: integration.id, eventCount: 1, httpStatus: 503 });
    expect(new Date(failedAttempt.at).toISOString()).toBe(failedAttempt.at);

    sink.respond(() => HEC_SUCCESS);
    const recovered = await status.waitForValue((v) => v.health === 'HEALTHY');
    expect(recovered).toMatchObject({ id: integration.id, errorCount: 0, lastErrorAt: expect.any(String), lastEventAt: expect.any(String) });
    await attempts.waitForValue((v) => v.success === true);
    await sink.waitForIds([event.id]);
    // Delivered by B only: A never had a worker for it.
    expect(b.attempts.some((x) => x.integrationId === integration.id && x.success)).toBe(true);
    expect(a.engine.queued(integration.id)).toBe(0);
  });

  it('a subscriber of another organisation sees nothing of it', async () => {
    const prefix = freshPrefix();
    const a = await gatewayOnRedis(prefix);
    const b = await replicaB(a, prefix);
    const sink = later(await startHecSink());
    const org = await defaultOrganization(a);
    const { organization: other } = await a.store.ensureOrganization('org-other');
    const heard: StatusMessage[] = [];
    const unsubscribe = a.engine.status.listen(`status:${other.id}`, (m) => heard.push(m));
    cleanups.push(async () => unsubscribe());
    const mine: StatusMessage[] = [];
    const unsubscribeMine = a.engine.status.listen(`status:${org}`, (m) => mine.push(m));
    cleanups.push(async () => unsubscribeMine());

    const event = securityEvent();
    await createThrough(b.store, org, sink);
    await b.store.tenant(org).ingest([event]);
    await sink.waitForIds([event.id]);
    await waitFor(() => mine.some((m) => (m.stats?.delivered ?? 0) >= 1), { message: () => `A heard B delivering: ${JSON.stringify(mine)}` });
    expect(heard).toEqual([]);
  });

  it("a replica's own messages reach its subscribers once, not again through Redis", async () => {
    const prefix = freshPrefix();
    const a = await gatewayOnRedis(prefix);
    const sink = later(await startHecSink());
    const integration = await createSplunkIntegration(a, sink, { batching: { batchSize: 1 } });
    const attempts = ws(a).subscribe(ATTEMPTS_SUBSCRIPTION, { integrationId: integration.id }, 'deliveryAttempts');
    const org = await defaultOrganization(a);
    await waitFor(() => a.engine.attempts.subscriberCount(`attempts:${org}`) > 0);
    // Another replica listening: it hears each of A's attempts through Redis, as A's own subscriber would if A did not drop its echoes.
    const witness = later(new RedisBus({ url: REDIS_URL, prefix, log: silent }));
    const overRedis: unknown[] = [];
    witness.subscribe('attempts:', (_topic, m) => overRedis.push(m));
    await witness.ready();

    for (const n of [1, 2]) {
      const event = makeEvent();
      await ingest(a.url, [event]);
      await sink.waitForIds([event.id]);
      await waitFor(() => overRedis.length >= n, { message: `attempt ${n} went through Redis` });
    }
    await attempts.waitForValue(() => attempts.values.length >= 2);
    // A's subscriber had its echo of attempt 1 long ago, and that of attempt 2 with the witness.
    await waitFor(() => overRedis.length === 2);
    expect(attempts.values).toHaveLength(2);
    expect(new Set(attempts.values.map((v) => v.attemptId)).size).toBe(2);
  });
});

describe('wake-ups across replicas', () => {
  it('events ingested on replica A wake the worker of replica B, which delivers them (no 30 s poll)', async () => {
    const prefix = freshPrefix();
    const a = await gatewayOnRedis(prefix);
    const b = await replicaB(a, prefix);
    const sink = later(await startHecSink());
    const org = await defaultOrganization(a);
    const integration = await createThrough(b.store, org, sink);
    // Let B's new worker find the log empty and go to sleep (its idle re-check is 30 s while Redis is up).
    await new Promise((resolve) => setTimeout(resolve, 300));

    const events = [makeEvent(), makeEvent({ customerId: 'cust_x' })];
    await ingest(a.url, events);
    // Well within the 30 s idle re-check: only the wake-up from A can have made B read the log.
    await sink.waitForIds(events.map((e) => e.id), 10_000);
    expect(b.attempts.filter((x) => x.integrationId === integration.id && x.success).length).toBeGreaterThanOrEqual(1);
  });
});

describe('integration changes across replicas', () => {
  it('enabling through replica A an integration replica B delivers: B sends its queue at once, not at its next lease round', async () => {
    const prefix = freshPrefix();
    const a = await gatewayOnRedis(prefix);
    // B's lease round comes every 20 s, and a paused worker looks again only after 30 s.
    const b = await replicaB(a, prefix, REDIS_URL, 60_000);
    const sink = later(await startHecSink());
    const org = await defaultOrganization(a);
    const integration = await createThrough(b.store, org, sink, 1, false);
    await waitFor(() => b.engine.leases.has(integration.id), { message: 'B holds the lease' });
    await new Promise((resolve) => setTimeout(resolve, 300)); // B's worker starts, finds the integration disabled, pauses

    const events = [makeEvent(), makeEvent()];
    await ingest(a.url, events);
    dataOf(await a.gql('mutation($id: ID!) { updateSiemIntegration(id: $id, input: { enabled: true }) { enabled } }', { id: integration.id }));
    // Well within both: only the change message from A can have made B's worker resume.
    await sink.waitForIds(events.map((e) => e.id), 10_000);
    expect(b.attempts.filter((x) => x.integrationId === integration.id && x.success).length).toBeGreaterThanOrEqual(1);
  });
});

describe('without Redis, and when Redis is lost', () => {
  it('says once at start that cross-replica live status is off', async () => {
    const capture = capturingLogger('info');
    const g = later(await startTestGateway({ logger: capture.log }));
    const lines = parsedLines(capture.text()).filter((l) => l.msg.includes('cross-replica live status is off'));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toContain('SIEMGATE_REDIS_URL is not set');
    expect(g.engine.bus.crossReplica).toBe(false);
  });

  it('with Redis configured, says it is connected and not that status is off', async () => {
    const capture = capturingLogger('info');
    const g = await gatewayOnRedis(freshPrefix(), { logger: capture.log });
    await waitFor(() => parsedLines(capture.text()).some((l) => l.msg.startsWith('Redis connected')));
    expect(capture.text()).not.toContain('cross-replica live status is off');
    expect((await fetch(`${g.url}/readyz`)).status).toBe(200);
  });

  it('/readyz answers 503 while the configured Redis is unreachable; ingest and delivery go on; the password is never shown', async () => {
    const port = await closedPort();
    const capture = capturingLogger('debug');
    const a = await gatewayOnRedis(freshPrefix(), { redisUrl: `redis://:red1s-pa55word@127.0.0.1:${port}/0`, logger: capture.log });

    const readyz = await fetch(`${a.url}/readyz`);
    const body = await readyz.text();
    expect(readyz.status).toBe(503);
    expect(JSON.parse(body)).toEqual({ error: { code: 'STORE_UNAVAILABLE', message: expect.stringContaining('Redis') } });

    const sink = later(await startHecSink());
    await createSplunkIntegration(a, sink, { batching: { batchSize: 1 } });
    const event = makeEvent();
    await ingest(a.url, [event]);
    await sink.waitForIds([event.id]);

    await waitFor(() => capture.text().includes('Redis is unreachable'));
    expect(parsedLines(capture.text()).filter((l) => l.msg.startsWith('Redis is unreachable'))).toHaveLength(1);
    expect(capture.text()).not.toContain('red1s-pa55word');
    expect(body).not.toContain('red1s-pa55word');
  });

  it('while Redis is cut off, replicas poll every second and lose nothing; once it is back, status crosses again and /readyz follows', async () => {
    const proxy = later(await startTcpProxy(6379));
    const prefix = freshPrefix();
    const a = await gatewayOnRedis(prefix, { redisUrl: `redis://127.0.0.1:${proxy.port}` });
    const b = await replicaB(a, prefix, `redis://127.0.0.1:${proxy.port}`);
    const sink = later(await startHecSink());
    const org = await defaultOrganization(a);
    const ofB = await createThrough(b.store, org, sink);
    const heard: StatusMessage[] = [];
    const unsubscribe = a.engine.status.listen(`status:${org}`, (m) => heard.push(m));
    cleanups.push(async () => unsubscribe());

    proxy.cut();
    await waitFor(async () => (await fetch(`${a.url}/readyz`)).status === 503, { message: 'readyz 503 while Redis is cut off' });
    await waitFor(() => !b.bus.connected && !a.engine.bus.connected);
    // A still ingests and delivers its own integrations...
    const ofA = await createSplunkIntegration(a, sink, { batching: { batchSize: 1 } });
    const first = makeEvent();
    await ingest(a.url, [first]);
    await sink.waitForIds([first.id]);
    await waitFor(() => a.engine.queued(ofA.id) === 0, { message: "A's own queue drained" });
    // ...and B, which no wake-up can reach now, finds A's events by re-checking the log every second (not every 30 s):
    // each event reaches the sink twice, through A's integration and through B's.
    const twice = (id: string) => sink.requests.filter((r) => (r.status ?? 0) < 300 && r.records.some((rec) => rec.event.id === id)).length >= 2;
    await waitFor(() => twice(first.id), { timeoutMs: 10_000, message: 'B delivered the first event, polling' });
    const second = makeEvent();
    await ingest(a.url, [second]);
    await waitFor(() => twice(second.id), { timeoutMs: 10_000, message: 'B delivered the second event, polling' });
    expect(b.attempts.filter((x) => x.integrationId === ofB.id && x.success).length).toBeGreaterThanOrEqual(2);

    proxy.restore();
    await waitFor(async () => (await fetch(`${a.url}/readyz`)).status === 200, { message: 'readyz 200 once Redis is back' });
    await waitFor(() => a.engine.bus.connected && b.bus.connected);
    const third = securityEvent();
    await b.store.tenant(org).ingest([third]);
    await sink.waitForIds([third.id]);
    await waitFor(() => heard.some((m) => m.integrationId === ofB.id && m.integration?.lastEventAt && m.integration.lastEventAt.getTime() >= third.time.getTime()), {
      message: "A heard B's delivery after Redis came back",
    });
  });
});

describe('SIEMGATE_REDIS_URL', () => {
  it('takes redis:// and rediss:// URLs and refuses others without echoing a password', () => {
    expect(loadSettings({ SIEMGATE_REDIS_URL: 'rediss://user:pw@redis.example:6380/2' }).redisUrl).toBe('rediss://user:pw@redis.example:6380/2');
    expect(loadSettings({}).redisUrl).toBeUndefined();
    for (const bad of ['http://:hunter22@redis.example', 'redis://:hunter22@', 'hunter22', 'redis://:hunter22@host/extra/path']) {
      let error: unknown;
      try {
        loadSettings({ SIEMGATE_REDIS_URL: bad });
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(SettingsError);
      expect((error as Error).message).toContain('SIEMGATE_REDIS_URL');
      expect((error as Error).message).not.toContain('hunter22');
    }
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP proxy to 127.0.0.1:`target` that can be cut (every connection dropped, new ones refused) and restored on the same port. */
async function startTcpProxy(target: number): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = new Socket();
        upstream.connect(target, '127.0.0.1');
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => undefined);
          s.on('close', () => {
            sockets.delete(s);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  const port = await listen(0);
  const cut = () => {
    server.close();
    for (const s of sockets) s.destroy();
  };
  return {
    port,
    cut,
    restore: () => void listen(port),
    close: async () => cut(),
  };
}
