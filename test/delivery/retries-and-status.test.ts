import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { updateIntegration } from '../support/api.js';
import type { TestGateway } from '../support/gateway.js';
import {
  ATTEMPTS_SUBSCRIPTION, HEC_BUSY, HEC_SUCCESS, STATUS_SUBSCRIPTION, connectWs, createSplunkIntegration, deadLetters, ingest,
  integrationStatus, makeEvents, perTestResources, untilStatusSubscribed, waitFor,
} from '../support/delivery.js';

/**
 * Issue 4, "Retries that never drop an event in an outage", "Error tracking", "Stats" and the live
 * subscriptions: a SIEM that fails for a while gets every event once it heals; 429/503 Retry-After is
 * honoured; auth and address failures keep events queued until an admin fixes the integration; a real
 * graphql-ws client watches errorCount, health and every attempt.
 */

const { cleanups, gateway, sink } = perTestResources({ reverse: true });

function ws(g: TestGateway, token?: string) {
  const client = connectWs(g.url, { token });
  cleanups.push(() => client.dispose());
  return client;
}

/** Health as the schema defines it from error tracking (enabled integrations, no connection test run). */
function expectedHealth(v: { errorCount: number; lastErrorAt: string | null; lastEventAt: string | null }): string {
  if (v.errorCount === 0) return v.lastErrorAt === null && v.lastEventAt === null ? 'UNKNOWN' : 'HEALTHY';
  return v.errorCount <= 2 ? 'DEGRADED' : 'FAILING';
}

const HEC_TOKEN = 'hec-token-retries-31f0';

describe('a SIEM answering 503 for a while, then 200', () => {
  it('gets every event, and a siemIntegrationStatus subscriber sees errorCount rise and fall back to 0 with health following', async () => {
    const g = await gateway();
    let down = true;
    const s = await sink(() => (down ? HEC_BUSY : HEC_SUCCESS));
    const integration = await createSplunkIntegration(g, s, { customerId: 'cust_r', token: HEC_TOKEN, batching: { batchSize: 10 } });

    const client = ws(g);
    const status = client.subscribe(STATUS_SUBSCRIPTION, { id: integration.id }, 'siemIntegrationStatus');
    await untilStatusSubscribed(g, status, integration.id);

    const events = makeEvents(30, () => ({ customerId: 'cust_r' }));
    await ingest(g.url, events);

    // Down: the subscriber watches the integration go DEGRADED, then FAILING.
    const failing = await status.waitForValue((v) => v.errorCount >= 3);
    expect(failing.health).toBe('FAILING');
    expect(failing.lastError).toEqual(expect.stringContaining('503'));
    expect(failing.lastError).not.toContain(HEC_TOKEN);
    expect(failing.lastErrorAt).toEqual(expect.any(String));
    expect(failing.stats.queued).toBeGreaterThan(0);
    expect(s.acceptedIds()).toEqual([]);

    // Healed: every event arrives, and the subscriber sees the reset.
    down = false;
    await s.waitForIds(events.map((e) => e.id));
    const healed = await status.waitForValue((v) => v.errorCount === 0 && v.stats.queued === 0);
    expect(healed.health).toBe('HEALTHY');
    expect(healed.lastError).toBeNull();
    expect(healed.lastEventAt).toEqual(expect.any(String));
    expect(status.values.indexOf(healed)).toBeGreaterThan(status.values.indexOf(failing));

    // Every message's health agrees with its errorCount, and errorCount only ever grows by one or resets.
    for (const v of status.values) expect(v.health, JSON.stringify(v)).toBe(expectedHealth(v));
    for (let i = 1; i < status.values.length; i++) {
      const [prev, next] = [status.values[i - 1]!.errorCount, status.values[i]!.errorCount];
      expect(next === 0 || next >= prev, `errorCount went ${prev} → ${next}`).toBe(true);
    }

    const after = await integrationStatus(g, integration.id);
    expect(after).toMatchObject({ errorCount: 0, lastError: null, health: 'HEALTHY' });
    expect(after.stats.delivered).toBe(30);
    expect(after.stats.failedAttempts).toBeGreaterThanOrEqual(3);
    expect(after.stats.deadLettered).toBe(0);
    expect(after.stats.queued).toBe(0);
    expect(after.stats.successRate).toBeGreaterThan(0);
    expect(after.stats.successRate).toBeLessThan(1);
    expect(await deadLetters(g, integration.id)).toEqual([]);
  });

  it('keeps retrying past retryCount for as long as the SIEM is down, losing nothing', async () => {
    const g = await gateway();
    let down = true;
    const s = await sink(() => (down ? HEC_BUSY : HEC_SUCCESS));
    const integration = await createSplunkIntegration(g, s, { customerId: 'cust_long', batching: { batchSize: 5, retryCount: 1 } });
    const events = makeEvents(12, () => ({ customerId: 'cust_long' }));
    await ingest(g.url, events);
    // Far more failed attempts than retryCount quick retries.
    await waitFor(() => s.requests.length >= 8, { message: 'the gateway stopped retrying' });
    expect((await integrationStatus(g, integration.id)).stats.queued).toBe(12);
    down = false;
    await s.waitForIds(events.map((e) => e.id));
    expect(await deadLetters(g, integration.id)).toEqual([]);
  });
});

