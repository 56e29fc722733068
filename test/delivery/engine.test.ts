import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { DeliveryEngine, STOP_GRACE_MS } from '../../src/delivery/delivery-engine.js';
import type { ConnectionTestResult, DeliveryResult, SiemAdapter } from '../../src/destinations/types.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { createLogger } from '../../src/logger.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { migrateToLatest, openSqliteDatabase } from '../../src/store/sqlite-database.js';
import type { DeliveryPort } from '../../src/store/delivery-port.js';
import type { DeliveryStore } from '../../src/store/delivery-store.js';
import { Store } from '../../src/store/store.js';
import { makeEvents } from '../support/events.js';

/**
 * The delivery engine and its workers on their own: a real store (SQLite in memory), an injected adapter that records
 * every batch and answers as the test says, and a fake clock (vitest's timers and Date), so that flush intervals and
 * backoffs of seconds take no real time. The end-to-end suites (test/delivery, test/fault) check the same engine
 * through the gateway, real receivers and real time.
 */

const ACTOR = { keyId: null, name: 'test' };
const CUSTOMER = 'cust_engine'; // customer-scoped: the organisation's audit events are not routed to it
/** Undelivered events older than this become dead letters (a week in production; ten minutes of fake time here). */
const RETENTION_MS = 10 * 60_000;

/** Answers every batch as `answer` says (default: success), and records what it was given. */
class RecordingAdapter implements SiemAdapter<string> {
  readonly type = 'WEBHOOK' as const;
  /** Event ids of every batch sent, in order, with the fake time it was sent at. */
  readonly batches: { ids: string[]; at: number }[] = [];
  answer: (ids: string[]) => Partial<DeliveryResult> = () => ({});
  /** Sends that never settle, aborted or not (an adapter with a bug, a library that ignores its signal). */
  hang = false;

  transform(event: SecurityEvent): string {
    return event.id;
  }

  async send(ids: string[]): Promise<DeliveryResult> {
    this.batches.push({ ids, at: Date.now() });
    if (this.hang) return new Promise(() => undefined);
    const answer = this.answer(ids);
    const ok = (answer.kind ?? 'success') === 'success';
    return { kind: 'success', ok, message: ok ? 'HTTP 200' : 'HTTP 503', latencyMs: 1, recordCount: ids.length, ...answer };
  }

  async test(): Promise<ConnectionTestResult> {
    throw new Error('not used');
  }

  async close(): Promise<void> {}

  sentIds(): string[] {
    return this.batches.flatMap((b) => b.ids);
  }
}

let store: Store;
let engine: DeliveryEngine;
let adapter: RecordingAdapter;
let organizationId: string;

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  const db = openSqliteDatabase(':memory:');
  await migrateToLatest(db);
  store = new Store(db, new SecretBox(randomBytes(32)));
  organizationId = (await store.ensureOrganization('acme')).organization.id;
  adapter = new RecordingAdapter();
  engine = newEngine(store.delivery());
  await engine.start();
});

function newEngine(port: DeliveryPort): DeliveryEngine {
  return new DeliveryEngine({
    store: port,
    egress: new EgressPolicy({}),
    log: createLogger({ level: 'silent' }),
    retryBaseMs: 1_000,
    retryMaxMs: 60_000,
    retentionMs: RETENTION_MS,
    createAdapter: () => adapter,
  });
}

