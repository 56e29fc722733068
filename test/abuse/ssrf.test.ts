import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStreamReceiver, startUdpReceiver, type SyslogReceiver } from '../support/syslog-receivers.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { startBlackhole, type Blackhole } from '../support/blackhole.js';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { subscribe } from '../support/ws-subscribe.js';
import { integrationStatus, makeEvents, postEvents, sleep, startIdReceiver, waitFor, type IdReceiver } from '../support/fault-kit.js';

/**
 * SSRF: with the production egress policy (`new EgressPolicy()`, as `siemgate serve` builds it with no
 * SIEMGATE_EGRESS_ALLOW), an admin must not be able to make the gateway talk to loopback, cloud metadata addresses,
 * unspecified or link-local addresses — whatever spelling the URL uses (IPv4-mapped, SIIT, NAT64, 6to4), and also through
 * a host name that resolves to loopback, a token endpoint, syslog/CEF transports, or a redirect from an allowed SIEM.
 * Every "trap" server below listens where an attacker would aim; none may see a single byte. The policy refuses before
 * any socket is opened (its log line at info proves it, with the reason); the API only says
 * `Connection test failed: could not connect to host:port`, the same as for a closed port or a blackholed connect, so
 * the answers cannot be used to scan private ranges.
 */

const CREATE = 'mutation($input: CreateSiemIntegrationInput!) { createSiemIntegration(input: $input) { id } }';
const TEST = 'mutation($id: ID!) { testSiemIntegration(id: $id) { success message httpStatus steps { name ok detail } } }';

let g: TestGateway;
let trap: IdReceiver;
/** A trap on ::1; null where the machine has no IPv6 loopback (the refusal is checked all the same). */
let trap6: { server: Server; port: number; hits: number } | null;
let tcpTrap: SyslogReceiver;
let udpTrap: SyslogReceiver;
/** What the production policy logged (info: refusals with their reason; debug: other connect failures). */
const policyLog: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
const capture = {
  info: (obj: object, msg: string) => policyLog.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
  debug: (obj: object, msg: string) => policyLog.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
};

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
  g = await startTestGateway({ egress: new EgressPolicy({ log: capture }), env: { SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '200' } });
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

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Refused by the policy (its log names the reason), answered as a plain connect failure, no step past connect. */
function expectRefusal(
  result: { success: boolean; message: string; steps: { name: string; ok: boolean; detail: string }[] },
  target: string,
  reason: RegExp,
  _socket: boolean,
) {
  expect(result.success).toBe(false);
  const failed = result.steps.find((s) => !s.ok);
  expect(failed, JSON.stringify(result.steps)).toBeDefined();
  expect(result.steps.filter((s) => s.ok).map((s) => s.name)).not.toContain('deliver');
  const uniform = `could not connect to ${target}`;
  expect(result.message).toMatch(new RegExp(`^Connection test failed: (?:[^:]+: )?${escape(uniform)}$`));
  expect(failed!.detail).toMatch(new RegExp(`(?:^|: )${escape(uniform)}$`));
  expect(result.message).not.toMatch(/egress|loopback|link-local|metadata|refused|NAT64|6to4/);
  const refusals = policyLog.filter((l) => l.level === 'info');
  expect(refusals.length, 'the policy logged the refusal').toBeGreaterThan(0);
  expect(refusals.map((l) => l.msg).join('\n')).toMatch(reason);
}

