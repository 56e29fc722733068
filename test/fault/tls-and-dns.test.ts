import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStreamReceiver, type SyslogReceiver } from '../support/syslog-receivers.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { createIntegrationId, integrationStatus, makeEvents, postEvents, startIdReceiver, waitFor, waitUntilHealed, type IdReceiver } from '../support/fault-kit.js';
import { tlsFixtures } from '../support/tls-fixtures.js';

/**
 * Faults before a single byte of payload is exchanged: a TLS handshake the integration cannot trust, and a host
 * name that does not resolve. Events must stay queued with a clear lastError, and an admin's fix
 * (updateSiemIntegration) must deliver them.
 */

const UPDATE = 'mutation($id: ID!, $input: UpdateSiemIntegrationInput!) { updateSiemIntegration(id: $id, input: $input) { id } }';
const TEST = 'mutation($id: ID!) { testSiemIntegration(id: $id) { success message steps { name ok detail } } }';

let g: TestGateway;
const pki = tlsFixtures();

beforeAll(async () => {
  g = await startTestGateway({ env: { SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '200' } });
});
afterAll(async () => {
  await g?.stop({ removeDatabase: true });
});

async function create(input: Record<string, unknown>): Promise<string> {
  return createIntegrationId(g, { batching: { batchSize: 50, flushIntervalSeconds: 1, retryCount: 1, timeoutSeconds: 3 }, ...input });
}

describe('TLS handshake failure', () => {
  let rx: IdReceiver;
  beforeAll(async () => {
    rx = await startIdReceiver({ tls: { cert: pki.serverCert, key: pki.serverKey } });
  });
  afterAll(async () => {
    await rx?.close();
  });

  it('keeps events queued with a TLS lastError, and delivers them once tls.caCert is fixed', async () => {
    const id = await create({
      name: 'HTTPS with the wrong CA',
      customerId: 'cust_tls',
      config: { webhook: { endpoint: `${rx.url}/hook`, tls: { caCert: pki.otherCaCert } } },
    });
    const events = makeEvents(15, { customerId: 'cust_tls' });
    const ids = events.map((e) => e.id);
    expect((await postEvents(g.url, events)).status).toBe(202);

    const failing = await waitFor(async () => {
      const s = await integrationStatus(g, id);
      return s.errorCount >= 2 ? s : null;
    }, { message: 'errorCount to rise on the TLS failure' });
    expect(failing.lastError).toMatch(/TLS/);
    expect(failing.lastError).toMatch(/certificate|verify|issuer/i);
    expect(failing.stats.queued).toBeGreaterThanOrEqual(15);
    expect(failing.stats.deadLettered).toBe(0);
    expect(rx.requestCount).toBe(0);

    const test = (await g.gql(TEST, { id })).data.testSiemIntegration;
    expect(test.success).toBe(false);
    expect(test.message).toMatch(/^Connection test failed: .*TLS/);

    // The admin installs the right CA.
    const fixed = await g.gql(UPDATE, { id, input: { config: { webhook: { tls: { caCert: pki.caCert } } } } });
    expect(fixed.errors).toBeUndefined();
    await waitFor(() => rx.missing(ids).length === 0, { message: () => `all events after the CA fix (missing ${rx.missing(ids).length})` });
    const healed = await waitUntilHealed(g, id);
    expect(healed.lastError).toBeNull();
    expect(rx.duplicates()).toBe(0);
  });
});

describe('TLS handshake failure on syslog over TLS', () => {
  let syslog: SyslogReceiver;
  beforeAll(async () => {
    syslog = await startStreamReceiver({ cert: pki.serverCert, key: pki.serverKey });
  });
  afterAll(async () => {
    await syslog?.close();
  });

  it('keeps events queued with a TLS lastError, and delivers them once tls.caCert is fixed', async () => {
    const id = await create({
      name: 'syslog TLS with the wrong CA',
      customerId: 'cust_syslog_tls',
      config: { syslog: { host: '127.0.0.1', port: syslog.port, protocol: 'TLS', tls: { caCert: pki.otherCaCert } } },
    });
    const events = makeEvents(5, { customerId: 'cust_syslog_tls' });
    expect((await postEvents(g.url, events)).status).toBe(202);
    const failing = await waitFor(async () => {
      const s = await integrationStatus(g, id);
      return s.errorCount >= 1 ? s : null;
    }, { message: 'errorCount to rise on the TLS failure' });
    expect(failing.lastError).toMatch(/TLS/);
    expect(failing.stats.queued).toBeGreaterThanOrEqual(5);
    expect(syslog.frames).toHaveLength(0);

    expect((await g.gql(UPDATE, { id, input: { config: { syslog: { tls: { caCert: pki.caCert } } } } })).errors).toBeUndefined();
    await syslog.waitForFrames(5, 8_000);
    const text = syslog.frames.map((f) => f.bytes.toString('utf8')).join('\n');
    for (const e of events) expect(text).toContain(`externalId=${e.id}`);
    await waitFor(async () => (await integrationStatus(g, id)).errorCount === 0, { message: 'errorCount back to 0' });
  });
});

describe('DNS failure', () => {
  let rx: IdReceiver;
  beforeAll(async () => {
    rx = await startIdReceiver();
  });
  afterAll(async () => {
    await rx?.close();
  });

  it('keeps events queued with a lastError naming DNS and the host, and delivers them once the endpoint is fixed', async () => {
    const id = await create({
      name: 'unresolvable SIEM',
      customerId: 'cust_dns',
      config: { webhook: { endpoint: 'http://no-such-host.invalid:8088/hook' } },
    });
    const events = makeEvents(12, { customerId: 'cust_dns' });
    const ids = events.map((e) => e.id);
    expect((await postEvents(g.url, events)).status).toBe(202);

    const failing = await waitFor(async () => {
      const s = await integrationStatus(g, id);
      return s.errorCount >= 2 ? s : null;
    }, { message: 'errorCount to rise on the DNS failure' });
    expect(failing.lastError).toMatch(/DNS/);
    expect(failing.lastError).toContain('no-such-host.invalid');
    expect(failing.stats.queued).toBeGreaterThanOrEqual(12);
    expect(failing.stats.deadLettered).toBe(0);

    const test = (await g.gql(TEST, { id })).data.testSiemIntegration;
    expect(test.success).toBe(false);
    expect(test.message).toMatch(/^Connection test failed: .*DNS.*no-such-host\.invalid/);

    // Still queued after another attempt: a DNS failure is retried, never dead-lettered.
    const afterTest = await integrationStatus(g, id);
    const later = await waitFor(async () => {
      const s = await integrationStatus(g, id);
      return s.stats.failedAttempts > afterTest.stats.failedAttempts ? s : null;
    }, { message: 'another delivery attempt after the DNS failure' });
    expect(later.stats.queued).toBeGreaterThanOrEqual(12);
    expect(later.stats.deadLettered).toBe(0);

    expect((await g.gql(UPDATE, { id, input: { config: { webhook: { endpoint: `${rx.url}/hook` } } } })).errors).toBeUndefined();
    await waitFor(() => rx.missing(ids).length === 0, { message: () => `all events after the endpoint fix (missing ${rx.missing(ids).length})` });
    await waitFor(async () => (await integrationStatus(g, id)).errorCount === 0, { message: 'errorCount back to 0' });
    expect(rx.duplicates()).toBe(0);
  });
});
