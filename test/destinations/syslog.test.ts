import { describe, expect, it } from 'vitest';
import { createSyslogAdapter } from '../../src/destinations/syslog/adapter.js';
import {
  formatRfc3164,
  formatRfc5424,
  InvalidSyslogFacilityError,
  parseFacility,
  SYSLOG_FACILITIES,
  syslogPri,
} from '../../src/destinations/shared/syslog-format.js';
import type { SyslogConfig } from '../../src/destinations/types.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { createSyslogTransport, SyslogErrorCode, SyslogTransportError } from '../../src/net/syslog-transport.js';
import { closeAfterEach } from '../support/http-receiver.js';
import { tlsFixtures } from '../support/tls-fixtures.js';
import { closedPort } from '../support/api.js';
import { parseCef, parseRfc5424 } from '../support/spec-parsers.js';
import {
  startSilentServer,
  startStreamReceiver,
  startUdpReceiver,
  type SyslogReceiver,
} from '../support/syslog-receivers.js';

const LOCAL0 = 16;
const egress = new EgressPolicy({ allow: ['127.0.0.1/32'] });
/** Resolves `localhost` to 127.0.0.1 only, so TLS name checks run against a DNS name. */
const localhostEgress = new EgressPolicy({
  allow: ['127.0.0.1/32'],
  resolve: async (host) => (host === 'localhost' ? [{ address: '127.0.0.1', family: 4 }] : []),
});

const track = closeAfterEach();

const BIG = '|\\=\r\n é😀 cs1=forged '.repeat(520); // > 10 kB

function hostileEvent(n: number, overrides: Partial<SecurityEvent> = {}): SecurityEvent {
  return {
    id: `00000000-0000-4000-8000-00000000000${n}`,
    time: new Date(Date.UTC(2026, 0, 30, 10, 30, n)),
    type: 'scan',
    name: `Injection | attempt ${n}\r\nsecond line`,
    severity: 'HIGH',
    agentId: `agent=${n}\nforged=1`,
    promptHash: n === 2 ? BIG : `sha256:${n}\\`,
    ruleIds: ['pi-001', 'pi|002'],
    ...overrides,
  };
}

function syslogConfig(port: number, overrides: Partial<SyslogConfig> = {}): SyslogConfig {
  return { type: 'SYSLOG', host: '127.0.0.1', port, protocol: 'TCP', facility: 'local0', format: 'RFC5424', ...overrides };
}

/** Checks one received RFC 5424 frame against the event it came from. */
function expectEventFrame(bytes: Buffer, event: SecurityEvent, syslogSeverity: number) {
  const text = bytes.toString('utf8');
  expect(text).not.toMatch(/[\r\n]/);
  const m = parseRfc5424(text);
  expect(m.pri).toBe(LOCAL0 * 8 + syslogSeverity);
  expect(m.version).toBe(1);
  expect(m.timestamp).toBe(event.time.toISOString());
  expect(m.hostname).toBe('gw-01');
  expect(m.appName).toBe('siemgate');
  expect(m.procId).toBe('-');
  expect(m.msgId).toBe(event.type);
  expect(m.structuredData).toBe('-');
  const cef = parseCef(m.msg);
  expect(cef).toMatchObject({ deviceVendor: 'ARXsec', deviceProduct: 'ARX', deviceVersion: '1.0' });
  expect(cef.name).toBe(event.name.replace(/\r\n|\r|\n/g, ' '));
  const ext = cef.extension;
  expect(ext.get('externalId')).toBe(event.id);
  expect(ext.get('suser')).toBe(event.agentId);
  expect(ext.get('cs1')).toBe(event.promptHash);
  return { message: m, cef, ext };
}

