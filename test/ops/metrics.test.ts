import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, createIntegration } from '../support/api.js';
import { HEC_INVALID_DATA, HEC_SUCCESS, createSplunkIntegration, makeEvents, postEvents, startHecSink, waitFor, type HecSink } from '../support/delivery.js';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { loadSettings, SettingsError } from '../../src/settings.js';
import { has, parsePrometheus, valueOf, type Sample } from '../support/prometheus.js';

/**
 * Issue 11, `GET /metrics`: Prometheus text from a real gateway, scraped over HTTP while it delivers to a
 * receiver, fails against a closed port and dead-letters a refused payload.
 */

const FAST_RETRIES = { SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '200' };
const HEC_TOKEN = 'hec-token-must-never-appear-1234';

async function scrape(g: { url: string }, token?: string): Promise<{ status: number; contentType: string | null; text: string; samples: Sample[] }> {
  const response = await fetch(`${g.url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type'), text, samples: response.status === 200 ? parsePrometheus(text) : [] };
}

describe('GET /metrics on a delivering gateway', () => {
  let g: TestGateway;
  const sinks: HecSink[] = [];
  beforeAll(async () => {
    g = await startTestGateway({ env: FAST_RETRIES });
  });
  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close()));
    await g?.stop({ removeDatabase: true });
  });

  it('answers Prometheus text with process metrics, before anything happened', async () => {
    const res = await scrape(g);
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(has(res.samples, 'process_cpu_user_seconds_total')).toBe(true);
    expect(has(res.samples, 'nodejs_heap_size_used_bytes')).toBe(true);
    for (const name of ['siemgate_delivered_events_total', 'siemgate_delivery_attempts_total', 'siemgate_dead_lettered_events_total', 'siemgate_delivery_latency_seconds', 'siemgate_queued_events', 'siemgate_integration_health', 'siemgate_ingest_requests_total', 'siemgate_graphql_operations_total']) {
      expect(res.text).toContain(`# TYPE ${name} `);
    }
  });

  it('counts delivered events, successful attempts and their latency; health HEALTHY, nothing queued; ingest requests, events and bytes', async () => {
    const sink = await startHecSink(() => HEC_SUCCESS);
    sinks.push(sink);
    const integration = await createSplunkIntegration(g, sink, { customerId: 'cust_ok', token: HEC_TOKEN, batching: { batchSize: 5 } });
    const labels = { integration_id: integration.id, type: 'SPLUNK', organization: 'default' };
    const events = makeEvents(5, () => ({ customerId: 'cust_ok' }));
    const body = JSON.stringify(events);
    const answer = await postEvents(g.url, body);
    expect(answer.status).toBe(202);
    await sink.waitForIds(events.map((e) => e.id));
    const before = (await scrape(g)).samples;
    expect(await postEvents(g.url, body, { token: null }).then((a) => a.status)).toBe(401);

    const { samples } = await waitFor(async () => {
      const s = await scrape(g);
      return valueOf(s.samples, 'siemgate_delivered_events_total', labels) === 5 ? s : null;
    });
    expect(valueOf(samples, 'siemgate_delivery_attempts_total', { ...labels, outcome: 'success' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, 'siemgate_delivery_latency_seconds_count', labels)).toBe(valueOf(samples, 'siemgate_delivery_attempts_total', labels));
    expect(valueOf(samples, 'siemgate_integration_health', { ...labels, state: 'HEALTHY' })).toBe(1);
    expect(valueOf(samples, 'siemgate_integration_health', { ...labels, state: 'FAILING' })).toBe(0);
    expect(valueOf(samples, 'siemgate_queued_events', labels)).toBe(0);
    expect(valueOf(samples, 'siemgate_ingest_events_total', { outcome: 'stored' })).toBe(5);
    expect(valueOf(samples, 'siemgate_ingest_bytes_total', { outcome: 'accepted' })).toBe(Buffer.byteLength(body));
    expect(valueOf(samples, 'siemgate_ingest_requests_total', { outcome: 'accepted' })).toBe(1);
    expect(valueOf(samples, 'siemgate_ingest_requests_total', { outcome: 'unauthenticated' }) - valueOf(before, 'siemgate_ingest_requests_total', { outcome: 'unauthenticated' })).toBe(1);

    // The same events again are duplicates, not stored twice.
    expect((await postEvents(g.url, body)).body.duplicates).toBe(5);
    const again = (await scrape(g)).samples;
    expect(valueOf(again, 'siemgate_ingest_events_total', { outcome: 'duplicate' })).toBe(5);
    expect(valueOf(again, 'siemgate_ingest_events_total', { outcome: 'stored' })).toBe(5);
  });

  it('a SIEM that is down: network attempts count up, health turns FAILING, the events stay queued', async () => {
    const port = await closedPort();
    const integration = await createIntegration(g, {
      name: 'down',
      customerId: 'cust_down',
      batching: { flushIntervalSeconds: 1, batchSize: 10 },
      config: { splunk: { endpoint: `http://127.0.0.1:${port}/services/collector/event`, token: HEC_TOKEN } },
    });
    const labels = { integration_id: integration.id, type: 'SPLUNK', organization: 'default' };
    expect((await postEvents(g.url, makeEvents(4, () => ({ customerId: 'cust_down' })))).status).toBe(202);
    const { samples, text } = await waitFor(async () => {
      const s = await scrape(g);
      return valueOf(s.samples, 'siemgate_integration_health', { ...labels, state: 'FAILING' }) === 1 ? s : null;
    });
    expect(valueOf(samples, 'siemgate_integration_health', { ...labels, state: 'HEALTHY' })).toBe(0);
    expect(valueOf(samples, 'siemgate_delivery_attempts_total', { ...labels, outcome: 'network' })).toBeGreaterThanOrEqual(3);
    expect(valueOf(samples, 'siemgate_delivery_attempts_total', { ...labels, outcome: 'success' })).toBe(0);
    expect(valueOf(samples, 'siemgate_delivered_events_total', labels)).toBe(0);
    expect(valueOf(samples, 'siemgate_queued_events', labels)).toBe(4);
    expect(text).not.toContain(HEC_TOKEN);
  });

  it('a refused payload: dead-lettered events counted by reason', async () => {
    const sink = await startHecSink(() => HEC_INVALID_DATA);
    sinks.push(sink);
    const integration = await createSplunkIntegration(g, sink, { customerId: 'cust_400', batching: { batchSize: 10 } });
    const labels = { integration_id: integration.id, type: 'SPLUNK', organization: 'default' };
    expect((await postEvents(g.url, makeEvents(3, () => ({ customerId: 'cust_400' })))).status).toBe(202);
    const { samples } = await waitFor(async () => {
      const s = await scrape(g);
      return valueOf(s.samples, 'siemgate_dead_lettered_events_total', { ...labels, reason: 'rejected' }) === 3 ? s : null;
    });
    expect(valueOf(samples, 'siemgate_delivery_attempts_total', { ...labels, outcome: 'rejected' })).toBeGreaterThanOrEqual(3);
    expect(valueOf(samples, 'siemgate_queued_events', labels)).toBe(0);
    expect(valueOf(samples, 'siemgate_delivered_events_total', labels)).toBe(0);
  });

  it('counts GraphQL operations by type and first error code', async () => {
    const before = (await scrape(g)).samples;
    const delta = (samples: Sample[], labels: Record<string, string>) => valueOf(samples, 'siemgate_graphql_operations_total', labels) - valueOf(before, 'siemgate_graphql_operations_total', labels);
    await g.gql('{ viewer { role } }');
    await g.gql('{ siemIntegration(id: "00000000-0000-4000-8000-000000000000") { id } }');
    await g.gql('{ noSuchField }');
    await g.gql('mutation { ingestEvents(events: [{ type: "a", severity: LOW }]) { accepted } }');
    await g.gql('{ viewer { role } }', {}, 'sg_wrong_token_000000000000000000');
    const after = (await scrape(g)).samples;
    expect(delta(after, { operation: 'query', code: 'none' })).toBe(1);
    expect(delta(after, { operation: 'query', code: 'NOT_FOUND' })).toBe(1);
    expect(delta(after, { operation: 'query', code: 'GRAPHQL_VALIDATION_FAILED' })).toBe(1);
    expect(delta(after, { operation: 'mutation', code: 'none' })).toBe(1);
    expect(delta(after, { code: 'UNAUTHENTICATED' })).toBe(1);
  });
});

