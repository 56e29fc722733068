import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, startHecReceiver, testEventRequests } from '../support/api.js';
import { ingest, waitFor } from '../support/delivery.js';
import { runCliInProcess } from '../support/cli.js';
import { createKeyWithCli, runCli, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { startUdpReceiver, type SyslogReceiver } from '../support/syslog-receivers.js';
import { SHARED_KEY, WORKSPACE_ID, rest, startDataCollector } from '../support/rest.js';

/**
 * The second product document's commands, run verbatim (`siemgate` for `raxe`) against a running gateway and real
 * receivers: the first through the real bin (a separate process), the others through the same `main` in this
 * process ({@link runCliInProcess}); only SIEM addresses (and the Sentinel placeholders, which
 * are not a workspace GUID or a base64 key) are replaced. The API key of organisation `mssp_partner`
 * is created with `siemgate keys create`, so `--mssp mssp_partner` works as written.
 */


const lines = (text: string) => text.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');

async function setup() {
  const g = await startTestGateway();
  const token = await createKeyWithCli(g.env, 'mssp_partner', 'admin');
  const env = { SIEMGATE_URL: g.url, SIEMGATE_TOKEN: token };
  const siemgate = (...args: string[]) => runCliInProcess(args, env);
  /** The same command through the real binary, a separate process. */
  const siemgateBin = (...args: string[]) => runCli(args, env);
  return { g, token, env, siemgate, siemgateBin };
}

describe('the Quick Start: configure, test, show, disable (Splunk HEC for cust_acme)', () => {
  let g: TestGateway;
  let token: string;
  let siemgate: (...args: string[]) => ReturnType<typeof runCli>;
  let siemgateBin: (...args: string[]) => ReturnType<typeof runCli>;
  let hec: HttpReceiver;
  let url: string;

  beforeAll(async () => {
    ({ g, token, siemgate, siemgateBin } = await setup());
    hec = await startHecReceiver('hec-token-here');
    url = `${hec.url}/services/collector/event`;
  });
  afterAll(async () => {
    await hec?.close();
    await g?.stop({ removeDatabase: true });
  });

  it('configure (the real binary) creates the customer\'s integration, routed by customerId', async () => {
    const { code, stdout, stderr } = await siemgateBin('customer', 'siem', 'configure', 'cust_acme', '--mssp', 'mssp_partner', '--type', 'splunk', '--url', url, '--token', 'hec-token-here', '--index', 'security', '--source', 'raxe');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines(stdout)[0]).toMatch(/^Configured SIEM integration splunk for cust_acme \([0-9a-f-]{36}\)$/);
    const listed = (await rest(g, 'GET', '/v1/settings/siem', undefined, { token })).json;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ customer_id: 'cust_acme', integration_type: 'splunk', enabled: true, config: { endpoint: url, index: 'security', source: 'raxe', sourcetype: '_json', has_token: true } });
  });

  it('test prints the documented lines and exits 0; one test event reached the HEC', async () => {
    const { code, stdout, stderr } = await siemgate('customer', 'siem', 'test', 'cust_acme', '--mssp', 'mssp_partner');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines(stdout)).toEqual(['Testing SIEM connection for cust_acme...', '✓ Connection successful (HTTP 200)', '✓ Authentication valid', '✓ Test event delivered']);
    expect(testEventRequests(hec)).toHaveLength(1);
  });

  it('show prints the documented block, then health, errors and last delivery, and never the token', async () => {
    const { code, stdout } = await siemgate('customer', 'siem', 'show', 'cust_acme', '--mssp', 'mssp_partner');
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(out.slice(0, 6)).toEqual(['SIEM Configuration: cust_acme', 'Type: splunk', `URL: ${url}`, 'Index: security', 'Source: raxe', 'Enabled: true']);
    expect(out).toEqual(expect.arrayContaining(['Sourcetype: _json', 'Token: set', 'Health: healthy', 'Errors: 0', 'Last error: -', 'Last delivery: never']));
    expect(stdout).not.toContain('hec-token-here');
  });

  it('configure again (the Splunk section\'s command) updates the same integration, never a second one; events route by customer', async () => {
    const { code, stdout } = await siemgate('customer', 'siem', 'configure', 'cust_acme', '--mssp', 'mssp_partner', '--type', 'splunk', '--url', url, '--token', 'hec-token-here', '--index', 'security', '--source', 'raxe', '--sourcetype', '_json', '--flush-interval', '1', '--batch-size', '50');
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual([expect.stringMatching(/^Updated SIEM integration splunk for cust_acme \(/)]);
    const listed = (await rest(g, 'GET', '/v1/settings/siem', undefined, { token })).json;
    expect(listed).toHaveLength(1);
    expect(listed[0].batching).toMatchObject({ batch_size: 50, flush_interval_seconds: 1 });

    const acme = randomUUID();
    const beta = randomUUID();
    await ingest(g.url, [{ id: beta, type: 'scan', severity: 'HIGH', customerId: 'cust_beta' }, { id: acme, type: 'scan', severity: 'CRITICAL', customerId: 'cust_acme' }], token);
    await waitFor(() => hec.requests.some((r) => r.body.toString().includes(acme)), { message: 'cust_acme\'s event at the HEC' });
    expect(hec.requests.some((r) => r.body.toString().includes(beta))).toBe(false);
    const shown = lines((await siemgate('customer', 'siem', 'show', 'cust_acme', '--mssp', 'mssp_partner')).stdout);
    expect(shown.find((l) => l.startsWith('Last delivery: '))).toMatch(/^Last delivery: \d{4}-\d\d-\d\dT/);
  });

  it('show --json gives the REST representation for scripts', async () => {
    const { code, stdout } = await siemgate('customer', 'siem', 'show', 'cust_acme', '--json');
    expect(code).toBe(0);
    const parsed = JSON.parse(stdout);
    expect(parsed).toEqual([expect.objectContaining({ customer_id: 'cust_acme', integration_type: 'splunk', error_count: 0 })]);
    expect(stdout).not.toContain('hec-token-here');
  });

  it('disable, then enable', async () => {
    const disabled = await siemgate('customer', 'siem', 'disable', 'cust_acme', '--mssp', 'mssp_partner');
    expect(disabled.code).toBe(0);
    expect(lines(disabled.stdout)).toEqual([expect.stringMatching(/^Disabled SIEM integration splunk for cust_acme \(/)]);
    const shown = lines((await siemgate('customer', 'siem', 'show', 'cust_acme')).stdout);
    expect(shown).toEqual(expect.arrayContaining(['Enabled: false', 'Health: disabled']));
    const enabled = await siemgate('customer', 'siem', 'enable', 'cust_acme', '--mssp', 'mssp_partner');
    expect(enabled.code).toBe(0);
    expect((await rest(g, 'GET', '/v1/settings/siem', undefined, { token })).json[0].enabled).toBe(true);
  });

  it('list shows every integration with its customer', async () => {
    const { code, stdout } = await siemgate('customer', 'siem', 'list', '--mssp', 'mssp_partner');
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(out[0]).toBe('CUSTOMER\tTYPE\tENABLED\tHEALTH\tERRORS\tLAST DELIVERY\tURL\tID');
    expect(out[1]).toMatch(new RegExp(`^cust_acme\tsplunk\ttrue\thealthy\t0\t\\d{4}-.*\t${url.replace(/[.?]/g, '\\$&')}\t`));
  });

  it('a failing test prints ✗ <step>: <reason> and exits 1', async () => {
    expect((await siemgate('customer', 'siem', 'configure', 'cust_fail', '--type', 'splunk', '--url', url, '--token', 'wrong-token')).code).toBe(0);
    const auth = await siemgate('customer', 'siem', 'test', 'cust_fail');
    expect(auth.code).toBe(1);
    expect(lines(auth.stdout)).toEqual(['Testing SIEM connection for cust_fail...', '✓ Connection successful (HTTP 403)', expect.stringMatching(/^✗ Authentication: credentials refused: .*403/)]);
    expect(auth.stdout).not.toContain('wrong-token');

    const port = await closedPort();
    expect((await siemgate('customer', 'siem', 'configure', 'cust_down', '--type', 'splunk', '--url', `http://127.0.0.1:${port}/services/collector/event`, '--token', 't')).code).toBe(0);
    const down = await siemgate('customer', 'siem', 'test', 'cust_down');
    expect(down.code).toBe(1);
    expect(lines(down.stdout)).toEqual(['Testing SIEM connection for cust_down...', expect.stringMatching(/^✗ Connection: could not connect to 127\.0\.0\.1:\d+$/)]);
  });

  it.each([
    ['--mssp naming another organisation', ['customer', 'siem', 'show', 'cust_acme', '--mssp', 'other_mssp'], {}, 77, /--mssp other_mssp: the API key belongs to organisation "mssp_partner"/],
    ['an invalid API key', ['customer', 'siem', 'show', 'cust_acme'], { SIEMGATE_TOKEN: 'sg_invalid_0000000000000000000000' }, 77, /unauthorised/],
    ['no API key', ['customer', 'siem', 'show', 'cust_acme'], { SIEMGATE_TOKEN: '' }, 64, /--api-key/],
    ['an unknown customer', ['customer', 'siem', 'test', 'cust_nobody'], {}, 65, /customer cust_nobody has no SIEM integration/],
    ['an unreachable gateway', ['customer', 'siem', 'show', 'cust_acme', '--server', 'http://127.0.0.1:CLOSED'], {}, 69, /cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/],
    ['an unknown type', ['customer', 'siem', 'configure', 'cust_acme', '--type', 'qradar', '--url', 'https://x'], {}, 64, /--type must be one of/],
    ['an option of another type', ['customer', 'siem', 'configure', 'cust_acme', '--type', 'sentinel', '--index', 'x'], {}, 64, /--index does not apply to --type sentinel/],
    ['an unknown option', ['customer', 'siem', 'show', 'cust_acme', '--colour'], {}, 64, /colour/],
    ['a missing customer id', ['customer', 'siem', 'test'], {}, 64, /needs exactly one customer id/],
    ['a URL the gateway refuses', ['customer', 'siem', 'configure', 'cust_new', '--type', 'splunk', '--url', 'ftp://x/y', '--token', 't'], {}, 65, /config\.endpoint: must be an http or https URL, not ftp/],
  ])('%s: exit %s with a clear message', async (_label, args, extraEnv, exitCode, message) => {
    const closed = String(await closedPort());
    const { code, stderr } = await runCliInProcess((args as string[]).map((a) => a.replace('CLOSED', closed)), { SIEMGATE_URL: g.url, SIEMGATE_TOKEN: token, ...extraEnv });
    expect(code).toBe(exitCode);
    expect(stderr).toMatch(message);
  });

  it('a viewer key is unauthorised (77)', async () => {
    const viewer = await createKeyWithCli(g.env, 'mssp_partner', 'viewer');
    const { code, stderr } = await runCliInProcess(['customer', 'siem', 'show', 'cust_acme', '--mssp', 'mssp_partner'], { SIEMGATE_URL: g.url, SIEMGATE_TOKEN: viewer });
    expect(code).toBe(77);
    expect(stderr).toMatch(/forbidden: .*admin/);
  });
});

