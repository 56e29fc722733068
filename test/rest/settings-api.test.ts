import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntries, dataOf, startHecReceiver, testEventRequests } from '../support/api.js';
import { startStreamReceiver } from '../support/syslog-receivers.js';
import { STATUS_SUBSCRIPTION, connectWs, ingest, untilStatusSubscribed, waitFor } from '../support/delivery.js';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startHttpReceiver } from '../support/http-receiver.js';
import { SHARED_KEY, WORKSPACE_ID, arxSignature, keyFor, rest, startDataCollector } from '../support/rest.js';

/**
 * The REST API of the first product document (/v1/settings/siem), against a real gateway and real
 * receivers: its JSON examples posted as written (only addresses, and the Sentinel placeholders that are
 * not a GUID and a base64 key, replaced), each documented answer, and every error rule.
 */

const BASE = '/v1/settings/siem';
let g: TestGateway;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await g?.stop({ removeDatabase: true });
});

async function splunkBody(overrides: Record<string, unknown> = {}) {
  const hec = await startHecReceiver('your-hec-token');
  closers.push(() => hec.close());
  return {
    hec,
    body: {
      integration_type: 'splunk',
      name: 'Production Splunk',
      config: { endpoint: `${hec.url}/services/collector`, token: 'your-hec-token', index: 'arxsec', source: 'arxsec-api', sourcetype: '_json' },
      enabled: true,
      ...overrides,
    },
  };
}

