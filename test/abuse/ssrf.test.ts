import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStreamReceiver, startUdpReceiver, type SyslogReceiver } from '../destinations/syslog-receivers.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { integrationStatus, makeEvents, postEvents, sleep, startIdReceiver, waitFor, type IdReceiver } from '../support/fault-kit.js';

/**
 * SSRF: with the production egress policy (`new EgressPolicy()`, as `siemgate serve` builds it with no
 * SIEMGATE_EGRESS_ALLOW), an admin must not be able to make the gateway talk to loopback, the cloud metadata address,
 * unspecified or link-local addresses — whatever spelling the URL uses, and also through a host name that resolves
 * to loopback, a token endpoint, syslog/CEF transports, or a redirect from an allowed SIEM. Every "trap" server below
 * listens where an attacker would aim; none may see a single byte. The connection test must say why
 * (`Connection test failed: egress refused: …`).
 */

const CREATE = 'mutation($input: CreateSiemIntegrationInput!) { createSiemIntegration(input: $input) { id } }';
const TEST = 'mutation($id: ID!) { testSiemIntegration(id: $id) { success message httpStatus steps { name ok detail } } }';

let g: TestGateway;
let trap: IdReceiver;
/** A trap on ::1; null where the machine has no IPv6 loopback (the refusal is checked all the same). */
let trap6: { server: Server; port: number; hits: number } | null;
let tcpTrap: SyslogReceiver;
let udpTrap: SyslogReceiver;

async function startIpv6Trap() {
  const state = { hits: 0 } as { server: Server; port: number; hits: number };
  state.server = createServer((req, res) => {
    state.hits++;
    res.end('{}');
  });
  try {
    await new Promise<void>((resolve, reject) => state.server.listen(0, '::1', resolve).once('error', reject));
  } catch {
    return null;
  }
  state.port = (state.server.address() as AddressInfo).port;
  return state;
}

beforeAll(async () => {
  [trap, trap6, tcpTrap, udpTrap] = await Promise.all([startIdReceiver(), startIpv6Trap(), startStreamReceiver(), startUdpReceiver()]);
  g = await startTestGateway({ egress: new EgressPolicy(), env: { SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '200' } });
});
afterAll(async () => {
  await g?.stop({ removeDatabase: true });
  await Promise.all([trap?.close(), trap6 ? new Promise((r) => trap6!.server.close(r)) : undefined, tcpTrap?.close(), udpTrap?.close()]);
});

const trapsUntouched = () => {
  expect(trap.requestCount, 'the 127.0.0.1 trap was reached').toBe(0);
  expect(trap6?.hits ?? 0, 'the ::1 trap was reached').toBe(0);
  expect(tcpTrap.connections, 'the TCP trap was reached').toBe(0);
  expect(udpTrap.frames, 'the UDP trap was reached').toHaveLength(0);
};

async function createOrRefuse(name: string, config: Record<string, unknown>): Promise<string | null> {
  const res = await g.gql(CREATE, { input: { name, config, batching: { flushIntervalSeconds: 1, retryCount: 0, timeoutSeconds: 3 } } });
  if (res.errors) {
    // Refusing the target up front is also a refusal (as long as it is a clear BAD_USER_INPUT).
    expect(res.errors[0]!.extensions?.code, JSON.stringify(res.errors)).toBe('BAD_USER_INPUT');
    return null;
  }
  return res.data.createSiemIntegration.id;
}

function expectEgressRefusal(result: { success: boolean; message: string; steps: { name: string; ok: boolean; detail: string }[] }, reason: RegExp) {
  expect(result.success).toBe(false);
  expect(result.message).toMatch(/^Connection test failed: (?:[^:]+: )?egress refused: /);
  expect(result.message).toMatch(reason);
  const failed = result.steps.find((s) => !s.ok);
  expect(failed, JSON.stringify(result.steps)).toBeDefined();
  expect(failed!.detail).toMatch(/egress refused/);
  expect(result.steps.filter((s) => s.ok).map((s) => s.name)).not.toContain('deliver');
}

