import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import {
  TEST_EVENT_TYPE, TEST_INTEGRATION, closedPort, createIntegration, firstError, getIntegration, startHecReceiver,
  testEventRequests, testIntegration, updateIntegration,
} from '../support/api.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { startStreamReceiver, type StreamReceiver } from '../support/syslog-receivers.js';
import { tlsFixtures } from '../support/tls-fixtures.js';

/**
 * `testSiemIntegration` through the GraphQL API, against real receivers on loopback: one real, clearly marked test
 * event; the product documentation's messages; error tracking (errorCount, lastError, lastErrorAt, health).
 *
 * Every audited change is also an event delivered to the organisation's global integrations, so receivers may see
 * delivered events besides the test's; tests pick the test event out (TEST_EVENT_TYPE), and where exact error counts
 * matter the integration is customer-scoped, which audit events (they carry no customer) are never routed to.
 */

const HEC_TOKEN = 'Q7v2-hec-9d1e4b6a8d21';
const pki = tlsFixtures();

let g: TestGateway;
let hec: HttpReceiver;
let hecTls: HttpReceiver;
let syslog: StreamReceiver;

beforeAll(async () => {
  [g, hec, hecTls, syslog] = await Promise.all([
    startTestGateway(),
    startHecReceiver(HEC_TOKEN),
    startHecReceiver(HEC_TOKEN, { tls: { cert: pki.serverCert, key: pki.serverKey } }),
    startStreamReceiver(),
  ]);
});
afterAll(async () => {
  await Promise.all([g?.stop({ removeDatabase: true }), hec?.close(), hecTls?.close(), syslog?.close()]);
});

const splunkAt = (endpoint: string, extra: Record<string, unknown> = {}) => ({ splunk: { endpoint, token: HEC_TOKEN, ...extra } });

describe('a successful test', () => {
  it('sends one clearly marked test event to Splunk HEC and answers "Test event sent successfully" with its steps', async () => {
    const created = await createIntegration(g, { name: 'Live HEC', config: splunkAt(`${hec.url}/services/collector/event`, { index: 'security' }) });
    const sent = hec.requests.length;
    const result = await testIntegration(g, created.id);

    expect(result).toMatchObject({ success: true, message: 'Test event sent successfully', httpStatus: 200, latencyMs: expect.any(Number) });
    expect(result.steps.length).toBeGreaterThan(0);
    expect(result.steps.every((s: { ok: boolean }) => s.ok)).toBe(true);
    expect(result.steps.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['connect', 'deliver']));
    for (const step of result.steps) expect(step.detail).toEqual(expect.any(String));

    const tests = testEventRequests(hec, sent);
    expect(tests).toHaveLength(1);
    const req = tests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/services/collector/event');
    expect(req.headers.authorization).toBe(`Splunk ${HEC_TOKEN}`);
    const body = JSON.parse(req.body.toString('utf8'));
    expect(body).toMatchObject({ index: 'security', sourcetype: '_json', event: expect.objectContaining({ event_type: TEST_EVENT_TYPE }) });
  });

  it('leaves error tracking clean: errorCount 0, no lastError, HEALTHY', async () => {
    const created = await createIntegration(g, { name: 'Live HEC 2', customerId: 'cust_clean', config: splunkAt(`${hec.url}/services/collector/event`) });
    await testIntegration(g, created.id);
    expect(await getIntegration(g, created.id)).toMatchObject({ errorCount: 0, lastError: null, lastErrorAt: null, health: 'HEALTHY' });
  });

  it('succeeds over HTTPS when the integration trusts the server\'s CA', async () => {
    const created = await createIntegration(g, {
      name: 'HEC over TLS with CA', config: splunkAt(`https://localhost:${hecTls.port}/services/collector/event`, { tls: { caCert: pki.caCert } }),
    });
    expect(await testIntegration(g, created.id)).toMatchObject({ success: true, message: 'Test event sent successfully' });
  });

  it('writes one octet-counted syslog frame carrying the test event to a TCP collector', async () => {
    const created = await createIntegration(g, { name: 'Syslog TCP', customerId: 'cust_syslog', config: { syslog: { host: '127.0.0.1', port: syslog.port, protocol: 'TCP' } } });
    const before = syslog.frames.length;
    const result = await testIntegration(g, created.id);
    expect(result).toMatchObject({ success: true, message: 'Test event sent successfully' });
    await syslog.waitForFrames(before + 1);
    expect(syslog.errors, 'octet-counted framing').toEqual([]);
    const frames = syslog.texts().slice(before).filter((f) => f.includes(TEST_EVENT_TYPE));
    expect(frames).toHaveLength(1);
    const frame = frames[0]!;
    // RFC 5424 header (PRI of local0 = 16 × 8 + severity), then the CEF record.
    expect(frame).toMatch(/^<1(2[89]|3[0-5])>1 /);
    expect(frame).toContain('CEF:0|');
  });
});