describe('the documented examples, posted as written', () => {
  it('Splunk, Sentinel, syslog and webhook: each answers 201 with the integration, never a secret, and each delivers', async () => {
    const hec = await startHecReceiver('your-hec-token');
    const collector = await startDataCollector();
    const syslog = await startStreamReceiver();
    const webhook = await startHttpReceiver(() => ({ status: 200, body: '{}' }));
    closers.push(() => hec.close(), () => collector.close(), () => syslog.close(), () => webhook.close());

    // The documentation's bodies; only the addresses point at the local receivers.
    const splunk = await rest(g, 'POST', BASE, {
      integration_type: 'splunk',
      name: 'Splunk HEC',
      config: { endpoint: `${hec.url}/services/collector`, token: 'your-hec-token', index: 'arxsec', source: 'arxsec-api', sourcetype: '_json' },
    });
    const sentinel = await rest(g, 'POST', BASE, {
      integration_type: 'sentinel',
      name: 'Azure Sentinel',
      config: { workspace_id: WORKSPACE_ID, shared_key: SHARED_KEY, log_type: 'ARXSecAudit', endpoint: collector.url },
    });
    const sys = await rest(g, 'POST', BASE, {
      integration_type: 'syslog',
      name: 'Syslog CEF',
      config: { host: '127.0.0.1', port: syslog.port, protocol: 'tcp', facility: 'local0' },
    });
    const hook = await rest(g, 'POST', BASE, {
      integration_type: 'webhook',
      name: 'Custom SIEM Webhook',
      config: { endpoint: `${webhook.url}/api/events`, secret: 'your-hmac-secret', headers: { 'X-Custom-Header': 'custom-value' } },
    });
    for (const answer of [splunk, sentinel, sys, hook]) {
      expect(answer.status, answer.text).toBe(201);
      expect(answer.headers.get('location')).toBe(`${BASE}/${answer.json.id}`);
      for (const secret of ['your-hec-token', SHARED_KEY, 'your-hmac-secret', 'custom-value']) expect(answer.text).not.toContain(secret);
      expect(answer.json).toMatchObject({ enabled: true, error_count: 0, last_error: null, last_event_at: null, customer_id: null, health: 'unknown' });
      expect(Date.parse(answer.json.created_at)).not.toBeNaN();
      expect(answer.json.updated_at).toBe(answer.json.created_at);
    }
    expect(splunk.json).toMatchObject({
      integration_type: 'splunk',
      name: 'Splunk HEC',
      config: { endpoint: `${hec.url}/services/collector`, has_token: true, index: 'arxsec', source: 'arxsec-api', sourcetype: '_json' },
    });
    expect(sentinel.json).toMatchObject({
      integration_type: 'sentinel',
      config: { api: 'data_collector', workspace_id: WORKSPACE_ID, has_shared_key: true, log_type: 'ARXSecAudit' },
    });
    expect(sys.json).toMatchObject({ integration_type: 'syslog', config: { host: '127.0.0.1', port: syslog.port, protocol: 'tcp', facility: 'local0' } });
    expect(hook.json).toMatchObject({ integration_type: 'webhook', config: { has_secret: true, has_headers: true, header_names: ['X-Custom-Header'] } });

    // One event reaches all four, in each SIEM's own wire format.
    const id = randomUUID();
    await ingest(g.url, [{ id, type: 'agent.deployed', name: 'Agent Deployed', severity: 'MEDIUM', sourceIp: '10.0.0.1' }]);
    const carries = (body: Buffer) => body.toString('utf8').includes(id);
    await waitFor(() => hec.requests.some((r) => carries(r.body)) && collector.requests.some((r) => carries(r.body)) && webhook.requests.some((r) => carries(r.body)) && syslog.texts().some((f) => f.includes(id)), {
      message: 'the event at all four receivers',
    });
    const hecBody = hec.requests.find((r) => carries(r.body))!.body.toString('utf8');
    expect(hecBody).toContain('"index":"arxsec"');
    expect(hecBody).toContain('"source":"arxsec-api"');
    expect(collector.requests.find((r) => carries(r.body))!.headers['log-type']).toBe('ARXSecAudit');
    const delivered = webhook.requests.find((r) => carries(r.body))!;
    expect(delivered.headers['x-arx-signature']).toBe(arxSignature('your-hmac-secret', delivered.body));
    expect(delivered.headers['x-custom-header']).toBe('custom-value');
    expect(syslog.texts().find((f) => f.includes(id))).toMatch(/CEF:0\|.*externalId=/);

    // Error tracking shows the deliveries (last_event_at set, error_count 0).
    await waitFor(async () => (await rest(g, 'GET', BASE)).json.every((i: any) => i.last_event_at !== null && i.error_count === 0), { message: 'last_event_at on all' });
  }, 40_000);

  it('the Sentinel example exactly as written is refused: its placeholders are not a workspace GUID nor a base64 key', async () => {
    const answer = await rest(g, 'POST', BASE, {
      integration_type: 'sentinel',
      name: 'Azure Sentinel',
      config: { workspace_id: 'your-workspace-id', shared_key: 'your-shared-key', log_type: 'ARXSecAudit' },
    });
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('BAD_USER_INPUT');
    expect(answer.json.error.message).toMatch(/^config\.workspace_id: must be a GUID/);
    expect(answer.json.error.message).toContain('config.shared_key: must be base64');
  });
});

