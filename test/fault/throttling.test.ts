import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { createIntegrationId, makeEvents, postEvents, startIdReceiver, waitFor, waitForErrorCount, waitUntilHealed, type IdReceiver } from '../support/fault-kit.js';

/**
 * Fault: a 429 storm. The SIEM answers 429 with `Retry-After: 1` (delta-seconds), then a 503 with an HTTP-date
 * Retry-After, then recovers. The gateway's own backoff here is 20 ms, so any retry sooner than about a second after
 * a throttling answer means Retry-After was ignored.
 */

const THROTTLED = 3;

let g: TestGateway;
let rx: IdReceiver;
let integrationId: string;

beforeAll(async () => {
  rx = await startIdReceiver({
    responder: ({ index }) => {
      if (index < THROTTLED - 1) return { status: 429, headers: { 'retry-after': '1' }, body: '{"text":"Server is busy","code":9}' };
      if (index === THROTTLED - 1) {
        // An HTTP-date at least one whole second ahead (HTTP-dates have one-second resolution).
        const at = new Date(Math.ceil((Date.now() + 1_000) / 1000) * 1000);
        return { status: 503, headers: { 'retry-after': at.toUTCString() }, body: '{"text":"Server is busy","code":9}' };
      }
      return { status: 200, body: '{"text":"Success","code":0}' };
    },
  });
  g = await startTestGateway({ env: { SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '100' } });
  integrationId = await createIntegrationId(g, {
    name: 'throttling SIEM',
    config: { webhook: { endpoint: `${rx.url}/hook` } },
    batching: { batchSize: 100, flushIntervalSeconds: 1, retryCount: 3, timeoutSeconds: 5 },
  });
});
afterAll(async () => {
  await g?.stop({ removeDatabase: true });
  await rx?.close();
});

describe('429 storm with Retry-After', () => {
  it('waits at least Retry-After between attempts, delivers everything, and errorCount returns to 0', async () => {
    const events = makeEvents(30);
    const ids = events.map((e) => e.id);
    expect((await postEvents(g.url, events)).status).toBe(202);

    const throttledSeen = await waitForErrorCount(g, integrationId, 2, { timeoutMs: 8_000, message: 'errorCount to rise under throttling' });
    expect(throttledSeen.lastError).toMatch(/HTTP (429|503)/);
    expect(throttledSeen.stats.deadLettered).toBe(0);

    await waitFor(() => rx.missing(ids).length === 0, { timeoutMs: 10_000, message: () => `all events (missing ${rx.missing(ids).length})` });
    const healed = await waitUntilHealed(g, integrationId);
    expect(healed.lastError).toBeNull();
    expect(healed.health).toBe('HEALTHY');
    expect(healed.stats.failedAttempts).toBe(THROTTLED);
    expect(healed.stats.deadLettered).toBe(0);

    // Every retry after a throttling answer came no sooner than its Retry-After (1 s; some scheduling slack allowed).
    const times = rx.batches.map((b) => b.at);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    console.log(`[fault] 429 storm: ${rx.batches.length} requests, statuses ${rx.batches.map((b) => b.status).join(',')}, gaps after throttling ${gaps.slice(0, THROTTLED).join(', ')} ms`);
    expect(rx.batches.slice(0, THROTTLED + 1).map((b) => b.status)).toEqual([429, 429, 503, 200]);
    for (const gap of gaps.slice(0, THROTTLED)) expect(gap).toBeGreaterThanOrEqual(950);
    expect(rx.duplicates()).toBe(0);
  });
});
