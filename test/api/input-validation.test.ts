import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_LOG, CREATE_INTEGRATION, UPDATE_INTEGRATION, createIntegration, firstError, storeSnapshot,
} from '../support/api.js';
import type { GqlResponse } from '../support/gateway.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { tlsFixtures } from '../support/tls-fixtures.js';

/**
 * Every field rule of the management API: each bad input is refused with BAD_USER_INPUT, the message names the
 * input path as the client wrote it (e.g. `input.config.splunk.endpoint`), and the store is unchanged (the same
 * integrations, every field equal, and not one new audit entry).
 */

const pki = tlsFixtures();
const WORKSPACE_ID = '2f0c5d7e-1b3a-4c5d-9e8f-0a1b2c3d4e5f';
const SHARED_KEY = Buffer.from('a-workspace-shared-key-of-32-byte').toString('base64');
const GUID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const LOGS_INGESTION = {
  dceEndpoint: 'https://siem-dce.eastus-1.ingest.monitor.azure.com', dcrImmutableId: `dcr-${'0123456789abcdef'.repeat(2)}`,
  streamName: 'Custom-SiemGate_CL', tenantId: GUID, clientId: GUID, clientSecret: 'entra-secret',
};
const VALID = {
  splunk: { endpoint: 'https://splunk.example.com:8088/services/collector/event', token: 'hec-token' },
  sentinel: { workspaceId: WORKSPACE_ID, sharedKey: SHARED_KEY },
  syslog: { host: 'syslog.example.com' },
  webhook: { endpoint: 'https://siem.example.com/api/events' },
  crowdstrike: { endpoint: 'https://cloud.community.humio.com/api/v1/ingest/hec', token: 'ingest-token' },
  arcsight: { endpoint: 'https://arcsight.example.com/receiver/v1/events', token: 'connector-token' },
  cef: { endpoint: 'https://collector.example.com/cef', token: 'cef-token' },
} as const;
type Member = keyof typeof VALID;

/** A create input that is valid except for what `patch` changes in `member`'s config (undefined removes a field). */
function withConfig(member: Member, patch: Record<string, unknown>, rest: Record<string, unknown> = {}) {
  const config: Record<string, unknown> = { ...VALID[member], ...patch };
  for (const [k, v] of Object.entries(config)) if (v === undefined) delete config[k];
  return { name: 'Valid name', config: { [member]: config }, ...rest };
}
const valid = (rest: Record<string, unknown>) => ({ name: 'Valid name', config: { syslog: VALID.syslog }, ...rest });

/** [what is wrong, the input, the path the message must name, a pattern the rest of the message must match] */
type Case = [string, Record<string, unknown>, string | RegExp, RegExp?];

const MISSING_REQUIRED: Case[] = [
  ['a missing name', { config: { syslog: VALID.syslog } }, 'input.name', /required/i],
  ['a missing config', { name: 'x' }, 'input.config', /required/i],
  ['a missing Splunk token', withConfig('splunk', { token: undefined }), 'input.config.splunk.token', /required/i],
  ['a missing Splunk endpoint', withConfig('splunk', { endpoint: undefined }), 'input.config.splunk.endpoint', /required/i],
  ['a missing syslog host', withConfig('syslog', { host: undefined, port: 514 }), 'input.config.syslog.host', /required/i],
  ['a missing webhook endpoint', withConfig('webhook', { endpoint: undefined, secret: 's' }), 'input.config.webhook.endpoint', /required/i],
  ['a missing CrowdStrike token', withConfig('crowdstrike', { token: undefined }), 'input.config.crowdstrike.token', /required/i],
  ['a missing ArcSight endpoint', withConfig('arcsight', { endpoint: undefined }), 'input.config.arcsight.endpoint', /required/i],
  ['a webhook header without a value', withConfig('webhook', { headers: [{ name: 'X-A' }] }), /input\.config\.webhook\.headers(\.0|\[0\])\.value/, /required/i],
];