describe('each documented answer', () => {
  it('GET lists the organisation\'s integrations (200, an array), filtered by customer_id and integration_type', async () => {
    const { body } = await splunkBody({ customer_id: 'cust_list' });
    const created = await rest(g, 'POST', BASE, body);
    const all = await rest(g, 'GET', BASE);
    expect(all.status).toBe(200);
    expect(Array.isArray(all.json)).toBe(true);
    expect(all.json.map((i: any) => i.id)).toContain(created.json.id);
    const mine = await rest(g, 'GET', `${BASE}?customer_id=cust_list&integration_type=splunk`);
    expect(mine.json.map((i: any) => i.id)).toEqual([created.json.id]);
    expect((await rest(g, 'GET', `${BASE}?integration_type=webhook&customer_id=cust_list`)).json).toEqual([]);
  });

  it('PUT is a partial update (200): only the given fields change, the token is kept', async () => {
    const { hec, body } = await splunkBody();
    const created = (await rest(g, 'POST', BASE, body)).json;
    const updated = await rest(g, 'PUT', `${BASE}/${created.id}`, { config: { index: 'security' } });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ id: created.id, name: 'Production Splunk', config: { index: 'security', source: 'arxsec-api', has_token: true } });
    expect(Date.parse(updated.json.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.updated_at));
    // The kept token still works.
    expect((await rest(g, 'POST', `${BASE}/${created.id}/test`)).json).toEqual({ success: true, message: 'Test event sent successfully' });
    expect(testEventRequests(hec)).toHaveLength(1);

    const renamed = await rest(g, 'PUT', `${BASE}/${created.id}`, { name: 'Renamed', enabled: false, batching: { batch_size: 50 } });
    expect(renamed.json).toMatchObject({ name: 'Renamed', enabled: false, health: 'disabled', config: { index: 'security' }, batching: { batch_size: 50, flush_interval_seconds: 10 } });
  });

  it('POST …/test answers 200 {"success": true, "message": "Test event sent successfully"} and sends one test event', async () => {
    const { hec, body } = await splunkBody();
    const created = (await rest(g, 'POST', BASE, body)).json;
    const answer = await rest(g, 'POST', `${BASE}/${created.id}/test`);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ success: true, message: 'Test event sent successfully' });
    expect(testEventRequests(hec)).toHaveLength(1);
    expect((await rest(g, 'GET', `${BASE}/${created.id}`)).json).toMatchObject({ error_count: 0, last_error: null, health: 'healthy' });
  });

  it('a failing test answers 200 {"success": false, "message": "Connection test failed: <details>"} and counts the error', async () => {
    const { body } = await splunkBody();
    body.config = { ...body.config, token: 'wrong-token' };
    const created = (await rest(g, 'POST', BASE, body)).json;
    const answer = await rest(g, 'POST', `${BASE}/${created.id}/test`);
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.json).sort()).toEqual(['message', 'success']);
    expect(answer.json.success).toBe(false);
    expect(answer.json.message).toMatch(/^Connection test failed: .*403/);
    expect(answer.text).not.toContain('wrong-token');
    const after = (await rest(g, 'GET', `${BASE}/${created.id}`)).json;
    expect(after).toMatchObject({ error_count: 1, health: 'degraded', last_error: answer.json.message });
  });

  it('DELETE answers 204 No Content with an empty body; the id is gone', async () => {
    const { body } = await splunkBody();
    const created = (await rest(g, 'POST', BASE, body)).json;
    const answer = await rest(g, 'DELETE', `${BASE}/${created.id}`);
    expect(answer.status).toBe(204);
    expect(answer.text).toBe('');
    expect((await rest(g, 'GET', `${BASE}/${created.id}`)).status).toBe(404);
    expect((await rest(g, 'DELETE', `${BASE}/${created.id}`)).status).toBe(404);
  });

  it('changes made over REST are the same changes as over GraphQL: visible there, audited with secrets redacted', async () => {
    const { body } = await splunkBody();
    const created = (await rest(g, 'POST', BASE, body)).json;
    await rest(g, 'PUT', `${BASE}/${created.id}`, { config: { token: 'rotated-token' } });
    const viaGraphql = dataOf(await g.gql('query($id: ID!) { siemIntegration(id: $id) { type name config { ... on SplunkConfig { index source hasToken } } } }', { id: created.id }));
    expect(viaGraphql.siemIntegration).toEqual({ type: 'SPLUNK', name: 'Production Splunk', config: { index: 'arxsec', source: 'arxsec-api', hasToken: true } });
    const audit = (await auditEntries(g)).filter((e) => e.targetId === created.id);
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['siem.integration.created', 'siem.integration.updated']));
    expect(audit.every((e) => e.actorName === 'bootstrap')).toBe(true);
    expect(JSON.stringify(audit)).not.toMatch(/your-hec-token|rotated-token/);
    expect(JSON.stringify(audit)).toContain('[REDACTED]');
  });

  it('a REST change reaches live status subscribers as a GraphQL change does (siemIntegrationStatus)', async () => {
    const { body } = await splunkBody();
    const created = (await rest(g, 'POST', BASE, body)).json;
    const ws = connectWs(g.url);
    try {
      const sub = ws.subscribe(STATUS_SUBSCRIPTION, { id: created.id }, 'siemIntegrationStatus');
      await untilStatusSubscribed(g, sub, created.id);
      await rest(g, 'PUT', `${BASE}/${created.id}`, { enabled: false });
      const value = await sub.waitForValue((v: any) => v.id === created.id && v.enabled === false);
      expect(value).toMatchObject({ health: 'DISABLED' });
    } finally {
      await ws.dispose();
    }
  });

  it('crowdstrike, arcsight and cef are created with their own snake_case fields', async () => {
    const receiver = await startHttpReceiver();
    closers.push(() => receiver.close());
    const cs = await rest(g, 'POST', BASE, { integration_type: 'crowdstrike', name: 'LogScale', config: { endpoint: receiver.url, token: 't1', repository: 'security', parser: 'raxe' } });
    const as = await rest(g, 'POST', BASE, { integration_type: 'arcsight', name: 'ArcSight', config: { endpoint: receiver.url, token: 't2', smart_connector_id: 'sc-001' } });
    const cef = await rest(g, 'POST', BASE, { integration_type: 'cef', name: 'CEF', config: { transport: 'udp', host: '127.0.0.1', port: 5514 } });
    expect(cs.json).toMatchObject({ integration_type: 'crowdstrike', config: { repository: 'security', parser: 'raxe', has_token: true } });
    expect(as.json).toMatchObject({ integration_type: 'arcsight', config: { smart_connector_id: 'sc-001', device_vendor: 'RAXE', device_product: 'ThreatDetection' } });
    expect(cef.json).toMatchObject({ integration_type: 'cef', config: { transport: 'udp', host: '127.0.0.1', port: 5514, facility: 'local0', has_token: false } });
  });
});