describe('a failing test', () => {
  it('says it could not connect when nothing listens on the port', async () => {
    const port = await closedPort();
    const created = await createIntegration(g, { name: 'Closed port', config: splunkAt(`http://127.0.0.1:${port}/services/collector/event`) });
    const result = await testIntegration(g, created.id);
    expect(result.success).toBe(false);
    expect(result.message).toBe(`Connection test failed: could not connect to 127.0.0.1:${port}`);
    expect(result.httpStatus).toBeNull();
    expect(result.steps.some((s: { ok: boolean }) => !s.ok)).toBe(true);
  });

  it('names HTTP 401 when the SIEM refuses the credentials', async () => {
    const proxy = await startHttpReceiver(() => ({ status: 401, body: '{"text":"Invalid authorization","code":3}' }));
    try {
      const created = await createIntegration(g, { name: 'Behind a 401', config: splunkAt(`${proxy.url}/services/collector/event`) });
      const result = await testIntegration(g, created.id);
      expect(result).toMatchObject({ success: false, httpStatus: 401 });
      expect(result.message).toMatch(/^Connection test failed: .*HTTP 401/);
      expect(result.message).toContain('Invalid authorization');
      expect(result.steps).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'authenticate', ok: false })]));
    } finally {
      await proxy.close();
    }
  });

  it('names HTTP 403 and HEC\'s own text for a wrong HEC token', async () => {
    const created = await createIntegration(g, { name: 'Wrong token', config: { splunk: { endpoint: `${hec.url}/services/collector/event`, token: 'wrong-7c2e9a41f0' } } });
    const result = await testIntegration(g, created.id);
    expect(result).toMatchObject({ success: false, httpStatus: 403 });
    expect(result.message).toMatch(/^Connection test failed: .*HTTP 403.*Invalid token/);
  });

  it('names the HTTP status of a server error', async () => {
    const broken = await startHttpReceiver(() => ({ status: 500, body: '{"text":"Internal server error","code":8}' }));
    try {
      const created = await createIntegration(g, { name: 'Broken HEC', config: splunkAt(`${broken.url}/services/collector/event`) });
      const result = await testIntegration(g, created.id);
      expect(result).toMatchObject({ success: false, httpStatus: 500 });
      expect(result.message).toMatch(/^Connection test failed: .*HTTP 500/);
    } finally {
      await broken.close();
    }
  });

  it.each([
    ['without a CA (system roots only)', {}],
    ['with an unrelated CA', { caCert: pki.otherCaCert }],
  ])('reports a TLS error for an HTTPS SIEM whose certificate it cannot verify, %s', async (_label, tls) => {
    const created = await createIntegration(g, {
      name: 'HEC over TLS, untrusted', config: splunkAt(`https://localhost:${hecTls.port}/services/collector/event`, Object.keys(tls).length ? { tls } : {}),
    });
    const sent = hecTls.requests.length;
    const result = await testIntegration(g, created.id);
    expect(result.success).toBe(false);
    expect(result.message).toMatch(/^Connection test failed: /);
    expect(result.message).toMatch(/TLS|certificate/i);
    expect(testEventRequests(hecTls, sent)).toEqual([]);
  });

  it('answers NOT_FOUND for an unknown integration', async () => {
    expect(firstError(await g.gql(TEST_INTEGRATION, { id: '00000000-0000-4000-8000-000000000000' })).extensions?.code).toBe('NOT_FOUND');
  });
});

