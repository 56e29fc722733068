import { randomBytes } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { DeliveryEngine } from '../../src/delivery/delivery-engine.js';
import { fairShare } from '../../src/delivery/lease-keeper.js';
import { LeaseStore } from '../../src/store/lease-store.js';
import { openDatabase } from '../../src/store/database.js';
import { createLogger } from '../../src/logger.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { DeliveryStore, LeaseLostError } from '../../src/store/delivery-store.js';
import { migrateToLatest } from '../../src/store/sqlite-database.js';
import { Store } from '../../src/store/store.js';
import type { SiemIntegrationRecord } from '../../src/store/tenant-store.js';
import { forEachDialect, type TestDialect } from '../support/dialects.js';
import { HEC_INVALID_DATA, HEC_SUCCESS, makeEvents, startHecSink, waitFor, type HecSink, type TestEvent } from '../support/delivery.js';

/**
 * Issue 13, "replicas share the work safely": each integration is delivered by one replica at a time through a
 * lease in the database. Several DeliveryEngines share one store here, each a replica with its own id, on the
 * lease clock the test moves (so a lease runs out when the test says, never because the machine was slow);
 * the SIEMs are real HEC receivers on loopback.
 */

/** Long in real time: the periodic rounds hardly run during a test; the test runs rounds on its clock. */
const LEASE_MS = 60_000;
const BATCH = 5;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const actor = { keyId: null, name: 'lease test' };
const ids = (events: { id: string }[]) => events.map((e) => e.id);

interface Attempt {
  replica: string;
  integrationId: string;
  success: boolean;
}

/** One database, `integrations` Splunk integrations (each with its own sink and customer), replicas started on demand. */
async function cluster(dialect: TestDialect, integrations: number, options: { sink?: (i: number) => Promise<HecSink> } = {}) {
  const db = await dialect.openDatabase();
  await migrateToLatest(db);
  cleanups.push(() => db.destroy());
  const store = new Store(db, new SecretBox(randomBytes(32)));
  const clock = { now: Date.parse('2026-11-30T09:00:00Z') };
  const org = (await store.ensureOrganization('lease-org')).organization.id;
  const tenant = store.tenant(org);
  const sinks: HecSink[] = [];
  const created: SiemIntegrationRecord[] = [];
  for (let i = 0; i < integrations; i++) {
    const sink = options.sink ? await options.sink(i) : await startHecSink();
    cleanups.push(() => sink.close());
    sinks.push(sink);
    created.push(
      await tenant.createIntegration(
        { name: `siem ${i}`, type: 'SPLUNK', customerId: `cust_${i}`, batching: { batchSize: BATCH, flushIntervalSeconds: 1 }, config: { endpoint: sink.endpoint, token: `hec-token-lease-000${i}` } },
        actor,
      ),
    );
  }
  const attempts: Attempt[] = [];
  const engines: DeliveryEngine[] = [];

  async function replica(id: string): Promise<DeliveryEngine> {
    const engine = new DeliveryEngine({
      store: store.delivery(),
      egress: new EgressPolicy({ allow: ['127.0.0.0/8'] }),
      log: createLogger({ level: 'silent' }),
      replicaId: id,
      leaseMs: LEASE_MS,
      leaseClock: () => clock.now,
      soleReplica: false,
      retryBaseMs: 20,
      retryMaxMs: 200,
    });
    engine.observers.add({ attempt: (a) => attempts.push({ replica: id, integrationId: a.integrationId, success: a.success }) });
    cleanups.push(() => engine.stop(1_000));
    await engine.start();
    engines.push(engine);
    return engine;
  }

  /** Events for integration `i` (its customer), ingested in one commit. */
  async function ingest(i: number, n: number): Promise<TestEvent[]> {
    const events = makeEvents(n, () => ({ customerId: `cust_${i}` }));
    await tenant.ingest(events.map((e) => ({ ...e, time: new Date(), name: 'x' })) as never);
    return events;
  }

  /** Waits until every integration has committed `counts[i]` delivered events (its attempts are all recorded then). */
  async function committed(counts: number[]): Promise<void> {
    await waitFor(
      async () => {
        const states = await tenant.deliveryStates();
        return created.every((c, i) => states.get(c.id)?.delivered === counts[i]);
      },
      { message: `deliveries to commit ${JSON.stringify(counts)}` },
    );
  }

  /** The owner of each integration's lease, as the database has it. */
  async function owners(): Promise<Map<string, string | null>> {
    const rows = await db.selectFrom('delivery_leases').select(['integration_id', 'owner']).execute();
    return new Map(rows.map((r) => [r.integration_id, r.owner]));
  }

  /** Runs rounds on the live replicas until each holds exactly its fair share and together they hold everything. */
  async function settle(live: DeliveryEngine[]): Promise<void> {
    const sorted = live.map((e) => e.replicaId).sort();
    await waitFor(
      async () => {
        for (const e of live) await e.rebalanceLeases();
        const held = live.map((e) => [...e.leases]);
        const all = new Set(held.flat());
        return all.size === integrations && held.flat().length === integrations && live.every((e, i) => held[i]!.length === fairShare(integrations, sorted, e.replicaId));
      },
      { message: () => `replicas to settle on their shares: ${JSON.stringify(live.map((e) => [e.replicaId, [...e.leases].length]))}` },
    );
  }

  return { db, store, org, tenant, clock, sinks, integrations: created, attempts, engines, replica, ingest, committed, owners, settle };
}

