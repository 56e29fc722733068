import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createSplunkAdapter } from '../../src/destinations/splunk/adapter.js';
import type { SiemAdapter, SplunkConfig } from '../../src/destinations/types.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { startHttpReceiver, type HttpReceiver, type ReceivedRequest, type Reply } from '../support/http-receiver.js';
import { parseHecBatch } from '../support/spec-parsers.js';

const TOKEN = '7c4f4a1e-hec-token-SECRET';
const egress = new EgressPolicy({ allow: ['127.0.0.1/32'] });
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

function bodyText(req: ReceivedRequest): string {
  const raw = req.headers['content-encoding'] === 'gzip' ? gunzipSync(req.body) : req.body;
  return raw.toString('utf8');
}

interface HecServerOptions {
  /** Answers for the ack endpoint, per poll: ack state to report. */
  ackAnswers?: () => boolean;
  /** Return ackIds (the token has indexer acknowledgement on). */
  ack?: boolean;
  /** Override the answer to event posts. */
  eventReply?: (req: ReceivedRequest) => Reply | undefined;
}

/** A HEC endpoint written from Splunk's documentation: token check, batch format, ackIds and the ack endpoint. */
async function startHec(options: HecServerOptions = {}): Promise<HttpReceiver & { events: Record<string, unknown>[] }> {
  let nextAckId = 0;
  const events: Record<string, unknown>[] = [];
  const reply = (status: number, body: object): Reply => ({ status, body: JSON.stringify(body) });
  const r = await startHttpReceiver((req) => {
    const auth = req.headers.authorization;
    if (!auth) return reply(401, { text: 'Token is required', code: 2 });
    if (!auth.startsWith('Splunk ')) return reply(401, { text: 'Invalid authorization', code: 3 });
    if (auth !== `Splunk ${TOKEN}`) return reply(403, { text: 'Invalid token', code: 4 });
    const path = req.url.split('?')[0];
    if (path.endsWith('/services/collector/ack')) {
      if (!options.ack) return reply(400, { text: 'ACK is disabled', code: 14 });
      if (!req.headers['x-splunk-request-channel']) return reply(400, { text: 'Data channel is missing', code: 10 });
      const { acks } = JSON.parse(bodyText(req)) as { acks: number[] };
      const state = options.ackAnswers?.() ?? true;
      return reply(200, { acks: Object.fromEntries(acks.map((id) => [String(id), state])) });
    }
    const custom = options.eventReply?.(req);
    if (custom) return custom;
    let objects: unknown[];
    try {
      objects = parseHecBatch(bodyText(req));
    } catch {
      return reply(400, { text: 'Invalid data format', code: 6 });
    }
    if (objects.length === 0) return reply(400, { text: 'No data', code: 5 });
    for (const [i, o] of objects.entries()) {
      if (!o || typeof o !== 'object' || !('event' in o)) return reply(400, { text: 'Event field is required', code: 12, 'invalid-event-number': i });
    }
    events.push(...(objects as Record<string, unknown>[]));
    if (options.ack) {
      if (!req.headers['x-splunk-request-channel']) return reply(400, { text: 'Data channel is missing', code: 10 });
      return reply(200, { text: 'Success', code: 0, ackId: nextAckId++ });
    }
    return reply(200, { text: 'Success', code: 0 });
  });
  cleanups.push(() => r.close());
  return Object.assign(r, { events });
}

function adapter(config: Partial<SplunkConfig> & { endpoint: string }): SiemAdapter<unknown> {
  const a = createSplunkAdapter(
    { type: 'SPLUNK', token: TOKEN, sourcetype: '_json', ...config },
    { egress, hostname: 'gateway-01' },
  ) as SiemAdapter<unknown>;
  cleanups.push(() => a.close());
  return a;
}

const scanEvent = (i: number): SecurityEvent => ({
  id: `00000000-0000-4000-8000-00000000000${i}`,
  time: new Date(Date.UTC(2024, 0, 30, 12, 50, 0, 123 + i)),
  type: 'scan',
  name: 'Prompt Injection Detected',
  severity: 'CRITICAL',
  outcome: 'blocked',
  customerId: 'cust_acme',
  msspId: 'mssp_partner',
  installationId: 'inst_abc123',
  agentId: 'agent_prod_001',
  userEmail: 'a@example.com',
  sourceIp: '203.0.113.4',
  threatDetected: true,
  ruleIds: ['pi-001', 'pi-003'],
  families: ['PI'],
  promptHash: 'sha256:abc123',
  promptLength: 42,
  detectionCount: 2,
  scanDurationMs: 7,
  data: { nested: { quote: 'he said "}{"' } },
});

