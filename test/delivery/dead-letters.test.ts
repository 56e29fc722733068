import { describe, expect, it } from 'vitest';
import { dataOf, firstError } from '../support/api.js';
import { createKeyWithCli, type TestGateway } from '../support/gateway.js';
import {
  DEAD_LETTERS, HEC_INVALID_DATA, HEC_SUCCESS, REPLAY_DEAD_LETTERS, createSplunkIntegration, deadLetters, ingest, integrationStatus,
  makeEvent, makeEvents, perTestResources, waitFor,
} from '../support/delivery.js';
import { forEachDialect } from '../support/dialects.js';

/**
 * Issue 4, "Retries…" (second half): only rejections of the payload itself (400, 422, and 413 once the
 * batch is split down to single events) go to dead letters, which are kept, queryable
 * (`deadLetters(integrationId, first, after)`) and can be sent again (`replayDeadLetters`).
 */

forEachDialect((dialect) => {
  const { gateway, sink } = perTestResources({ dialect });

  const ids = (events: { id: string }[]) => events.map((e) => e.id);

  /** Waits until the integration's queue is empty and returns its status. */
  async function settled(g: TestGateway, id: string, deadLettered: number): Promise<any> {
    return waitFor(async () => {
      const st = await integrationStatus(g, id);
      return st.stats.queued === 0 && st.stats.deadLettered === deadLettered ? st : null;
    }, { message: `integration never settled with ${deadLettered} dead letters` });
  }

  describe('a SIEM answering 400', () => {
    it('sends the batch to dead letters (REJECTED, httpStatus 400); once fixed, replayDeadLetters delivers it', async () => {
      const g = await gateway();
      let rejecting = true;
      const s = await sink(() => (rejecting ? HEC_INVALID_DATA : HEC_SUCCESS));
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_400', batching: { batchSize: 10 } });
      const events = makeEvents(4, () => ({ customerId: 'cust_400' }));
      await ingest(g.url, events);

      const st = await settled(g, integration.id, 4);
      expect(st.errorCount).toBeGreaterThan(0);
      expect(st.lastError).toContain('400');
      expect(s.acceptedIds()).toEqual([]);

      const letters = await deadLetters(g, integration.id);
      expect(letters.map((d) => d.eventId)).toEqual(ids(events));
      for (const d of letters) {
        expect(d).toMatchObject({ reason: 'REJECTED', httpStatus: 400, status: 'DEAD' });
        expect(d.attempts).toBeGreaterThanOrEqual(1);
        expect(d.error).toContain('400');
        expect(d.event.id).toBe(d.eventId);
        expect(d.event.customerId ?? d.event.customer_id).toBe('cust_400');
      }

      const requestsBefore = s.requests.length;

      rejecting = false;
      const replayed = dataOf(await g.gql(REPLAY_DEAD_LETTERS, { id: integration.id })).replayDeadLetters;
      expect(replayed).toBe(4);
      await s.waitForIds(ids(events));
      expect(s.requests.length).toBeGreaterThan(requestsBefore);

      const after = await settled(g, integration.id, 4);
      expect(after.errorCount).toBe(0);
      expect(after.health).toBe('HEALTHY');
      // Delivered dead letters are not dead any more: a second replay has nothing to send.
      expect((await deadLetters(g, integration.id)).filter((d) => d.status === 'DEAD')).toEqual([]);
      expect(dataOf(await g.gql(REPLAY_DEAD_LETTERS, { id: integration.id })).replayDeadLetters).toBe(0);
      // Each event was accepted exactly once.
      expect(s.acceptedIds().sort()).toEqual(ids(events).sort());
    });

    it('dead-letters 422 the same way, and keeps delivering later events', async () => {
      const g = await gateway();
      let rejecting = true;
      const s = await sink(() => (rejecting ? { status: 422, body: '{"error":"unprocessable"}' } : HEC_SUCCESS));
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_422', batching: { batchSize: 5 } });
      const bad = makeEvents(2, () => ({ customerId: 'cust_422' }));
      await ingest(g.url, bad);
      await settled(g, integration.id, 2);
      expect((await deadLetters(g, integration.id)).map((d) => [d.eventId, d.reason, d.httpStatus])).toEqual(bad.map((e) => [e.id, 'REJECTED', 422]));

      rejecting = false;
      const good = makeEvents(3, () => ({ customerId: 'cust_422' }));
      await ingest(g.url, good);
      await s.waitForIds(ids(good));
      expect(s.acceptedIds()).toEqual(ids(good));
    });

    it('replays dead letters that are rejected again back into dead letters, with their attempts counted', async () => {
      const g = await gateway();
      const s = await sink(() => HEC_INVALID_DATA);
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_again', batching: { batchSize: 5 } });
      const events = makeEvents(2, () => ({ customerId: 'cust_again' }));
      await ingest(g.url, events);
      await settled(g, integration.id, 2);
      const firstAttempts = (await deadLetters(g, integration.id)).map((d) => d.attempts);

      expect(dataOf(await g.gql(REPLAY_DEAD_LETTERS, { id: integration.id })).replayDeadLetters).toBe(2);
      const again = await waitFor(async () => {
        const letters = await deadLetters(g, integration.id);
        return letters.length === 2 && letters.every((d, i) => d.status === 'DEAD' && d.attempts > firstAttempts[i]!) ? letters : null;
      });
      expect(again.map((d) => d.eventId)).toEqual(ids(events));
      expect(again.every((d) => d.reason === 'REJECTED' && d.httpStatus === 400)).toBe(true);
    });
    it('sends replayed dead letters ahead of new events already waiting', async () => {
      const g = await gateway();
      let rejecting = true;
      const s = await sink(() => (rejecting ? HEC_INVALID_DATA : HEC_SUCCESS));
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_ahead', batching: { batchSize: 10, flushIntervalSeconds: 2 } });
      const dead = makeEvents(3, () => ({ customerId: 'cust_ahead' }));
      await ingest(g.url, dead);
      await settled(g, integration.id, 3);

      rejecting = false;
      // New events wait for their batch to fill (or the flush interval) when the replay is asked for.
      const fresh = makeEvents(3, () => ({ customerId: 'cust_ahead' }));
      await ingest(g.url, fresh);
      expect(dataOf(await g.gql(REPLAY_DEAD_LETTERS, { id: integration.id })).replayDeadLetters).toBe(3);
      await s.waitForIds(ids([...dead, ...fresh]));
      expect(s.acceptedIds()).toEqual(ids([...dead, ...fresh]));
    });
  });

  describe('a poison event', () => {
    it('is the only event dead-lettered; the rest of its batch is delivered', async () => {
      const g = await gateway();
      const MARKER = 'POISON-7d1e';
      const s = await sink((req) => (req.request.body.includes(MARKER) ? HEC_INVALID_DATA : HEC_SUCCESS));
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_p', batching: { batchSize: 10 } });
      const events = makeEvents(10, (i) => ({ customerId: 'cust_p', ...(i === 6 ? { data: { note: MARKER } } : {}) }));
      await ingest(g.url, events);

      const healthy = events.filter((_, i) => i !== 6);
      await s.waitForIds(ids(healthy));
      const st = await settled(g, integration.id, 1);
      expect(st.stats.delivered).toBe(9);

      const letters = await deadLetters(g, integration.id);
      expect(letters.map((d) => d.eventId)).toEqual([events[6]!.id]);
      expect(letters[0]).toMatchObject({ reason: 'REJECTED', httpStatus: 400, status: 'DEAD' });
      expect(s.acceptedIds()).not.toContain(events[6]!.id);
      // Ingest order is kept among the delivered ones, each delivered once.
      expect(s.acceptedIds()).toEqual(ids(healthy));
    });
  });

  describe('413 Payload Too Large', () => {
    it('splits the batch down to single events, which are delivered; a single event still refused is dead-lettered', async () => {
      const g = await gateway();
      const HUGE = 'HUGE-EVENT-c3b2';
      // The SIEM takes one event per request, and never the huge one.
      const s = await sink((req) => (req.records.length > 1 || req.request.body.includes(HUGE) ? { status: 413, body: '{"text":"Content too large"}' } : HEC_SUCCESS));
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_413', batching: { batchSize: 8 } });
      const events = makeEvents(8, (i) => ({ customerId: 'cust_413', ...(i === 2 ? { data: { note: HUGE } } : {}) }));
      await ingest(g.url, events);

      const fine = events.filter((_, i) => i !== 2);
      await s.waitForIds(ids(fine));
      await settled(g, integration.id, 1);
      expect(s.accepted().length).toBe(7);
      for (const r of s.requests.filter((x) => x.status === 200)) expect(r.records).toHaveLength(1);
      const letters = await deadLetters(g, integration.id);
      expect(letters.map((d) => [d.eventId, d.reason, d.httpStatus])).toEqual([[events[2]!.id, 'REJECTED', 413]]);
    });
  });

  describe('the deadLetters query', () => {
    it('pages oldest first with first/after', async () => {
      const g = await gateway();
      const s = await sink(() => HEC_INVALID_DATA);
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_page', batching: { batchSize: 5 } });
      const events = makeEvents(5, () => ({ customerId: 'cust_page' }));
      await ingest(g.url, events);
      await settled(g, integration.id, 5);

      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      for (;;) {
        const page: any = dataOf(await g.gql(DEAD_LETTERS, { integrationId: integration.id, first: 2, after })).deadLetters;
        pages += 1;
        expect(page.edges.length).toBeLessThanOrEqual(2);
        seen.push(...page.edges.map((e: any) => e.node.eventId));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual(ids(events));
    });

    it('is readable by a viewer, replayable only by an admin, and invisible to another organisation', async () => {
      const g = await gateway();
      const s = await sink(() => HEC_INVALID_DATA);
      const integration = await createSplunkIntegration(g, s, { customerId: 'cust_acl', batching: { batchSize: 5 } });
      await ingest(g.url, [makeEvent({ customerId: 'cust_acl' })]);
      await settled(g, integration.id, 1);

      const viewer = dataOf(await g.gql('mutation { createApiKey(input: { name: "dl viewer", role: VIEWER }) { token } }')).createApiKey.token;
      const otherAdmin = await createKeyWithCli(g.env, 'dl-other-org', 'admin');
      expect(await deadLetters(g, integration.id, viewer)).toHaveLength(1);
      expect(firstError(await g.gql(REPLAY_DEAD_LETTERS, { id: integration.id }, viewer)).extensions?.code).toBe('FORBIDDEN');

      const foreignRead = await g.gql(DEAD_LETTERS, { integrationId: integration.id }, otherAdmin);
      expect(firstError(foreignRead).extensions?.code).toBe('NOT_FOUND');
      expect(JSON.stringify(foreignRead)).not.toContain('cust_acl');
      expect(firstError(await g.gql(REPLAY_DEAD_LETTERS, { id: integration.id }, otherAdmin)).extensions?.code).toBe('NOT_FOUND');
      expect((await deadLetters(g, integration.id)).map((d) => d.status)).toEqual(['DEAD']);
    });
  });
});
