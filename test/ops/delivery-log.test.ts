import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, createIntegration, updateIntegration } from '../support/api.js';
import { HEC_INVALID_DATA, HEC_SUCCESS, makeEvents, postEvents, startHecSink, waitFor, type HecSink } from '../support/delivery.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { DeliveryLog } from '../../src/metrics/delivery-log.js';
import type { DeliveryAttempt } from '../../src/delivery/integration-worker.js';
import type { DeliveryTarget } from '../../src/store/delivery-store.js';
import { createLogger } from '../../src/logger.js';

/**
 * Issue 11, logs an operator can alert on: one JSON line per health change and per dead-lettering, the first
 * failure after a success and then at most one line per integration per minute, never a secret.
 */

const HEC_TOKEN = 'hec-secret-token-never-logged-77';

/** A pino destination that keeps every line (parsed: a line that is not JSON fails the test). */
function captureLog() {
  const raw: string[] = [];
  return {
    destination: { write: (chunk: string) => void raw.push(...chunk.split('\n').filter(Boolean)) },
    raw,
    lines: () => raw.map((l) => JSON.parse(l) as Record<string, any>),
  };
}

describe('failure lines are rate-limited per integration (fake clock)', () => {
  let g: TestGateway;
  beforeAll(async () => {
    g = await startTestGateway();
  });
  afterAll(async () => {
    await g?.stop({ removeDatabase: true });
  });

  it('logs the first failure after a success, then at most one line per minute while failing, per integration', async () => {
    const capture = captureLog();
    let now = 1_000_000;
    const deliveryLog = new DeliveryLog({ store: g.store, log: createLogger({ level: 'info', destination: capture.destination }), now: () => now });
    const org = (await g.store.findOrganization('default'))!;
    const target = (id: string): DeliveryTarget => ({ id, organizationId: org.id, type: 'SPLUNK', name: id, enabled: true, customerId: null, filter: null, batching: { batchSize: 1, flushIntervalSeconds: 1, retryCount: 3, timeoutSeconds: 5 }, updatedAt: '' });
    const a = target(randomUUID());
    const b = target(randomUUID());
    const attempt = (t: DeliveryTarget, success: boolean): DeliveryAttempt => ({
      organizationId: org.id, integrationId: t.id, attemptId: randomUUID(), eventCount: 1, success, kind: success ? 'success' : 'server', httpStatus: success ? 200 : 503, latencyMs: 1, error: success ? null : 'HTTP 503', at: new Date(now),
    });
    const failureLines = (t: DeliveryTarget) => capture.lines().filter((l) => l.integrationId === t.id);

    deliveryLog.attempt(attempt(a, false), a); // t = 0: first failure → a line (once the organisation's slug is read)
    await waitFor(() => failureLines(a).length === 1);
    expect(failureLines(a).map((l) => l.msg)).toEqual(['delivery failed']);
    for (const at of [1_000, 30_000, 59_999]) {
      now = 1_000_000 + at;
      deliveryLog.attempt(attempt(a, false), a); // within the minute: no line
    }
    deliveryLog.attempt(attempt(b, false), b); // another integration is not held back by a's limit
    expect(failureLines(a)).toHaveLength(1);
    expect(failureLines(b).map((l) => l.msg)).toEqual(['delivery failed']);

    now = 1_060_000; // a minute after the first line
    deliveryLog.attempt(attempt(a, false), a);
    expect(failureLines(a).map((l) => l.msg)).toEqual(['delivery failed', 'delivery still failing']);
    expect(failureLines(a)[1]).toMatchObject({ failedAttemptsSinceLastLine: 4, reason: 'server', httpStatus: 503, organization: 'default' });
    now = 1_061_000;
    deliveryLog.attempt(attempt(a, false), a);
    expect(failureLines(a)).toHaveLength(2);

    deliveryLog.attempt(attempt(a, true), a); // a success ends the failure...
    now = 1_062_000;
    deliveryLog.attempt(attempt(a, false), a); // ...so the next failure is logged at once
    expect(failureLines(a).map((l) => l.msg)).toEqual(['delivery failed', 'delivery still failing', 'delivery failed']);
    expect(failureLines(a)[0]).toMatchObject({ level: 40, integrationId: a.id, organization: 'default', reason: 'server', httpStatus: 503, error: 'HTTP 503' });
  });
});