describe('syslog format', () => {
  it('computes PRI as facility × 8 + severity over the whole range', () => {
    expect(syslogPri(SYSLOG_FACILITIES.local0, 2)).toBe(130);
    expect(syslogPri(SYSLOG_FACILITIES.kern, 0)).toBe(0);
    expect(syslogPri(SYSLOG_FACILITIES.local7, 7)).toBe(191);
    expect(syslogPri(SYSLOG_FACILITIES.auth, 6)).toBe(38);
    expect(() => syslogPri(24, 0)).toThrow(/facility/);
    expect(() => syslogPri(0, 8)).toThrow(/severity/);
  });

  it('names all 24 facilities with the RFC 5424 codes', () => {
    expect(Object.values(SYSLOG_FACILITIES).sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(SYSLOG_FACILITIES).toMatchObject({ kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, authpriv: 10, local0: 16, local7: 23 });
  });

  it('parses facility names and the numbers 0..23 ("16 (local0)" in the documentation)', () => {
    expect(parseFacility('local0')).toBe(16);
    expect(parseFacility(' LOCAL7 ')).toBe(23);
    expect(parseFacility('16')).toBe(16);
    expect(parseFacility(16)).toBe(16);
    expect(parseFacility('0')).toBe(0);
    expect(parseFacility('authpriv')).toBe(10);
    for (const bad of ['local8', '24', '-1', '', 'local0; rm', '1.5'] as const) {
      expect(() => parseFacility(bad)).toThrow(InvalidSyslogFacilityError);
    }
    expect(() => parseFacility(24)).toThrow(expect.objectContaining({ code: 'SIEMGATE_SYSLOG_FACILITY_INVALID' }));
  });

  it('writes RFC 5424 headers with PRINTUSASCII fields within their length limits', () => {
    const line = formatRfc5424({
      facility: 16,
      severity: 4,
      time: new Date('2026-01-30T10:30:00.123Z'),
      hostname: `host name é\n${'h'.repeat(300)}`,
      appName: 'a'.repeat(60),
      procId: '',
      msgId: 'm'.repeat(40),
      message: 'body\r\nwith line\nends',
    });
    expect(line).not.toMatch(/[\r\n]/);
    const m = parseRfc5424(line);
    expect(m.pri).toBe(132);
    expect(m.timestamp).toBe('2026-01-30T10:30:00.123Z');
    expect(m.hostname).toHaveLength(255);
    expect(m.hostname.startsWith('host_name___hhh')).toBe(true);
    expect(m.appName).toBe('a'.repeat(48));
    expect(m.procId).toBe('-');
    expect(m.msgId).toBe('m'.repeat(32));
    expect(m.msg).toBe('body\\r\\nwith line\\nends');
  });

  it('uses NILVALUE for an empty hostname and an unrepresentable time', () => {
    const m = parseRfc5424(formatRfc5424({ facility: 1, severity: 6, time: new Date(Number.NaN), hostname: '', appName: '', message: 'x' }));
    expect(m).toMatchObject({ timestamp: '-', hostname: '-', appName: '-', msgId: '-', msg: 'x' });
  });

  it('writes RFC 3164 headers: <PRI>Mmm dd hh:mm:ss HOST TAG: MSG', () => {
    const line = formatRfc3164({
      facility: 16,
      severity: 6,
      time: new Date('2026-01-05T08:09:10Z'),
      hostname: 'gw 1',
      appName: 'siem-gate!',
      message: 'CEF:0|a\nb',
    });
    expect(line).toBe('<134>Jan  5 08:09:10 gw_1 siemgate: CEF:0|a\\nb');
    expect(formatRfc3164({ facility: 0, severity: 0, time: new Date('2026-12-25T23:59:59Z'), hostname: 'h', appName: 'x', procId: '42', message: 'm' }))
      .toBe('<0>Dec 25 23:59:59 h x[42]: m');
  });
});

describe('syslog over UDP', () => {
  it('sends one datagram per event, each a complete RFC 5424 message carrying one CEF event', async () => {
    const receiver = track(await startUdpReceiver());
    const adapter = track(createSyslogAdapter(syslogConfig(receiver.port, { protocol: 'UDP' }), { egress, hostname: 'gw-01', maxDatagramBytes: 65_507 }));
    const events = [hostileEvent(1), hostileEvent(2), hostileEvent(3, { severity: 'CRITICAL' })];
    const result = await adapter.send(events.map((e) => adapter.transform(e)));
    expect(result).toMatchObject({ kind: 'success', ok: true, recordCount: 3 });
    expect(result.message).toMatch(/UDP gives no delivery confirmation/);
    const frames = await receiver.waitForFrames(3);
    expect(frames).toHaveLength(3);
    const byId = new Map(events.map((e) => [e.id, e]));
    for (const frame of frames) {
      const id = /externalId=(\S+)/.exec(frame.bytes.toString('utf8'))![1]!;
      const event = byId.get(id)!;
      expectEventFrame(frame.bytes, event, event.severity === 'CRITICAL' ? 2 : 3);
    }
  });

  it('cuts an oversized datagram at a UTF-8 boundary, never inside a trailing escape', async () => {
    const receiver = track(await startUdpReceiver());
    const cut: { originalBytes: number; sentBytes: number }[] = [];
    const transport = track(
      createSyslogTransport({
        protocol: 'UDP', host: '127.0.0.1', port: receiver.port, egress, timeoutMs: 2_000, maxDatagramBytes: 480,
        onTruncated: (info) => cut.push(info),
      }),
    );
    const multibyte = `<134>1 - - - - - ${'é😀'.repeat(200)}`;
    const escapes = `${'a'.repeat(479)}\\\\tail`; // an escaped backslash pair at bytes 479-480
    const report = await transport.send([multibyte, escapes, 'short']);
    expect(report).toMatchObject({ messages: 3, truncated: 2 });
    const frames = await receiver.waitForFrames(3);
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const [first, second, third] = frames.map((f) => f.bytes);
    expect(first!.length).toBeLessThanOrEqual(480);
    expect(first!.length).toBeGreaterThan(470);
    expect(multibyte.startsWith(decoder.decode(first))).toBe(true);
    expect(second!.toString('latin1')).toBe('a'.repeat(479));
    expect(third!.toString()).toBe('short');
    expect(cut).toEqual([
      { originalBytes: Buffer.byteLength(multibyte), sentBytes: first!.length },
      { originalBytes: 485, sentBytes: 479 },
    ]);
  });

  it('test() sends a marked event and says that UDP cannot confirm delivery', async () => {
    const receiver = track(await startUdpReceiver());
    const adapter = track(createSyslogAdapter(syslogConfig(receiver.port, { protocol: 'UDP' }), { egress, hostname: 'gw-01' }));
    const result = await adapter.test();
    expect(result).toMatchObject({ success: true, message: 'Test event sent successfully' });
    expect(result.steps.map((s) => [s.name, s.ok])).toEqual([['resolve', true], ['connect', true], ['send', true]]);
    expect(result.steps[1]!.detail).toMatch(/connectionless/);
    expect(result.steps[2]!.detail).toMatch(/UDP gives no delivery confirmation/);
    const [frame] = await receiver.waitForFrames(1);
    const m = parseRfc5424(frame!.bytes.toString('utf8'));
    expect(m.pri).toBe(LOCAL0 * 8 + 6);
    const ext = parseCef(m.msg).extension;
    expect(result.steps[2]!.detail).toContain(`externalId=${ext.get('externalId')}`);
    expect(ext.get('cat')).toBe('siemgate.test');
  });
});

describe('syslog over TCP (RFC 6587 octet counting)', () => {
  it('frames hostile events so that each arrives as exactly one event, over one reused connection', async () => {
    const receiver = track(await startStreamReceiver());
    const adapter = track(createSyslogAdapter(syslogConfig(receiver.port), { egress, hostname: 'gw-01' }));
    const first = [hostileEvent(1), hostileEvent(2)];
    const second = [hostileEvent(3, { severity: 'LOW' })];
    expect(await adapter.send(first.map((e) => adapter.transform(e)))).toMatchObject({ kind: 'success', recordCount: 2 });
    expect(await adapter.send(second.map((e) => adapter.transform(e)))).toMatchObject({ kind: 'success', recordCount: 1 });
    const frames = await receiver.waitForFrames(3);
    expect(receiver.errors).toEqual([]);
    expect(frames).toHaveLength(3);
    expect(receiver.connections).toBe(1);
    expectEventFrame(frames[0]!.bytes, first[0]!, 3);
    const big = expectEventFrame(frames[1]!.bytes, first[1]!, 3);
    expect(big.ext.get('cs1')).toBe(BIG);
    expect(frames[1]!.bytes.length).toBeGreaterThan(10_000);
    expectEventFrame(frames[2]!.bytes, second[0]!, 5);
  });

  it('reconnects after the server drops the connection', async () => {
    const receiver = track(await startStreamReceiver());
    const adapter = track(createSyslogAdapter(syslogConfig(receiver.port), { egress, hostname: 'gw-01' }));
    expect((await adapter.send([adapter.transform(hostileEvent(1))])).ok).toBe(true);
    await receiver.waitForFrames(1);
    receiver.dropConnections();
    // Until the client sees the drop, a send may fail as a network error; it must then recover on a new connection.
    const kinds: string[] = [];
    for (let attempt = 0; attempt < 20 && !receiver.frames.some((f) => f.connection === 2); attempt++) {
      const result = await adapter.send([adapter.transform(hostileEvent(4))]);
      kinds.push(result.kind);
      if (!receiver.frames.some((f) => f.connection === 2)) await new Promise((r) => setTimeout(r, 25));
    }
    expect(kinds.every((k) => k === 'success' || k === 'network')).toBe(true);
    const reconnected = receiver.frames.find((f) => f.connection === 2);
    expect(reconnected).toBeDefined();
    expectEventFrame(reconnected!.bytes, hostileEvent(4), 3);
  });

  it('writes RFC 3164 headers when configured', async () => {
    const receiver = track(await startStreamReceiver());
    const adapter = track(createSyslogAdapter(syslogConfig(receiver.port, { format: 'RFC3164', facility: '4' }), { egress, hostname: 'gw-01' }));
    await adapter.send([adapter.transform(hostileEvent(1))]);
    const [frame] = await receiver.waitForFrames(1);
    const text = frame!.bytes.toString('utf8');
    expect(text.startsWith('<35>Jan 30 10:30:01 gw-01 siemgate: CEF:0|ARXsec|ARX|1.0|pi-001|')).toBe(true);
    expect(text).not.toMatch(/[\r\n]/);
  });

  it('reports a refused connection as a plain connect failure, in send and in test()', async () => {
    const port = await closedPort();
    const adapter = track(createSyslogAdapter(syslogConfig(port), { egress, hostname: 'gw-01' }));
    const result = await adapter.send([adapter.transform(hostileEvent(1))]);
    expect(result).toMatchObject({ kind: 'network', ok: false, message: `could not connect to 127.0.0.1:${port}` });
    const test = await adapter.test();
    expect(test.success).toBe(false);
    expect(test.message).toBe(`Connection test failed: could not connect to 127.0.0.1:${port}`);
    expect(test.steps.map((s) => [s.name, s.ok])).toEqual([['resolve', true], ['connect', false]]);
  });

  it('refuses loopback through the egress policy without connecting, answering as a refused connection would', async () => {
    const receiver = track(await startStreamReceiver());
    const adapter = track(createSyslogAdapter(syslogConfig(receiver.port), { egress: new EgressPolicy(), hostname: 'gw-01' }));
    const result = await adapter.send([adapter.transform(hostileEvent(1))]);
    expect(result.kind).toBe('network');
    expect(result.message).toBe(`could not connect to 127.0.0.1:${receiver.port}`);
    const test = await adapter.test();
    expect(test.steps.map((s) => [s.name, s.ok])).toEqual([['resolve', true], ['connect', false]]);
    expect(receiver.connections).toBe(0);
  });

  it('reports DNS failures with the host name and code', async () => {
    const dnsFails = new EgressPolicy({
      resolve: async (host) => {
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host });
      },
    });
    const adapter = track(createSyslogAdapter(syslogConfig(514, { host: 'siem.invalid' }), { egress: dnsFails, hostname: 'gw-01' }));
    const result = await adapter.send([adapter.transform(hostileEvent(1))]);
    expect(result).toMatchObject({ kind: 'network', message: 'DNS lookup failed for siem.invalid (ENOTFOUND)' });
  });
});