const WRONG_TYPES: Case[] = [
  ['a number as the name', { name: 123, config: { syslog: VALID.syslog } }, 'input.name', /String/],
  ['a string as the syslog port', withConfig('syslog', { port: '514' }), 'input.config.syslog.port', /Int/],
  ['a fraction as the batch size', valid({ batching: { batchSize: 1.5 } }), 'input.batching.batchSize', /Int/],
  ['a string as enabled', valid({ enabled: 'yes' }), 'input.enabled', /Boolean/],
  ['an unknown syslog protocol', withConfig('syslog', { protocol: 'SCTP' }), 'input.config.syslog.protocol', /SyslogProtocol|SCTP/],
  ['an unknown CEF transport', withConfig('cef', { transport: 'HTTP2' }), 'input.config.cef.transport', /CefTransport|HTTP2/],
  ['an object as the Splunk token', withConfig('splunk', { token: { value: 'x' } }), 'input.config.splunk.token', /String/],
  ['a field that does not exist', withConfig('splunk', { password: 'x' }), 'input.config.splunk.password', /not a field|not defined/i],
];

const BAD_URLS: Case[] = [
  ['an ftp:// Splunk endpoint', withConfig('splunk', { endpoint: 'ftp://splunk.example.com/collector' }), 'input.config.splunk.endpoint', /http/],
  ['a Splunk endpoint that is not a URL', withConfig('splunk', { endpoint: 'splunk.example.com:8088' }), 'input.config.splunk.endpoint', /URL/],
  ['a relative Splunk endpoint', withConfig('splunk', { endpoint: '/services/collector/event' }), 'input.config.splunk.endpoint', /URL/],
  ['an empty Splunk endpoint', withConfig('splunk', { endpoint: '' }), 'input.config.splunk.endpoint', /URL/],
  ['a Splunk endpoint with credentials in it', withConfig('splunk', { endpoint: 'https://admin:hunter2@splunk.example.com/services/collector' }), 'input.config.splunk.endpoint', /credentials/],
  ['a file:// webhook endpoint', withConfig('webhook', { endpoint: 'file:///etc/passwd' }), 'input.config.webhook.endpoint', /http/],
  ['a javascript: webhook endpoint', withConfig('webhook', { endpoint: 'javascript:alert(1)' }), 'input.config.webhook.endpoint', /http/],
  ['a gopher:// CrowdStrike endpoint', withConfig('crowdstrike', { endpoint: 'gopher://humio.example.com/' }), 'input.config.crowdstrike.endpoint', /http/],
  ['an ArcSight endpoint that is not a URL', withConfig('arcsight', { endpoint: 'not a url' }), 'input.config.arcsight.endpoint', /URL/],
  ['a CEF endpoint with credentials in it', withConfig('cef', { endpoint: 'https://u:p@collector.example.com/cef' }), 'input.config.cef.endpoint', /credentials/],
  ['an ftp:// Sentinel endpoint', withConfig('sentinel', { endpoint: 'ftp://x.ods.opinsights.azure.com' }), 'input.config.sentinel.endpoint', /http/],
  ['a Sentinel DCE endpoint that is not a URL', { name: 'x', config: { sentinel: { ...LOGS_INGESTION, dceEndpoint: 'dce' } } }, 'input.config.sentinel.dceEndpoint', /URL/],
  ['an ftp:// Sentinel authority host', { name: 'x', config: { sentinel: { ...LOGS_INGESTION, authorityHost: 'ftp://login.example.com' } } }, 'input.config.sentinel.authorityHost', /http/],
];

