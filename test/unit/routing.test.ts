import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { routes, type RoutingFilter } from '../../src/store/routing.js';
import { severityRank } from '../../src/events/event-schema.js';
import { SEVERITY_ORDER, type SecurityEvent } from '../../src/events/security-event.js';
import { DeliveryStore, type DeliveryTarget } from '../../src/store/delivery-store.js';
import { Store } from '../../src/store/store.js';
import { migrateToLatest, openSqliteDatabase } from '../../src/store/sqlite-database.js';

/**
 * routes() is the one routing rule. DeliveryStore.readBatch applies it over the log's segments (what is sent) and
 * countQueued over routing facts or, for a global unfiltered target, segment arithmetic (queue counts): both must
 * agree with routes() applied to what was appended.
 */
describe('routing: what is read and counted for a target is what routes() takes', () => {
  const db = openSqliteDatabase(':memory:');
  const store = new Store(db, new SecretBox(randomBytes(32)));
  const delivery = new DeliveryStore(db, store.box, store.log);
  const appendEvents = (org: string, events: SecurityEvent[], at: Date) => store.log.write(org, (trx) => store.log.append(trx, org, events, at));
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
    await appendEvents('org-2', events.slice(0, 10).map((e) => ({ ...e, id: randomUUID() })), new Date());
    // In several appends (segments), so reads cross segment bounds.
    const appended = [];
    for (let i = 0; i < events.length; i += 7) appended.push(...(await appendEvents(ORG, events.slice(i, i + 7), new Date())).appended);
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
        const read = (await delivery.readBatch(target, after, 10_000)).entries.map((e) => e.seq);
        const memory = stored.filter((e) => e.seq > after && routes(target, e)).map((e) => e.seq);
        expect(read).toEqual(memory);
        expect(await delivery.countQueued(target, after)).toBe(memory.length);
      }),
      { numRuns: 150 },
    );
  });
});