describe('GET /metrics settings', () => {
  const started: TestGateway[] = [];
  afterAll(async () => {
    await Promise.all(started.map((g) => g.stop({ removeDatabase: true })));
  });

  it('with SIEMGATE_METRICS_TOKEN: 401 without it or with another, 200 with it', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const g = await startTestGateway({ env: { SIEMGATE_METRICS_TOKEN: token } });
    started.push(g);
    const none = await scrape(g);
    expect(none.status).toBe(401);
    expect(none.text).not.toContain('siemgate_');
    // Since issue 10 the refusal has the body every route answers errors with (it was text/plain).
    expect(none.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(none.text)).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.stringContaining('SIEMGATE_METRICS_TOKEN') } });
    expect((await scrape(g, 'metrics-token-0123456789abcdeX')).status).toBe(401);
    expect((await scrape(g, ADMIN_TOKEN)).status).toBe(401);
    const ok = await scrape(g, token);
    expect(ok.status).toBe(200);
    expect(has(ok.samples, 'process_cpu_user_seconds_total')).toBe(true);
  });

  it('SIEMGATE_METRICS=false: 404, and GraphQL still works', async () => {
    const g = await startTestGateway({ env: { SIEMGATE_METRICS: 'false' } });
    started.push(g);
    const off = await scrape(g);
    expect(off.status).toBe(404);
    expect(JSON.parse(off.text)).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    expect((await g.gql('{ viewer { role } }')).data.viewer.role).toBe('ADMIN');
  });

  it.each([['short'], ['has a space in it 0123456789']])('refuses SIEMGATE_METRICS_TOKEN=%j naming the setting', (value) => {
    expect(() => loadSettings({ SIEMGATE_METRICS_TOKEN: value })).toThrow(SettingsError);
    expect(() => loadSettings({ SIEMGATE_METRICS_TOKEN: value })).toThrow(/SIEMGATE_METRICS_TOKEN/);
  });
});