const BAD_NUMBERS: Case[] = [
  ['syslog port 0', withConfig('syslog', { port: 0 }), 'input.config.syslog.port', /1.*65535/],
  ['syslog port 70000', withConfig('syslog', { port: 70000 }), 'input.config.syslog.port', /1.*65535/],
  ['syslog port -1', withConfig('syslog', { port: -1 }), 'input.config.syslog.port', /1.*65535/],
  ['CEF port 0', { name: 'x', config: { cef: { transport: 'UDP', host: 'siem.example.com', port: 0 } } }, 'input.config.cef.port', /1.*65535/],
  ['CEF port 70000', { name: 'x', config: { cef: { transport: 'TCP', host: 'siem.example.com', port: 70000 } } }, 'input.config.cef.port', /1.*65535/],
  ['batch size 0', valid({ batching: { batchSize: 0 } }), 'input.batching.batchSize', /1.*10000/],
  ['batch size 10001', valid({ batching: { batchSize: 10001 } }), 'input.batching.batchSize', /1.*10000/],
  ['flush interval 0', valid({ batching: { flushIntervalSeconds: 0 } }), 'input.batching.flushIntervalSeconds', /1.*3600/],
  ['flush interval 3601', valid({ batching: { flushIntervalSeconds: 3601 } }), 'input.batching.flushIntervalSeconds', /1.*3600/],
  ['retry count -1', valid({ batching: { retryCount: -1 } }), 'input.batching.retryCount', /0.*20/],
  ['retry count 21', valid({ batching: { retryCount: 21 } }), 'input.batching.retryCount', /0.*20/],
  ['batching timeout 0', valid({ batching: { timeoutSeconds: 0 } }), 'input.batching.timeoutSeconds', /1.*300/],
  ['batching timeout 301', valid({ batching: { timeoutSeconds: 301 } }), 'input.batching.timeoutSeconds', /1.*300/],
  ['a Splunk request timeout of 0', withConfig('splunk', { timeoutSeconds: 0 }), 'input.config.splunk.timeoutSeconds', /1.*300/],
  ['a webhook request timeout of 301', withConfig('webhook', { timeoutSeconds: 301 }), 'input.config.webhook.timeoutSeconds', /1.*300/],
];

