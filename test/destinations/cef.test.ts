import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createCefAdapter, InvalidCefConfigError } from '../../src/destinations/cef/adapter.js';
import type { CefConfig } from '../../src/destinations/types.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { closeAfterEach, startHttpReceiver } from '../support/http-receiver.js';
import { tlsFixtures } from '../support/tls-fixtures.js';
import { parseCef } from '../support/spec-parsers.js';
import { closedPort } from '../support/api.js';
import { parseRfc5424 } from '../support/spec-parsers.js';
import { startStreamReceiver, startUdpReceiver } from '../support/syslog-receivers.js';

const egress = new EgressPolicy({ allow: ['127.0.0.1/32'] });
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const track = closeAfterEach();

function event(n: number, overrides: Partial<SecurityEvent> = {}): SecurityEvent {
  return {
    id: `11111111-2222-4333-8444-55555555555${n}`,
    time: new Date(Date.UTC(2026, 0, 30, 10, 30, n)),
    type: 'scan',
    name: `Prompt Injection Detected ${n}`,
    severity: 'CRITICAL',
    installationId: 'inst_abc123',
    agentId: `agent\n=${n}`,
    promptHash: `sha256:|\\=${n}`,
    ruleIds: ['pi-001', 'pi-003'],
    families: ['PI'],
    customerId: 'cust_acme',
    ...overrides,
  };
}

function httpConfig(endpoint: string, overrides: Partial<CefConfig> = {}): CefConfig {
  return {
    type: 'CEF',
    transport: 'HTTP',
    endpoint,
    token: 'cef-8b2e5d17c4f0',
    facility: 'local0',
    deviceVendor: 'RAXE',
    deviceProduct: 'ThreatDetection',
    ...overrides,
  };
}

/** Splits a body into CEF lines: every line ends with LF, none is empty. */
function bodyLines(body: Buffer): string[] {
  const text = body.toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.slice(0, -1).split('\n');
  expect(lines.every((l) => l.length > 0 && !l.includes('\r'))).toBe(true);
  return lines;
}

