import { describe, expect, it } from 'vitest';
import { dataOf, updateIntegration } from '../support/api.js';
import { createIntegration } from '../support/api.js';
import {
  HEC_BUSY, HEC_SUCCESS, createSplunkIntegration, ingest, integrationStatus, makeEvent, makeEvents, perTestResources, waitFor, type HecSink, type TestEvent,
} from '../support/delivery.js';
import { forEachDialect } from '../support/dialects.js';

/**
 * Issue 4, "Durable outbox" and "Batching": an event goes to every enabled integration of its
 * organisation whose customerId is the event's, and to the global ones (no customerId), if it passes
 * the integration's filter; batches respect batchSize and flushIntervalSeconds; ingest order is kept
 * per integration; disabled integrations are paused (nothing sent, nothing lost); the gateway's own audit trail is delivered too,
 * secrets redacted. Every check looks at what real HEC receivers got.
 */

forEachDialect((dialect) => {
  const { gateway, sink } = perTestResources({ dialect });

  const ids = (events: { id: string }[]) => events.map((e) => e.id);
  const isAuditType = (type: string) => type.startsWith('siem.') || type.startsWith('api_key.');

  describe('routing by customer', () => {
    it("delivers customer A's events to A's integration and the global one, never to B's", async () => {
      const g = await gateway();
      const [a, b, global] = await Promise.all([sink(), sink(), sink()]);
      await createSplunkIntegration(g, a, { name: 'Customer A', customerId: 'cust_a' });
      await createSplunkIntegration(g, b, { name: 'Customer B', customerId: 'cust_b' });
      await createSplunkIntegration(g, global, { name: 'Global' });

      const customers = ['cust_a', 'cust_b', undefined, 'cust_c'];
      const events = makeEvents(60, (i) => (customers[i % 4] ? { customerId: customers[i % 4] } : {}));
      // The last event of each customer comes after all others: once it arrived, every earlier one had its chance.
      const lastA = makeEvent({ customerId: 'cust_a' });
      const lastB = makeEvent({ customerId: 'cust_b' });
      await ingest(g.url, events.slice(0, 30));
      await ingest(g.url, [...events.slice(30), lastA, lastB]);

      const all = [...events, lastA, lastB];
      const ofA = all.filter((e) => e.customerId === 'cust_a');
      const ofB = all.filter((e) => e.customerId === 'cust_b');
      await Promise.all([a.waitForIds(ids(ofA)), b.waitForIds(ids(ofB)), global.waitForIds(ids(all))]);

      expect(new Set(a.acceptedIds())).toEqual(new Set(ids(ofA)));
      expect(new Set(b.acceptedIds())).toEqual(new Set(ids(ofB)));
      expect(a.accepted().every((r) => r.event.customer_id === 'cust_a')).toBe(true);
      expect(b.accepted().every((r) => r.event.customer_id === 'cust_b')).toBe(true);
      // The global integration got every event; anything else it got is the gateway's own audit trail.
      const extra = global.accepted().filter((r) => !all.some((e) => e.id === r.event.id));
      expect(extra.map((r) => r.event.event_type).filter((t) => !isAuditType(t))).toEqual([]);
      // Nothing delivered twice.
      for (const s of [a, b, global]) expect(new Set(s.acceptedIds()).size).toBe(s.acceptedIds().length);
    });

    it('follows a change of customerId: new events go by the new customer', async () => {
      const g = await gateway();
      const s = await sink();
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_old', batching: { batchSize: 1 } });
      const before = makeEvent({ customerId: 'cust_old' });
      await ingest(g.url, [before]);
      await s.waitForIds([before.id]);

      await updateIntegration(g, integration.id, { customerId: 'cust_new' });
      const old = makeEvent({ customerId: 'cust_old' });
      const fresh = makeEvent({ customerId: 'cust_new' });
      await ingest(g.url, [old, fresh]);
      await s.waitForIds([fresh.id]);
      expect(s.acceptedIds()).not.toContain(old.id);
    });
  });

  describe('filters', () => {
    it('delivers only events at least minSeverity and of the listed types (a trailing * matches a prefix)', async () => {
      const g = await gateway();
      const [severe, typed, both] = await Promise.all([sink(), sink(), sink()]);
      await createSplunkIntegration(g, severe, { name: 'HIGH and up', filter: { minSeverity: 'HIGH' } });
      await createSplunkIntegration(g, typed, { name: 'scan and x.*', filter: { eventTypes: ['scan', 'x.*'] } });
      await createSplunkIntegration(g, both, { name: 'agent.deployed, MEDIUM and up', filter: { minSeverity: 'MEDIUM', eventTypes: ['agent.deployed'] } });

      const types = ['scan', 'x.alpha', 'x.beta.gamma', 'x', 'xy.z', 'agent.deployed', 'agent.deployed.extra', 'scanner'];
      const severities = ['NONE', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
      const events: TestEvent[] = types.flatMap((type) => severities.map((severity) => makeEvent({ type, severity })));
      // Last events that pass each filter: once they arrived, every earlier event had its chance.
      const lastScan = makeEvent({ type: 'scan', severity: 'CRITICAL' });
      const lastAgent = makeEvent({ type: 'agent.deployed', severity: 'CRITICAL' });
      const all = [...events, lastScan, lastAgent];
      await ingest(g.url, all);

      // The rules, as the schema states them.
      const rank = (s: string) => severities.indexOf(s);
      const matches = (pattern: string, type: string) => (pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : type === pattern);
      const expectSevere = all.filter((e) => rank(e.severity) >= rank('HIGH'));
      const expectTyped = all.filter((e) => ['scan', 'x.*'].some((p) => matches(p, e.type)));
      const expectBoth = all.filter((e) => rank(e.severity) >= rank('MEDIUM') && e.type === 'agent.deployed');
      expect(expectTyped.map((e) => e.type)).not.toContain('xy.z');
      expect(expectTyped.map((e) => e.type)).not.toContain('x');

      await Promise.all([severe.waitForIds(ids(expectSevere)), typed.waitForIds(ids(expectTyped)), both.waitForIds(ids(expectBoth))]);
      const ingested = new Set(ids(all));
      const ours = (s: HecSink) => new Set(s.acceptedIds().filter((id) => ingested.has(id)));
      expect(ours(severe)).toEqual(new Set(ids(expectSevere)));
      expect(ours(typed)).toEqual(new Set(ids(expectTyped)));
      expect(ours(both)).toEqual(new Set(ids(expectBoth)));
      // The audit trail (siem.integration.created, LOW) passes none of these filters either.
      for (const s of [severe, typed, both]) expect(s.accepted().filter((r) => isAuditType(r.event.event_type))).toEqual([]);
    });

    it('applies a filter changed by an update to events ingested after it', async () => {
      const g = await gateway();
      const s = await sink();
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_f', batching: { batchSize: 1 } });
      await updateIntegration(g, integration.id, { filter: { minSeverity: 'CRITICAL' } });
      const low = makeEvent({ customerId: 'cust_f', severity: 'LOW' });
      const critical = makeEvent({ customerId: 'cust_f', severity: 'CRITICAL' });
      await ingest(g.url, [low, critical]);
      await s.waitForIds([critical.id]);
      expect(s.acceptedIds()).not.toContain(low.id);

      await updateIntegration(g, integration.id, { filter: null });
      const lowAgain = makeEvent({ customerId: 'cust_f', severity: 'LOW' });
      await ingest(g.url, [lowAgain]);
      await s.waitForIds([lowAgain.id]);
    });
  });

  describe('batching', () => {
    it('never sends more than batchSize events in one request', async () => {
      const g = await gateway();
      const s = await sink();
      await createSplunkIntegration(g, s, { customerId: 'cust_batch', batching: { batchSize: 10, flushIntervalSeconds: 1 } });
      const events = makeEvents(95, () => ({ customerId: 'cust_batch' }));
      await ingest(g.url, events);
      await s.waitForIds(ids(events));

      const sizes = s.requests.map((r) => r.records.length);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
      expect(sizes.reduce((x, y) => x + y, 0)).toBe(95);
      // All 95 were committed at once: nine full batches, then the remaining five once the interval passed.
      expect(sizes).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 5]);
    });

    it('waits for a batch to fill within flushIntervalSeconds, and flushes a partial batch once the interval passes', async () => {
      const g = await gateway();
      const s = await sink();
      await createSplunkIntegration(g, s, { customerId: 'cust_flush', batching: { batchSize: 10, flushIntervalSeconds: 2 } });

      // Four, then six more right after: one request of ten.
      const first = makeEvents(4, () => ({ customerId: 'cust_flush' }));
      const second = makeEvents(6, () => ({ customerId: 'cust_flush' }));
      await ingest(g.url, first);
      await ingest(g.url, second);
      await s.waitForIds(ids([...first, ...second]));
      expect(s.requests.map((r) => r.records.length)).toEqual([10]);

      // Three and nothing after them: they leave as a partial batch when the interval has passed.
      const partial = makeEvents(3, () => ({ customerId: 'cust_flush' }));
      await ingest(g.url, partial);
      await s.waitForIds(ids(partial));
      expect(s.requests.map((r) => r.records.length)).toEqual([10, 3]);
    });
  });

  describe('ingest order', () => {
    it('is kept per integration, across requests and through failed attempts', async () => {
      const g = await gateway();
      // Every third request fails with 503; the retried batch must not overtake or reorder anything.
      let n = 0;
      const s = await sink(() => (++n % 3 === 0 ? HEC_BUSY : HEC_SUCCESS));
      const other = await sink();
      await createSplunkIntegration(g, s, { customerId: 'cust_order', batching: { batchSize: 7, flushIntervalSeconds: 1 } });
      await createSplunkIntegration(g, other, { customerId: 'cust_other', batching: { batchSize: 5, flushIntervalSeconds: 1 } });

      const mine: TestEvent[] = [];
      const theirs: TestEvent[] = [];
      for (let r = 0; r < 4; r++) {
        const batch = makeEvents(40, (i) => ({ customerId: i % 2 ? 'cust_order' : 'cust_other', data: { request: r, n: i } }));
        mine.push(...batch.filter((e) => e.customerId === 'cust_order'));
        theirs.push(...batch.filter((e) => e.customerId === 'cust_other'));
        await ingest(g.url, batch);
      }
      await Promise.all([s.waitForIds(ids(mine)), other.waitForIds(ids(theirs))]);
      expect(s.requests.some((r) => r.status === 503)).toBe(true);
      expect(s.acceptedIds()).toEqual(ids(mine));
      expect(other.acceptedIds()).toEqual(ids(theirs));
    });
  });

  describe('disabled integrations', () => {
    it('are paused: nothing is sent while disabled, and events ingested meanwhile are delivered in order after re-enabling', async () => {
      const g = await gateway();
      const s = await sink();
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_d', batching: { batchSize: 1 } });

      const before = makeEvent({ customerId: 'cust_d' });
      await ingest(g.url, [before]);
      await s.waitForIds([before.id]);

      await updateIntegration(g, integration.id, { enabled: false });
      expect((await integrationStatus(g, integration.id)).health).toBe('DISABLED');
      const whileDisabled = makeEvents(5, () => ({ customerId: 'cust_d' }));
      await ingest(g.url, whileDisabled);
      await waitFor(async () => (await integrationStatus(g, integration.id)).stats.queued === 5, { message: 'queued to count the 5 events ingested while disabled' });
      expect((await integrationStatus(g, integration.id)).health).toBe('DISABLED');
      expect(s.acceptedIds()).toEqual([before.id]);

      await updateIntegration(g, integration.id, { enabled: true });
      const after = makeEvent({ customerId: 'cust_d' });
      await ingest(g.url, [after]);
      await s.waitForIds([after.id]);

      expect(s.acceptedIds()).toEqual([before.id, ...ids(whileDisabled), after.id]);
      expect((await integrationStatus(g, integration.id)).health).toBe('HEALTHY');
    });

    it('created disabled, keep what is ingested from their creation on and deliver it once enabled', async () => {
      const g = await gateway();
      const s = await sink();
      const earlier = makeEvent({ customerId: 'cust_e' });
      await ingest(g.url, [earlier]);
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_e', enabled: false, batching: { batchSize: 1 } });
      const early = makeEvents(3, () => ({ customerId: 'cust_e' }));
      await ingest(g.url, early);
      await updateIntegration(g, integration.id, { enabled: true });
      const late = makeEvent({ customerId: 'cust_e' });
      await ingest(g.url, [late]);
      await s.waitForIds([late.id]);
      // A new integration starts at the head of the log: `earlier` predates it.
      expect(s.acceptedIds()).toEqual([...ids(early), late.id]);
    });
  });

  describe("the gateway's own audit trail", () => {
    it('reaches a global integration as events of the organisation, with every secret redacted', async () => {
      const g = await gateway();
      const global = await sink();
      const customerOnly = await sink();
      const GLOBAL_TOKEN = 'global-hec-token-4f1d-never-in-a-body';
      const FIRST_TOKEN = 'splunk-hec-token-9a8b-first-secret';
      const SECOND_TOKEN = 'splunk-hec-token-7c6d-rotated-secret';
      const WEBHOOK_SECRET = 'webhook-hmac-secret-5e4f-do-not-leak';
      const HEADER_VALUE = 'Bearer header-credential-3a2b-private';

      await createSplunkIntegration(g, global, { name: 'Global', token: GLOBAL_TOKEN });
      await createSplunkIntegration(g, customerOnly, { name: 'Customer only', customerId: 'cust_audit' });

      const splunk = await createSplunkIntegration(g, customerOnly, { name: 'Audited Splunk', customerId: 'cust_z', token: FIRST_TOKEN });
      await updateIntegration(g, splunk.id, { name: 'Audited Splunk, renamed', config: { splunk: { token: SECOND_TOKEN } } });
      const webhook = await createIntegration(g, {
        name: 'Audited webhook',
        customerId: 'cust_z',
        config: { webhook: { endpoint: `${customerOnly.receiver.url}/hook`, secret: WEBHOOK_SECRET, headers: [{ name: 'Authorization', value: HEADER_VALUE }] } },
      });
      const key = dataOf(await g.gql('mutation { createApiKey(input: { name: "audited key", role: INGEST }) { token apiKey { id } } }')).createApiKey;
      dataOf(await g.gql('mutation Revoke($id: ID!) { revokeApiKey(id: $id) { id } }', { id: key.apiKey.id }));
      dataOf(await g.gql('mutation Delete($id: ID!) { deleteSiemIntegration(id: $id) }', { id: splunk.id }));
      dataOf(await g.gql('mutation Delete($id: ID!) { deleteSiemIntegration(id: $id) }', { id: webhook.id }));

      const expected: [string, string][] = [
        ['siem.integration.created', splunk.id],
        ['siem.integration.updated', splunk.id],
        ['siem.integration.created', webhook.id],
        ['api_key.created', key.apiKey.id],
        ['api_key.revoked', key.apiKey.id],
        ['siem.integration.deleted', splunk.id],
        ['siem.integration.deleted', webhook.id],
      ];
      const seen = () => global.accepted().map((r) => [r.event.event_type, r.event.data?.targetId] as [string, string]);
      await waitFor(() => expected.every(([type, target]) => seen().some(([t, id]) => t === type && id === target)), {
        message: () => `audit events not all delivered; got ${JSON.stringify(seen())}`,
      });

      // In the order they happened, each with an id.
      const order = seen().filter(([t, id]) => expected.some(([et, eid]) => et === t && eid === id));
      expect(order).toEqual(expected);
      for (const r of global.accepted()) expect(r.event.id).toMatch(/^[0-9a-f-]{36}$/);

      // Secrets never reach a SIEM, not even the receiving integration's own token.
      const bodies = global.rawBodies();
      for (const secret of [GLOBAL_TOKEN, FIRST_TOKEN, SECOND_TOKEN, WEBHOOK_SECRET, HEADER_VALUE, 'header-credential-3a2b-private', key.token]) {
        expect(bodies).not.toContain(secret);
      }
      expect(bodies).toContain('[REDACTED]');
      // The token rotation is visible, as a redacted change.
      const updated = global.accepted().find((r) => r.event.event_type === 'siem.integration.updated' && r.event.data?.targetId === splunk.id)!;
      expect(JSON.stringify(updated.event.data)).toContain('[REDACTED]');

      // Audit events belong to no customer: a customer's integration never gets them.
      expect(customerOnly.accepted().filter((r) => isAuditType(r.event.event_type))).toEqual([]);
    });
  });
});
