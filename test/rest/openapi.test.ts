import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHecReceiver } from '../support/api.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { SHARED_KEY, WORKSPACE_ID, keyFor, rest, samples } from './rest-support.js';

/**
 * GET /v1/openapi.json is a valid OpenAPI 3.1 document, and every answer of every route (each status it
 * gave here) is documented and matches the documented JSON Schema. No OpenAPI or JSON Schema validator is
 * installed for Node; the machine's Python has `openapi-spec-validator` and `jsonschema` (draft 2020-12),
 * which this test runs as a separate process.
 */

const VALIDATE = String.raw`
import json, sys
from openapi_spec_validator import validate
from jsonschema import Draft202012Validator
data = json.load(sys.stdin)
doc = data["doc"]
validate(doc)
def deref(obj):
    while isinstance(obj, dict) and "$ref" in obj and obj["$ref"].startswith("#/components/responses/"):
        obj = doc["components"]["responses"][obj["$ref"].split("/")[-1]]
    return obj
problems = []
for s in data["samples"]:
    where = "%s %s %s" % (s["method"].upper(), s["template"], s["status"])
    if s["status"] == 405:
        schema = {"$ref": "#/components/schemas/Error"}
    else:
        op = doc["paths"].get(s["template"], {}).get(s["method"])
        if op is None:
            problems.append(where + ": route not documented"); continue
        response = deref(op["responses"].get(str(s["status"])))
        if response is None:
            problems.append(where + ": status not documented"); continue
        content = response.get("content")
        if content is None:
            if s["body"] is not None: problems.append(where + ": documented without a body, got one")
            continue
        schema = content["application/json"]["schema"]
    validator = Draft202012Validator(dict(schema, components=doc["components"]))
    for error in validator.iter_errors(s["body"]):
        problems.append("%s: %s at %s" % (where, error.message[:300], list(error.absolute_path)))
print(json.dumps({"problems": problems, "checked": len(data["samples"])}))
`;

/** Runs the validator in its own process (asynchronously: the gateway under test shares this event loop). */
function validateWithPython(doc: unknown, checked: unknown[]): Promise<{ problems: string[]; checked: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', VALIDATE], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`the validator failed: ${stderr}`))));
    child.stdin.end(JSON.stringify({ doc, samples: checked }));
  });
}

const BASE = '/v1/settings/siem';
const ITEM = '/v1/settings/siem/{integration_id}';
const TEST = '/v1/settings/siem/{integration_id}/test';
const EVENTS = '/v1/events';

let g: TestGateway;
let hec: HttpReceiver;
let sink: HttpReceiver;
beforeAll(async () => {
  g = await startTestGateway();
  hec = await startHecReceiver('hec-token');
  sink = await startHttpReceiver();
});
afterAll(async () => {
  await hec?.close();
  await sink?.close();
  await g?.stop({ removeDatabase: true });
});

describe('GET /v1/openapi.json', () => {
  it('answers 200 JSON without an API key, and is a valid OpenAPI 3.1 document', async () => {
    const answer = await rest(g, 'GET', '/v1/openapi.json', undefined, { token: null });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.json.openapi).toBe('3.1.0');
    expect(Object.keys(answer.json.paths).sort()).toEqual([EVENTS, '/v1/openapi.json', BASE, ITEM, TEST].sort());
    expect(await validateWithPython(answer.json, [])).toEqual({ problems: [], checked: 0 });
  });

  it('a broken document is caught by the validator (the check is real)', async () => {
    const doc = (await rest(g, 'GET', '/v1/openapi.json')).json;
    doc.paths[ITEM].parameters[0].in = 'body'; // OpenAPI 2's parameter location, not one of 3.1's
    await expect(validateWithPython(doc, [])).rejects.toThrow(/body/);
  });
});

