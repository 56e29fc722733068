import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  classifyAnswer,
  classifyError,
  HttpDestination,
  runConnectionTest,
  type HttpAnswer,
} from '../../src/destinations/shared/http-destination.js';
import type { DeliveryResult, SiemAdapter } from '../../src/destinations/types.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { closedPort } from '../support/api.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { tlsFixtures } from '../support/tls-fixtures.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
const loopback = new EgressPolicy({ allow: ['127.0.0.1/32'] });

async function receiver(...args: Parameters<typeof startHttpReceiver>): Promise<HttpReceiver> {
  const r = await startHttpReceiver(...args);
  cleanups.push(() => r.close());
  return r;
}
function destination(options: Partial<ConstructorParameters<typeof HttpDestination>[0]> = {}): HttpDestination {
  const d = new HttpDestination({ egress: loopback, timeoutMs: 2000, ...options });
  cleanups.push(() => d.close());
  return d;
}
async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}
const answer = (status: number, body = '', headers: Record<string, string> = {}): HttpAnswer => ({
  status,
  headers,
  body,
  latencyMs: 5,
});

describe('HttpDestination.request', () => {
  it('sends the exact body and headers, and returns status, lower-case headers and body', async () => {
    const r = await receiver(() => ({ status: 201, headers: { 'X-Answer': 'yes' }, body: '{"ok":true}' }));
    const body = '{"a":"ü"}\n{"b":2}';
    const a = await destination().request({
      url: `${r.url}/in?x=1`,
      headers: { Authorization: 'Bearer t', 'Content-Type': 'application/json' },
      body,
    });
    expect(a.status).toBe(201);
    expect(a.headers['x-answer']).toBe('yes');
    expect(a.body).toBe('{"ok":true}');
    expect(r.requests[0].method).toBe('POST');
    expect(r.requests[0].url).toBe('/in?x=1');
    expect(r.requests[0].headers.authorization).toBe('Bearer t');
    expect(r.requests[0].body.equals(Buffer.from(body, 'utf8'))).toBe(true);
    expect(r.requests[0].headers['content-encoding']).toBeUndefined();
  });

  it('gzips the body when asked and sets Content-Encoding', async () => {
    const r = await receiver();
    const body = JSON.stringify({ event: 'x'.repeat(5000) });
    await destination().request({ url: r.url, headers: {}, body, gzip: true });
    expect(r.requests[0].headers['content-encoding']).toBe('gzip');
    expect(r.requests[0].body.length).toBeLessThan(body.length);
    expect(gunzipSync(r.requests[0].body).toString('utf8')).toBe(body);
  });

  it('resolves (does not reject) with 4xx and 5xx answers', async () => {
    const r = await receiver(() => ({ status: 503, body: 'busy' }));
    const a = await destination().request({ url: r.url, headers: {}, body: 'x' });
    expect(a.status).toBe(503);
    expect(a.body).toBe('busy');
  });

  it('caps the answer body at 64 KiB', async () => {
    const r = await receiver(() => ({ status: 200, body: 'y'.repeat(300 * 1024) }));
    const a = await destination().request({ url: r.url, method: 'GET', headers: {} });
    expect(a.body.length).toBe(64 * 1024);
  });

  it('times out a request whose answer never comes in time', async () => {
    const r = await receiver(() => new Promise((resolve) => setTimeout(() => resolve({ status: 200 }), 3000)));
    const err = await errorOf(destination({ timeoutMs: 300 }).request({ url: r.url, headers: {}, body: 'x' }));
    const result = classifyError(err, 300, 4);
    expect(result).toMatchObject({ kind: 'timeout', ok: false, message: 'timed out after 300 ms', recordCount: 4 });
  });

  it('stops when the caller aborts', async () => {
    const r = await receiver(() => new Promise((resolve) => setTimeout(() => resolve({ status: 200 }), 3000)));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await errorOf(destination().request({ url: r.url, headers: {}, body: 'x', signal: controller.signal }));
    expect(classifyError(err, 50, 1)).toMatchObject({ kind: 'timeout', message: 'request aborted' });
  });

  describe('against a peer that accepts the connection and never answers the TLS handshake', () => {
    /** A TCP listener that reads whatever comes (a ClientHello) and never writes: a wrong port, a wedged proxy. */
    async function silentPeer(): Promise<{ url: string; accepted: Promise<Socket>; closed: () => Promise<void> }> {
      let onAccept!: (socket: Socket) => void;
      const accepted = new Promise<Socket>((resolve) => (onAccept = resolve));
      const server = createNetServer((socket) => {
        socket.on('error', () => undefined);
        socket.resume();
        onAccept(socket);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise((resolve) => server.close(resolve)));
      const { port } = server.address() as AddressInfo;
      const closed = async () => {
        const socket = await accepted;
        if (!socket.destroyed) await new Promise((resolve) => socket.once('close', resolve));
      };
      return { url: `https://127.0.0.1:${port}/services/collector/event`, accepted, closed };
    }

    // The connect timeout is 5 minutes: a request or close that waited for it would outlast the test's own limit.
    const patient = { timeoutMs: 300_000, tls: { rejectUnauthorized: false } };

    it("the caller's abort ends the request at once", { timeout: 20_000 }, async () => {
      const peer = await silentPeer();
      const controller = new AbortController();
      const sent = destination(patient).request({ url: peer.url, headers: {}, body: 'x', signal: controller.signal });
      await peer.accepted;
      controller.abort();
      expect(classifyError(await errorOf(sent), 0, 1)).toMatchObject({ kind: 'timeout', message: 'request aborted' });
    });

    it('close() ends the connection still in its handshake', { timeout: 20_000 }, async () => {
      const peer = await silentPeer();
      const d = destination(patient);
      const controller = new AbortController();
      const sent = d.request({ url: peer.url, headers: {}, body: 'x', signal: controller.signal });
      await peer.accepted;
      controller.abort();
      await errorOf(sent);
      await d.close();
      await peer.closed();
    });
  });

  it('refuses non-http(s) and credential-bearing URLs', async () => {
    const d = destination();
    for (const url of ['ftp://127.0.0.1/x', 'not a url', 'http://user:pw@127.0.0.1:1/']) {
      const result = classifyError(await errorOf(d.request({ url, headers: {} })), 0, 1);
      expect(result.kind).toBe('network');
      expect(result.message).toMatch(/^invalid endpoint URL/);
      expect(result.message).not.toContain('pw');
    }
  });
});

describe('classifyAnswer', () => {
  it.each([
    [200, 'success'],
    [202, 'success'],
    [204, 'success'],
    [401, 'auth'],
    [403, 'auth'],
    [429, 'throttled'],
    [500, 'server'],
    [502, 'server'],
    [503, 'server'],
    [400, 'rejected'],
    [404, 'rejected'],
    [413, 'rejected'],
    [422, 'rejected'],
    [302, 'rejected'],
  ] as const)('HTTP %i → %s', (status, kind) => {
    const r = classifyAnswer(answer(status), 3);
    expect(r.kind).toBe(kind);
    expect(r.ok).toBe(kind === 'success');
    expect(r.status).toBe(status);
    expect(r.recordCount).toBe(3);
    expect(r.latencyMs).toBe(5);
  });

  it('reads Retry-After as seconds or as an HTTP-date', () => {
    expect(classifyAnswer(answer(429, '', { 'retry-after': '7' }), 1)).toMatchObject({ kind: 'throttled', retryAfterMs: 7000 });
    const inTwoMinutes = new Date(Date.now() + 120_000).toUTCString();
    const r = classifyAnswer(answer(503, '', { 'retry-after': inTwoMinutes }), 1);
    expect(r.kind).toBe('throttled');
    expect(r.retryAfterMs).toBeGreaterThan(60_000);
    expect(r.retryAfterMs).toBeLessThanOrEqual(120_000);
    expect(classifyAnswer(answer(429), 1).retryAfterMs).toBeUndefined();
  });

  it("carries the SIEM's own error text, shortened to 200 characters", () => {
    expect(classifyAnswer(answer(401, '{"text":"Invalid token","code":4}'), 1).message).toBe('HTTP 401: Invalid token');
    expect(classifyAnswer(answer(400, '{"error":{"message":"bad field"}}'), 1).message).toBe('HTTP 400: bad field');
    expect(classifyAnswer(answer(400, 'plain\nproblem'), 1).message).toBe('HTTP 400: plain problem');
    expect(classifyAnswer(answer(502, '<html><body>Bad gateway</body></html>'), 1).message).toBe('HTTP 502');
    const long = classifyAnswer(answer(400, JSON.stringify({ message: 'z'.repeat(1000) })), 1).message;
    expect(long.length).toBeLessThanOrEqual('HTTP 400: '.length + 200);
    expect(classifyAnswer(answer(400, 'x'), 1, () => 'custom text').message).toBe('HTTP 400: custom text');
  });

  it('explains a redirect without its query string', () => {
    const r = classifyAnswer(answer(302, '', { location: 'https://evil.example/steal?token=SECRET' }), 1);
    expect(r.kind).toBe('rejected');
    expect(r.message).toBe('HTTP 302: redirect to https://evil.example/steal not followed');
  });

  it('removes URL queries from SIEM texts', () => {
    const r = classifyAnswer(answer(400, 'see https://siem.example/help?sig=SECRET for details'), 1);
    expect(r.message).toBe('HTTP 400: see https://siem.example/help for details');
  });
});

describe('classifyError with real failures', () => {
  it('connection refused', async () => {
    const port = await closedPort();
    const err = await errorOf(destination().request({ url: `http://127.0.0.1:${port}/x?token=SECRET`, headers: {} }));
    const r = classifyError(err, 3, 2);
    expect(r).toMatchObject({ kind: 'network', ok: false, recordCount: 2, message: `could not connect to 127.0.0.1:${port}` });
  });

  it('DNS failure', async () => {
    const egress = new EgressPolicy({
      resolve: async (host) => {
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host });
      },
    });
    const err = await errorOf(destination({ egress }).request({ url: 'https://siem.invalid/x', headers: {} }));
    expect(classifyError(err, 1, 1)).toMatchObject({ kind: 'network', message: 'DNS lookup failed for siem.invalid (ENOTFOUND)' });
  });

  it('egress refusal', async () => {
    const err = await errorOf(destination({ egress: new EgressPolicy() }).request({ url: 'http://169.254.169.254/latest', headers: {} }));
    expect(classifyError(err, 1, 1)).toMatchObject({
      kind: 'network',
      message: 'could not connect to 169.254.169.254:80',
    });
  });

  it('TLS verification failure', async () => {
    const pki = tlsFixtures();
    const r = await receiver(undefined, { key: pki.serverKey, cert: pki.serverCert });
    const d = destination({ tls: { caCert: pki.otherCaCert, rejectUnauthorized: true } });
    const err = await errorOf(d.request({ url: r.url, headers: {} }));
    expect(classifyError(err, 1, 1)).toMatchObject({ kind: 'network', message: 'TLS: unable to verify the first certificate' });
  });

  it('HTTP spoken to an HTTPS port', async () => {
    const pki = tlsFixtures();
    const r = await receiver(undefined, { key: pki.serverKey, cert: pki.serverCert });
    const err = await errorOf(destination().request({ url: r.url.replace('https:', 'http:'), headers: {} }));
    const result = classifyError(err, 1, 1);
    expect(result.kind).toBe('network');
    expect(result.message.length).toBeGreaterThan(0);
  });

  it('unknown values', () => {
    expect(classifyError('weird', 1, 1)).toMatchObject({ kind: 'network', message: 'weird' });
  });
});