describe('syslog over TLS (RFC 5425)', () => {
  const pki = tlsFixtures();

  it('delivers octet-counted frames when the server certificate verifies against the configured CA', async () => {
    const receiver = track(await startStreamReceiver({ key: pki.serverKey, cert: pki.serverCert }));
    const adapter = track(
      createSyslogAdapter(
        syslogConfig(receiver.port, { host: 'localhost', protocol: 'TLS', tls: { caCert: pki.caCert, rejectUnauthorized: true } }),
        { egress: localhostEgress, hostname: 'gw-01' },
      ),
    );
    const events = [hostileEvent(1), hostileEvent(2)];
    expect(await adapter.send(events.map((e) => adapter.transform(e)))).toMatchObject({ kind: 'success', recordCount: 2 });
    const frames = await receiver.waitForFrames(2);
    expect(receiver.errors).toEqual([]);
    expectEventFrame(frames[0]!.bytes, events[0]!, 3);
    expectEventFrame(frames[1]!.bytes, events[1]!, 3);
    expect(receiver.tlsSessions[0]!.servername).toBe('localhost');

    const test = await adapter.test();
    expect(test).toMatchObject({ success: true, message: 'Test event sent successfully' });
    expect(test.steps.map((s) => [s.name, s.ok])).toEqual([['resolve', true], ['connect', true], ['tls', true], ['send', true]]);
    expect(test.steps[0]!.detail).toBe('localhost resolved to 127.0.0.1, allowed by the egress policy');
    expect(test.steps[2]!.detail).toMatch(/TLSv1\.[23].*verified for localhost/);
  });

  it('fails clearly when the server certificate was issued by another CA', async () => {
    const receiver = track(await startStreamReceiver({ key: pki.serverKey, cert: pki.serverCert }));
    const adapter = track(
      createSyslogAdapter(
        syslogConfig(receiver.port, { protocol: 'TLS', tls: { caCert: pki.otherCaCert, rejectUnauthorized: true } }),
        { egress, hostname: 'gw-01' },
      ),
    );
    const result = await adapter.send([adapter.transform(hostileEvent(1))]);
    expect(result.kind).toBe('network');
    expect(result.message).toMatch(/^TLS: /);
    expect(result.message).toMatch(/certificate/);
    const test = await adapter.test();
    expect(test.success).toBe(false);
    expect(test.message).toMatch(/^Connection test failed: TLS: .*certificate/);
    expect(test.steps.map((s) => [s.name, s.ok])).toEqual([['resolve', true], ['connect', true], ['tls', false]]);
    expect(receiver.frames).toHaveLength(0);
  });

  it('checks the host name: a name the certificate does not cover fails', async () => {
    const receiver = track(await startStreamReceiver({ key: pki.serverKey, cert: pki.serverCert }));
    const otherName = new EgressPolicy({ allow: ['127.0.0.1/32'], resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const adapter = track(
      createSyslogAdapter(
        syslogConfig(receiver.port, { host: 'syslog.example.com', protocol: 'TLS', tls: { caCert: pki.caCert, rejectUnauthorized: true } }),
        { egress: otherName, hostname: 'gw-01' },
      ),
    );
    const result = await adapter.send([adapter.transform(hostileEvent(1))]);
    expect(result.kind).toBe('network');
    expect(result.message).toMatch(/^TLS: .*syslog\.example\.com/);
  });

  it('presents the client certificate for mutual TLS', async () => {
    const receiver = track(
      await startStreamReceiver({ key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: true }),
    );
    const adapter = track(
      createSyslogAdapter(
        syslogConfig(receiver.port, {
          protocol: 'TLS',
          tls: { caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey, rejectUnauthorized: true },
        }),
        { egress, hostname: 'gw-01' },
      ),
    );
    expect((await adapter.send([adapter.transform(hostileEvent(1))])).ok).toBe(true);
    await receiver.waitForFrames(1);
    expect(receiver.tlsSessions[0]).toMatchObject({ authorized: true, clientCertCN: 'client' });
    const test = await adapter.test();
    expect(test.steps.find((s) => s.name === 'tls')!.detail).toMatch(/client certificate offered/);
    expect(JSON.stringify(test)).not.toContain('PRIVATE KEY');
  });

  it.each([
    ['TLS 1.3 without a client certificate', 'TLSv1.3' as const, false, pki.caCert, /^TLS: the server refused the handshake with alert 116 \(certificate required/],
    ['TLS 1.2 without a client certificate', 'TLSv1.2' as const, false, pki.caCert, /^TLS: the server refused the handshake with alert \d+/],
    // The server's alert races with its TCP reset here; either way the failure must be a TLS one.
    ['a client certificate from a CA the server does not trust', 'TLSv1.3' as const, true, pki.otherCaCert,
      /^TLS: (the server refused the handshake with alert 48 \(unknown CA|connection reset by 127\.0\.0\.1:\d+ during the handshake)/],
  ])('fails the send (never reports success) when mutual TLS rejects %s', async (_label, maxVersion, withCert, serverCa, expected) => {
    const receiver = track(
      await startStreamReceiver({
        key: pki.serverKey, cert: pki.serverCert, ca: serverCa, requestCert: true, rejectUnauthorized: true, maxVersion,
      }),
    );
    const tls = withCert
      ? { caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey, rejectUnauthorized: true }
      : { caCert: pki.caCert, rejectUnauthorized: true };
    const adapter = track(createSyslogAdapter(syslogConfig(receiver.port, { protocol: 'TLS', tls }), { egress, hostname: 'gw-01' }));
    for (let i = 0; i < 2; i++) {
      const result = await adapter.send([adapter.transform(hostileEvent(1))]);
      expect(result.kind).toBe('network');
      expect(result.message).toMatch(expected);
    }
    const test = await adapter.test();
    expect(test.success).toBe(false);
    expect(test.steps.at(-1)).toMatchObject({ name: 'tls', ok: false });
    expect(receiver.frames).toHaveLength(0);
  });

  it('accepts an unverifiable certificate only when verification is turned off, and says so', async () => {
    const receiver = track(await startStreamReceiver({ key: pki.serverKey, cert: pki.serverCert }));
    const adapter = track(
      createSyslogAdapter(
        syslogConfig(receiver.port, { protocol: 'TLS', tls: { caCert: pki.otherCaCert, rejectUnauthorized: false } }),
        { egress, hostname: 'gw-01' },
      ),
    );
    const test = await adapter.test();
    expect(test.success).toBe(true);
    expect(test.steps.find((s) => s.name === 'tls')!.detail).toMatch(/NOT verified \(verification is turned off\)/);
    await receiver.waitForFrames(1);
  });

  it('times out a handshake the server never answers', async () => {
    const silent = track(await startSilentServer());
    const transport = track(createSyslogTransport({ protocol: 'TLS', host: '127.0.0.1', port: silent.port, egress, timeoutMs: 300 }));
    const error = await transport.send(['x']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyslogTransportError);
    expect(error).toMatchObject({ code: SyslogErrorCode.TIMEOUT, phase: 'tls' });
    expect((error as Error).message).toBe(`timed out after 300 ms in the TLS handshake with 127.0.0.1:${silent.port}`);
  });
});

describe('syslog transport lifecycle', () => {
  it('rejects sends after close with a clear code', async () => {
    const receiver: SyslogReceiver = track(await startStreamReceiver());
    const transport = createSyslogTransport({ protocol: 'TCP', host: '127.0.0.1', port: receiver.port, egress, timeoutMs: 2_000 });
    await transport.send(['<14>1 - - - - - hello']);
    await transport.close();
    await expect(transport.send(['again'])).rejects.toMatchObject({ code: SyslogErrorCode.CLOSED });
    const [frame] = await receiver.waitForFrames(1);
    expect(frame!.bytes.toString()).toBe('<14>1 - - - - - hello');
  });
});