const BAD_SYSLOG: Case[] = [
  ['an unknown facility', withConfig('syslog', { facility: 'local9' }), 'input.config.syslog.facility', /facility/],
  ['a made-up facility name', withConfig('syslog', { facility: 'kernel-panic' }), 'input.config.syslog.facility', /facility/],
  ['facility code 24', withConfig('syslog', { facility: '24' }), 'input.config.syslog.facility', /facility/],
  ['an unknown CEF facility', { name: 'x', config: { cef: { transport: 'UDP', host: 'siem.example.com', facility: 'nope' } } }, 'input.config.cef.facility', /facility/],
  ['a syslog host with a space', withConfig('syslog', { host: 'syslog example.com' }), 'input.config.syslog.host', /host/],
  ['a syslog host with a scheme', withConfig('syslog', { host: 'tcp://syslog.example.com' }), 'input.config.syslog.host', /host/],
  ['an empty syslog host', withConfig('syslog', { host: '' }), 'input.config.syslog.host', /empty|host/],
  ['a syslog host of 254 characters', withConfig('syslog', { host: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}` }), 'input.config.syslog.host', /253|host/],
  ['TLS settings with protocol TCP', withConfig('syslog', { protocol: 'TCP', tls: { caCert: pki.caCert } }), 'input.config.syslog.tls', /TLS/],
  ['TLS settings with the default protocol', withConfig('syslog', { tls: { caCert: pki.caCert } }), 'input.config.syslog.tls', /TLS/],
];

const BAD_WEBHOOK_HEADERS: Case[] = [
  ['a header name with a space', withConfig('webhook', { headers: [{ name: 'X Custom', value: 'v' }] }), /input\.config\.webhook\.headers(\.0|\[0\])\.name/, /header name/i],
  ['a header name with a colon', withConfig('webhook', { headers: [{ name: 'X-A:', value: 'v' }] }), /input\.config\.webhook\.headers(\.0|\[0\])\.name/, /header name/i],
  ['an empty header name', withConfig('webhook', { headers: [{ name: '', value: 'v' }] }), /input\.config\.webhook\.headers(\.0|\[0\])\.name/, /header name/i],
  ['the reserved header Content-Length', withConfig('webhook', { headers: [{ name: 'content-length', value: '0' }] }), /input\.config\.webhook\.headers(\.0|\[0\])\.name/, /gateway/],
  ['the reserved header Host', withConfig('webhook', { headers: [{ name: 'Host', value: 'evil.example.com' }] }), /input\.config\.webhook\.headers(\.0|\[0\])\.name/, /gateway/],
  ['the signature header X-ARX-Signature', withConfig('webhook', { headers: [{ name: 'X-ARX-Signature', value: 'sha256=00' }] }), /input\.config\.webhook\.headers(\.0|\[0\])\.name/, /gateway/],
  ['a header value with CR LF', withConfig('webhook', { headers: [{ name: 'X-A', value: 'v\r\nX-Injected: 1' }] }), /input\.config\.webhook\.headers(\.0|\[0\])\.value/, /line break/],
  ['a header value with a bare LF', withConfig('webhook', { headers: [{ name: 'X-A', value: 'v\nX-Injected: 1' }] }), /input\.config\.webhook\.headers(\.0|\[0\])\.value/, /line break/],
  ['the same header twice', withConfig('webhook', { headers: [{ name: 'X-A', value: '1' }, { name: 'x-a', value: '2' }] }), /input\.config\.webhook\.headers(\.1|\[1\])\.name/, /duplicate/i],
  ['51 headers', withConfig('webhook', { headers: Array.from({ length: 51 }, (_, i) => ({ name: `X-H${i}`, value: 'v' })) }), 'input.config.webhook.headers', /50/],
];

const BAD_SENTINEL: Case[] = [
  ['a Data Collector config without the shared key', { name: 'x', config: { sentinel: { workspaceId: WORKSPACE_ID, logType: 'RaxeEvents' } } }, 'input.config.sentinel.sharedKey', /sharedKey/],
  ['a Data Collector config without the workspace id', { name: 'x', config: { sentinel: { sharedKey: SHARED_KEY } } }, 'input.config.sentinel.workspaceId', /workspaceId/],
  ['an empty Sentinel config', { name: 'x', config: { sentinel: {} } }, 'input.config.sentinel.', /workspaceId.*sharedKey|sharedKey.*workspaceId/],
  ['a Logs Ingestion config without the client secret', { name: 'x', config: { sentinel: { ...LOGS_INGESTION, clientSecret: undefined } } }, 'input.config.sentinel.clientSecret', /clientSecret/],
  ['a Logs Ingestion config with only the DCE', { name: 'x', config: { sentinel: { dceEndpoint: LOGS_INGESTION.dceEndpoint } } }, 'input.config.sentinel.', /dcrImmutableId.*streamName.*tenantId.*clientId.*clientSecret/s],
  ['fields of both Sentinel APIs at once', { name: 'x', config: { sentinel: { workspaceId: WORKSPACE_ID, sharedKey: SHARED_KEY, dceEndpoint: LOGS_INGESTION.dceEndpoint } } }, 'input.config.sentinel.dceEndpoint', /other Sentinel API/],
  ['a workspace id that is not a GUID', withConfig('sentinel', { workspaceId: 'my-workspace' }), 'input.config.sentinel.workspaceId', /GUID/],
  ['a shared key that is not base64', withConfig('sentinel', { sharedKey: 'not base64!' }), 'input.config.sentinel.sharedKey', /base64/],
  ['a shared key that is too short', withConfig('sentinel', { sharedKey: 'YWJj' }), 'input.config.sentinel.sharedKey', /16 bytes/],
  ['a log type with a dash', withConfig('sentinel', { logType: 'Raxe-Events' }), 'input.config.sentinel.logType', /letters/],
  ['a malformed DCR immutable id', { name: 'x', config: { sentinel: { ...LOGS_INGESTION, dcrImmutableId: 'dcr-xyz' } } }, 'input.config.sentinel.dcrImmutableId', /dcr-/],
  ['a stream name without Custom- or Microsoft-', { name: 'x', config: { sentinel: { ...LOGS_INGESTION, streamName: 'SiemGate_CL' } } }, 'input.config.sentinel.streamName', /Custom-/],
  ['a tenant that is neither a GUID nor a domain', { name: 'x', config: { sentinel: { ...LOGS_INGESTION, tenantId: 'contoso' } } }, 'input.config.sentinel.tenantId', /tenant/],
];

const BAD_CEF: Case[] = [
  ['CEF over HTTP without an endpoint', { name: 'x', config: { cef: { token: 't' } } }, 'input.config.cef.endpoint', /HTTP/],
  ['CEF over UDP without a host', { name: 'x', config: { cef: { transport: 'UDP', port: 514 } } }, 'input.config.cef.host', /UDP/],
  ['CEF over TLS without a host', { name: 'x', config: { cef: { transport: 'TLS' } } }, 'input.config.cef.host', /TLS/],
  ['CEF over UDP with an endpoint', { name: 'x', config: { cef: { transport: 'UDP', host: 'siem.example.com', endpoint: 'https://x.example.com' } } }, 'input.config.cef.endpoint', /HTTP/],
  ['CEF over TCP with a token', { name: 'x', config: { cef: { transport: 'TCP', host: 'siem.example.com', token: 't' } } }, 'input.config.cef.token', /HTTP/],
  ['CEF over HTTP with a syslog host', withConfig('cef', { host: 'siem.example.com' }), 'input.config.cef.host', /UDP|TCP|TLS/],
  ['CEF over UDP with TLS settings', { name: 'x', config: { cef: { transport: 'UDP', host: 'siem.example.com', tls: { caCert: pki.caCert } } } }, 'input.config.cef.tls', /TLS/],
  ['an empty ArcSight device vendor', withConfig('arcsight', { deviceVendor: '' }), 'input.config.arcsight.deviceVendor', /empty/],
  ['an ArcSight device product of 64 characters', withConfig('arcsight', { deviceProduct: 'p'.repeat(64) }), 'input.config.arcsight.deviceProduct', /63/],
];

const BAD_TLS: Case[] = [
  ['a CA certificate that is not PEM', withConfig('splunk', { tls: { caCert: 'not a certificate' } }), 'input.config.splunk.tls.caCert', /PEM/],
  ['a private key given as the CA certificate', withConfig('splunk', { tls: { caCert: pki.clientKey } }), 'input.config.splunk.tls.caCert', /PEM/],
  ['a truncated PEM certificate', withConfig('webhook', { tls: { caCert: pki.caCert.slice(0, 120) } }), 'input.config.webhook.tls.caCert', /PEM/],
  ['a client key that is not PEM', withConfig('splunk', { tls: { clientCert: pki.clientCert, clientKey: 'not a key' } }), 'input.config.splunk.tls.clientKey', /PEM/],
  ['a client certificate without its key', withConfig('splunk', { tls: { clientCert: pki.clientCert } }), 'input.config.splunk.tls.clientKey', /together/],
  ['a client key without its certificate', withConfig('crowdstrike', { tls: { clientKey: pki.clientKey } }), 'input.config.crowdstrike.tls.clientCert', /together/],
  ['a client certificate without its key for syslog TLS', withConfig('syslog', { protocol: 'TLS', tls: { clientCert: pki.clientCert } }), 'input.config.syslog.tls.clientKey', /together/],
];

const BAD_TEXT: Case[] = [
  ['a name of 201 characters', { name: 'n'.repeat(201), config: { syslog: VALID.syslog } }, 'input.name', /200/],
  ['an empty name', { name: '', config: { syslog: VALID.syslog } }, 'input.name', /empty/],
  ['a blank name', { name: '   ', config: { syslog: VALID.syslog } }, 'input.name', /blank/],
  ['a name with a line break', { name: 'two\nlines', config: { syslog: VALID.syslog } }, 'input.name', /single line/],
  ['a customerId with a space', valid({ customerId: 'cust acme' }), 'input.customerId', /letters, digits/],
  ['a customerId with a slash', valid({ customerId: 'cust/../acme' }), 'input.customerId', /letters, digits/],
  ['a customerId with a non-ASCII letter', valid({ customerId: 'cüst' }), 'input.customerId', /letters, digits/],
  ['an empty customerId', valid({ customerId: '' }), 'input.customerId', /empty/],
  ['a customerId of 129 characters', valid({ customerId: 'c'.repeat(129) }), 'input.customerId', /128/],
  ['an empty Splunk token', withConfig('splunk', { token: '' }), 'input.config.splunk.token', /empty/],
  ['a Splunk token with surrounding spaces', withConfig('splunk', { token: ' hec-token ' }), 'input.config.splunk.token', /whitespace/],
  ['a Splunk token with a line break', withConfig('splunk', { token: 'hec\ntoken' }), 'input.config.splunk.token', /single line/],
  ['a Splunk index with a line break', withConfig('splunk', { index: 'sec\nurity' }), 'input.config.splunk.index', /single line/],
  ['a Splunk source of 256 characters', withConfig('splunk', { source: 's'.repeat(256) }), 'input.config.splunk.source', /255/],
];

const ONE_OF: Case[] = [
  ['two destinations at once', { name: 'x', config: { splunk: VALID.splunk, syslog: VALID.syslog } }, 'input.config', /exactly one/],
  ['no destination at all', { name: 'x', config: {} }, 'input.config', /exactly one/],
  ['a destination given as null', { name: 'x', config: { splunk: null } }, 'input.config', /exactly one|null/],
];

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
  // Something to compare against: a store that is not empty.
  await createIntegration(g, { name: 'Existing', config: { splunk: VALID.splunk } });
});
afterAll(async () => {
  await g?.stop({ removeDatabase: true });
});

/** The response is a BAD_USER_INPUT error whose message names `path` and matches `rule`; no data came back. */
function expectBadUserInput(res: GqlResponse<any>, path: string | RegExp, rule?: RegExp) {
  const error = firstError(res);
  expect(error.extensions?.code, error.message).toBe('BAD_USER_INPUT');
  if (typeof path === 'string') expect(error.message).toContain(path);
  else expect(error.message).toMatch(path);
  if (rule) expect(error.message).toMatch(rule);
  expect(Object.values(res.data ?? {}).filter((v) => v !== null)).toEqual([]);
}

describe.each([
  ['missing required fields', MISSING_REQUIRED],
  ['wrong types', WRONG_TYPES],
  ['bad URLs', BAD_URLS],
  ['numbers out of range', BAD_NUMBERS],
  ['syslog rules', BAD_SYSLOG],
  ['webhook header rules', BAD_WEBHOOK_HEADERS],
  ['Sentinel rules', BAD_SENTINEL],
  ['CEF and ArcSight rules', BAD_CEF],
  ['TLS rules', BAD_TLS],
  ['text rules', BAD_TEXT],
  ['@oneOf', ONE_OF],
])('createSiemIntegration refuses %s', (_group, cases) => {
  it.each(cases)('refuses %s (BAD_USER_INPUT naming the field) and stores nothing', async (_label, input, path, rule) => {
    const before = await storeSnapshot(g);
    const res = await g.gql(CREATE_INTEGRATION, { input });
    expectBadUserInput(res, path, rule);
    expect(await storeSnapshot(g)).toEqual(before);
  });
});

describe('createSiemIntegration accepts the limits themselves', () => {
  it.each([
    ['batch size 1 and 10000', [valid({ batching: { batchSize: 1 } }), valid({ batching: { batchSize: 10000 } })], (i: any) => i.batching.batchSize, [1, 10000]],
    ['ports 1 and 65535', [withConfig('syslog', { port: 1 }), withConfig('syslog', { port: 65535 })], (i: any) => i.config.port, [1, 65535]],
    ['retry count 0 and 20', [valid({ batching: { retryCount: 0 } }), valid({ batching: { retryCount: 20 } })], (i: any) => i.batching.retryCount, [0, 20]],
    ['a name of 200 characters', [{ name: 'n'.repeat(200), config: { syslog: VALID.syslog } }], (i: any) => i.name.length, [200]],
    ['a customerId of 128 characters using every allowed sign', [valid({ customerId: `a._:@-${'c'.repeat(122)}` })], (i: any) => i.customerId.length, [128]],
    ['facility code 23 (stored as its name)', [withConfig('syslog', { facility: '23' })], (i: any) => i.config.facility, ['local7']],
    ['a facility name in capitals (stored in lower case)', [withConfig('syslog', { facility: 'LOCAL3' })], (i: any) => i.config.facility, ['local3']],
    ['an IPv6 syslog host', [withConfig('syslog', { host: '2001:db8::10' })], (i: any) => i.config.host, ['2001:db8::10']],
    ['a header name made of every token sign', [withConfig('webhook', { headers: [{ name: "X-!#$%&'*+.^_`|~1", value: 'v' }] })], (i: any) => i.config.headerNames[0], ["X-!#$%&'*+.^_`|~1"]],
  ])('accepts %s', async (_label, inputs, pick, expected) => {
    const got = [];
    for (const input of inputs as Record<string, unknown>[]) got.push(pick(await createIntegration(g, input)));
    expect(got).toEqual(expected);
  });
});