describe('SSRF targets under the production egress policy', () => {
  const http = (url: () => string) => ({ webhook: { endpoint: url() } });
  const cases: [string, () => Record<string, unknown>, RegExp][] = [
    ['loopback 127.0.0.1', () => http(() => `http://127.0.0.1:${trap.port}/hook`), /127\.0\.0\.1 is loopback/],
    ['loopback ::1', () => http(() => `http://[::1]:${trap6?.port ?? 9}/hook`), /::1 is loopback/],
    ['the cloud metadata address 169.254.169.254', () => http(() => 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'), /169\.254\.169\.254 is link-local/],
    ['the metadata address over https', () => ({ splunk: { endpoint: 'https://169.254.169.254/services/collector/event', token: 't' } }), /link-local/],
    ['IPv6 link-local fe80::1', () => http(() => 'http://[fe80::1]:80/'), /link-local/],
    ['a host name resolving to loopback (localhost)', () => http(() => `http://localhost:${trap.port}/hook`), /localhost resolves to (127\.0\.0\.1|::1), which is loopback/],
    ['loopback written 127.1', () => http(() => `http://127.1:${trap.port}/hook`), /loopback/],
    ['loopback written as a decimal integer', () => http(() => `http://2130706433:${trap.port}/hook`), /loopback/],
    ['loopback written in hex', () => http(() => `http://0x7f000001:${trap.port}/hook`), /loopback/],
    ['loopback as an IPv4-mapped IPv6 address', () => http(() => `http://[::ffff:127.0.0.1]:${trap.port}/hook`), /loopback/],
    ['the unspecified address 0.0.0.0 (reaches local services on Linux)', () => http(() => `http://0.0.0.0:${trap.port}/hook`), /unspecified/],
    ['Splunk HEC on loopback', () => ({ splunk: { endpoint: `http://127.0.0.1:${trap.port}/services/collector/event`, token: 't' } }), /loopback/],
    ['a LogScale endpoint on loopback', () => ({ crowdstrike: { endpoint: `http://127.0.0.1:${trap.port}/api/v1/ingest/hec`, token: 't' } }), /loopback/],
    ['ArcSight on localhost', () => ({ arcsight: { endpoint: `http://localhost:${trap.port}/cef`, token: 't' } }), /loopback/],
    ['Sentinel Data Collector endpoint on loopback', () => ({ sentinel: { workspaceId: '0b1d5e4e-1c8a-4d4e-9a57-3f1d2a9c0e11', sharedKey: Buffer.alloc(64, 1).toString('base64'), endpoint: `http://127.0.0.1:${trap.port}` } }), /loopback/],
    ['a Sentinel token endpoint (authorityHost) on loopback', () => ({ sentinel: { dceEndpoint: 'https://dce.invalid', dcrImmutableId: 'dcr-0123456789abcdef0123456789abcdef', streamName: 'Custom-X_CL', tenantId: '0b1d5e4e-1c8a-4d4e-9a57-3f1d2a9c0e11', clientId: '0b1d5e4e-1c8a-4d4e-9a57-3f1d2a9c0e12', clientSecret: 's', authorityHost: `http://127.0.0.1:${trap.port}` } }), /loopback/],
    ['syslog over TCP to loopback', () => ({ syslog: { host: '127.0.0.1', port: tcpTrap.port, protocol: 'TCP' } }), /loopback/],
    ['syslog over UDP to loopback', () => ({ syslog: { host: '127.0.0.1', port: udpTrap.port, protocol: 'UDP' } }), /loopback/],
    ['CEF over TCP to localhost', () => ({ cef: { transport: 'TCP', host: 'localhost', port: tcpTrap.port } }), /loopback/],
    ['CEF over UDP to the metadata address', () => ({ cef: { transport: 'UDP', host: '169.254.169.254', port: 514 } }), /link-local/],
  ];

  it.each(cases)('refuses %s', async (label, config, reason) => {
    const id = await createOrRefuse(`ssrf ${label}`, config());
    if (id === null) return trapsUntouched();
    const res = await g.gql(TEST, { id });
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    expectEgressRefusal(res.data.testSiemIntegration, reason);
    const status = await integrationStatus(g, id);
    expect(status.lastError).toMatch(/egress refused/);
    trapsUntouched();
  });

  it('delivery itself is refused too: events routed to a loopback SIEM stay queued and never reach it', async () => {
    const id = await createOrRefuse('ssrf delivery', { webhook: { endpoint: `http://127.0.0.1:${trap.port}/hook` } });
    if (id === null) return;
    expect((await postEvents(g.url, makeEvents(3))).status).toBe(202);
    const failing = await waitFor(async () => {
      const s = await integrationStatus(g, id);
      return s.errorCount >= 2 ? s : null;
    }, { message: 'delivery attempts to be refused' });
    expect(failing.lastError).toMatch(/egress refused: 127\.0\.0\.1 is loopback/);
    expect(failing.stats.delivered).toBe(0);
    trapsUntouched();
  });
});

describe('a redirect from an allowed SIEM', () => {
  let rg: TestGateway;
  let allowed: IdReceiver;
  let internal: IdReceiver;

  beforeAll(async () => {
    internal = await startIdReceiver();
    allowed = await startIdReceiver();
    // The production policy plus exactly one exemption: the allowed SIEM's host:port.
    rg = await startTestGateway({ egress: new EgressPolicy({ allow: [`127.0.0.1:${allowed.port}`] }), env: { SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '200' } });
  });
  afterAll(async () => {
    await rg?.stop({ removeDatabase: true });
    await Promise.all([allowed?.close(), internal?.close()]);
  });

  it.each([
    [302, () => `http://127.0.0.1:${internal.port}/internal-admin`],
    [307, () => `http://127.0.0.1:${internal.port}/internal-admin`],
    [308, () => 'http://169.254.169.254/latest/meta-data/'],
    [301, () => `http://localhost:${internal.port}/internal-admin`],
  ])('is not followed (HTTP %i to an internal address)', async (status, location) => {
    allowed.respond(() => ({ status, headers: { location: location() } }));
    const created = await rg.gql(CREATE, { input: { name: `redirect ${status}`, config: { webhook: { endpoint: `${allowed.url}/hook` } }, batching: { flushIntervalSeconds: 1, retryCount: 0 } } });
    expect(created.errors).toBeUndefined();
    const before = allowed.requestCount;
    const result = (await rg.gql(TEST, { id: created.data.createSiemIntegration.id })).data.testSiemIntegration;
    expect(allowed.requestCount).toBe(before + 1); // the allowed SIEM was reached once…
    expect(internal.requestCount).toBe(0); // …and the redirect target never
    expect(result.success).toBe(false);
    expect(result.httpStatus).toBe(status);
    expect(result.message).toMatch(/redirect.*not followed/i);
  });

  it('keeps redirected deliveries queued (never dead-lettered, never followed)', async () => {
    allowed.respond(() => ({ status: 307, headers: { location: `http://127.0.0.1:${internal.port}/internal-admin` } }));
    const created = await rg.gql(CREATE, { input: { name: 'redirect delivery', customerId: 'cust_redirect', config: { webhook: { endpoint: `${allowed.url}/hook` } }, batching: { flushIntervalSeconds: 1, retryCount: 0 } } });
    const id = created.data.createSiemIntegration.id;
    expect((await postEvents(rg.url, makeEvents(3, { customerId: 'cust_redirect' }))).status).toBe(202);
    const failing = await waitFor(async () => {
      const s = await integrationStatus(rg, id);
      return s.errorCount >= 2 ? s : null;
    }, { message: 'redirected deliveries to fail' });
    expect(failing.lastError).toMatch(/redirect.*not followed/i);
    expect(failing.stats.deadLettered).toBe(0);
    expect(failing.stats.queued).toBeGreaterThanOrEqual(3);
    await sleep(300);
    expect(internal.requestCount).toBe(0);
  });
});