/** Ids in order of first arrival. */
const firstArrivals = (all: string[]) => [...new Set(all)];
const duplicates = (all: string[]) => all.length - new Set(all).size;

forEachDialect((dialect) => {
  it('gives each integration to exactly one of three replicas, each its share, and delivers every event once', async () => {
    const c = await cluster(dialect, 6);
    const replicas = [await c.replica('replica-a'), await c.replica('replica-b'), await c.replica('replica-c')];
    await c.settle(replicas);
    for (const r of replicas) expect(r.leases.size).toBe(2);

    // The database agrees with what each replica believes it holds.
    const owners = await c.owners();
    for (const r of replicas) for (const id of r.leases) expect(owners.get(id)).toBe(r.replicaId);

    const sent = await Promise.all(c.integrations.map((_, i) => c.ingest(i, 2 * BATCH)));
    await Promise.all(c.sinks.map((s, i) => s.waitForIds(ids(sent[i]!))));
    await c.committed(sent.map((e) => e.length));
    c.integrations.forEach((integration, i) => {
      expect(c.sinks[i]!.acceptedIds()).toEqual(ids(sent[i]!));
      const by = new Set(c.attempts.filter((a) => a.integrationId === integration.id).map((a) => a.replica));
      expect([...by]).toEqual([owners.get(integration.id)]);
    });
  });

  it('moves a dead replica\'s integrations to the others within two lease periods; every event arrives, duplicates only from its batches in flight', async () => {
    // Each answer takes a little while, so the replica that dies likely has a batch in flight.
    const c = await cluster(dialect, 6, { sink: () => startHecSink(async () => (await new Promise((r) => setTimeout(r, 20)), HEC_SUCCESS)) });
    const [a, b, cc] = [await c.replica('replica-a'), await c.replica('replica-b'), await c.replica('replica-c')];
    await c.settle([a!, b!, cc!]);
    const orphaned = new Set(b!.leases);
    expect(orphaned.size).toBe(2);

    const first = await Promise.all(c.integrations.map((_, i) => c.ingest(i, 4 * BATCH)));
    // Replica b has started on its integrations...
    await waitFor(() => c.attempts.filter((x) => x.replica === 'replica-b').length >= 2, { message: 'replica b to deliver something' });
    // ... and dies: no release, its sends cut off; its leases stay in the database until they run out.
    await b!.stop(0, { release: false });
    const second = await Promise.all(c.integrations.map((_, i) => c.ingest(i, 2 * BATCH)));

    // The survivors' rounds, a third of a lease apart on the lease clock, until they hold everything.
    let thirds = 0;
    while ([...orphaned].some((id) => !a!.leases.has(id) && !cc!.leases.has(id))) {
      expect(thirds, 'taken over within two lease periods').toBeLessThanOrEqual(6);
      c.clock.now += LEASE_MS / 3;
      thirds += 1;
      await a!.rebalanceLeases();
      await cc!.rebalanceLeases();
    }
    expect(thirds).toBeGreaterThanOrEqual(3); // not before the dead replica's leases ran out
    expect(a!.leases.size + cc!.leases.size).toBe(6);

    await Promise.all(c.sinks.map((s, i) => s.waitForIds(ids([...first[i]!, ...second[i]!]))));
    // Each event counted delivered once: the dead replica's batch in flight was never committed.
    await c.committed(c.integrations.map(() => 6 * BATCH));
    c.integrations.forEach((integration, i) => {
      const arrived = c.sinks[i]!.acceptedIds();
      // Order per integration holds across the takeover: first arrivals are the ingest order.
      expect(firstArrivals(arrived)).toEqual(ids([...first[i]!, ...second[i]!]));
      // Only the batch the dead replica had in flight may arrive twice; the others' integrations never.
      expect(duplicates(arrived)).toBeLessThanOrEqual(orphaned.has(integration.id) ? BATCH : 0);
    });
  });

  it('gives a replica started later its share, and each integration stays with one replica at a time', async () => {
    const c = await cluster(dialect, 4);
    const a = await c.replica('replica-a');
    expect(a.leases.size).toBe(4);
    const before = await Promise.all(c.integrations.map((_, i) => c.ingest(i, BATCH)));
    await Promise.all(c.sinks.map((s, i) => s.waitForIds(ids(before[i]!))));
    await c.committed(c.integrations.map(() => BATCH));

    const b = await c.replica('replica-b');
    await c.settle([a, b]);
    expect([a.leases.size, b.leases.size]).toEqual([2, 2]);
    const mark = c.attempts.length;

    const after = await Promise.all(c.integrations.map((_, i) => c.ingest(i, BATCH)));
    await Promise.all(c.sinks.map((s, i) => s.waitForIds(ids(after[i]!))));
    await c.committed(c.integrations.map(() => 2 * BATCH));
    c.integrations.forEach((integration, i) => {
      // Handed over between batches: nothing twice.
      expect(c.sinks[i]!.acceptedIds()).toEqual(ids([...before[i]!, ...after[i]!]));
      const holder = a.leases.has(integration.id) ? 'replica-a' : 'replica-b';
      expect(c.attempts.slice(mark).filter((x) => x.integrationId === integration.id).map((x) => x.replica)).toEqual([holder]);
    });
  });

  it('hands the leases over at once on a clean stop (SIGTERM)', async () => {
    const c = await cluster(dialect, 3);
    const [a, b] = [await c.replica('replica-a'), await c.replica('replica-b')];
    await c.settle([a, b]);
    await b.stop(1_000);
    // Same lease clock: nothing ran out, yet replica a takes everything at its next round.
    await a.rebalanceLeases();
    expect(a.leases.size).toBe(3);
    const sent = await Promise.all(c.integrations.map((_, i) => c.ingest(i, BATCH)));
    await Promise.all(c.sinks.map((s, i) => s.waitForIds(ids(sent[i]!))));
  });

  it('fences the cursor: a replica that lost its lease while its batch was in flight cannot move it', async () => {
    let hold: (() => void) | undefined;
    const held = new Promise<void>((resolve) => (hold = resolve));
    let first = true;
    const c = await cluster(dialect, 1, {
      sink: () =>
        startHecSink(async () => {
          if (first) {
            first = false;
            await held;
          }
          return HEC_SUCCESS;
        }),
    });
    const a = await c.replica('replica-a');
    const b = await c.replica('replica-b');
    const [integration] = c.integrations;
    expect([...a.leases]).toEqual([integration!.id]);
    expect(b.leases.size).toBe(0);

    const events = await c.ingest(0, BATCH);
    await waitFor(() => c.sinks[0]!.requests.length === 1, { message: 'replica a to send its batch' });
    // Replica a stalls (its batch in flight, no renewal) past its lease; replica b takes over and delivers.
    c.clock.now += 2 * LEASE_MS;
    await b.rebalanceLeases();
    expect([...b.leases]).toEqual([integration!.id]);
    await waitFor(() => c.sinks[0]!.requests.filter((r) => r.status === 200).length === 1, { message: 'replica b to deliver the batch' });
    const state = () => c.tenant.deliveryState(integration!.id);
    await waitFor(async () => (await state()).delivered === BATCH, { message: 'replica b to commit' });

    // Replica a's send now succeeds, too late: its commit is refused, and it stops delivering.
    hold!();
    await waitFor(() => !a.leases.has(integration!.id), { message: 'replica a to notice it lost the lease' });
    expect((await state()).delivered).toBe(BATCH);
    expect(c.attempts.filter((x) => x.replica === 'replica-a').map((x) => x.success)).toEqual([true]);
    // The SIEM got that one batch twice, nothing else.
    expect(c.sinks[0]!.acceptedIds()).toEqual([...ids(events), ...ids(events)]);
    expect((await c.owners()).get(integration!.id)).toBe('replica-b');

    // Later events go through replica b alone.
    const later = await c.ingest(0, BATCH);
    await c.sinks[0]!.waitForIds(ids(later));
    expect(c.attempts.filter((x) => x.replica === 'replica-a')).toHaveLength(1);
  });

  it('stops a replica that stalled past its lease at its next round; only the new owner delivers from then on', async () => {
    const c = await cluster(dialect, 2);
    const a = await c.replica('replica-a');
    const b = await c.replica('replica-b');
    await c.settle([a, b]);
    const [mine] = [...a.leases];
    const i = c.integrations.findIndex((x) => x.id === mine);
    // Replica a stalls: no round for two lease periods; replica b's rounds go on and take the lease over.
    c.clock.now += 2 * LEASE_MS;
    await b.rebalanceLeases();
    expect(b.leases.has(mine!)).toBe(true);
    expect((await c.owners()).get(mine!)).toBe('replica-b');
    // Replica a wakes: its round finds the lease gone and stops that worker.
    await a.rebalanceLeases();
    expect(a.leases.has(mine!)).toBe(false);
    // Rebalanced (one each again) once replica a is live again; whoever holds it, it is one replica.
    await c.settle([a, b]);
    const sent = await c.ingest(i, BATCH);
    await c.sinks[i]!.waitForIds(ids(sent));
    await c.committed(c.integrations.map((_, k) => (k === i ? BATCH : 0)));
    const holder = a.leases.has(mine!) ? 'replica-a' : 'replica-b';
    expect(c.attempts.filter((x) => x.integrationId === mine).map((x) => x.replica)).toEqual([holder]);
    expect(c.sinks[i]!.acceptedIds()).toEqual(ids(sent));
  });

  it('applies changes made through another replica (a rotated token, dead letters queued for replay) at its next round', async () => {
    const c = await cluster(dialect, 1);
    const a = await c.replica('replica-a');
    const [integration] = c.integrations;
    const sink = c.sinks[0]!;
    sink.respond(() => HEC_INVALID_DATA);
    const [refused] = await c.ingest(0, 1);
    await waitFor(async () => (await c.tenant.deliveryState(integration!.id)).deadLettered === 1, { message: 'the refused event to be dead-lettered' });
    sink.respond(() => HEC_SUCCESS);

    // Another replica's store over the same database: its changes notify only its own process.
    const other = new Store(c.db, c.store.box).tenant(c.org);
    await other.updateIntegration(integration!.id, { config: { token: 'hec-token-rotated-0001' } }, actor);
    expect(await other.replayDeadLetters(integration!.id, actor)).toBe(1);
    await a.rebalanceLeases();

    await sink.waitForIds([refused!.id]);
    const later = await c.ingest(0, BATCH);
    await sink.waitForIds(ids(later));
    const accepted = sink.requests.filter((r) => r.status === 200);
    expect(accepted.map((r) => r.request.headers.authorization)).toEqual(accepted.map(() => 'Splunk hec-token-rotated-0001'));
  });

  it('claims atomically: replicas claiming the same free leases at once (each on its own connections) never share one', async () => {
    const env = await dialect.databaseEnv();
    const first = env.SIEMGATE_DATABASE_URL ? openDatabase({ path: ':memory:', url: env.SIEMGATE_DATABASE_URL }) : await dialect.openDatabase();
    cleanups.push(() => first.destroy());
    await migrateToLatest(first);
    // PostgreSQL: a pool per replica, as separate processes have; SQLite: one process, one connection.
    const dbs = env.SIEMGATE_DATABASE_URL ? [first, ...[1, 2].map(() => openDatabase({ path: ':memory:', url: env.SIEMGATE_DATABASE_URL }))] : [first, first, first];
    for (const db of new Set(dbs)) if (db !== first) cleanups.push(() => db.destroy());
    const total = 60;
    await first
      .insertInto('delivery_leases')
      .values(Array.from({ length: total }, (_, i) => ({ integration_id: `integration-${String(i).padStart(3, '0')}`, owner: i % 3 === 0 ? 'replica-dead' : null, expires_at: 1_000 })))
      .execute();
    const now = 2_000;
    for (let round = 0; round < 3; round++) {
      const stores = dbs.map((db, i) => new LeaseStore(db, `replica-${round}-${i}`));
      const claims = await Promise.all(stores.map((s) => s.claim(now + round * LEASE_MS * 2, LEASE_MS, total)));
      const all = claims.flat();
      expect(new Set(all).size, 'no lease claimed twice').toBe(all.length);
      expect(all.length).toBe(total);
      const owners = await first.selectFrom('delivery_leases').select(['integration_id', 'owner']).execute();
      for (const [i, claimed] of claims.entries()) {
        for (const id of claimed) expect(owners.find((o) => o.integration_id === id)?.owner).toBe(stores[i]!.replicaId);
      }
    }
  });

  it('refuses cursor moves and dead letters from a store fenced to a replica that does not own the lease', async () => {
    const c = await cluster(dialect, 1);
    const [integration] = c.integrations;
    await c.db.insertInto('delivery_leases').values({ integration_id: integration!.id, owner: 'replica-b', expires_at: c.clock.now + LEASE_MS }).execute();
    await c.ingest(0, 2);
    const lost: string[] = [];
    const fenced = new DeliveryStore(c.db, c.store.box, c.store.log, { owner: 'replica-a', lost: (id) => lost.push(id) });
    const target = (await fenced.getTarget(integration!.id))!;
    const { entries } = await fenced.readBatch(target, 0, 10);
    expect(entries).toHaveLength(2);
    const before = await c.tenant.deliveryState(integration!.id);

    await expect(fenced.commitDelivered(target.id, { cursorSeq: entries[1]!.seq, count: 2 }, new Date())).rejects.toBeInstanceOf(LeaseLostError);
    await expect(fenced.deadLetter(target, entries, { reason: 'rejected', error: 'no' }, new Date())).rejects.toBeInstanceOf(LeaseLostError);
    expect(lost).toEqual([integration!.id, integration!.id]);
    expect(await fenced.cursor(target.id)).toBe(0);
    expect(await c.tenant.deliveryState(integration!.id)).toEqual(before);
    expect(await c.db.selectFrom('dead_letters').selectAll().execute()).toEqual([]);

    // The owner's store commits.
    const owner = new DeliveryStore(c.db, c.store.box, c.store.log, { owner: 'replica-b' });
    await owner.commitDelivered(target.id, { cursorSeq: entries[1]!.seq, count: 2 }, new Date());
    expect(await owner.cursor(target.id)).toBe(entries[1]!.seq);
  });

  it(`restarted after kill -9 with the defaults, ${dialect.name === 'sqlite' ? 'takes over at once (the database lock admits one process)' : 'waits for the dead replica\'s leases to run out (others may share the database)'}`, async () => {
    const c = await cluster(dialect, 2);
    const old = await c.replica('replica-old');
    expect(old.leases.size).toBe(2);
    await old.stop(0, { release: false });
    // Restarted with a new replica id and the default soleReplica.
    const restarted = new DeliveryEngine({ store: c.store.delivery(), egress: new EgressPolicy({ allow: ['127.0.0.0/8'] }), log: createLogger({ level: 'silent' }), leaseMs: LEASE_MS, leaseClock: () => c.clock.now });
    cleanups.push(() => restarted.stop(1_000));
    await restarted.start();
    if (dialect.name === 'postgres') {
      expect(restarted.leases.size).toBe(0);
      c.clock.now += LEASE_MS + 1;
      await restarted.rebalanceLeases();
    }
    expect(restarted.leases.size).toBe(2);
    const sent = await c.ingest(1, BATCH);
    await c.sinks[1]!.waitForIds(ids(sent));
  });
}, 'delivery leases');
