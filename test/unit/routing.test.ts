import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { routes, type RoutingFilter } from '../../src/store/routing.js';
import { severityRank } from '../../src/events/event-schema.js';
import { SEVERITY_ORDER, type SecurityEvent } from '../../src/events/security-event.js';
import { DeliveryStore, type DeliveryTarget } from '../../src/store/delivery-store.js';
import { appendEvents } from '../../src/store/event-log.js';
import { migrateToLatest, openSqliteDatabase } from '../../src/store/sqlite-database.js';

/** routes() decides routing in memory (queue counts); DeliveryStore.readBatch decides it in SQL (what is sent). They must agree. */
describe('routing: the in-memory rule and the SQL rule agree', () => {
  const db = openSqliteDatabase(':memory:');
  const delivery = new DeliveryStore(db, new SecretBox(randomBytes(32)));
  const ORG = 'org-1';
  const customers = [null, 'cust_a', 'cust_b'];
  const types = ['scan', 'agent.deployed', 'siem.integration.created', 'siem.integration.deleted', 'siem_x'];
  const stored: { seq: number; customerId: string | null; severityRank: number; type: string }[] = [];

  beforeAll(async () => {
    await migrateToLatest(db);
    const events: SecurityEvent[] = [];
    for (const customerId of customers) {
      for (const type of types) {
        for (const severity of SEVERITY_ORDER) {
          events.push({ id: randomUUID(), time: new Date(), type, name: type, severity, ...(customerId ? { customerId } : {}) });
        }
      }
    }
    // Another organisation's events must never be read.
    await appendEvents(db, 'org-2', events.slice(0, 10).map((e) => ({ ...e, id: randomUUID() })), new Date());
    const { appended } = await appendEvents(db, ORG, events, new Date());
    stored.push(...appended);
    expect(stored.length).toBe(events.length);
    expect(appended.every((a, i) => a.severityRank === severityRank(events[i]!.severity))).toBe(true);
  });
  afterAll(() => db.destroy());

  const filterArb: fc.Arbitrary<RoutingFilter | null> = fc.option(
    fc.record(
      {
        minSeverity: fc.constantFrom(...SEVERITY_ORDER),
        eventTypes: fc.array(fc.constantFrom('scan', 'siem.*', 'siem.integration.created', 'agent.*', 'siem_*', 'nothing'), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    ),
    { nil: null },
  );

  it('for any customer, filter and cursor', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...customers), filterArb, fc.nat({ max: stored.length }), async (customerId, filter, skip) => {
        const target: DeliveryTarget = {
          id: 'i', organizationId: ORG, type: 'SPLUNK', name: 'x', enabled: true, customerId, filter,
          batching: { batchSize: 1000, flushIntervalSeconds: 1, retryCount: 3, timeoutSeconds: 5 }, updatedAt: '',
        };
        const after = skip === 0 ? 0 : stored[skip - 1]!.seq;
        const sql = (await delivery.readBatch(target, after, 10_000)).map((e) => e.seq);
        const memory = stored.filter((e) => e.seq > after && routes(target, e)).map((e) => e.seq);
        expect(sql).toEqual(memory);
        expect(await delivery.countQueued(target, after)).toBe(memory.length);
      }),
      { numRuns: 150 },
    );
  });
});
