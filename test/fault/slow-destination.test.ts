import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { createIntegrationId, integrationStatus, makeEvents, postEvents, startIdReceiver, waitFor, waitUntilHealed, type IdReceiver } from '../support/fault-kit.js';
import { subscribe, type LiveSubscription } from '../support/ws-subscribe.js';

/**
 * Fault: the SIEM answers more slowly than the integration's timeout (timeoutSeconds = 1; the receiver waits 2.5 s).
 * Each attempt must give up at the timeout, be classified as a timeout (lastError, deliveryAttempts.error), and the
 * events must stay queued; once the SIEM answers fast again everything arrives.
 */

const ATTEMPTS = 'subscription($id: ID) { deliveryAttempts(integrationId: $id) { integrationId eventCount success httpStatus latencyMs error } }';
const SLOW_MS = 2_500;

let g: TestGateway;
let rx: IdReceiver;
let integrationId: string;
let attempts: LiveSubscription<{ deliveryAttempts: { eventCount: number; success: boolean; httpStatus: number | null; latencyMs: number; error: string | null } }>;

beforeAll(async () => {
  rx = await startIdReceiver({ responder: () => ({ status: 200, delayMs: SLOW_MS }) });
  g = await startTestGateway({ env: { SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '200' } });
  integrationId = await createIntegrationId(g, {
    name: 'slow SIEM',
    config: { webhook: { endpoint: `${rx.url}/hook`, timeoutSeconds: 1 } },
    batching: { batchSize: 50, flushIntervalSeconds: 1, retryCount: 1, timeoutSeconds: 1 },
  });
  attempts = await subscribe(g.url, ADMIN_TOKEN, ATTEMPTS, { id: integrationId });
});
afterAll(async () => {
  await attempts?.close();
  await g?.stop({ removeDatabase: true });
  await rx?.close();
});

describe('slow destination', () => {
  it('times attempts out at timeoutSeconds, keeps the events queued, and delivers them once the SIEM is fast again', async () => {
    const events = makeEvents(40);
    const ids = events.map((e) => e.id);
    expect((await postEvents(g.url, events)).status).toBe(202);

    // At least two attempts, each abandoned at about 1 s (not after the SIEM's 2.5 s).
    await attempts.waitForResults(2, 12_000);
    const failed = attempts.results.map((r) => r.deliveryAttempts);
    for (const a of failed.slice(0, 2)) {
      expect(a.success).toBe(false);
      expect(a.httpStatus).toBeNull();
      expect(a.error).toMatch(/timed out/i);
      expect(a.latencyMs).toBeGreaterThanOrEqual(900);
      expect(a.latencyMs).toBeLessThan(SLOW_MS);
    }
    const status = await integrationStatus(g, integrationId);
    expect(status.errorCount).toBeGreaterThanOrEqual(2);
    expect(status.lastError).toMatch(/timed out/i);
    expect(status.stats.queued).toBeGreaterThan(0);
    expect(status.stats.deadLettered).toBe(0);
    expect(rx.missing(ids)).toHaveLength(ids.length);

    // The SIEM recovers.
    rx.respond(() => ({ status: 200 }));
    await waitFor(() => rx.missing(ids).length === 0, { timeoutMs: 10_000, message: () => `all events (missing ${rx.missing(ids).length})` });
    const healed = await waitUntilHealed(g, integrationId);
    expect(healed.lastError).toBeNull();
    expect(healed.health).toBe('HEALTHY');

    // A slow SIEM still indexed what it received before the gateway gave up: those are the duplicates, bounded by
    // the abandoned attempts times the batch size.
    const timedOut = attempts.results.filter((r) => !r.deliveryAttempts.success).length;
    let arrivedTwice = 0;
    for (const id of ids) arrivedTwice += (rx.arrived.get(id) ?? 0) - 1;
    console.log(`[fault] slow destination: ${ids.length} events, ${timedOut} timed-out attempts, ${rx.duplicates()} duplicate acknowledged deliveries, ${arrivedTwice} duplicate arrivals`);
    expect(rx.duplicates()).toBe(0);
    expect(arrivedTwice).toBeLessThanOrEqual(timedOut * 50);
  });
});
