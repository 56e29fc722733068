import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createArcSightAdapter } from '../../src/destinations/arcsight/adapter.js';
import type { ArcSightConfig } from '../../src/destinations/types.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { closeAfterEach, startHttpReceiver } from '../support/http-receiver.js';
import { tlsFixtures } from '../support/tls-fixtures.js';
import { parseCef } from '../support/spec-parsers.js';
import { closedPort } from '../support/api.js';

const egress = new EgressPolicy({ allow: ['127.0.0.1/32'] });
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const track = closeAfterEach();

function config(endpoint: string, overrides: Partial<ArcSightConfig> = {}): ArcSightConfig {
  return {
    type: 'ARCSIGHT',
    endpoint,
    token: 'CONN-7d41e9b2a6',
    smartConnectorId: 'sc-001',
    deviceVendor: 'RAXE',
    deviceProduct: 'ThreatDetection',
    ...overrides,
  };
}

const scan: SecurityEvent = {
  id: '9d0e7f5a-1b2c-4d3e-8f4a-5b6c7d8e9f00',
  time: new Date(1706619000000),
  type: 'scan',
  name: 'Prompt Injection Detected',
  severity: 'CRITICAL',
  installationId: 'inst_abc123',
  agentId: 'agent_prod_001',
  promptHash: 'sha256:abc123',
  ruleIds: ['pi-001', 'pi-003'],
  families: ['PI'],
  msspId: 'mssp_partner',
  customerId: 'cust_acme',
  promptLength: 120,
  detectionCount: 2,
  scanDurationMs: 4,
};

describe('ArcSight SmartConnector receiver', () => {
  it('POSTs CEF lines with the connector token and id', async () => {
    const receiver = track(await startHttpReceiver());
    const adapter = track(createArcSightAdapter(config(`${receiver.url}/receiver/v1/events`), { egress, hostname: 'gw-01' }));
    const result = await adapter.send([adapter.transform(scan), adapter.transform({ ...scan, id: 'second', severity: 'LOW' })]);
    expect(result).toMatchObject({ kind: 'success', ok: true, recordCount: 2 });

    const [req] = await receiver.waitForRequests(1);
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/receiver/v1/events');
    expect(req!.headers.authorization).toBe('Bearer CONN-7d41e9b2a6');
    expect(req!.headers['x-smartconnector-id']).toBe('sc-001');
    expect(req!.headers['content-type']).toBe('text/plain; charset=utf-8');
    const text = req!.body.toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    expect(lines).toHaveLength(2);

    expect(lines[0]!.startsWith(
      `CEF:0|RAXE|ThreatDetection|${PACKAGE_VERSION}|pi-001|Prompt Injection Detected|10|rt=1706619000000 src=inst_abc123 suser=agent_prod_001 ` +
        'cs1=sha256:abc123 cs1Label=PromptHash cs2=pi-001,pi-003 cs2Label=RuleIDs cs3=PI cs3Label=ThreatFamilies ' +
        'cs5=mssp_partner cs5Label=MsspId cs6=cust_acme cs6Label=CustomerId cn1=120 cn1Label=PromptLength ' +
        'cn2=2 cn2Label=DetectionCount cn3=4 cn3Label=ScanDurationMs externalId=9d0e7f5a-1b2c-4d3e-8f4a-5b6c7d8e9f00 ',
    )).toBe(true);
    const second = parseCef(lines[1]!);
    expect(second.severity).toBe('3');
    expect(second.extension.get('externalId')).toBe('second');
  });

  it('uses the configured device vendor and product, escaped, and omits the connector header without an id', async () => {
    const receiver = track(await startHttpReceiver());
    const adapter = track(
      createArcSightAdapter(config(`${receiver.url}/receiver/v1/events`, { smartConnectorId: undefined, deviceVendor: 'Big|Corp', deviceProduct: 'A\\B' }), { egress }),
    );
    await adapter.send([adapter.transform(scan)]);
    const [req] = await receiver.waitForRequests(1);
    expect(req!.headers['x-smartconnector-id']).toBeUndefined();
    const line = req!.body.toString('utf8').trimEnd();
    expect(line.startsWith('CEF:0|Big\\|Corp|A\\\\B|')).toBe(true);
    expect(parseCef(line)).toMatchObject({ deviceVendor: 'Big|Corp', deviceProduct: 'A\\B' });
  });

  it('classifies receiver answers (auth, throttled with Retry-After, server)', async () => {
    const receiver = track(await startHttpReceiver());
    const adapter = track(createArcSightAdapter(config(`${receiver.url}/receiver/v1/events`), { egress }));
    const record = adapter.transform(scan);
    receiver.respond(() => ({ status: 401, body: '{"message":"invalid connector token"}' }));
    expect(await adapter.send([record])).toMatchObject({ kind: 'auth', message: 'HTTP 401: invalid connector token' });
    receiver.respond(() => ({ status: 503, headers: { 'retry-after': '30' } }));
    expect(await adapter.send([record])).toMatchObject({ kind: 'throttled', retryAfterMs: 30_000 });
    receiver.respond(() => ({ status: 500, body: 'connector queue full' }));
    expect(await adapter.send([record])).toMatchObject({ kind: 'server', message: 'HTTP 500: connector queue full' });
  });

  it('test(): sends a marked event; a closed port and a wrong CA fail with clear messages', async () => {
    const pki = tlsFixtures();
    const receiver = track(await startHttpReceiver(undefined, { key: pki.serverKey, cert: pki.serverCert }));
    const good = track(
      createArcSightAdapter(config(`${receiver.url}/receiver/v1/events`, { tls: { caCert: pki.caCert, rejectUnauthorized: true } }), { egress }),
    );
    const ok = await good.test();
    expect(ok).toMatchObject({ success: true, message: 'Test event sent successfully', httpStatus: 200 });
    const [req] = await receiver.waitForRequests(1);
    expect(parseCef(req!.body.toString('utf8').trimEnd()).signatureId).toBe('siemgate.test');

    const wrongCa = track(
      createArcSightAdapter(config(`${receiver.url}/receiver/v1/events`, { tls: { caCert: pki.otherCaCert, rejectUnauthorized: true } }), { egress }),
    );
    const tlsFailure = await wrongCa.test();
    expect(tlsFailure.success).toBe(false);
    expect(tlsFailure.message).toMatch(/^Connection test failed: TLS: /);

    const port = await closedPort();
    const closed = track(createArcSightAdapter(config(`http://127.0.0.1:${port}/receiver/v1/events`), { egress }));
    const refused = await closed.test();
    expect(refused).toMatchObject({ success: false, message: `Connection test failed: could not connect to 127.0.0.1:${port}` });
    expect(JSON.stringify([ok, tlsFailure, refused])).not.toContain('CONN-7d41e9b2a6');
  });
});