describe('literal (inline) inputs in the query text', () => {
  it.each([
    ['port 0', 'createSiemIntegration(input: { name: "x", config: { syslog: { host: "syslog.example.com", port: 0 } } }) { id }', 'input.config.syslog.port', /65535/],
    ['a missing host', 'createSiemIntegration(input: { name: "x", config: { syslog: { port: 514 } } }) { id }', 'input.config.syslog.host', /required/i],
    ['a string as the port', 'createSiemIntegration(input: { name: "x", config: { syslog: { host: "h.example.com", port: "514" } } }) { id }', 'input.config.syslog.port', /Int/],
    ['an unknown protocol', 'createSiemIntegration(input: { name: "x", config: { syslog: { host: "h.example.com", protocol: SCTP } } }) { id }', 'input.config.syslog.protocol', /SyslogProtocol|SCTP/],
    ['two oneOf members', 'createSiemIntegration(input: { name: "x", config: { syslog: { host: "h.example.com" }, webhook: { endpoint: "https://x.example.com" } } }) { id }', 'input.config', /exactly one/],
    ['an ftp:// endpoint', 'createSiemIntegration(input: { name: "x", config: { webhook: { endpoint: "ftp://x.example.com" } } }) { id }', 'input.config.webhook.endpoint', /http/],
    ['batch size 0', 'createSiemIntegration(input: { name: "x", batching: { batchSize: 0 }, config: { syslog: { host: "h.example.com" } } }) { id }', 'input.batching.batchSize', /10000/],
  ])('refuses %s written inline, naming the field', async (_label, selection, path, rule) => {
    const before = await storeSnapshot(g);
    expectBadUserInput(await g.gql(`mutation { ${selection} }`), path, rule);
    expect(await storeSnapshot(g)).toEqual(before);
  });
});

