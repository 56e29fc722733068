import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { DeliveryEngine } from '../../src/delivery/delivery-engine.js';
import { createLogger } from '../../src/logger.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { migrateToLatest } from '../../src/store/sqlite-database.js';
import { Store } from '../../src/store/store.js';
import { auditEntries, dataOf, firstError, updateIntegration } from '../support/api.js';
import { createKeyWithCli } from '../support/gateway.js';
import {
  HEC_BUSY, HEC_SUCCESS, createSplunkIntegration, deadLetters, ingest, integrationStatus, makeEvents, perTestResources, waitFor,
} from '../support/delivery.js';
import { forEachDialect } from '../support/dialects.js';

/**
 * Issue 8, item 2: disabling an integration pauses it. Its queue (events waiting before and ingested while
 * disabled) is kept and delivered in order after `enabled: true`; `queued` stays right meanwhile; only
 * the retention turns old events into dead letters (`expired`). Dropping a backlog is the explicit,
 * audited `discardQueuedEvents`.
 */

forEachDialect((dialect) => {
  const { gateway, sink, cleanups } = perTestResources({ dialect });
  const ids = (events: { id: string }[]) => events.map((e) => e.id);

  const DISCARD = /* GraphQL */ `
  mutation Discard($id: ID!) { discardQueuedEvents(integrationId: $id) { discarded replaysCancelled integration { id enabled } } }
`;

  describe('disable pauses delivery', () => {
    it('keeps three events queued behind a down SIEM through disable and enable, and delivers them in order', async () => {
      const g = await gateway();
      const s = await sink(() => HEC_BUSY);
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_pause', batching: { batchSize: 10, flushIntervalSeconds: 1 } });

      const queued = makeEvents(3, () => ({ customerId: 'cust_pause' }));
      await ingest(g.url, queued);
      // They are behind a down SIEM: attempted and refused with 503, still queued.
      await waitFor(() => s.requests.some((r) => r.status === 503), { message: 'the SIEM to refuse a batch' });
      expect((await integrationStatus(g, integration.id)).stats.queued).toBe(3);

      await updateIntegration(g, integration.id, { enabled: false });
      const disabled = await integrationStatus(g, integration.id);
      expect(disabled).toMatchObject({ enabled: false, health: 'DISABLED' });
      expect(disabled.stats.queued).toBe(3);
      // Ingested while disabled: kept too.
      const meanwhile = makeEvents(2, () => ({ customerId: 'cust_pause' }));
      await ingest(g.url, meanwhile);
      await waitFor(async () => (await integrationStatus(g, integration.id)).stats.queued === 5, { message: 'queued to count 5 while disabled' });
      const attemptsWhileDisabled = s.requests.length;

      s.respond(() => HEC_SUCCESS);
      // Nothing is sent while disabled, even though the SIEM is back.
      await new Promise((r) => setTimeout(r, 300));
      expect(s.requests.length).toBe(attemptsWhileDisabled);

      await updateIntegration(g, integration.id, { enabled: true });
      await s.waitForIds(ids([...queued, ...meanwhile]));
      expect(s.acceptedIds()).toEqual(ids([...queued, ...meanwhile]));
      await waitFor(async () => (await integrationStatus(g, integration.id)).stats.queued === 0, { message: 'queue to drain' });
      expect(await deadLetters(g, integration.id)).toEqual([]);
      expect((await integrationStatus(g, integration.id)).stats).toMatchObject({ delivered: 5, deadLettered: 0 });
    });

    it('turns events older than the retention into dead letters (expired) while paused, and keeps queued exact', async () => {
      const db = await dialect.openDatabase();
      await migrateToLatest(db);
      // The store's clock stamps received_at: events "received" two minutes ago are past a one-minute retention.
      let clockOffsetMs = 0;
      const store = new Store(db, new SecretBox(randomBytes(32)), () => new Date(Date.now() - clockOffsetMs));
      const s = await sink();
      const engine = new DeliveryEngine({
        store: store.delivery(),
        egress: new EgressPolicy({ allow: ['127.0.0.0/8'] }),
        log: createLogger({ level: 'silent' }),
        retentionMs: 60_000,
      });
      cleanups.push(async () => {
        await engine.stop(1_000);
        await db.destroy();
      });
      await engine.start();
      const org = (await store.ensureOrganization('paused-org')).organization.id;
      const tenant = store.tenant(org);
      const actor = { keyId: null, name: 'test' };
      const integration = await tenant.createIntegration(
        { name: 'paused', type: 'SPLUNK', customerId: 'cust_exp', enabled: false, config: { endpoint: s.endpoint, token: 'hec-token-expiry-0001' } },
        actor,
      );
      const events = makeEvents(4, () => ({ customerId: 'cust_exp' })).map((e) => ({ ...e, time: new Date(), name: 'x' }));
      clockOffsetMs = 120_000;
      await tenant.ingest(events as never);
      clockOffsetMs = 0;
      // Any change wakes the paused worker (it would otherwise look again within 30 s).
      await tenant.updateIntegration(integration.id, { name: 'paused, renamed' }, actor);

      // Past the retention: dead letters with reason `expired`, nothing sent, queue empty.
      await waitFor(async () => (await engine.stats(org, integration.id)).deadLettered === 4, { message: 'the paused events to expire' });
      expect((await engine.stats(org, integration.id)).queued).toBe(0);
      const dead = await tenant.deadLetters(integration.id, { first: 10 });
      expect(dead.edges.map((e) => e.node.reason)).toEqual(['expired', 'expired', 'expired', 'expired']);
      expect(dead.edges.map((e) => e.node.eventId)).toEqual(ids(events));
      expect(s.requests).toHaveLength(0);
    });
  });

  describe('discardQueuedEvents', () => {
    it('drops the backlog (returns how many), audits siem.queue.discarded, and still delivers what comes after', async () => {
      const g = await gateway();
      const s = await sink(() => HEC_BUSY);
      const global = await sink();
      // A global integration receives the audit trail: the discard is delivered like every audit event.
      const audit = await createSplunkIntegration(g, global, { name: 'Audit trail', filter: { eventTypes: ['siem.queue.*'] }, batching: { batchSize: 1 } });
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_discard', batching: { batchSize: 2, flushIntervalSeconds: 1 } });

      const backlog = makeEvents(7, () => ({ customerId: 'cust_discard' }));
      await ingest(g.url, backlog);
      await waitFor(() => s.requests.some((r) => r.status === 503), { message: 'the SIEM to refuse a batch' });
      await waitFor(async () => (await integrationStatus(g, integration.id)).stats.queued === 7, { message: 'queued 7' });

      const result = dataOf(await g.gql(DISCARD, { id: integration.id })).discardQueuedEvents;
      expect(result).toEqual({ discarded: 7, replaysCancelled: 0, integration: { id: integration.id, enabled: true } });
      await waitFor(async () => (await integrationStatus(g, integration.id)).stats.queued === 0, { message: 'queued 0 after the discard' });

      const [entry] = await auditEntries(g, { action: 'siem.queue.discarded' });
      expect(entry).toMatchObject({ action: 'siem.queue.discarded', targetId: integration.id, changes: { discarded: 7, replaysCancelled: 0 } });
      await waitFor(() => global.accepted().some((r) => r.event.event_type === 'siem.queue.discarded'), { message: 'the audit event to be delivered' });
      expect(audit.id).toBeTruthy();

      // The SIEM comes back: only events ingested after the discard arrive, none of the discarded ones.
      s.respond(() => HEC_SUCCESS);
      const later = makeEvents(2, () => ({ customerId: 'cust_discard' }));
      await ingest(g.url, later);
      await s.waitForIds(ids(later));
      expect(s.acceptedIds()).toEqual(ids(later));
      expect(await deadLetters(g, integration.id)).toEqual([]);
    });

    it('works on a paused integration: re-enabling sends only what came after the discard', async () => {
      const g = await gateway();
      const s = await sink();
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_dp', enabled: false, batching: { batchSize: 1 } });
      await ingest(g.url, makeEvents(3, () => ({ customerId: 'cust_dp' })));
      expect(dataOf(await g.gql(DISCARD, { id: integration.id })).discardQueuedEvents.discarded).toBe(3);
      const later = makeEvents(1, () => ({ customerId: 'cust_dp' }));
      await ingest(g.url, later);
      await updateIntegration(g, integration.id, { enabled: true });
      await s.waitForIds(ids(later));
      expect(s.acceptedIds()).toEqual(ids(later));
    });

    it('answers NOT_FOUND for another organisation\'s integration and FORBIDDEN for a viewer, changing nothing', async () => {
      const g = await gateway();
      const s = await sink(() => HEC_BUSY);
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_guard', batching: { batchSize: 10, flushIntervalSeconds: 1 } });
      await ingest(g.url, makeEvents(2, () => ({ customerId: 'cust_guard' })));
      await waitFor(async () => (await integrationStatus(g, integration.id)).stats.queued === 2, { message: 'queued 2' });

      const otherAdmin = await createKeyWithCli(g.env, `other-${randomUUID().slice(0, 8)}`, 'admin');
      const viewer = dataOf(await g.gql('mutation { createApiKey(input: { name: "viewer", role: VIEWER }) { token } }')).createApiKey.token;
      expect(firstError(await g.gql(DISCARD, { id: integration.id }, otherAdmin))?.extensions?.code).toBe('NOT_FOUND');
      expect(firstError(await g.gql(DISCARD, { id: integration.id }, viewer))?.extensions?.code).toBe('FORBIDDEN');
      expect(firstError(await g.gql(DISCARD, { id: randomUUID() }))?.extensions?.code).toBe('NOT_FOUND');

      expect((await integrationStatus(g, integration.id)).stats.queued).toBe(2);
      expect(await auditEntries(g, { action: 'siem.queue.discarded' })).toEqual([]);
    });
  });
});
