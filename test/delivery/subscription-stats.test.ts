import { describe, expect, it } from 'vitest';
import {
  STATUS_SUBSCRIPTION, connectWs, createSplunkIntegration, ingest, integrationStatus, makeEvents, perTestResources, untilStatusSubscribed, waitFor,
} from '../support/delivery.js';

describe('siemIntegrationStatus carries live stats', () => {
  const res = perTestResources();

  it('reports stats as they are at each change, not as they were when the subscription started', async () => {
    const g = await res.gateway();
    const sink = await res.sink();
    const integration = await createSplunkIntegration(g, sink, { customerId: 'cust_stats', batching: { batchSize: 3, flushIntervalSeconds: 1 } });
    const ws = connectWs(g.url);
    res.cleanups.push(() => ws.dispose());
    const sub = ws.subscribe(STATUS_SUBSCRIPTION, { id: integration.id }, 'siemIntegrationStatus');
    await untilStatusSubscribed(g, sub, integration.id);

    await ingest(g.url, makeEvents(3, () => ({ customerId: 'cust_stats' })));
    await sub.waitForValue((v) => v.stats.delivered === 3);
    await ingest(g.url, makeEvents(6, () => ({ customerId: 'cust_stats' })));
    const later = await sub.waitForValue((v) => v.stats.delivered === 9);

    const now = await waitFor(async () => {
      const s = await integrationStatus(g, integration.id);
      return s.stats.delivered === 9 ? s : undefined;
    });
    expect(later.stats).toMatchObject({ delivered: now.stats.delivered, deadLettered: 0, failedAttempts: 0, queued: 0 });
  });
});