describe('Splunk HEC wire format', () => {
  it('POSTs concatenated HEC envelopes with the Splunk token and full metadata', async () => {
    const hec = await startHec();
    const a = adapter({ endpoint: `${hec.url}/services/collector/event`, index: 'security', source: 'raxe', host: 'raxe-agent-01' });
    const events = [scanEvent(1), scanEvent(2), scanEvent(3)];
    const result = await a.send(events.map((e) => a.transform(e)));
    expect(result).toMatchObject({ kind: 'success', ok: true, status: 200, recordCount: 3 });

    expect(hec.requests).toHaveLength(1);
    const req = hec.requests[0];
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/services/collector/event');
    expect(req.headers.authorization).toBe(`Splunk ${TOKEN}`);
    expect(req.headers['content-type']).toMatch(/^application\/json/);
    expect(req.headers['x-splunk-request-channel']).toBeUndefined();

    const objects = parseHecBatch(req.body.toString('utf8')) as Record<string, unknown>[];
    expect(objects).toHaveLength(3);
    objects.forEach((o, i) => {
      const e = events[i];
      expect(o.time).toBe(e.time.getTime() / 1000);
      expect(o.host).toBe('raxe-agent-01');
      expect(o.source).toBe('raxe');
      expect(o.sourcetype).toBe('_json');
      expect(o.index).toBe('security');
      expect(o.event).toEqual({
        id: e.id,
        event_type: 'scan',
        name: 'Prompt Injection Detected',
        severity: 'critical',
        timestamp: e.time.toISOString(),
        outcome: 'blocked',
        customer_id: 'cust_acme',
        mssp_id: 'mssp_partner',
        installation_id: 'inst_abc123',
        agent_id: 'agent_prod_001',
        user_email: 'a@example.com',
        source_ip: '203.0.113.4',
        threat_detected: true,
        rule_ids: ['pi-001', 'pi-003'],
        families: ['PI'],
        prompt_hash: 'sha256:abc123',
        prompt_length: 42,
        detection_count: 2,
        scan_duration_ms: 7,
        data: { nested: { quote: 'he said "}{"' } },
      });
    });
  });

  it('writes time as epoch seconds with millisecond precision', async () => {
    const hec = await startHec();
    const a = adapter({ endpoint: `${hec.url}/services/collector/event` });
    await a.send([a.transform({ ...scanEvent(0), time: new Date(1706619000123) })]);
    expect(hec.requests[0].body.toString('utf8')).toContain('"time":1706619000.123,');
  });

  it('omits index and source when unset, and defaults host to the gateway host name', async () => {
    const hec = await startHec();
    const a = adapter({ endpoint: `${hec.url}/services/collector` });
    await a.send([a.transform(scanEvent(1))]);
    const [o] = parseHecBatch(hec.requests[0].body.toString('utf8')) as Record<string, unknown>[];
    expect(Object.keys(o)).toEqual(['time', 'host', 'sourcetype', 'event']);
    expect(o.host).toBe('gateway-01');
    expect(hec.requests[0].url).toBe('/services/collector');
  });

  it('gzips the body with Content-Encoding: gzip', async () => {
    const hec = await startHec();
    const a = adapter({ endpoint: `${hec.url}/services/collector/event`, gzip: true });
    const result = await a.send([scanEvent(1), scanEvent(2)].map((e) => a.transform(e)));
    expect(result.ok).toBe(true);
    expect(hec.requests[0].headers['content-encoding']).toBe('gzip');
    const objects = parseHecBatch(gunzipSync(hec.requests[0].body).toString('utf8')) as { event: { id: string } }[];
    expect(objects.map((o) => o.event.id)).toEqual([scanEvent(1).id, scanEvent(2).id]);
  });

  it('splits a large batch into requests of at most 1 MB, keeping order', async () => {
    const hec = await startHec();
    const a = adapter({ endpoint: `${hec.url}/services/collector/event` });
    const big = [1, 2, 3, 4, 5].map((i) => ({ ...scanEvent(i), data: { blob: 'b'.repeat(300_000) } }));
    const result = await a.send(big.map((e) => a.transform(e)));
    expect(result).toMatchObject({ ok: true, recordCount: 5 });
    expect(hec.requests.length).toBeGreaterThan(1);
    for (const req of hec.requests) expect(req.body.length).toBeLessThanOrEqual(1_000_000);
    expect(hec.events.map((o) => (o.event as { id: string }).id)).toEqual(big.map((e) => e.id));
  });

  it('sends nothing for an empty batch', async () => {
    const hec = await startHec();
    const a = adapter({ endpoint: `${hec.url}/services/collector/event` });
    expect(await a.send([])).toMatchObject({ ok: true, recordCount: 0 });
    expect(hec.requests).toHaveLength(0);
  });
});