describe('Retry-After', () => {
  it.each([
    ['429', 429, '{"text":"Too many requests","code":9}'],
    ['503', 503, '{"text":"Server is busy","code":9}'],
  ])('on %s is honoured: no request comes back before the SIEM said, and every event still arrives', async (_label, status, body) => {
    const g = await gateway();
    // The SIEM throttles twice, each time asking for one second of quiet; a request inside that second breaks its rule.
    let quietUntil = 0;
    let throttles = 0;
    const early: number[] = [];
    const s = await sink(() => {
      const now = performance.now();
      if (now < quietUntil) early.push(quietUntil - now);
      if (throttles < 2) {
        throttles += 1;
        quietUntil = performance.now() + 1000;
        return { status, headers: { 'retry-after': '1' }, body };
      }
      return HEC_SUCCESS;
    });
    const integration = await createSplunkIntegration(g, s, { customerId: 'cust_ra', batching: { batchSize: 20 } });
    const events = makeEvents(20, () => ({ customerId: 'cust_ra' }));
    await ingest(g.url, events);
    await s.waitForIds(events.map((e) => e.id));
    expect(throttles).toBe(2);
    expect(early, 'requests that came inside the Retry-After period (ms before its end)').toEqual([]);
    expect(await deadLetters(g, integration.id)).toEqual([]);
  });
});

describe('auth and address failures keep events queued until an admin fixes the integration', () => {
  it.each([
    ['401', 401, '{"text":"Token is required","code":2}'],
    ['403', 403, '{"text":"Invalid token","code":4}'],
  ])('%s from a wrong token: queued, not dead-lettered; a token update delivers everything', async (_label, status, body) => {
    const g = await gateway();
    const GOOD = 'hec-token-good-8e7d';
    const BAD = 'hec-token-bad-1a2b';
    const s = await sink((req) => (req.request.headers.authorization === `Splunk ${GOOD}` ? HEC_SUCCESS : { status, body }));
    const integration = await createSplunkIntegration(g, s, { customerId: 'cust_auth', token: BAD, batching: { batchSize: 10, retryCount: 2 } });
    const events = makeEvents(25, () => ({ customerId: 'cust_auth' }));
    await ingest(g.url, events);

    const stuck = await waitFor(async () => {
      const st = await integrationStatus(g, integration.id);
      return st.errorCount >= 4 ? st : null;
    });
    expect(stuck.stats.queued).toBeGreaterThan(0);
    expect(stuck.stats.deadLettered).toBe(0);
    expect(stuck.health).toBe('FAILING');
    expect(stuck.lastError).toContain(String(status));
    expect(stuck.lastError).not.toContain(BAD);
    expect(await deadLetters(g, integration.id)).toEqual([]);
    expect(s.acceptedIds()).toEqual([]);

    await updateIntegration(g, integration.id, { config: { splunk: { token: GOOD } } });
    await s.waitForIds(events.map((e) => e.id));
    const fixed = await waitFor(async () => {
      const st = await integrationStatus(g, integration.id);
      return st.stats.queued === 0 && st.errorCount === 0 ? st : null;
    });
    expect(fixed.health).toBe('HEALTHY');
    expect(fixed.stats.delivered).toBe(25);
    expect(fixed.stats.deadLettered).toBe(0);
  });

  it('404 from a wrong URL: queued, not dead-lettered; fixing the endpoint delivers everything', async () => {
    const g = await gateway();
    const s = await sink((req) => (req.request.url.startsWith('/services/collector/event') ? HEC_SUCCESS : { status: 404, body: '{"text":"The requested URL was not found on this server.","code":404}' }));
    const integration = await createSplunkIntegration(g, s, { customerId: 'cust_404', endpoint: `${s.receiver.url}/wrong/path`, batching: { batchSize: 10 } });
    const events = makeEvents(15, () => ({ customerId: 'cust_404' }));
    await ingest(g.url, events);

    const stuck = await waitFor(async () => {
      const st = await integrationStatus(g, integration.id);
      return st.errorCount >= 4 ? st : null;
    });
    expect(stuck.stats.queued).toBeGreaterThan(0);
    expect(stuck.stats.deadLettered).toBe(0);
    expect(await deadLetters(g, integration.id)).toEqual([]);

    await updateIntegration(g, integration.id, { config: { splunk: { endpoint: s.endpoint } } });
    await s.waitForIds(events.map((e) => e.id));
    expect(await deadLetters(g, integration.id)).toEqual([]);
  });
});