describe('every type of the document, configured with its own options', () => {
  let g: TestGateway;
  let siemgate: (...args: string[]) => ReturnType<typeof runCli>;
  let token: string;
  let sink: HttpReceiver;
  let collector: HttpReceiver;
  let udp: SyslogReceiver;

  beforeAll(async () => {
    ({ g, siemgate, token } = await setup());
    sink = await startHttpReceiver();
    collector = await startDataCollector();
    udp = await startUdpReceiver();
  });
  afterAll(async () => {
    await Promise.all([sink?.close(), collector?.close(), udp?.close()]);
    await g?.stop({ removeDatabase: true });
  });

  const configOf = async (type: string) => (await rest(g, 'GET', `/v1/settings/siem?customer_id=cust_acme&integration_type=${type}`, undefined, { token })).json[0]?.config;

  it('CrowdStrike Falcon LogScale', async () => {
    const { code } = await siemgate('customer', 'siem', 'configure', 'cust_acme', '--mssp', 'mssp_partner', '--type', 'crowdstrike', '--url', `${sink.url}/api/v1/ingest/hec`, '--token', 'your-ingest-token', '--repository', 'security');
    expect(code).toBe(0);
    expect(await configOf('crowdstrike')).toMatchObject({ endpoint: `${sink.url}/api/v1/ingest/hec`, has_token: true, repository: 'security' });
  });

  it('Microsoft Sentinel, whose test signs with the shared key', async () => {
    const { code, stderr } = await siemgate('customer', 'siem', 'configure', 'cust_acme', '--mssp', 'mssp_partner', '--type', 'sentinel', '--url', `${collector.url}/api/logs`, '--token', SHARED_KEY, '--workspace-id', WORKSPACE_ID, '--log-type', 'RaxeEvents');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(await configOf('sentinel')).toMatchObject({ api: 'data_collector', workspace_id: WORKSPACE_ID, log_type: 'RaxeEvents', has_shared_key: true });
    const tested = await siemgate('customer', 'siem', 'test', 'cust_acme', '--type', 'sentinel');
    expect(tested.code).toBe(0);
    expect(lines(tested.stdout)).toEqual(['Testing SIEM connection for cust_acme...', '✓ Connection successful (HTTP 200)', '✓ Authentication valid', '✓ Test event delivered']);
    expect(collector.requests.at(-1)!.headers['log-type']).toBe('RaxeEvents');
  });

  it('ArcSight', async () => {
    const { code } = await siemgate('customer', 'siem', 'configure', 'cust_acme', '--mssp', 'mssp_partner', '--type', 'arcsight', '--url', `${sink.url}/receiver/v1/events`, '--token', 'connector-token', '--smart-connector-id', 'sc-001', '--device-vendor', 'RAXE', '--device-product', 'ThreatDetection');
    expect(code).toBe(0);
    expect(await configOf('arcsight')).toMatchObject({ smart_connector_id: 'sc-001', device_vendor: 'RAXE', device_product: 'ThreatDetection', has_token: true });
  });

  it('CEF over HTTP, then over syslog UDP, then over TCP with TLS: one CEF integration for the customer, changed each time', async () => {
    expect((await siemgate('customer', 'siem', 'configure', 'cust_acme', '--mssp', 'mssp_partner', '--type', 'cef', '--url', `${sink.url}/cef`, '--token', 'bearer-token')).code).toBe(0);
    expect(await configOf('cef')).toMatchObject({ transport: 'http', endpoint: `${sink.url}/cef`, has_token: true });

    expect((await siemgate('customer', 'siem', 'configure', 'cust_acme', '--mssp', 'mssp_partner', '--type', 'cef', '--url', 'syslog://127.0.0.1', '--transport', 'udp', '--port', String(udp.port))).code).toBe(0);
    expect(await configOf('cef')).toMatchObject({ transport: 'udp', host: '127.0.0.1', port: udp.port, has_token: false });
    const tested = await siemgate('customer', 'siem', 'test', 'cust_acme', '--type', 'cef');
    expect(tested.code).toBe(0);
    expect(lines(tested.stdout)).toEqual(['Testing SIEM connection for cust_acme...', expect.stringMatching(/^✓ Connection successful \(.*127\.0\.0\.1.*\)$/), '✓ Test event delivered']);
    await udp.waitForFrames(1);
    expect(udp.frames[0]!.bytes.toString()).toContain('CEF:0|RAXE|ThreatDetection|');

    expect((await siemgate('customer', 'siem', 'configure', 'cust_acme', '--mssp', 'mssp_partner', '--type', 'cef', '--url', 'syslog://siem.company.com', '--transport', 'tcp', '--port', '6514', '--tls')).code).toBe(0);
    expect(await configOf('cef')).toMatchObject({ transport: 'tls', host: 'siem.company.com', port: 6514 });
    const show = lines((await siemgate('customer', 'siem', 'show', 'cust_acme', '--type', 'cef')).stdout);
    expect(show.slice(0, 5)).toEqual(['SIEM Configuration: cust_acme', 'Type: cef', 'URL: syslog://siem.company.com:6514', 'Transport: tls', 'Enabled: true']);
    expect((await rest(g, 'GET', '/v1/settings/siem?customer_id=cust_acme&integration_type=cef', undefined, { token })).json).toHaveLength(1);
  });

  it('show without --type prints one block per integration of the customer', async () => {
    const { code, stdout } = await siemgate('customer', 'siem', 'show', 'cust_acme', '--mssp', 'mssp_partner');
    expect(code).toBe(0);
    const types = lines(stdout).filter((l) => l.startsWith('Type: ')).sort();
    expect(types).toEqual(['Type: arcsight', 'Type: cef', 'Type: crowdstrike', 'Type: sentinel']);
    for (const secret of ['your-ingest-token', SHARED_KEY, 'connector-token', 'bearer-token']) expect(stdout).not.toContain(secret);
  });
});