describe('CEF over HTTP', () => {
  it('POSTs one CEF line per event with a Bearer token as text/plain', async () => {
    const receiver = track(await startHttpReceiver());
    const adapter = track(createCefAdapter(httpConfig(`${receiver.url}/cef`), { egress, hostname: 'gw-01' }));
    const events = [event(1), event(2, { severity: 'LOW', ruleIds: [] })];
    const result = await adapter.send(events.map((e) => adapter.transform(e)));
    expect(result).toMatchObject({ kind: 'success', ok: true, status: 200, recordCount: 2 });

    const [req] = await receiver.waitForRequests(1);
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/cef');
    expect(req!.headers.authorization).toBe('Bearer cef-8b2e5d17c4f0');
    expect(req!.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(req!.headers['content-encoding']).toBeUndefined();
    const lines = bodyLines(req!.body);
    expect(lines).toHaveLength(2);

    const first = parseCef(lines[0]!);
    expect(first).toMatchObject({
      version: '0', deviceVendor: 'RAXE', deviceProduct: 'ThreatDetection', deviceVersion: PACKAGE_VERSION,
      signatureId: 'pi-001', name: 'Prompt Injection Detected 1', severity: '10',
    });
    const ext = first.extension;
    expect(ext.get('rt')).toBe(String(events[0]!.time.getTime()));
    expect(ext.get('src')).toBe('inst_abc123');
    expect(ext.get('suser')).toBe('agent\n=1');
    expect(ext.get('cs1')).toBe('sha256:|\\=1');
    expect(ext.get('cs6')).toBe('cust_acme');
    expect(ext.get('externalId')).toBe(events[0]!.id);
    expect(ext.get('dvchost')).toBe('gw-01');

    const second = parseCef(lines[1]!);
    expect(second).toMatchObject({ signatureId: 'scan', severity: '3' });
  });

  it('gzips the body when configured', async () => {
    const receiver = track(await startHttpReceiver());
    const adapter = track(createCefAdapter(httpConfig(`${receiver.url}/cef`, { gzip: true }), { egress, hostname: 'gw-01' }));
    await adapter.send([adapter.transform(event(1))]);
    const [req] = await receiver.waitForRequests(1);
    expect(req!.headers['content-encoding']).toBe('gzip');
    const lines = bodyLines(gunzipSync(req!.body));
    expect(parseCef(lines[0]!).extension.get('externalId')).toBe(event(1).id);
  });

  it('sends no Authorization header without a token', async () => {
    const receiver = track(await startHttpReceiver());
    const adapter = track(createCefAdapter(httpConfig(`${receiver.url}/cef`, { token: undefined }), { egress }));
    await adapter.send([adapter.transform(event(1))]);
    const [req] = await receiver.waitForRequests(1);
    expect(req!.headers.authorization).toBeUndefined();
  });

  it('classifies the collector answers', async () => {
    const receiver = track(await startHttpReceiver());
    const adapter = track(createCefAdapter(httpConfig(`${receiver.url}/cef`), { egress }));
    const record = adapter.transform(event(1));
    receiver.respond(() => ({ status: 401, body: '{"error":"invalid bearer token"}' }));
    expect(await adapter.send([record])).toMatchObject({ kind: 'auth', status: 401, message: 'HTTP 401: invalid bearer token' });
    receiver.respond(() => ({ status: 429, headers: { 'retry-after': '7' } }));
    expect(await adapter.send([record])).toMatchObject({ kind: 'throttled', retryAfterMs: 7000 });
    receiver.respond(() => ({ status: 400, body: 'bad CEF' }));
    expect(await adapter.send([record])).toMatchObject({ kind: 'rejected', message: 'HTTP 400: bad CEF' });
    receiver.respond(() => ({ status: 502 }));
    expect(await adapter.send([record])).toMatchObject({ kind: 'server', status: 502 });
  });

  it('test(): success against a live collector, the collector error text on failure, never the token', async () => {
    const receiver = track(await startHttpReceiver());
    const adapter = track(createCefAdapter(httpConfig(`${receiver.url}/cef`), { egress }));
    const ok = await adapter.test();
    expect(ok).toMatchObject({ success: true, message: 'Test event sent successfully', httpStatus: 200 });
    const [req] = await receiver.waitForRequests(1);
    const parsed = parseCef(bodyLines(req!.body)[0]!);
    expect(parsed.signatureId).toBe('siemgate.test');
    expect(parsed.extension.get('msg')).toBe('Test event from siemgate. Safe to ignore.');

    receiver.respond(() => ({ status: 403, body: '{"message":"token cef-8b2e5d17c4f0 revoked"}' }));
    const denied = await adapter.test();
    expect(denied).toMatchObject({ success: false, httpStatus: 403 });
    expect(denied.message).toMatch(/^Connection test failed: HTTP 403/);

    const port = await closedPort();
    const closed = track(createCefAdapter(httpConfig(`http://127.0.0.1:${port}/cef`), { egress }));
    const refused = await closed.test();
    expect(refused.success).toBe(false);
    expect(refused.message).toBe(`Connection test failed: could not connect to 127.0.0.1:${port}`);
  });

  it('verifies HTTPS collectors against the configured CA', async () => {
    const pki = tlsFixtures();
    const receiver = track(await startHttpReceiver(undefined, { key: pki.serverKey, cert: pki.serverCert }));
    const good = track(createCefAdapter(httpConfig(`${receiver.url}/cef`, { tls: { caCert: pki.caCert, rejectUnauthorized: true } }), { egress }));
    expect(await good.send([good.transform(event(1))])).toMatchObject({ kind: 'success' });
    const bad = track(createCefAdapter(httpConfig(`${receiver.url}/cef`, { tls: { caCert: pki.otherCaCert, rejectUnauthorized: true } }), { egress }));
    const result = await bad.send([bad.transform(event(1))]);
    expect(result.kind).toBe('network');
    expect(result.message).toMatch(/^TLS: /);
    expect(receiver.requests).toHaveLength(1);
  });
});

describe('CEF over syslog transports', () => {
  it('TCP: RFC 5424 with the configured facility, octet-counted, one CEF event per frame', async () => {
    const receiver = track(await startStreamReceiver());
    const adapter = track(
      createCefAdapter(
        { type: 'CEF', transport: 'TCP', host: '127.0.0.1', port: receiver.port, facility: 'local3', deviceVendor: 'Acme|Sec', deviceProduct: 'TD' },
        { egress, hostname: 'gw-01' },
      ),
    );
    const events = [event(1), event(2, { severity: 'MEDIUM', name: 'line1\nline2' })];
    expect(await adapter.send(events.map((e) => adapter.transform(e)))).toMatchObject({ kind: 'success', recordCount: 2 });
    const frames = await receiver.waitForFrames(2);
    expect(receiver.errors).toEqual([]);
    const [m1, m2] = frames.map((f) => parseRfc5424(f.bytes.toString('utf8')));
    expect(m1!.pri).toBe(19 * 8 + 2);
    expect(m2!.pri).toBe(19 * 8 + 4);
    expect(m1).toMatchObject({ version: 1, hostname: 'gw-01', appName: 'siemgate', msgId: 'scan', structuredData: '-' });
    const cef2 = parseCef(m2!.msg);
    expect(cef2).toMatchObject({ deviceVendor: 'Acme|Sec', deviceProduct: 'TD', deviceVersion: PACKAGE_VERSION, name: 'line1 line2', severity: '5' });
    expect(cef2.extension.get('externalId')).toBe(events[1]!.id);
  });

  it('UDP: one datagram per event with the numeric facility "16"', async () => {
    const receiver = track(await startUdpReceiver());
    const adapter = track(
      createCefAdapter(
        { type: 'CEF', transport: 'UDP', host: '127.0.0.1', port: receiver.port, facility: '16', deviceVendor: 'RAXE', deviceProduct: 'ThreatDetection' },
        { egress, hostname: 'gw-01' },
      ),
    );
    await adapter.send([adapter.transform(event(1)), adapter.transform(event(2, { severity: 'NONE' }))]);
    const frames = await receiver.waitForFrames(2);
    const pris = frames.map((f) => parseRfc5424(f.bytes.toString('utf8')).pri).sort((a, b) => a - b);
    expect(pris).toEqual([16 * 8 + 2, 16 * 8 + 6]);
  });

  it('TLS: verifies the collector and reports each step in test()', async () => {
    const pki = tlsFixtures();
    const receiver = track(await startStreamReceiver({ key: pki.serverKey, cert: pki.serverCert }));
    const adapter = track(
      createCefAdapter(
        {
          type: 'CEF', transport: 'TLS', host: '127.0.0.1', port: receiver.port, facility: 'local0',
          deviceVendor: 'RAXE', deviceProduct: 'ThreatDetection', tls: { caCert: pki.caCert, rejectUnauthorized: true },
        },
        { egress, hostname: 'gw-01' },
      ),
    );
    const result = await adapter.test();
    expect(result).toMatchObject({ success: true, message: 'Test event sent successfully' });
    expect(result.steps.map((s) => s.name)).toEqual(['resolve', 'connect', 'tls', 'send']);
    const [frame] = await receiver.waitForFrames(1);
    expect(parseCef(parseRfc5424(frame!.bytes.toString('utf8')).msg).signatureId).toBe('siemgate.test');
  });

  it('rejects configurations without the transport target', () => {
    const base = { type: 'CEF' as const, facility: 'local0', deviceVendor: 'RAXE', deviceProduct: 'ThreatDetection' };
    expect(() => createCefAdapter({ ...base, transport: 'HTTP' }, { egress })).toThrow(InvalidCefConfigError);
    expect(() => createCefAdapter({ ...base, transport: 'TCP' }, { egress })).toThrow(/host is required for transport TCP/);
  });
});
