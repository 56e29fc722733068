import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Migrator, type Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { migrations } from '../../db/migrations/index.js';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { createCrowdStrikeAdapter } from '../../src/destinations/crowdstrike/adapter.js';
import { createSplunkAdapter } from '../../src/destinations/splunk/adapter.js';
import { serializeEvent } from '../../src/events/event-schema.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { fromStoredLine, toStoredLine } from '../../src/events/stored-event.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { DeliveryStore } from '../../src/store/delivery-store.js';
import { IdempotencyIndex, type IdHash } from '../../src/store/idempotency-index.js';
import { migrateToLatest, openSqliteDatabase } from '../../src/store/sqlite-database.js';
import { Store } from '../../src/store/store.js';
import type { Database } from '../../src/store/tables.js';
import { securityEventArb } from '../support/fuzz.js';

const text = fc.string({ unit: 'binary', maxLength: 12 });
const events = securityEventArb(text);

describe('the stored line: one serialisation, embedded as it is', () => {
  it('gives back the same event', () => {
    fc.assert(fc.property(events, (e) => {
      expect(fromStoredLine(toStoredLine(e))).toEqual(e);
    }), { numRuns: 300 });
  });

  const egress = new EgressPolicy({ allow: ['127.0.0.1/32'] });
  const framed = (adapter: { transform(e: SecurityEvent): unknown; fromStored?(s: { line: string; timeMs: number }): unknown }, e: SecurityEvent) =>
    adapter.fromStored!({ line: toStoredLine(e), timeMs: e.time.getTime() });

  it('is framed into exactly the HEC envelope that transform + JSON.stringify would send (Splunk, any optional fields)', () => {
    const options = fc.record({ host: text, source: fc.option(text, { nil: undefined }), index: fc.option(text, { nil: undefined }), sourcetype: text }, { requiredKeys: ['host', 'sourcetype'] });
    fc.assert(
      fc.property(events, options, (e, o) => {
        const splunk = createSplunkAdapter({ type: 'SPLUNK', endpoint: 'http://127.0.0.1:1/services/collector/event', token: 't', ...o }, { egress, hostname: 'gw' });
        expect(framed(splunk, e)).toBe(JSON.stringify(splunk.transform(e)));
      }),
      { numRuns: 300 },
    );
  });

  it('is framed into exactly the LogScale HEC envelope transform would send', () => {
    const options = fc.record({ repository: fc.option(text, { nil: undefined }), parser: fc.option(text, { nil: undefined }) });
    fc.assert(
      fc.property(events, options, (e, o) => {
        const logscale = createCrowdStrikeAdapter({ type: 'CROWDSTRIKE', endpoint: 'http://127.0.0.1:1/api/v1/ingest/hec', token: 't', ...o }, { egress, hostname: 'gw"\u2028' });
        expect(framed(logscale, e)).toBe(JSON.stringify(logscale.transform(e)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('the id index', () => {
  // Few distinct low halves: many entries share a home slot, so probing, growth and backward-shift deletion all run.
  const hash = fc.record({ hi: fc.integer({ min: 0, max: 3 }), lo: fc.integer({ min: 0, max: 40 }) });
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), hash, position: fc.integer({ min: 1, max: 50 }) }),
    fc.record({ kind: fc.constant('remove' as const), hash, position: fc.integer({ min: 1, max: 50 }) }),
  );

  it('answers like a list of (hash, position) entries under any sequence of adds and removes', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3000 }), (ops) => {
        const index = new IdempotencyIndex();
        const model: { hash: IdHash; position: number }[] = [];
        const same = (a: IdHash, b: IdHash) => a.hi === b.hi && a.lo === b.lo;
        for (const o of ops) {
          if (o.kind === 'add') {
            index.add(o.hash, o.position);
            model.push({ hash: o.hash, position: o.position });
          } else {
            const at = model.findIndex((m) => same(m.hash, o.hash) && m.position === o.position);
            expect(index.remove(o.hash, o.position)).toBe(at >= 0);
            if (at >= 0) model.splice(at, 1);
          }
        }
        expect(index.size).toBe(model.length);
        for (const { hash: h } of model) {
          const expected = model.filter((m) => same(m.hash, h)).map((m) => m.position).sort((a, b) => a - b);
          expect(index.candidates(h).sort((a, b) => a - b)).toEqual(expected);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('the event log', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const key = randomBytes(32);
  const event = (id = randomUUID()): SecurityEvent => ({ id, time: new Date(), type: 'scan', name: 'scan', severity: 'LOW' });

  async function open(path?: string) {
    const file = path ?? join(mkdtempSync(join(tmpdir(), 'siemgate-log-')), 'gw.db');
    if (!path) dirs.push(join(file, '..'));
    const db = openSqliteDatabase(file);
    await migrateToLatest(db);
    const store = new Store(db, new SecretBox(key));
    const org = (await store.ensureOrganization('acme')).organization.id;
    return { file, db, store, org, tenant: store.tenant(org) };
  }

  it('stores an id once across restarts: the index is rebuilt from the log', async () => {
    const first = await open();
    const kept = [event(), event(), event()];
    expect(await first.tenant.ingest(kept)).toEqual({ accepted: 3, duplicates: 0 });
    await first.db.destroy();

    const again = await open(first.file);
    expect(await again.tenant.ingest([kept[1]!, event()])).toEqual({ accepted: 2, duplicates: 1 });
    expect(again.store.log.memory.ids).toBe(4);
    await again.db.destroy();
  });

  it('stores an id once when requests carrying it race, and once when it repeats inside one request', async () => {
    const { db, tenant } = await open();
    const shared = event();
    const results = await Promise.all(Array.from({ length: 8 }, () => tenant.ingest([event(), shared, shared])));
    expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(8 * 2 - 1);
    const rows = await db.selectFrom('event_segments').select('facts').execute();
    const ids = rows.flatMap((r) => (JSON.parse(r.facts) as [string][]).map((f) => f[0]));
    expect(ids.filter((id) => id === shared.id)).toHaveLength(1);
    expect(new Set(ids).size).toBe(ids.length);
    await db.destroy();
  });

  it('takes back the ids of a transaction that failed: sent again, the events are stored', async () => {
    const { db, store, org, tenant } = await open();
    const lost = [event(), event()];
    await expect(
      store.log.write(org, async (trx) => {
        await store.log.append(trx, org, lost, new Date());
        throw new Error('the commit never happened');
      }),
    ).rejects.toThrow('the commit never happened');
    expect(await tenant.ingest(lost)).toEqual({ accepted: 2, duplicates: 0 });
    // Positions continue where the log really is: nothing was taken by the failed append.
    expect(await store.log.head(db, org)).toBe(2);
    await db.destroy();
  });

  it('reads back, in order and across segments, every event with its stored line and receipt time', async () => {
    const { db, store, org, tenant } = await open();
    const sent = Array.from({ length: 25 }, () => event());
    for (let i = 0; i < sent.length; i += 4) await tenant.ingest(sent.slice(i, i + 4));
    for (const after of [0, 3, 4, 17]) {
      const read = await store.log.read(org, after, 1000);
      expect(read.map((e) => e.eventId)).toEqual(sent.slice(after).map((e) => e.id));
      expect(read.map((e) => e.seq)).toEqual(sent.slice(after).map((_, i) => after + i + 1));
      expect(read.map((e) => fromStoredLine(e.line))).toEqual(sent.slice(after));
    }
    await db.destroy();
  });

  it('carries the log of an earlier version over when it migrates: queued events keep their order and cursors, ids stay idempotent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'siemgate-migrate-'));
    dirs.push(dir);
    const db = openSqliteDatabase(join(dir, 'old.db')) as unknown as Kysely<any>;
    const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '2026-11-30'));
    const migrated = await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest();
    expect(migrated.error).toBeUndefined();
    const org = randomUUID();
    await db.insertInto('organizations').values({ id: org, slug: 'old', name: 'old', created_at: new Date().toISOString() }).execute();
    const old = [event(), { ...event(), customerId: 'cust_a', severity: 'HIGH' as const, data: { k: 1 } }, event()];
    const received = new Date().toISOString();
    await db
      .insertInto('events')
      .values(old.map((e, i) => ({ organization_id: org, event_id: e.id, customer_id: e.customerId ?? null, type: e.type, severity_rank: i, payload: i === 0 ? '' : serializeEvent(e), received_at: received })))
      .execute();

    await migrateToLatest(db);
    const store = new Store(db as unknown as Kysely<Database>, new SecretBox(key));
    const read = await store.log.read(org, 1, 100);
    expect(read.map((e) => fromStoredLine(e.line))).toEqual(old.slice(1));
    expect(read.map((e) => e.seq)).toEqual([2, 3]);
    expect(await store.log.head(db as unknown as Kysely<Database>, org)).toBe(3);
    // The compacted first event and the others are still known by id; new events continue after them.
    expect(await store.tenant(org).ingest([...old, event()])).toEqual({ accepted: 4, duplicates: 3 });
    const delivery = new DeliveryStore(db as unknown as Kysely<Database>, store.box, store.log);
    const target = { id: 'x', organizationId: org, type: 'SPLUNK' as const, name: 'x', enabled: true, customerId: null, filter: null, batching: { batchSize: 10, flushIntervalSeconds: 1, retryCount: 1, timeoutSeconds: 1 }, updatedAt: '' };
    expect((await delivery.readBatch(target, 1, 10)).entries.map((e) => e.seq)).toEqual([2, 3, 4]);
    await db.destroy();
  });
});

describe('the segment-log migration on SQLite', () => {
  it('is all or nothing: a failure while carrying the log over leaves the old log as it was, and a rerun completes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'siemgate-migrate-'));
    try {
      const db = openSqliteDatabase(join(dir, 'old.db')) as unknown as Kysely<any>;
      const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '2026-11-30'));
      await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest();
      const org = randomUUID();
      await db.insertInto('organizations').values({ id: org, slug: 'old', name: 'old', created_at: new Date().toISOString() }).execute();
      const good = { id: randomUUID(), time: new Date(), type: 'scan', name: 'scan', severity: 'LOW' as const };
      const row = (id: string, payload: string) => ({ organization_id: org, event_id: id, customer_id: null, type: 'scan', severity_rank: 1, payload, received_at: new Date().toISOString() });
      await db.insertInto('events').values([row(good.id, serializeEvent(good)), row('broken', '{not json')]).execute();

      await expect(migrateToLatest(db)).rejects.toThrow(/segment-log/);
      const tables = (await db.introspection.getTables()).map((t) => t.name);
      expect(tables).toContain('events');
      expect(tables).not.toContain('event_segments');
      expect(tables).not.toContain('log_heads');

      await db.deleteFrom('events').where('event_id', '=', 'broken').execute();
      await migrateToLatest(db);
      const store = new Store(db as unknown as Kysely<Database>, new SecretBox(randomBytes(32)));
      expect((await store.log.read(org, 0, 10)).map((e) => e.eventId)).toEqual([good.id]);
      await db.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the segment cache', () => {
  const segment = (org: string, first: number, count: number, bytes: number) => ({
    organizationId: org, first, last: first + count - 1, receivedAt: '', lines: [], facts: [], bytes,
  });

  it('keeps within its budget, evicting the oldest, and holds no reference to what it evicted or forgot', async () => {
    const { SegmentCache } = await import('../../src/store/segment-cache.js');
    const cache = new SegmentCache(1_000);
    for (let i = 0; i < 500; i++) {
      cache.put(segment('org', i * 10 + 1, 10, 100));
      expect(cache.bytes).toBeLessThanOrEqual(1_000);
      expect(cache.size.referenced).toBeLessThanOrEqual(10);
    }
    expect(cache.find('org', 4_995)?.first).toBe(4_991);
    expect(cache.find('org', 5)).toBeUndefined();
    cache.forget('org', 4_960);
    expect(cache.find('org', 4_955)).toBeUndefined();
    expect(cache.find('org', 4_975)?.first).toBe(4_971);
    // Forgotten in bulk (a prune): the eviction queue lets go of them too.
    for (let i = 0; i < 300; i++) {
      cache.put(segment('other', i * 10 + 1, 10, 1));
      cache.forget('other', i * 10 + 10);
    }
    expect(cache.size.cached).toBe(4);
    expect(cache.size.referenced).toBeLessThanOrEqual(2 * 4 + 64);
  });
});