/** A minimal HTTP adapter over HttpDestination, as every real adapter is built. */
function probeAdapter(url: string, d: HttpDestination): Pick<SiemAdapter<SecurityEvent>, 'transform' | 'send'> {
  return {
    transform: (e) => e,
    async send(records): Promise<DeliveryResult> {
      const t0 = performance.now();
      try {
        const a = await d.request({ url, headers: { authorization: 'Bearer SECRET-TOKEN' }, body: JSON.stringify(records) });
        return classifyAnswer(a, records.length);
      } catch (err) {
        return classifyError(err, performance.now() - t0, records.length);
      }
    },
  };
}

describe('runConnectionTest', () => {
  it('reports success with the documented message and sends one marked test event', async () => {
    const r = await receiver(() => ({ status: 200, body: '{}' }));
    const result = await runConnectionTest(probeAdapter(r.url, destination()));
    expect(result.success).toBe(true);
    expect(result.message).toBe('Test event sent successfully');
    expect(result.httpStatus).toBe(200);
    expect(result.steps.map((s) => [s.name, s.ok])).toEqual([
      ['connect', true],
      ['authenticate', true],
      ['deliver', true],
    ]);
    const sent = JSON.parse(r.requests[0].body.toString('utf8')) as SecurityEvent[];
    expect(sent).toHaveLength(1);
    expect(sent[0].type).toBe('siemgate.test');
    expect(sent[0].data).toMatchObject({ test: true });
  });

  it('reports a 401 as an authentication failure with the SIEM text', async () => {
    const r = await receiver(() => ({ status: 401, body: '{"text":"Invalid token","code":4}' }));
    const result = await runConnectionTest(probeAdapter(r.url, destination()));
    expect(result.success).toBe(false);
    expect(result.message).toBe('Connection test failed: HTTP 401: Invalid token');
    expect(result.httpStatus).toBe(401);
    expect(result.steps).toEqual([
      { name: 'connect', ok: true, detail: 'connected, destination answered HTTP 401' },
      { name: 'authenticate', ok: false, detail: 'credentials refused: HTTP 401: Invalid token' },
    ]);
    expect(JSON.stringify(result)).not.toContain('SECRET-TOKEN');
  });

  it('reports a rejected payload on the deliver step', async () => {
    const r = await receiver(() => ({ status: 400, body: '{"message":"missing field"}' }));
    const result = await runConnectionTest(probeAdapter(r.url, destination()));
    expect(result.message).toBe('Connection test failed: HTTP 400: missing field');
    expect(result.steps.at(-1)).toEqual({ name: 'deliver', ok: false, detail: 'HTTP 400: missing field' });
  });

  it('reports a closed port on the connect step', async () => {
    const port = await closedPort();
    const result = await runConnectionTest(probeAdapter(`http://127.0.0.1:${port}/`, destination()));
    expect(result.success).toBe(false);
    expect(result.message).toBe(`Connection test failed: could not connect to 127.0.0.1:${port}`);
    expect(result.httpStatus).toBeUndefined();
    expect(result.steps).toEqual([{ name: 'connect', ok: false, detail: `could not connect to 127.0.0.1:${port}` }]);
  });

  it('reports a TLS error', async () => {
    const pki = tlsFixtures();
    const r = await receiver(undefined, { key: pki.serverKey, cert: pki.serverCert });
    const result = await runConnectionTest(probeAdapter(r.url, destination()));
    expect(result.message).toBe('Connection test failed: TLS: unable to verify the first certificate');
    expect(result.steps[0]).toMatchObject({ name: 'connect', ok: false });
  });

  it('reports a timeout', async () => {
    const r = await receiver(() => new Promise((resolve) => setTimeout(() => resolve({ status: 200 }), 3000)));
    const result = await runConnectionTest(probeAdapter(r.url, destination({ timeoutMs: 300 })));
    expect(result.message).toBe('Connection test failed: timed out after 300 ms');
    expect(result.steps).toEqual([{ name: 'deliver', ok: false, detail: 'timed out after 300 ms' }]);
  });

  it('never throws, even when the adapter does', async () => {
    const broken = await runConnectionTest({
      transform: () => {
        throw new Error('no mapping');
      },
      send: async () => ({ kind: 'success', ok: true, message: '', latencyMs: 0, recordCount: 1 }),
    });
    expect(broken).toMatchObject({ success: false, message: 'Connection test failed: could not build the test event: no mapping' });
    const throwing = await runConnectionTest({
      transform: (e) => e,
      send: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 9 });
      },
    });
    expect(throwing.message).toBe('Connection test failed: connection refused to 127.0.0.1:9');
  });
});
