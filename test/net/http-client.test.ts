import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { request, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectFailedError, EgressDeniedError, EgressPolicy } from '../../src/net/egress-policy.js';
import { createHttpDispatcher } from '../../src/net/http-client.js';
import { startBlackhole } from '../support/blackhole.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { tlsFixtures } from '../support/tls-fixtures.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

function track<T extends { close(): Promise<unknown> }>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

async function receiver(...args: Parameters<typeof startHttpReceiver>): Promise<HttpReceiver> {
  return track(await startHttpReceiver(...args));
}

function dispatcher(options: Parameters<typeof createHttpDispatcher>[0]): Dispatcher {
  return track(createHttpDispatcher(options));
}

async function listen(server: Server, port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
}

describe('createHttpDispatcher: egress', () => {
  it('refuses a loopback target by default and never connects', async () => {
    const hec = await receiver();
    const d = dispatcher({ egress: new EgressPolicy(), timeoutMs: 2000 });
    const err = await request(`${hec.url}/x`, { dispatcher: d, method: 'POST', body: 'a' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectFailedError);
    expect((err as Error).message).toBe(`could not connect to 127.0.0.1:${hec.port}`);
    expect(((err as ConnectFailedError).detail as EgressDeniedError).reason).toBe('loopback');
    expect(hec.requests).toHaveLength(0);
  });

  it('refuses `localhost` (resolved by the system) by default', async () => {
    const hec = await receiver();
    const d = dispatcher({ egress: new EgressPolicy(), timeoutMs: 2000 });
    const err = await request(`http://localhost:${hec.port}/`, { dispatcher: d }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectFailedError);
    expect((err as Error).message).toBe(`could not connect to localhost:${hec.port}`);
    expect(((err as ConnectFailedError).detail as EgressDeniedError).host).toBe('localhost');
    expect(hec.requests).toHaveLength(0);
  });

  it('connects to the approved address and keeps the host name in the Host header', async () => {
    const hec = await receiver(() => ({ status: 200, body: 'ok' }));
    let calls = 0;
    const egress = new EgressPolicy({
      allow: [`siem.test:${hec.port}`],
      resolve: async (host) => {
        calls++;
        expect(host).toBe('siem.test');
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    const d = dispatcher({ egress, timeoutMs: 2000 });
    const res = await request(`http://siem.test:${hec.port}/services/collector/event`, { dispatcher: d, method: 'POST', body: 'x' });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('ok');
    expect(hec.requests).toHaveLength(1);
    expect(hec.requests[0].headers.host).toBe(`siem.test:${hec.port}`);
    expect(calls).toBe(1);
  });

  it('DNS rebinding: connects where the checked answer pointed, never to a later answer', async () => {
    // Two servers on the same port: the approved address 127.0.0.2 and the "rebound" 127.0.0.1.
    const rebound = await receiver(() => ({ status: 200, body: 'rebound' }));
    const approvedHits: string[] = [];
    const approved = createServer((req, res) => {
      approvedHits.push(req.socket.localAddress ?? '');
      res.end('approved');
    });
    await listen(approved, rebound.port, '127.0.0.2');

    let calls = 0;
    const egress = new EgressPolicy({
      allow: ['127.0.0.0/8'],
      resolve: async () => (++calls === 1 ? [{ address: '127.0.0.2', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]),
    });
    const d = dispatcher({ egress, timeoutMs: 2000 });
    const res = await request(`http://rebind.test:${rebound.port}/`, { dispatcher: d });
    expect(await res.body.text()).toBe('approved');
    expect(approvedHits).toEqual(['127.0.0.2']);
    expect(rebound.requests).toHaveLength(0);
    expect(calls).toBe(1);
  });

  it('DNS rebinding: an approved first answer then loopback never reaches loopback', async () => {
    const rebound = await receiver(() => ({ status: 200, body: 'rebound' }));
    let calls = 0;
    const egress = new EgressPolicy({
      allow: ['127.0.0.2/32'],
      resolve: async () => (++calls === 1 ? [{ address: '127.0.0.2', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]),
    });
    const d = dispatcher({ egress, timeoutMs: 2000 });
    // Nothing listens on 127.0.0.2:<port>, so the only way to get an answer would be a second lookup.
    const err = await request(`http://rebind.test:${rebound.port}/`, { dispatcher: d }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`could not connect to rebind.test:${rebound.port}`);
    const cause = (err as ConnectFailedError).detail as { code?: string; address?: string };
    expect(cause.code).toBe('ECONNREFUSED');
    expect(cause.address).toBe('127.0.0.2');
    expect(rebound.requests).toHaveLength(0);
  });

  it('DNS rebinding: a public-looking first answer, then loopback (even when allowed), never reaches loopback', async () => {
    const rebound = await receiver();
    let calls = 0;
    const egress = new EgressPolicy({
      allow: ['127.0.0.1/32'],
      resolve: async () => (++calls === 1 ? [{ address: '192.0.2.123', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]),
    });
    const d = dispatcher({ egress, timeoutMs: 300 });
    const err = await request(`http://rebind.test:${rebound.port}/`, { dispatcher: d }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(rebound.requests).toHaveLength(0);
    expect(calls).toBe(1);
  });

  it('a resolver answering [loopback, public] uses the public address only', async () => {
    const rebound = await receiver();
    const egress = new EgressPolicy({
      resolve: async () => [
        { address: '127.0.0.1', family: 4 },
        { address: '192.0.2.123', family: 4 },
      ],
    });
    const d = dispatcher({ egress, timeoutMs: 300 });
    const err = await request(`http://mixed.test:${rebound.port}/`, { dispatcher: d }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectFailedError);
    expect((err as ConnectFailedError).detail).not.toBeInstanceOf(EgressDeniedError);
    expect(rebound.requests).toHaveLength(0);
  });

  it('talks to an IPv6 literal through the policy', async () => {
    const server = createServer((req, res) => res.end(`v6 ${req.socket.localAddress}`));
    await listen(server, 0, '::1');
    const { port } = server.address() as AddressInfo;
    const d = dispatcher({ egress: new EgressPolicy({ allow: ['::1/128'] }), timeoutMs: 2000 });
    const res = await request(`http://[::1]:${port}/`, { dispatcher: d });
    expect(await res.body.text()).toBe('v6 ::1');

    const refused = dispatcher({ egress: new EgressPolicy(), timeoutMs: 2000 });
    const err = await request(`http://[::1]:${port}/`, { dispatcher: refused }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`could not connect to [::1]:${port}`);
    expect(((err as ConnectFailedError).detail as EgressDeniedError).reason).toBe('loopback');
  });

  it('answers a policy refusal, a closed port and a blackholed connect the same way; the cause goes to the log only', async () => {
    const closed = await receiver();
    const port = closed.port;
    await closed.close(); // nothing listens there any more: ECONNREFUSED
    const logged: { level: string; obj: Record<string, unknown> }[] = [];
    const log = {
      info: (obj: object) => logged.push({ level: 'info', obj: obj as Record<string, unknown> }),
      debug: (obj: object) => logged.push({ level: 'debug', obj: obj as Record<string, unknown> }),
    };
    const attempt = async (egress: EgressPolicy, url: string) => {
      const err = await request(url, { dispatcher: dispatcher({ egress, timeoutMs: 300 }) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectFailedError);
      return (err as Error).message;
    };
    const hole = track(await startBlackhole());
    const refusedByPolicy = await attempt(new EgressPolicy({ log }), `http://127.0.0.1:${port}/`);
    const refusedByPeer = await attempt(new EgressPolicy({ allow: ['127.0.0.1/32'], log }), `http://127.0.0.1:${port}/`);
    const blackholed = await attempt(new EgressPolicy({ allow: ['127.0.0.1/32'], log }), `http://127.0.0.1:${hole.port}/`);
    expect(refusedByPolicy).toBe(`could not connect to 127.0.0.1:${port}`);
    expect(refusedByPeer).toBe(refusedByPolicy);
    expect(blackholed).toBe(`could not connect to 127.0.0.1:${hole.port}`);
    expect(logged[0]).toMatchObject({ level: 'info', obj: { reason: 'loopback', address: '127.0.0.1' } });
    expect(logged[1]).toMatchObject({ level: 'debug', obj: { code: 'ECONNREFUSED' } });
    expect(logged[2]).toMatchObject({ level: 'debug', obj: { code: 'UND_ERR_CONNECT_TIMEOUT' } });
  });
});

describe('createHttpDispatcher: redirects', () => {
  it('does not follow a 302: the redirect comes back as the answer', async () => {
    const target = await receiver(() => ({ status: 200, body: 'followed' }));
    const origin = await receiver(() => ({ status: 302, headers: { location: `${target.url}/elsewhere` }, body: '' }));
    const d = dispatcher({ egress: new EgressPolicy({ allow: ['127.0.0.1/32'] }), timeoutMs: 2000 });
    const res = await request(`${origin.url}/hec`, { dispatcher: d, method: 'POST', body: 'x' });
    await res.body.dump();
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(`${target.url}/elsewhere`);
    expect(origin.requests).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
  });
});

describe('createHttpDispatcher: TLS', () => {
  const pki = tlsFixtures();
  const egress = new EgressPolicy({ allow: ['127.0.0.1/32'] });

  it('verifies the server against the configured CA', async () => {
    const hec = await receiver(() => ({ status: 200, body: 'secure' }), { key: pki.serverKey, cert: pki.serverCert });
    const d = dispatcher({ egress, timeoutMs: 2000, tls: { caCert: pki.caCert, rejectUnauthorized: true } });
    const res = await request(`${hec.url}/`, { dispatcher: d });
    expect(await res.body.text()).toBe('secure');
  });

  it('fails against another CA, and against the system roots', async () => {
    const hec = await receiver(() => ({ status: 200 }), { key: pki.serverKey, cert: pki.serverCert });
    for (const tls of [{ caCert: pki.otherCaCert, rejectUnauthorized: true }, undefined]) {
      const d = dispatcher({ egress, timeoutMs: 2000, tls });
      const err = await request(`${hec.url}/`, { dispatcher: d }).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
    }
    expect(hec.requests).toHaveLength(0);
  });

  it('accepts any certificate with rejectUnauthorized=false', async () => {
    const hec = await receiver(() => ({ status: 200, body: 'unverified' }), { key: pki.serverKey, cert: pki.serverCert });
    const d = dispatcher({ egress, timeoutMs: 2000, tls: { caCert: pki.otherCaCert, rejectUnauthorized: false } });
    const res = await request(`${hec.url}/`, { dispatcher: d });
    expect(await res.body.text()).toBe('unverified');
  });

  it('sends the host name as SNI and verifies the certificate against it, while connecting to the approved IP', async () => {
    const seen: { servername: string | false | null; local: string | undefined }[] = [];
    const server = createHttpsServer({ key: pki.serverKey, cert: pki.serverCert }, (req, res) => {
      const socket = req.socket as TLSSocket;
      seen.push({ servername: socket.servername, local: socket.localAddress });
      res.end('sni');
    });
    await listen(server, 0, '127.0.0.1');
    const { port } = server.address() as AddressInfo;
    const named = new EgressPolicy({ allow: [`localhost:${port}`], resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const d = dispatcher({ egress: named, timeoutMs: 2000, tls: { caCert: pki.caCert, rejectUnauthorized: true } });
    const res = await request(`https://localhost:${port}/`, { dispatcher: d });
    expect(await res.body.text()).toBe('sni');
    expect(seen).toEqual([{ servername: 'localhost', local: '127.0.0.1' }]);

    // A name the certificate does not carry fails verification even though the IP is the same.
    const wrong = new EgressPolicy({ allow: [`wrong.test:${port}`], resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const d2 = dispatcher({ egress: wrong, timeoutMs: 2000, tls: { caCert: pki.caCert, rejectUnauthorized: true } });
    const err = await request(`https://wrong.test:${port}/`, { dispatcher: d2 }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('presents the client certificate for mutual TLS', async () => {
    const server = createHttpsServer(
      { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.end(`client ${peer.subject?.CN}`);
      },
    );
    await listen(server, 0, '127.0.0.1');
    const { port } = server.address() as AddressInfo;
    const withCert = dispatcher({
      egress,
      timeoutMs: 2000,
      tls: { caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey, rejectUnauthorized: true },
    });
    const res = await request(`https://127.0.0.1:${port}/`, { dispatcher: withCert });
    expect(await res.body.text()).toBe('client client');

    const without = dispatcher({ egress, timeoutMs: 2000, tls: { caCert: pki.caCert, rejectUnauthorized: true } });
    const err = await request(`https://127.0.0.1:${port}/`, { dispatcher: without }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
  });
});
