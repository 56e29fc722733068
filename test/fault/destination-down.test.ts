import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { createIntegrationId, integrationStatus, makeEvents, postEvents, startIdReceiver, waitFor, waitForErrorCount, waitUntilHealed, type IdReceiver } from '../support/fault-kit.js';

/**
 * Fault: the SIEM goes away (its port closes: connection refused) while events keep coming, then comes back on the
 * same port. Nothing may be lost; error tracking must show the outage and then clear.
 */

const INGEST = 'mutation($events: [SecurityEventInput!]!) { ingestEvents(events: $events) { accepted ids } }';

let g: TestGateway;
let rx: IdReceiver;
let integrationId: string;

beforeAll(async () => {
  rx = await startIdReceiver();
  g = await startTestGateway({ env: { SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '200' } });
  integrationId = await createIntegrationId(g, {
    name: 'down and back',
    config: { webhook: { endpoint: `${rx.url}/hook` } },
    batching: { batchSize: 20, flushIntervalSeconds: 1, retryCount: 2, timeoutSeconds: 2 },
  });
});
afterAll(async () => {
  await g?.stop({ removeDatabase: true });
  await rx?.close();
});

describe('destination down and back', () => {
  it('keeps every event queued while the port is closed and delivers all of them once it reopens', async () => {
    // Warm-up: the destination works.
    const warm = makeEvents(10);
    expect((await postEvents(g.url, warm)).status).toBe(202);
    await waitFor(() => rx.missing(warm.map((e) => e.id)).length === 0, { message: 'warm-up events delivered' });

    // The SIEM goes away: its port is closed.
    await rx.close();
    const during = makeEvents(60);
    expect((await postEvents(g.url, during.slice(0, 30))).status).toBe(202);
    const viaGql = await g.gql(INGEST, { events: during.slice(30) });
    expect(viaGql.errors).toBeUndefined();
    expect(viaGql.data.ingestEvents.accepted).toBe(30);

    const failing = await waitForErrorCount(g, integrationId, 3, { message: 'errorCount to rise while the destination is down' });
    expect(failing.lastError).toMatch(/^could not connect to 127\.0\.0\.1:\d+$/);
    expect(failing.lastErrorAt).not.toBeNull();
    expect(failing.health).toBe('FAILING');
    expect(failing.stats.queued).toBeGreaterThan(0);
    expect(rx.missing(during.map((e) => e.id))).toHaveLength(60);

    // Still down a little longer: the retries go on (slow schedule), nothing is dead-lettered.
    const stillDown = await waitFor(async () => {
      const s = await integrationStatus(g, integrationId);
      return s.stats.failedAttempts > failing.stats.failedAttempts ? s : null;
    }, { message: 'another attempt while the SIEM is down' });
    expect(stillDown.errorCount).toBeGreaterThanOrEqual(failing.errorCount);
    expect(stillDown.stats.deadLettered).toBe(0);

    // Back on the same port.
    await rx.reopen();
    await waitFor(() => rx.missing(during.map((e) => e.id)).length === 0, {
      timeoutMs: 10_000,
      message: () => `all events after the outage (missing ${rx.missing(during.map((e) => e.id)).length})`,
    });
    const healed = await waitUntilHealed(g, integrationId);
    expect(healed.lastError).toBeNull();
    expect(healed.health).toBe('HEALTHY');
    expect(healed.lastEventAt).not.toBeNull();
    expect(healed.stats.deadLettered).toBe(0);

    const all = [...warm, ...during].map((e) => e.id);
    expect(rx.missing(all)).toEqual([]);
    // Nothing was answered 2xx while the port was closed, so nothing can have arrived twice.
    console.log(`[fault] down-and-back: ${all.length} events ingested, ${all.length - rx.missing(all).length} delivered, ${rx.duplicates()} duplicates, ${stillDown.errorCount} failed attempts during the outage`);
    expect(rx.duplicates()).toBe(0);
  });
});