describe('SSRF targets under the production egress policy', () => {
  const http = (url: () => string) => ({ webhook: { endpoint: url() } });
  const t = () => String(trap.port);
  // [label, config, host:port the message names, reason the policy logs, goes over the syslog transport]
  const cases: [string, () => Record<string, unknown>, () => string, RegExp, boolean?][] = [
    ['loopback 127.0.0.1', () => http(() => `http://127.0.0.1:${t()}/hook`), () => `127.0.0.1:${t()}`, /127\.0\.0\.1 is loopback/],
    ['loopback ::1', () => http(() => `http://[::1]:${trap6?.port ?? 9}/hook`), () => `[::1]:${trap6?.port ?? 9}`, /::1 is loopback/],
    ['the cloud metadata address 169.254.169.254', () => http(() => 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'), () => '169.254.169.254:80', /169\.254\.169\.254 is link-local/],
    ['the metadata address over https', () => ({ splunk: { endpoint: 'https://169.254.169.254/services/collector/event', token: 't' } }), () => '169.254.169.254:443', /link-local/],
    ['Alibaba Cloud metadata 100.100.100.200 (in CGNAT space)', () => http(() => 'http://100.100.100.200/latest/meta-data/'), () => '100.100.100.200:80', /100\.100\.100\.200 is a cloud metadata endpoint/],
    ['AWS IPv6 metadata fd00:ec2::254', () => http(() => 'http://[fd00:ec2::254]/latest/meta-data/'), () => '[fd00:ec2::254]:80', /fd00:ec2::254 is a cloud metadata endpoint/],
    ['loopback through NAT64 64:ff9b::7f00:1', () => http(() => `http://[64:ff9b::7f00:1]:${t()}/hook`), () => `[64:ff9b::7f00:1]:${t()}`, /NAT64 of 127\.0\.0\.1, which is loopback/],
    ['metadata through NAT64 64:ff9b::a9fe:a9fe', () => http(() => 'http://[64:ff9b::169.254.169.254]/'), () => '[64:ff9b::a9fe:a9fe]:80', /NAT64 of 169\.254\.169\.254, which is link-local/],
    ['NAT64 local-use 64:ff9b:1::/48', () => http(() => 'http://[64:ff9b:1::7f00:1]/'), () => '[64:ff9b:1::7f00:1]:80', /NAT64 local-use prefix/],
    ['loopback through 6to4 2002:7f00:1::', () => http(() => `http://[2002:7f00:1::]:${t()}/hook`), () => `[2002:7f00:1::]:${t()}`, /6to4 of 127\.0\.0\.1, which is loopback/],
    ['loopback as SIIT ::ffff:0:7f00:1', () => http(() => `http://[::ffff:0:7f00:1]:${t()}/hook`), () => `[::ffff:0:7f00:1]:${t()}`, /IPv4-translated \(SIIT\) of 127\.0\.0\.1, which is loopback/],
    ['loopback as IPv4-compatible ::127.0.0.1', () => http(() => `http://[::127.0.0.1]:${t()}/hook`), () => `[::7f00:1]:${t()}`, /IPv4-compatible/],
    ['IPv6 link-local fe80::1', () => http(() => 'http://[fe80::1]:80/'), () => '[fe80::1]:80', /link-local/],
    ['a host name resolving to loopback (localhost)', () => http(() => `http://localhost:${t()}/hook`), () => `localhost:${t()}`, /localhost resolves to (127\.0\.0\.1|::1), which is loopback/],
    ['loopback written 127.1', () => http(() => `http://127.1:${t()}/hook`), () => `127.0.0.1:${t()}`, /loopback/],
    ['loopback written as a decimal integer', () => http(() => `http://2130706433:${t()}/hook`), () => `127.0.0.1:${t()}`, /loopback/],
    ['loopback written in hex', () => http(() => `http://0x7f000001:${t()}/hook`), () => `127.0.0.1:${t()}`, /loopback/],
    ['loopback as an IPv4-mapped IPv6 address', () => http(() => `http://[::ffff:127.0.0.1]:${t()}/hook`), () => `[::ffff:7f00:1]:${t()}`, /loopback/],
    ['the unspecified address 0.0.0.0 (reaches local services on Linux)', () => http(() => `http://0.0.0.0:${t()}/hook`), () => `0.0.0.0:${t()}`, /unspecified/],
    ['Splunk HEC on loopback', () => ({ splunk: { endpoint: `http://127.0.0.1:${t()}/services/collector/event`, token: 't' } }), () => `127.0.0.1:${t()}`, /loopback/],
    ['a LogScale endpoint on loopback', () => ({ crowdstrike: { endpoint: `http://127.0.0.1:${t()}/api/v1/ingest/hec`, token: 't' } }), () => `127.0.0.1:${t()}`, /loopback/],
    ['ArcSight on localhost', () => ({ arcsight: { endpoint: `http://localhost:${t()}/cef`, token: 't' } }), () => `localhost:${t()}`, /loopback/],
    ['Sentinel Data Collector endpoint on loopback', () => ({ sentinel: { workspaceId: '0b1d5e4e-1c8a-4d4e-9a57-3f1d2a9c0e11', sharedKey: Buffer.alloc(64, 1).toString('base64'), endpoint: `http://127.0.0.1:${t()}` } }), () => `127.0.0.1:${t()}`, /loopback/],
    ['a Sentinel token endpoint (authorityHost) on loopback', () => ({ sentinel: { dceEndpoint: 'https://dce.invalid', dcrImmutableId: 'dcr-0123456789abcdef0123456789abcdef', streamName: 'Custom-X_CL', tenantId: '0b1d5e4e-1c8a-4d4e-9a57-3f1d2a9c0e11', clientId: '0b1d5e4e-1c8a-4d4e-9a57-3f1d2a9c0e12', clientSecret: 's', authorityHost: `http://127.0.0.1:${t()}` } }), () => `127.0.0.1:${t()}`, /loopback/],
    ['syslog over TCP to loopback', () => ({ syslog: { host: '127.0.0.1', port: tcpTrap.port, protocol: 'TCP' } }), () => `127.0.0.1:${tcpTrap.port}`, /loopback/, true],
    ['syslog over UDP to loopback', () => ({ syslog: { host: '127.0.0.1', port: udpTrap.port, protocol: 'UDP' } }), () => `127.0.0.1:${udpTrap.port}`, /loopback/, true],
    ['syslog over TCP to Alibaba metadata', () => ({ syslog: { host: '100.100.100.200', port: 514, protocol: 'TCP' } }), () => '100.100.100.200:514', /cloud metadata/, true],
    ['CEF over TCP to localhost', () => ({ cef: { transport: 'TCP', host: 'localhost', port: tcpTrap.port } }), () => `localhost:${tcpTrap.port}`, /loopback/, true],
    ['CEF over UDP to the metadata address', () => ({ cef: { transport: 'UDP', host: '169.254.169.254', port: 514 } }), () => '169.254.169.254:514', /link-local/, true],
    ['CEF over TCP to loopback through NAT64', () => ({ cef: { transport: 'TCP', host: '64:ff9b::7f00:1', port: tcpTrap.port } }), () => `[64:ff9b::7f00:1]:${tcpTrap.port}`, /NAT64 of 127\.0\.0\.1/, true],
  ];

  it.each(cases)('refuses %s', async (label, config, target, reason, socket = false) => {
    policyLog.length = 0;
    const id = await createOrRefuse(`ssrf ${label}`, config());
    if (id === null) return trapsUntouched();
    const res = await g.gql(TEST, { id });
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    expectRefusal(res.data.testSiemIntegration, target(), reason, socket);
    const status = await integrationStatus(g, id);
    // The last error is the connection test's or, when a delivery attempt came after it, that attempt's.
    expect(status.lastError!.endsWith(res.data.testSiemIntegration.steps.find((s: { ok: boolean }) => !s.ok).detail)).toBe(true);
    trapsUntouched();
    // Keep the gateway light for the next case (every integration runs a delivery worker).
    expect((await g.gql('mutation($id: ID!) { deleteSiemIntegration(id: $id) }', { id })).errors).toBeUndefined();
  });

  it('delivery itself is refused too: events routed to a loopback SIEM stay queued and never reach it', async () => {
    const id = await createOrRefuse('ssrf delivery', { webhook: { endpoint: `http://127.0.0.1:${trap.port}/hook` } });
    if (id === null) return;
    expect((await postEvents(g.url, makeEvents(3))).status).toBe(202);
    const failing = await waitFor(async () => {
      const s = await integrationStatus(g, id);
      return s.errorCount >= 2 ? s : null;
    }, { message: 'delivery attempts to be refused' });
    expect(failing.lastError).toBe(`could not connect to 127.0.0.1:${trap.port}`);
    expect(failing.stats.delivered).toBe(0);
    trapsUntouched();
  });
});

describe('a policy refusal, a closed port and a blackholed connect answer alike (no port scanning through the API)', () => {
  let sg: TestGateway;
  let hole: Blackhole;
  let inside: IdReceiver;
  let closedPort: number;

  beforeAll(async () => {
    hole = await startBlackhole();
    inside = await startIdReceiver(); // a private service the policy refuses: it must not be told apart from nothing
    const closing = await startIdReceiver();
    closedPort = closing.port;
    await closing.close();
    // The production policy with exactly the closed port and the blackhole let through (stand-ins for other private hosts).
    sg = await startTestGateway({
      egress: new EgressPolicy({ allow: [`127.0.0.1:${closedPort}`, `127.0.0.1:${hole.port}`] }),
      env: { SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '200' },
    });
  });
  afterAll(async () => {
    await sg?.stop({ removeDatabase: true });
    await Promise.all([hole?.close(), inside?.close()]);
  });

  it('in testSiemIntegration, lastError and the deliveryAttempts stream', async () => {
    const targets = { policy: inside.port, closed: closedPort, blackholed: hole.port };
    const ids: Record<string, string> = {};
    for (const [name, port] of Object.entries(targets)) {
      const created = await sg.gql(CREATE, {
        input: { name: `scan ${name}`, customerId: `cust_scan_${name}`, config: { webhook: { endpoint: `http://127.0.0.1:${port}/hook` } }, batching: { flushIntervalSeconds: 1, retryCount: 0, timeoutSeconds: 1 } },
      });
      expect(created.errors, JSON.stringify(created.errors)).toBeUndefined();
      ids[name] = created.data.createSiemIntegration.id;
    }
    const attempts = await subscribe(sg.url, ADMIN_TOKEN, 'subscription { deliveryAttempts { integrationId success httpStatus error } }');
    try {
      // Only the port differs between the three, as the admin wrote it; everything else must be identical.
      const anonymise = (text: string, name: string) => text.replaceAll(`:${targets[name as keyof typeof targets]}`, ':PORT');
      const tests: Record<string, unknown> = {};
      for (const [name, id] of Object.entries(ids)) {
        const result = (await sg.gql(TEST, { id })).data.testSiemIntegration;
        tests[name] = JSON.parse(anonymise(JSON.stringify(result), name));
      }
      expect(tests.policy).toEqual({
        success: false,
        message: 'Connection test failed: could not connect to 127.0.0.1:PORT',
        httpStatus: null,
        steps: [{ name: 'connect', ok: false, detail: 'could not connect to 127.0.0.1:PORT' }],
      });
      expect(tests.closed).toEqual(tests.policy);
      expect(tests.blackholed).toEqual(tests.policy);

      for (const name of Object.keys(ids)) {
        expect((await postEvents(sg.url, makeEvents(1, { customerId: `cust_scan_${name}` }))).status).toBe(202);
      }
      const lastErrors: Record<string, string> = {};
      for (const [name, id] of Object.entries(ids)) {
        const status = await waitFor(async () => {
          const s = await integrationStatus(sg, id);
          return s.stats.failedAttempts >= 1 ? s : null;
        }, { message: `a failed delivery attempt to the ${name} target` });
        lastErrors[name] = anonymise(status.lastError!, name);
      }
      expect(lastErrors).toEqual({ policy: 'could not connect to 127.0.0.1:PORT', closed: 'could not connect to 127.0.0.1:PORT', blackholed: 'could not connect to 127.0.0.1:PORT' });

      const seen = await waitFor(() => {
        const byName = Object.fromEntries(
          Object.entries(ids).map(([name, id]) => [name, attempts.results.map((r) => r.deliveryAttempts).find((a) => a.integrationId === id)]),
        );
        return Object.values(byName).every(Boolean) ? byName : null;
      }, { message: 'one delivery attempt per target on the stream' });
      for (const [name, attempt] of Object.entries(seen)) {
        expect({ ...attempt, integrationId: undefined, error: anonymise(attempt.error, name) }, name).toEqual({
          integrationId: undefined,
          success: false,
          httpStatus: null,
          error: 'could not connect to 127.0.0.1:PORT',
        });
      }
      expect(inside.requestCount, 'the refused private service was reached').toBe(0);
    } finally {
      await attempts.close();
    }
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
    // Earlier integrations would deliver this one's audit events to the same receiver and skew the next count.
    expect((await rg.gql('mutation($id: ID!) { deleteSiemIntegration(id: $id) }', { id: created.data.createSiemIntegration.id })).errors).toBeUndefined();
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