describe('Splunk HEC answers', () => {
  it('invalid token → auth, with HEC text and code, never the token', async () => {
    const hec = await startHec();
    const a = createSplunkAdapter(
      { type: 'SPLUNK', endpoint: `${hec.url}/services/collector/event`, token: 'wrong-SECRET', sourcetype: '_json' },
      { egress },
    );
    cleanups.push(() => a.close());
    const result = await a.send([a.transform(scanEvent(1))]);
    expect(result).toMatchObject({ kind: 'auth', ok: false, status: 403, message: 'HTTP 403: Invalid token (code 4)' });
    expect(JSON.stringify(result)).not.toContain('SECRET');
  });

  it.each([
    [{ status: 403, body: { text: 'Token disabled', code: 1 } }, 'auth', 'HTTP 403: Token disabled (code 1)'],
    [{ status: 401, body: { text: 'Token is required', code: 2 } }, 'auth', 'HTTP 401: Token is required (code 2)'],
    [{ status: 400, body: { text: 'Invalid data format', code: 6, 'invalid-event-number': 2 } }, 'rejected', 'HTTP 400: Invalid data format (code 6, event 2)'],
    [{ status: 400, body: { text: 'Incorrect index', code: 7 } }, 'rejected', 'HTTP 400: Incorrect index (code 7)'],
    [{ status: 400, body: { text: 'Event field is required', code: 12 } }, 'rejected', 'HTTP 400: Event field is required (code 12)'],
    [{ status: 500, body: { text: 'Internal server error', code: 8 } }, 'server', 'HTTP 500: Internal server error (code 8)'],
    [{ status: 503, body: { text: 'Server is busy', code: 9 } }, 'server', 'HTTP 503: Server is busy (code 9)'],
    [{ status: 200, body: { text: 'Invalid data format', code: 6 } }, 'rejected', 'HTTP 200: Invalid data format (code 6)'],
  ] as const)('%j → %s', async (answer, kind, message) => {
    const hec = await startHec({ eventReply: () => ({ status: answer.status, body: JSON.stringify(answer.body) }) });
    const a = adapter({ endpoint: `${hec.url}/services/collector/event` });
    const result = await a.send([a.transform(scanEvent(1))]);
    expect(result).toMatchObject({ kind, ok: false, status: answer.status, message, recordCount: 1 });
  });

  it('server busy with Retry-After → throttled with the delay', async () => {
    const hec = await startHec({
      eventReply: () => ({ status: 503, headers: { 'Retry-After': '5' }, body: '{"text":"Server is busy","code":9}' }),
    });
    const a = adapter({ endpoint: `${hec.url}/services/collector/event` });
    expect(await a.send([a.transform(scanEvent(1))])).toMatchObject({ kind: 'throttled', retryAfterMs: 5000, status: 503 });
  });

  it('429 with Retry-After → throttled', async () => {
    const hec = await startHec({ eventReply: () => ({ status: 429, headers: { 'Retry-After': '12' }, body: 'slow down' }) });
    const a = adapter({ endpoint: `${hec.url}/services/collector/event` });
    expect(await a.send([a.transform(scanEvent(1))])).toMatchObject({
      kind: 'throttled',
      retryAfterMs: 12_000,
      message: 'HTTP 429: slow down',
    });
  });

  it('a closed port → network', async () => {
    const hec = await startHec();
    const url = `${hec.url}/services/collector/event`;
    await hec.close();
    const a = adapter({ endpoint: url });
    expect(await a.send([a.transform(scanEvent(1))])).toMatchObject({ kind: 'network', ok: false, recordCount: 1 });
  });

  it('connection test: success and the documented failure message', async () => {
    const hec = await startHec();
    const ok = await adapter({ endpoint: `${hec.url}/services/collector/event` }).test();
    expect(ok).toMatchObject({ success: true, message: 'Test event sent successfully', httpStatus: 200 });
    expect((hec.events[0].event as { event_type: string }).event_type).toBe('siemgate.test');

    const bad = createSplunkAdapter(
      { type: 'SPLUNK', endpoint: `${hec.url}/services/collector/event`, token: 'nope-SECRET', sourcetype: '_json' },
      { egress },
    );
    cleanups.push(() => bad.close());
    const failed = await bad.test();
    expect(failed).toMatchObject({
      success: false,
      message: 'Connection test failed: HTTP 403: Invalid token (code 4)',
      httpStatus: 403,
    });
    expect(failed.steps.find((s) => s.name === 'authenticate')).toMatchObject({ ok: false });
    expect(JSON.stringify(failed)).not.toContain('SECRET');
  });
});