describe('updateSiemIntegration refuses bad fields and changes nothing', () => {
  const targets: Record<string, any> = {};
  beforeAll(async () => {
    targets.splunk = await createIntegration(g, { name: 'Update target', customerId: 'cust_a', config: { splunk: { ...VALID.splunk, index: 'main' } } });
    targets.syslog = await createIntegration(g, { name: 'Syslog target', config: { syslog: VALID.syslog } });
    targets.webhook = await createIntegration(g, { name: 'Webhook target', config: { webhook: { ...VALID.webhook, headers: [{ name: 'X-A', value: '1' }] } } });
    targets.cef = await createIntegration(g, { name: 'CEF target', config: { cef: VALID.cef } });
    targets.sentinel = await createIntegration(g, { name: 'Sentinel target', config: { sentinel: VALID.sentinel } });
  });

  it.each([
    ['an ftp:// endpoint next to a valid name', 'splunk', { name: 'Renamed', config: { splunk: { endpoint: 'ftp://splunk.example.com' } } }, 'input.config.splunk.endpoint', /http/],
    ['an empty token', 'splunk', { config: { splunk: { token: '' } } }, 'input.config.splunk.token', /empty/],
    ['port 0', 'syslog', { config: { syslog: { port: 0 } } }, 'input.config.syslog.port', /65535/],
    ['port 70000', 'syslog', { config: { syslog: { port: 70000 } } }, 'input.config.syslog.port', /65535/],
    ['an unknown facility', 'syslog', { config: { syslog: { facility: 'local8' } } }, 'input.config.syslog.facility', /facility/],
    ['TLS settings while the protocol stays TCP', 'syslog', { config: { syslog: { tls: { caCert: pki.caCert } } } }, 'input.config.syslog.tls', /TLS/],
    ['batch size 0', 'splunk', { batching: { batchSize: 0 } }, 'input.batching.batchSize', /10000/],
    ['batch size 10001 next to a valid retry count', 'splunk', { batching: { batchSize: 10001, retryCount: 5 } }, 'input.batching.batchSize', /10000/],
    ['an empty name', 'splunk', { name: '' }, 'input.name', /empty/],
    ['a name of 201 characters', 'splunk', { name: 'n'.repeat(201) }, 'input.name', /200/],
    ['a customerId with bad characters', 'splunk', { customerId: 'cust acme' }, 'input.customerId', /letters, digits/],
    ['a client certificate without a key', 'splunk', { config: { splunk: { tls: { clientCert: pki.clientCert } } } }, 'input.config.splunk.tls.clientKey', /together/],
    ['a bad PEM CA', 'splunk', { config: { splunk: { tls: { caCert: '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----' } } } }, 'input.config.splunk.tls.caCert', /PEM/],
    ['a header value with CR LF', 'webhook', { config: { webhook: { headers: [{ name: 'X-A', value: 'a\r\nb' }] } } }, /input\.config\.webhook\.headers(\.0|\[0\])\.value/, /line break/],
    ['a reserved header', 'webhook', { config: { webhook: { headers: [{ name: 'Content-Length', value: '1' }] } } }, /input\.config\.webhook\.headers(\.0|\[0\])\.name/, /gateway/],
    ['a switch to UDP without a host', 'cef', { config: { cef: { transport: 'UDP' } } }, 'input.config.cef.host', /UDP/],
    ['a Logs Ingestion field on a Data Collector integration, incomplete', 'sentinel', { config: { sentinel: { dceEndpoint: LOGS_INGESTION.dceEndpoint } } }, 'input.config.sentinel.', /dcrImmutableId/],
    ['a different type', 'splunk', { config: { syslog: { host: 'syslog.example.com' } } }, 'input.config.syslog', /type/],
    ['two oneOf members', 'splunk', { config: { splunk: { index: 'x' }, syslog: { port: 1 } } }, 'input.config', /exactly one/],
    ['no oneOf member', 'splunk', { config: {} }, 'input.config', /exactly one/],
    ['a field that does not exist', 'splunk', { config: { splunk: { password: 'x' } } }, 'input.config.splunk.password', /not a field|not defined/i],
  ])('refuses %s', async (_label, target, input, path, rule) => {
    const before = await storeSnapshot(g);
    const res = await g.gql(UPDATE_INTEGRATION, { id: targets[target].id, input });
    expectBadUserInput(res, path, rule);
    expect(await storeSnapshot(g)).toEqual(before);
  });

  it('refuses an inline bad batch size in an update', async () => {
    const before = await storeSnapshot(g);
    const res = await g.gql(`mutation { updateSiemIntegration(id: "${targets.splunk.id}", input: { batching: { batchSize: 0 } }) { id } }`);
    expectBadUserInput(res, 'input.batching.batchSize', /10000/);
    expect(await storeSnapshot(g)).toEqual(before);
  });
});

describe('other arguments', () => {
  it.each([
    ['first: 0', { first: 0 }, 'first'],
    ['first: 501', { first: 501 }, 'first'],
    ['an after cursor that no page handed out', { after: 'not-a-cursor' }, 'after'],
  ])('auditLog refuses %s with BAD_USER_INPUT naming the argument', async (_label, variables, name) => {
    const error = firstError(await g.gql(AUDIT_LOG, variables));
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain(name);
  });

  it.each([
    ['an empty key name', { name: '', role: 'VIEWER' }, 'input.name'],
    ['an unknown role', { name: 'k', role: 'ROOT' }, 'input.role'],
  ])('createApiKey refuses %s and creates no key', async (_label, input, path) => {
    const keys = await g.gql('{ apiKeys { id } }');
    const res = await g.gql('mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token } }', { input });
    expectBadUserInput(res, path);
    expect(await g.gql('{ apiKeys { id } }')).toEqual(keys);
  });
});