/** The store's delivery port, with `afterRead` run once, after the next read of the log that finds nothing to send. */
function portWithHook(): { port: DeliveryPort; afterEmptyRead: (hook: () => Promise<void>) => void } {
  const real = store.delivery();
  let hook: (() => Promise<void>) | undefined;
  const port: DeliveryPort = {
    ...real,
    deliveryStore: (fence) =>
      new Proxy(real.deliveryStore(fence), {
        get(target, prop) {
          if (prop === 'readBatch') {
            return async (...args: Parameters<DeliveryStore['readBatch']>) => {
              const result = await target.readBatch(...args);
              const run = result.entries.length === 0 ? hook : undefined;
              if (run) {
                hook = undefined;
                await run();
              }
              return result;
            };
          }
          const value = Reflect.get(target, prop, target) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
  };
  return { port, afterEmptyRead: (h) => (hook = h) };
}

afterEach(async () => {
  await engine.stop(0);
  await store.db.destroy();
  vi.useRealTimers();
});

async function createIntegration(batching: { batchSize: number; flushIntervalSeconds: number; retryCount?: number }): Promise<string> {
  const created = await store.tenant(organizationId).createIntegration(
    { name: 'engine', type: 'WEBHOOK', customerId: CUSTOMER, config: { endpoint: 'https://hooks.example.com/x' }, batching },
    ACTOR,
  );
  return created.id;
}

async function ingest(n: number, customerId = CUSTOMER): Promise<string[]> {
  const events = makeEvents(n, { customerId }).map(({ id, type, severity, customerId, name }) => ({ id, type, severity, customerId, name, time: new Date() }) as SecurityEvent);
  await store.tenant(organizationId).ingest(events);
  return events.map((e) => e.id);
}

/** Lets the engine act on what is due now (without moving the clock further than vi.waitFor's steps). */
const until = (check: () => void) => vi.waitFor(check, { timeout: 5_000, interval: 10 });

describe('batching', () => {
  it('sends a full batch at once, and a partial one when its oldest event is flushIntervalSeconds old, not before', async () => {
    await createIntegration({ batchSize: 3, flushIntervalSeconds: 60 });
    const full = await ingest(3);
    await until(() => expect(adapter.batches.map((b) => b.ids)).toEqual([full]));

    const start = Date.now();
    const partial = await ingest(1);
    await vi.advanceTimersByTimeAsync(59_000);
    expect(adapter.batches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    await until(() => expect(adapter.batches.map((b) => b.ids)).toEqual([full, partial]));
    expect(adapter.batches[1]!.at - start).toBeGreaterThanOrEqual(60_000);
  });
});

describe('retries', () => {
  it('honours a Retry-After before the next attempt, then delivers the same batch and moves on in order', async () => {
    const id = await createIntegration({ batchSize: 2, flushIntervalSeconds: 1, retryCount: 3 });
    let throttled = 0;
    adapter.answer = () => (throttled++ === 0 ? { kind: 'throttled', status: 429, retryAfterMs: 30_000, message: 'HTTP 429' } : {});
    const first = await ingest(2);
    await until(() => expect(adapter.batches).toHaveLength(1));
    const failedAt = adapter.batches[0]!.at;

    await vi.advanceTimersByTimeAsync(29_000);
    expect(adapter.batches).toHaveLength(1);
    expect(await engine.stats(organizationId, id)).toMatchObject({ failedAttempts: 1, delivered: 0, queued: 2 });

    await vi.advanceTimersByTimeAsync(1_000);
    await until(() => expect(adapter.batches).toHaveLength(2));
    expect(adapter.batches[1]!.at - failedAt).toBeGreaterThanOrEqual(30_000);
    const second = await ingest(2);
    await until(() => expect(adapter.sentIds()).toEqual([...first, ...first, ...second]));
    await until(async () => expect(await engine.stats(organizationId, id)).toMatchObject({ failedAttempts: 1, delivered: 4, queued: 0 }));
  });

  it('backs off exponentially while the destination stays down: no attempt before the base step, none in a burst', async () => {
    await createIntegration({ batchSize: 1, flushIntervalSeconds: 1, retryCount: 0 });
    adapter.answer = () => ({ kind: 'server', status: 503 });
    await ingest(1);
    await until(() => expect(adapter.batches).toHaveLength(1));
    // Past the quick retries (none here), each wait is at least half of base × 2^failures: 1 s, 2 s, 4 s, 8 s.
    await vi.advanceTimersByTimeAsync(20_000);
    const gaps = adapter.batches.slice(1).map((b, i) => b.at - adapter.batches[i]!.at);
    expect(gaps.length).toBeGreaterThanOrEqual(2);
    gaps.forEach((gap, i) => expect(gap, `wait after failure ${i + 1}`).toBeGreaterThanOrEqual(1_000 * 2 ** (i + 1) / 2));
  });
});

describe('payload rejections', () => {
  it('splits a refused batch down to the refused event, dead-letters only that one, and delivers the others in order', async () => {
    const id = await createIntegration({ batchSize: 8, flushIntervalSeconds: 1 });
    const ids = await ingest(8);
    const bad = ids[5]!;
    adapter.answer = (batch) => (batch.includes(bad) ? { kind: 'rejected', status: 400, message: 'HTTP 400: invalid event' } : {});
    await until(async () => expect(await engine.stats(organizationId, id)).toMatchObject({ delivered: 7, deadLettered: 1, queued: 0 }));
    const delivered = adapter.batches.filter((b) => !b.ids.includes(bad)).flatMap((b) => b.ids);
    expect(delivered).toEqual(ids.filter((i) => i !== bad));
    expect(adapter.batches.at(-1)!.ids).not.toContain(bad);
  });
});

describe('a disabled integration', () => {
  it('sends nothing and keeps its queue; enabled again, it sends the queue in order', async () => {
    const id = await createIntegration({ batchSize: 10, flushIntervalSeconds: 1 });
    await store.tenant(organizationId).updateIntegration(id, { enabled: false }, ACTOR);
    const queued = await ingest(3);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(adapter.batches).toEqual([]);
    await until(async () => expect(await engine.stats(organizationId, id)).toMatchObject({ queued: 3, delivered: 0 }));

    await store.tenant(organizationId).updateIntegration(id, { enabled: true }, ACTOR);
    await until(() => expect(adapter.sentIds()).toEqual(queued));
    await until(async () => expect(await engine.stats(organizationId, id)).toMatchObject({ queued: 0, delivered: 3 }));
  });
});

describe('wake-ups', () => {
  it('keeps a wake-up that comes while it reads the log: events committed meanwhile go out without waiting for the idle re-check', async () => {
    await engine.stop(0);
    const { port, afterEmptyRead } = portWithHook();
    engine = newEngine(port);
    await engine.start();
    await createIntegration({ batchSize: 3, flushIntervalSeconds: 1 });
    let late: string[] = [];
    // After the first batch, the worker reads the log, finds it empty, and (before it goes to sleep) 3 more arrive.
    afterEmptyRead(async () => {
      late = await ingest(3);
    });
    const first = await ingest(3);
    // The fake clock stands still: an idle sleep (30 s) would never end.
    await until(() => expect(adapter.sentIds()).toEqual([...first, ...late]));
    expect(late).toHaveLength(3);
  });
});

describe('integration changes', () => {
  it('routes a batch by the integration as the database holds it, even before the change reached this engine', async () => {
    const id = await createIntegration({ batchSize: 1, flushIntervalSeconds: 1 });
    const first = await ingest(1);
    await until(() => expect(adapter.sentIds()).toEqual(first));
    // Another replica moves the integration to another customer: this engine is not told (no bus, no lease round yet).
    await sql`UPDATE siem_integrations SET customer_id = 'cust_new', updated_at = ${new Date(Date.now() + 1).toISOString()} WHERE id = ${id}`.execute(store.db);
    await ingest(3);
    const fresh = await ingest(3, 'cust_new');
    await vi.advanceTimersByTimeAsync(1_000);
    await until(() => expect(adapter.sentIds()).toEqual([...first, ...fresh]));
  });
});

describe('shutdown', () => {
  it('waits for a send that ignores the abort no longer than the deadline and a grace, and leaves its batch queued', async () => {
    const id = await createIntegration({ batchSize: 5, flushIntervalSeconds: 1 });
    adapter.hang = true;
    const ids = await ingest(5);
    await until(() => expect(adapter.sentIds()).toEqual(ids));
    let stopped = false;
    const stopping = engine.stop(2_000).then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(2_000 + STOP_GRACE_MS - 1);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    expect(await store.tenant(organizationId).deliveryState(id)).toMatchObject({ cursorSeq: 0, delivered: 0 });
  });
});

describe('retention', () => {
  it('turns queued events older than the retention into expired dead letters while disabled; enabled again, it never sends them', async () => {
    const id = await createIntegration({ batchSize: 10, flushIntervalSeconds: 1 });
    await store.tenant(organizationId).updateIntegration(id, { enabled: false }, ACTOR);
    await ingest(4);
    await vi.advanceTimersByTimeAsync(RETENTION_MS - 60_000);
    expect(await engine.stats(organizationId, id)).toMatchObject({ queued: 4, deadLettered: 0 });
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    await until(async () => expect(await engine.stats(organizationId, id)).toMatchObject({ queued: 0, deadLettered: 4, delivered: 0 }));

    await store.tenant(organizationId).updateIntegration(id, { enabled: true }, ACTOR);
    const fresh = await ingest(1);
    await until(() => expect(adapter.batches.map((b) => b.ids)).toEqual([fresh]));
  });
});