describe('the deliveryAttempts subscription', () => {
  it('reports failed and successful attempts with httpStatus and eventCount', async () => {
    const g = await gateway();
    let down = true;
    const s = await sink(() => (down ? HEC_BUSY : HEC_SUCCESS));
    const integration = await createSplunkIntegration(g, s, { customerId: 'cust_att', batching: { batchSize: 50 } });
    const client = ws(g);
    const attempts = client.subscribe(ATTEMPTS_SUBSCRIPTION, { integrationId: integration.id }, 'deliveryAttempts');
    const everything = client.subscribe(ATTEMPTS_SUBSCRIPTION, {}, 'deliveryAttempts');

    const events = makeEvents(7, () => ({ customerId: 'cust_att' }));
    await ingest(g.url, events);

    // The SIEM stays down until the subscriber has seen it fail.
    const failed = await attempts.waitForValue((a) => a.success === false);
    expect(failed).toMatchObject({ integrationId: integration.id, success: false, httpStatus: 503, eventCount: 7 });
    expect(failed.error).toEqual(expect.stringContaining('503'));
    expect(failed.attemptId).toEqual(expect.any(String));
    expect(Number.isInteger(failed.latencyMs) && failed.latencyMs >= 0).toBe(true);
    expect(Number.isNaN(Date.parse(failed.at))).toBe(false);

    down = false;
    const ok = await attempts.waitForValue((a) => a.success === true);
    expect(ok).toMatchObject({ integrationId: integration.id, success: true, httpStatus: 200, eventCount: 7, error: null });
    expect(attempts.values.indexOf(ok)).toBeGreaterThan(attempts.values.indexOf(failed));
    const attemptIds = attempts.values.map((a) => a.attemptId);
    expect(new Set(attemptIds).size).toBe(attemptIds.length);

    // Without integrationId the subscriber gets the organisation's attempts, these included.
    await everything.waitForValue((a) => a.attemptId === ok.attemptId);
    await s.waitForIds(events.map((e) => e.id));

    // The attempts add up in the stats, too.
    const st = await integrationStatus(g, integration.id);
    expect(st.stats.failedAttempts).toBeGreaterThanOrEqual(attempts.values.filter((a) => !a.success).length);
    expect(st.stats.delivered).toBe(7);
    expect(st.stats.p50LatencyMs).toEqual(expect.any(Number));
    expect(st.stats.p95LatencyMs).toBeGreaterThanOrEqual(st.stats.p50LatencyMs);
  });

  it('adds up in deliveryStats for the organisation', async () => {
    const g = await gateway();
    const [one, two] = await Promise.all([sink(), sink()]);
    await createSplunkIntegration(g, one, { customerId: 'cust_1', batching: { batchSize: 4 } });
    await createSplunkIntegration(g, two, { customerId: 'cust_2', batching: { batchSize: 3 } });
    const events = [...makeEvents(8, () => ({ customerId: 'cust_1' })), ...makeEvents(6, () => ({ customerId: 'cust_2' }))];
    await ingest(g.url, events);
    await Promise.all([one.waitForIds(events.slice(0, 8).map((e) => e.id)), two.waitForIds(events.slice(8).map((e) => e.id))]);
    const stats = await waitFor(async () => {
      const res = await g.gql('{ deliveryStats { integrations delivered failedAttempts queued deadLettered successRate } }');
      const d = res.data?.deliveryStats;
      return d && d.delivered === 14 ? d : null;
    });
    expect(stats).toEqual({ integrations: 2, delivered: 14, failedAttempts: 0, queued: 0, deadLettered: 0, successRate: 1 });
  });
});