describe('error tracking across tests', () => {
  it('counts consecutive failures (UNKNOWN → DEGRADED → FAILING) and a success resets them (→ HEALTHY)', async () => {
    const port = await closedPort();
    const created = await createIntegration(g, { name: 'Flaky', customerId: 'cust_flaky', config: splunkAt(`http://127.0.0.1:${port}/services/collector/event`) });
    expect(created).toMatchObject({ errorCount: 0, health: 'UNKNOWN', lastError: null, lastErrorAt: null });

    const seen = [];
    for (let i = 1; i <= 3; i++) {
      const result = await testIntegration(g, created.id);
      const now = await getIntegration(g, created.id);
      expect(now.errorCount).toBe(i);
      expect(now.lastError).toMatch(/could not connect/);
      expect(result.message).toContain(now.lastError);
      expect(Number.isNaN(Date.parse(now.lastErrorAt))).toBe(false);
      seen.push(now.health);
    }
    expect(seen).toEqual(['DEGRADED', 'DEGRADED', 'FAILING']);

    // Point it at a live SIEM (the stored token is kept) and test again.
    await updateIntegration(g, created.id, { config: { splunk: { endpoint: `${hec.url}/services/collector/event` } } });
    expect(await testIntegration(g, created.id)).toMatchObject({ success: true });
    expect(await getIntegration(g, created.id)).toMatchObject({ errorCount: 0, lastError: null, health: 'HEALTHY' });
  });

  it('an update does not reset error tracking by itself', async () => {
    const port = await closedPort();
    const created = await createIntegration(g, { name: 'Still failing', customerId: 'cust_still', config: splunkAt(`http://127.0.0.1:${port}/services/collector/event`) });
    await testIntegration(g, created.id);
    expect(await updateIntegration(g, created.id, { name: 'Still failing, renamed' })).toMatchObject({ errorCount: 1, health: 'DEGRADED' });
  });
});

describe('the egress policy (default: loopback, link-local and metadata addresses refused)', () => {
  let strict: TestGateway;
  beforeAll(async () => {
    strict = await startTestGateway({ egress: new EgressPolicy() });
  });
  afterAll(async () => {
    await strict?.stop({ removeDatabase: true });
  });

  it.each([
    ['127.0.0.1 (loopback)', () => `http://127.0.0.1:${hec.port}/services/collector/event`, () => `127.0.0.1:${hec.port}`],
    ['localhost (a name that resolves to loopback)', () => `http://localhost:${hec.port}/services/collector/event`, () => `localhost:${hec.port}`],
    ['169.254.169.254 (the cloud metadata endpoint)', () => 'http://169.254.169.254/latest/meta-data/', () => '169.254.169.254:80'],
  ])('refuses %s as a plain connect failure (the reason goes to the server log) and sends nothing', async (_label, endpoint, target) => {
    const created = await createIntegration(strict, { name: 'SSRF attempt', customerId: 'cust_ssrf', config: splunkAt(endpoint()) });
    const sent = hec.requests.length;
    const result = await testIntegration(strict, created.id);
    expect(result.success).toBe(false);
    expect(result.message).toBe(`Connection test failed: could not connect to ${target()}`);
    expect(testEventRequests(hec, sent)).toEqual([]);
    expect(await getIntegration(strict, created.id)).toMatchObject({ errorCount: 1, lastError: result.message });
  });

  it('refuses a syslog target on loopback too, with the same plain connect failure', async () => {
    const created = await createIntegration(strict, { name: 'Syslog SSRF', config: { syslog: { host: '127.0.0.1', port: syslog.port } } });
    const before = syslog.frames.length;
    const result = await testIntegration(strict, created.id);
    expect(result.success).toBe(false);
    expect(result.message).toBe(`Connection test failed: could not connect to 127.0.0.1:${syslog.port}`);
    expect(syslog.texts().slice(before).filter((f) => f.includes(TEST_EVENT_TYPE))).toEqual([]);
  });
});