describe('errors: a stable code, the snake_case field named, nothing written', () => {
  let viewer: string;
  let ingestKey: string;
  let otherAdmin: string;
  let existing: any;
  let before: { list: string; audit: number };

  beforeAll(async () => {
    viewer = await keyFor(g, 'default', 'viewer');
    ingestKey = await keyFor(g, 'default', 'ingest');
    otherAdmin = await keyFor(g, 'other-org', 'admin');
    const { body } = await splunkBody();
    existing = (await rest(g, 'POST', BASE, body)).json;
    before = { list: (await rest(g, 'GET', BASE)).text, audit: (await auditEntries(g)).length };
  });

  afterAll(async () => {
    // Not one of the refused requests below changed an integration or wrote an audit entry.
    expect((await rest(g, 'GET', BASE)).text).toBe(before.list);
    expect((await auditEntries(g)).length).toBe(before.audit);
  });

  const splunk = (config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    integration_type: 'splunk',
    name: 'S',
    config: { endpoint: 'https://splunk.example.com:8088/services/collector', token: 't', ...config },
    ...extra,
  });

  it.each([
    ['a non-http endpoint', splunk({ endpoint: 'ftp://x/y' }), /^config\.endpoint: must be an http or https URL, not ftp$/],
    ['a missing token', { integration_type: 'splunk', name: 'S', config: { endpoint: 'https://s:8088/services/collector' } }, /^config\.token: /],
    ['an unknown config field', splunk({ workspace_id: 'x' }), /^config\.workspace_id: is not a splunk field/],
    ['a camelCase config field', splunk({ indexerAck: true }), /^config\.indexerAck: is not a splunk field .*indexer_ack/],
    ['a bad workspace id', { integration_type: 'sentinel', name: 'S', config: { workspace_id: 'nope', shared_key: SHARED_KEY } }, /^config\.workspace_id: must be a GUID/],
    ['a syslog port out of range', { integration_type: 'syslog', name: 'S', config: { host: 'syslog.example.com', port: 70000 } }, /^config\.port: must be between 1 and 65535$/],
    ['a syslog port as a string', { integration_type: 'syslog', name: 'S', config: { host: 'syslog.example.com', port: '514' } }, /^config\.port: /],
    ['an unknown protocol', { integration_type: 'syslog', name: 'S', config: { host: 'syslog.example.com', protocol: 'sctp' } }, /^config\.protocol: /],
    ['an unknown facility', { integration_type: 'syslog', name: 'S', config: { host: 'syslog.example.com', facility: 'local9' } }, /^config\.facility: must be a syslog facility/],
    ['webhook headers as a list', { integration_type: 'webhook', name: 'W', config: { endpoint: 'https://h.example.com', headers: ['X-A: b'] } }, /^config\.headers: must be an object of header names to values$/],
    ['a webhook header name with a space', { integration_type: 'webhook', name: 'W', config: { endpoint: 'https://h.example.com', headers: { 'Bad Header': 'v' } } }, /^config\.headers\.Bad Header: must be an HTTP header name/],
    ['a reserved webhook header', { integration_type: 'webhook', name: 'W', config: { endpoint: 'https://h.example.com', headers: { 'X-ARX-Signature': 'v' } } }, /^config\.headers\.X-ARX-Signature: is set by the gateway/],
    ['an unknown tls field', splunk({ tls: { insecure: true } }), /^config\.tls\.insecure: is not a tls field/],
    ['a missing integration_type', { name: 'S', config: {} }, /^integration_type: is required \(one of splunk, sentinel, syslog, webhook, crowdstrike, arcsight, cef\)$/],
    ['an upper-case integration_type', splunk({}, { integration_type: 'SPLUNK' }), /^integration_type: must be one of splunk, /],
    ['a missing name', { integration_type: 'splunk', config: { endpoint: 'https://s.example.com', token: 't' } }, /^name: is required$/],
    ['a blank name', splunk({}, { name: '   ' }), /^name: must not be blank$/],
    ['a missing config', { integration_type: 'splunk', name: 'S' }, /^config: is required$/],
    ['a config that is not an object', { integration_type: 'splunk', name: 'S', config: 'x' }, /^config: must be an object$/],
    ['enabled as a string', splunk({}, { enabled: 'yes' }), /^enabled: /],
    ['a bad customer_id', splunk({}, { customer_id: 'cust acme' }), /^customer_id: may contain only letters, digits/],
    ['a batch size of 0', splunk({}, { batching: { batch_size: 0 } }), /^batching\.batch_size: must be between 1 and 10000$/],
    ['an unknown batching field', splunk({}, { batching: { batchSize: 5 } }), /^batching\.batchSize: is not a field here/],
    ['an unknown top-level field', splunk({}, { type: 'splunk' }), /^type: is not a field here/],
    ['a JSON array', [splunk({})], /^body: must be a JSON object$/],
  ])('POST with %s: 400 BAD_USER_INPUT naming the field', async (_label, body, message) => {
    const answer = await rest(g, 'POST', BASE, body);
    expect(answer.status).toBe(400);
    expect(Object.keys(answer.json)).toEqual(['error']);
    expect(answer.json.error.code).toBe('BAD_USER_INPUT');
    expect(answer.json.error.message).toMatch(message);
  });

  it('POST with a body that is not JSON: 400 naming the body', async () => {
    const answer = await rest(g, 'POST', BASE, '{"integration_type": ');
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/^body: not valid JSON/) });
  });

  it.each([
    ['a bad endpoint', { config: { endpoint: 'not a url' } }, /^config\.endpoint: must be an absolute http or https URL$/],
    ['another type\'s field', { config: { shared_key: SHARED_KEY } }, /^config\.shared_key: is not a splunk field/],
    ['a type change', { integration_type: 'webhook' }, /^integration_type: cannot change \(this integration is splunk\)/],
    ['a null name', { name: null }, /^name: /],
    ['a timeout of 301 s', { batching: { timeout_seconds: 301 } }, /^batching\.timeout_seconds: must be between 1 and 300$/],
  ])('PUT with %s: 400 BAD_USER_INPUT naming the field', async (_label, body, message) => {
    const answer = await rest(g, 'PUT', `${BASE}/${existing.id}`, body);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
  });

  it.each([
    ['an unknown filter', '?type=splunk', /^query\.type: is not a filter/],
    ['a bad integration_type', '?integration_type=qradar', /^query\.integration_type: must be one of/],
    ['a bad enabled', '?enabled=yes', /^query\.enabled: must be true or false$/],
  ])('GET with %s: 400', async (_label, query, message) => {
    const answer = await rest(g, 'GET', `${BASE}${query}`);
    expect(answer.status).toBe(400);
    expect(answer.json.error.message).toMatch(message);
  });

  it.each([
    ['no Authorization header', null],
    ['an unknown token', 'sg_not_a_real_token_0000000000000000'],
  ])('401 UNAUTHENTICATED with WWW-Authenticate for %s, on every route', async (_label, token) => {
    for (const [method, path, body] of [['GET', BASE], ['POST', BASE, splunk({})], ['PUT', `${BASE}/${existing.id}`, { name: 'x' }], ['DELETE', `${BASE}/${existing.id}`], ['POST', `${BASE}/${existing.id}/test`]] as const) {
      const answer = await rest(g, method, path, body, { token });
      expect(answer.status, `${method} ${path}`).toBe(401);
      expect(answer.json.error.code).toBe('UNAUTHENTICATED');
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it.each([['viewer'], ['ingest']])('403 FORBIDDEN for %s keys, on every route (admin only, as documented)', async (role) => {
    const token = role === 'viewer' ? viewer : ingestKey;
    for (const [method, path, body] of [['GET', BASE], ['POST', BASE, splunk({})], ['GET', `${BASE}/${existing.id}`], ['PUT', `${BASE}/${existing.id}`, { name: 'x' }], ['DELETE', `${BASE}/${existing.id}`], ['POST', `${BASE}/${existing.id}/test`]] as const) {
      const answer = await rest(g, method, path, body, { token });
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.json.error.code).toBe('FORBIDDEN');
    }
  });

  it('404 NOT_FOUND for another organisation\'s id, on every route, the same answer as for an id that never existed', async () => {
    for (const [method, suffix, body] of [['GET', ''], ['PUT', '', { name: 'x' }], ['DELETE', ''], ['POST', '/test']] as const) {
      const theirs = await rest(g, method, `${BASE}/${existing.id}${suffix}`, body, { token: otherAdmin });
      const none = await rest(g, method, `${BASE}/00000000-0000-4000-8000-000000000000${suffix}`, body, { token: otherAdmin });
      expect(theirs.status, `${method} ${suffix}`).toBe(404);
      expect(theirs.json.error.code).toBe('NOT_FOUND');
      expect(none.status).toBe(404);
      expect(theirs.json.error.message.replace(existing.id, 'ID')).toBe(none.json.error.message.replace('00000000-0000-4000-8000-000000000000', 'ID'));
    }
    expect((await rest(g, 'GET', BASE, undefined, { token: otherAdmin })).json).toEqual([]);
    expect((await rest(g, 'GET', `${BASE}/${existing.id}/nope`)).status).toBe(404);
  });

  it('415 for a body that is not JSON (form-encoded, text, none declared)', async () => {
    for (const [method, path] of [['POST', BASE], ['PUT', `${BASE}/${existing.id}`]] as const) {
      for (const contentType of ['application/x-www-form-urlencoded', 'text/plain']) {
        const answer = await rest(g, method, path, JSON.stringify(splunk({})), { contentType });
        expect(answer.status, `${method} ${contentType}`).toBe(415);
        expect(answer.json.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      }
    }
    const bare = await fetch(`${g.url}${BASE}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: new Uint8Array(Buffer.from(JSON.stringify(splunk({})))) });
    expect(bare.status).toBe(415);
  });

  it('405 with Allow for a method a route does not have', async () => {
    for (const [method, path, allow] of [
      ['PATCH', BASE, 'GET, POST'],
      ['DELETE', BASE, 'GET, POST'],
      ['POST', `${BASE}/${existing.id}`, 'GET, PUT, DELETE'],
      ['PATCH', `${BASE}/${existing.id}`, 'GET, PUT, DELETE'],
      ['GET', `${BASE}/${existing.id}/test`, 'POST'],
      ['POST', '/v1/openapi.json', 'GET, HEAD'],
    ] as const) {
      const answer = await rest(g, method, path, method === 'GET' ? undefined : { name: 'x' });
      expect(answer.status, `${method} ${path}`).toBe(405);
      expect(answer.headers.get('allow')).toBe(allow);
      expect(answer.json.error.code).toBe('METHOD_NOT_ALLOWED');
    }
  });
});