describe('the log stream of a real gateway', () => {
  const capture = captureLog();
  let g: TestGateway;
  const sinks: HecSink[] = [];
  beforeAll(async () => {
    // A logger writing to the capture (the real pino configuration).
    g = await startTestGateway({ env: { SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '100' }, logger: createLogger({ level: 'info', destination: capture.destination }) });
  });
  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close()));
    await g?.stop({ removeDatabase: true });
  });

  it('a SIEM that is down, then fixed: one failure line, one line per health change (DEGRADED, FAILING, HEALTHY), no secret', async () => {
    const port = await closedPort();
    const integration = await createIntegration(g, {
      name: 'down then up',
      customerId: 'cust_log',
      batching: { flushIntervalSeconds: 1, batchSize: 10 },
      config: { splunk: { endpoint: `http://127.0.0.1:${port}/services/collector/event`, token: HEC_TOKEN } },
    });
    const mine = () => capture.lines().filter((l) => l.integrationId === integration.id);
    expect((await postEvents(g.url, makeEvents(3, () => ({ customerId: 'cust_log' })))).status).toBe(202);
    await waitFor(() => mine().some((l) => l.msg === 'integration health changed' && l.health === 'FAILING'));
    // Keep failing for a while: dozens of attempts, still a single failure line (the minute has not passed).
    const attempts = await waitFor(async () => {
      const { data } = await g.gql('query($id: ID!) { siemIntegration(id: $id) { errorCount } }', { id: integration.id });
      return data.siemIntegration.errorCount >= 10 ? data.siemIntegration.errorCount : null;
    });
    expect(attempts).toBeGreaterThanOrEqual(10);
    expect(mine().filter((l) => l.msg === 'delivery failed' || l.msg === 'delivery still failing')).toHaveLength(1);
    expect(mine().find((l) => l.msg === 'delivery failed')).toMatchObject({ level: 40, organization: 'default', reason: 'network', httpStatus: null });

    const sink = await startHecSink(() => HEC_SUCCESS);
    sinks.push(sink);
    await updateIntegration(g, integration.id, { config: { splunk: { endpoint: sink.endpoint } } });
    await waitFor(() => mine().some((l) => l.msg === 'integration health changed' && l.health === 'HEALTHY'));
    const changes = mine().filter((l) => l.msg === 'integration health changed');
    expect(changes.map((l) => [l.from, l.health])).toEqual([['UNKNOWN', 'DEGRADED'], ['DEGRADED', 'FAILING'], ['FAILING', 'HEALTHY']]);
    expect(changes[1]).toMatchObject({ level: 50, integrationId: integration.id, organization: 'default', reason: 'network', httpStatus: null });
    expect(changes[2]).toMatchObject({ level: 30, reason: 'recovered' });
    expect(capture.raw.join('\n')).not.toContain(HEC_TOKEN);
  });

  it('a refused payload: one line per dead-lettering with reason and HTTP status', async () => {
    const sink = await startHecSink(() => HEC_INVALID_DATA);
    sinks.push(sink);
    const integration = await createIntegration(g, {
      name: 'refusing',
      customerId: 'cust_dl',
      batching: { flushIntervalSeconds: 1, batchSize: 10 },
      config: { splunk: { endpoint: sink.endpoint, token: HEC_TOKEN } },
    });
    expect((await postEvents(g.url, makeEvents(2, () => ({ customerId: 'cust_dl' })))).status).toBe(202);
    const lines = await waitFor(() => {
      const found = capture.lines().filter((l) => l.integrationId === integration.id && l.msg === 'events dead-lettered');
      return found.reduce((a, l) => a + l.events, 0) === 2 ? found : null;
    });
    for (const l of lines) expect(l).toMatchObject({ level: 40, organization: 'default', reason: 'rejected', httpStatus: 400, type: 'SPLUNK' });
    expect(capture.raw.join('\n')).not.toContain(HEC_TOKEN);
  });
});