describe('Splunk HEC indexer acknowledgement', () => {
  it('sends a channel, polls /services/collector/ack until true, and only then reports success', async () => {
    const states = [false, false, true];
    let polls = 0;
    let acknowledged = false;
    const hec = await startHec({
      ack: true,
      ackAnswers: () => {
        const state = states[Math.min(polls++, states.length - 1)];
        if (state) acknowledged = true;
        return state;
      },
    });
    const a = adapter({ endpoint: `${hec.url}/services/collector/event`, indexerAck: true, timeoutSeconds: 5 });
    const result = await a.send([a.transform(scanEvent(1))]);
    expect(acknowledged).toBe(true);
    expect(result).toMatchObject({ kind: 'success', ok: true, recordCount: 1 });
    expect(polls).toBe(3);

    const [post, ...ackPolls] = hec.requests;
    const channel = post.headers['x-splunk-request-channel'];
    expect(channel).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(ackPolls).toHaveLength(3);
    for (const poll of ackPolls) {
      expect(poll.method).toBe('POST');
      expect(poll.url).toBe('/services/collector/ack');
      expect(poll.headers.authorization).toBe(`Splunk ${TOKEN}`);
      expect(poll.headers['x-splunk-request-channel']).toBe(channel);
      expect(JSON.parse(poll.body.toString('utf8'))).toEqual({ acks: [0] });
    }

    // The same adapter keeps its channel; the next batch gets the next ackId.
    await a.send([a.transform(scanEvent(2))]);
    const later = hec.requests.slice(4);
    expect(later[0].headers['x-splunk-request-channel']).toBe(channel);
    expect(JSON.parse(later[1].body.toString('utf8'))).toEqual({ acks: [1] });
  });

  it('never acknowledged → timeout result, so the engine retries', async () => {
    const hec = await startHec({ ack: true, ackAnswers: () => false });
    const a = adapter({ endpoint: `${hec.url}/services/collector/event`, indexerAck: true, timeoutSeconds: 1 });
    const result = await a.send([a.transform(scanEvent(1))]);
    expect(result.kind).toBe('timeout');
    expect(result.ok).toBe(false);
    expect(result.recordCount).toBe(1);
    expect(result.message).toMatch(/^indexer acknowledgement not received within \d+ ms \(ackId 0\)/);
    expect(hec.requests.length).toBeGreaterThan(1);
  });

  it('derives the ack endpoint below a path prefix', async () => {
    const hec = await startHec({ ack: true });
    const a = adapter({ endpoint: `${hec.url}/splunk/services/collector/event?ignored=1`, indexerAck: true, timeoutSeconds: 5 });
    expect((await a.send([a.transform(scanEvent(1))])).ok).toBe(true);
    expect(hec.requests[1].url).toBe('/splunk/services/collector/ack');
  });

  it('a token without acknowledgement (no ackId) still delivers, and says so', async () => {
    const hec = await startHec({ ack: false });
    const a = adapter({ endpoint: `${hec.url}/services/collector/event`, indexerAck: true, timeoutSeconds: 5 });
    const result = await a.send([a.transform(scanEvent(1))]);
    expect(result.ok).toBe(true);
    expect(result.message).toContain('indexer acknowledgement is not enabled');
    expect(hec.requests).toHaveLength(1);
  });

  it('an auth failure on the ack endpoint is reported as auth', async () => {
    let n = 0;
    const hec = await startHec({ ack: true });
    hec.respond((req) => {
      n++;
      if (req.url.endsWith('/ack')) return { status: 403, body: '{"text":"Invalid token","code":4}' };
      return { status: 200, body: '{"text":"Success","code":0,"ackId":7}' };
    });
    const a = adapter({ endpoint: `${hec.url}/services/collector/event`, indexerAck: true, timeoutSeconds: 5 });
    const result = await a.send([a.transform(scanEvent(1))]);
    expect(n).toBe(2);
    expect(result).toMatchObject({ kind: 'auth', ok: false, recordCount: 1 });
    expect(result.message).toBe('indexer acknowledgement query failed: HTTP 403: Invalid token (code 4)');
  });
});