describe('every route\'s answers match the documented schemas', () => {
  it('list, create (every type), get, update, test (passing and failing), delete, and the error answers', async () => {
    const viewer = await keyFor(g, 'default', 'viewer');
    const ingestKey = await keyFor(g, 'default', 'ingest');
    const bodies = [
      { integration_type: 'splunk', name: 'Splunk', config: { endpoint: `${hec.url}/services/collector`, token: 'hec-token', index: 'arxsec', tls: { reject_unauthorized: true } }, customer_id: 'cust_acme', batching: { batch_size: 10 } },
      { integration_type: 'sentinel', name: 'Sentinel', config: { workspace_id: WORKSPACE_ID, shared_key: SHARED_KEY, endpoint: sink.url } },
      { integration_type: 'sentinel', name: 'Sentinel LI', config: { dce_endpoint: sink.url, dcr_immutable_id: `dcr-${'0'.repeat(32)}`, stream_name: 'Custom-SiemGate_CL', tenant_id: WORKSPACE_ID, client_id: WORKSPACE_ID, client_secret: 's' } },
      { integration_type: 'syslog', name: 'Syslog', config: { host: '127.0.0.1', port: 6514, protocol: 'tls', format: 'rfc3164' } },
      { integration_type: 'webhook', name: 'Webhook', config: { endpoint: sink.url, secret: 's', signature_scheme: 'standard_webhooks', headers: { 'X-A': 'b' } } },
      { integration_type: 'crowdstrike', name: 'LogScale', config: { endpoint: sink.url, token: 't', repository: 'r' } },
      { integration_type: 'arcsight', name: 'ArcSight', config: { endpoint: sink.url, token: 't' } },
      { integration_type: 'cef', name: 'CEF', config: { endpoint: sink.url, token: 't' } },
    ];
    const ids: string[] = [];
    for (const body of bodies) {
      const answer = await rest(g, 'POST', BASE, body, { template: BASE });
      expect(answer.status, answer.text).toBe(201);
      ids.push(answer.json.id);
    }
    const [splunkId] = ids as [string];
    await rest(g, 'GET', BASE, undefined, { template: BASE });
    await rest(g, 'GET', `${BASE}?integration_type=splunk&customer_id=cust_acme&enabled=true`, undefined, { template: BASE });
    await rest(g, 'GET', `${BASE}/${splunkId}`, undefined, { template: ITEM });
    await rest(g, 'PUT', `${BASE}/${splunkId}`, { config: { source: 'raxe' }, enabled: true }, { template: ITEM });
    await rest(g, 'POST', `${BASE}/${splunkId}/test`, undefined, { template: TEST });
    await rest(g, 'PUT', `${BASE}/${splunkId}`, { config: { token: 'wrong' } }, { template: ITEM });
    const failed = await rest(g, 'POST', `${BASE}/${splunkId}/test`, undefined, { template: TEST });
    expect(failed.json.success).toBe(false);
    await rest(g, 'GET', `${BASE}/${splunkId}`, undefined, { template: ITEM }); // with last_error and last_error_at set
    await rest(g, 'DELETE', `${BASE}/${ids.at(-1)}`, undefined, { template: ITEM });

    // Errors.
    await rest(g, 'POST', BASE, { integration_type: 'splunk', name: 'x', config: { endpoint: 'ftp://x' } }, { template: BASE });
    await rest(g, 'GET', `${BASE}?enabled=maybe`, undefined, { template: BASE });
    await rest(g, 'GET', BASE, undefined, { token: null, template: BASE });
    await rest(g, 'POST', BASE, bodies[0], { token: viewer, template: BASE });
    await rest(g, 'POST', BASE, 'name=x', { contentType: 'application/x-www-form-urlencoded', template: BASE });
    await rest(g, 'PUT', `${BASE}/${randomUUID()}`, { name: 'x' }, { template: ITEM });
    await rest(g, 'PUT', `${BASE}/${splunkId}`, { batching: { retry_count: 99 } }, { template: ITEM });
    await rest(g, 'DELETE', `${BASE}/${randomUUID()}`, undefined, { template: ITEM });
    await rest(g, 'POST', `${BASE}/${randomUUID()}/test`, undefined, { template: TEST });
    await rest(g, 'POST', `${BASE}/${splunkId}/test`, undefined, { token: ingestKey, template: TEST });
    await rest(g, 'PATCH', BASE, { name: 'x' }, { template: BASE });

    // POST /v1/events.
    await rest(g, 'POST', EVENTS, [{ type: 'scan', severity: 'HIGH', customerId: 'cust_acme' }], { template: EVENTS });
    await rest(g, 'POST', EVENTS, [{ type: 'scan', severity: 'SEVERE' }], { template: EVENTS });
    await rest(g, 'POST', EVENTS, [{ type: 'scan', severity: 'HIGH' }], { token: viewer, template: EVENTS });
    await rest(g, 'POST', EVENTS, [{ type: 'scan', severity: 'HIGH' }], { token: null, template: EVENTS });
    await rest(g, 'POST', EVENTS, '<xml/>', { contentType: 'application/xml', template: EVENTS });

    const statuses = new Set(samples.map((s) => `${s.method} ${s.template} ${s.status}`));
    expect([...statuses].sort()).toEqual(
      [
        `get ${BASE} 200`, `get ${BASE} 400`, `get ${BASE} 401`, `post ${BASE} 201`, `post ${BASE} 400`, `post ${BASE} 403`, `post ${BASE} 415`, `patch ${BASE} 405`,
        `get ${ITEM} 200`, `put ${ITEM} 200`, `put ${ITEM} 400`, `put ${ITEM} 404`, `delete ${ITEM} 204`, `delete ${ITEM} 404`,
        `post ${TEST} 200`, `post ${TEST} 403`, `post ${TEST} 404`,
        `post ${EVENTS} 202`, `post ${EVENTS} 400`, `post ${EVENTS} 401`, `post ${EVENTS} 403`, `post ${EVENTS} 415`,
      ].sort(),
    );
    const doc = (await rest(g, 'GET', '/v1/openapi.json')).json;
    expect(await validateWithPython(doc, samples)).toEqual({ problems: [], checked: samples.length });
  }, 30_000);

  it('an answer that strays from the schema is reported (the check is real)', async () => {
    const doc = (await rest(g, 'GET', '/v1/openapi.json')).json;
    const listed = (await rest(g, 'GET', BASE)).json;
    const strayed = [{ ...listed[0], config: { ...listed[0].config, token: 'leaked' } }];
    const { problems } = await validateWithPython(doc, [{ method: 'get', template: BASE, status: 200, body: strayed }, { method: 'post', template: TEST, status: 200, body: { success: 'yes' } }]);
    expect(problems.length).toBeGreaterThanOrEqual(2);
    expect(problems.join('\n')).toMatch(/GET \/v1\/settings\/siem 200/);
    expect(problems.join('\n')).toMatch(/POST \/v1\/settings\/siem\/\{integration_id\}\/test 200/);
  });
});
