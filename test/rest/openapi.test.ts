import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGEST_PATH } from '../../src/http/ingest-endpoint.js';
import { OPENAPI_PATH, SETTINGS_API_ROUTES } from '../../src/http/settings-api.js';
import { startHecReceiver } from '../support/api.js';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { SHARED_KEY, WORKSPACE_ID, keyFor, rest, samples, type Sample } from '../support/rest.js';

/**
 * GET /v1/openapi.json is a valid OpenAPI 3.1 document that describes every route the gateway routes; every
 * route, method and status the document names is answered by the real server over real HTTP here, and every
 * answer (each status it gave) is documented and matches the documented JSON Schema (draft 2020-12).
 * The document is checked with @seriousme/openapi-schema-validator; answers with Ajv's 2020-12 validator in
 * strict mode (so an OpenAPI 3.0 keyword such as `nullable` is refused, not ignored).
 */

const addFormats = addFormatsModule.default;

const BASE = '/v1/settings/siem';
const ITEM = '/v1/settings/siem/{integration_id}';
const TEST = '/v1/settings/siem/{integration_id}/test';
const EVENTS = '/v1/events';
const OPERATION_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Doc = any;

/** Every route the gateway answers, from the router's own table and the ingest endpoint: template → methods. */
const ROUTES: Record<string, readonly string[]> = { ...SETTINGS_API_ROUTES, [INGEST_PATH]: ['POST'] };

/** `method template` of every route in {@link ROUTES} (HEAD goes with GET, as in OpenAPI). */
function routedOperations(): string[] {
  return Object.entries(ROUTES).flatMap(([template, methods]) =>
    methods.filter((m) => m !== 'HEAD' || !methods.includes('GET')).map((m) => `${m.toLowerCase()} ${template}`),
  );
}

/** `method template` of every operation in the document. */
function documentedOperations(doc: Doc): string[] {
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([template, item]) =>
    Object.keys(item).filter((k) => OPERATION_METHODS.includes(k)).map((m) => `${m} ${template}`),
  );
}

/** `method template status` of every response in the document. */
function documentedStatuses(doc: Doc): string[] {
  return documentedOperations(doc).flatMap((op) => {
    const [method, template] = op.split(' ') as [string, string];
    return Object.keys(doc.paths[template][method].responses).map((status) => `${op} ${status}`);
  });
}

/** The document checked against the OpenAPI 3.1 schema (structure, parameter locations, `$ref`s). */
async function validateDocument(doc: Doc): Promise<{ valid: boolean; version: string | undefined; errors: unknown }> {
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc));
  return { valid: result.valid, version: validator.version, errors: result.errors };
}

const DOC_ID = 'urn:siemgate:openapi';
const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** Keywords whose value maps names to schemas, and keywords whose value is data rather than a schema. */
const NAME_MAPS = ['properties', 'patternProperties', '$defs', 'dependentSchemas'];
const DATA = ['const', 'enum', 'default', 'example', 'examples', 'discriminator'];

/**
 * Where a schema uses OpenAPI 3.0's `nullable`, which 3.1 writes as a type array with 'null'. Ajv honours
 * `nullable` as 3.0 does, and the OpenAPI 3.1 schema takes it for an unknown annotation, so neither catches it.
 */
function nullableKeywords(schema: unknown, at: string): string[] {
  if (Array.isArray(schema)) return schema.flatMap((s, i) => nullableKeywords(s, `${at}/${i}`));
  if (schema === null || typeof schema !== 'object') return [];
  return Object.entries(schema).flatMap(([k, v]) => {
    if (k === 'nullable') return [`${at}: nullable is OpenAPI 3.0; 3.1 writes a type array with 'null'`];
    if (DATA.includes(k)) return [];
    if (NAME_MAPS.includes(k) && v && typeof v === 'object') return Object.entries(v).flatMap(([name, s]) => nullableKeywords(s, `${at}/${k}/${pointer(name)}`));
    return nullableKeywords(v, `${at}/${pointer(k)}`);
  });
}

/**
 * Checks answers against the document: Ajv (draft 2020-12, strict, formats checked) holds the document's
 * `components` and `paths` under one `$id`, so every `$ref` resolves inside the document; each response's
 * schema is compiled by its JSON pointer. `schemaErrors` lists schemas Ajv refuses to compile.
 */
function answerChecker(doc: Doc) {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  // OpenAPI 3.1's base dialect adds these annotation keywords; `paths` and `components` hold the schemas.
  ajv.addVocabulary(['discriminator', 'example', 'externalDocs', 'xml', 'paths', 'components']);
  ajv.addSchema({ $id: DOC_ID, paths: doc.paths, components: doc.components });
  const compiled = new Map<string, ValidateFunction>();
  const compile = (path: string): ValidateFunction => {
    let validate = compiled.get(path);
    if (!validate) {
      validate = ajv.compile({ $ref: `${DOC_ID}#/${path}` });
      compiled.set(path, validate);
    }
    return validate;
  };

  /** Where a response's JSON schema is, following a `$ref` into components.responses; null: documented without a body. */
  const schemaPath = (method: string, template: string, status: number): string | null | { problem: string } => {
    if (status === 405) return pointer('components', 'schemas', 'Error'); // a method the path does not have: no operation to document it
    const op = doc.paths[template]?.[method];
    if (!op) return { problem: 'route not documented' };
    let at = pointer('paths', template, method, 'responses', String(status));
    let response = op.responses[String(status)];
    if (!response) return { problem: 'status not documented' };
    while (typeof response.$ref === 'string' && response.$ref.startsWith('#/components/responses/')) {
      at = response.$ref.slice(2);
      response = doc.components.responses[response.$ref.split('/').at(-1)];
      if (!response) return { problem: `dangling ${at}` };
    }
    if (!response.content) return null;
    if (!response.content['application/json']) return { problem: 'no application/json content documented' };
    return `${at}/${pointer('content', 'application/json', 'schema')}`;
  };

  return {
    /** Compiles every component schema and every response schema; the messages of those Ajv refuses. */
    schemaErrors(): string[] {
      const paths = [
        ...Object.keys(doc.components.schemas).map((name) => pointer('components', 'schemas', name)),
        ...documentedStatuses(doc).map((s) => {
          const [method, template, status] = s.split(' ') as [string, string, string];
          return schemaPath(method, template, Number(status));
        }),
      ].filter((p): p is string => typeof p === 'string');
      return paths.flatMap((p) => {
        const schema = p.split('/').reduce((node, part) => node?.[part.replaceAll('~1', '/').replaceAll('~0', '~')], doc);
        try {
          compile(p);
          return nullableKeywords(schema, p);
        } catch (error) {
          return [`${p}: ${(error as Error).message}`];
        }
      });
    },
    /** What is wrong with each answer: undocumented route or status, or where its body strays from the schema. */
    problems(answers: Sample[]): string[] {
      return answers.flatMap((s) => {
        const where = `${s.method.toUpperCase()} ${s.template} ${s.status}`;
        const at = schemaPath(s.method, s.template, s.status);
        if (at === null) return s.body === null ? [] : [`${where}: documented without a body, got one`];
        if (typeof at === 'object') return [`${where}: ${at.problem}`];
        const validate = compile(at);
        if (validate(s.body)) return [];
        return (validate.errors ?? []).map((e) => `${where}: ${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`.slice(0, 400));
      });
    },
  };
}

/**
 * Sends a `POST /v1/events` whose body never finishes arriving (half of its declared length) over a raw
 * socket and returns the gateway's answer once it closes the connection.
 */
function unfinishedUpload(url: string, token: string): Promise<{ status: number; json: unknown }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (raw += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, body = ''] = raw.split('\r\n\r\n', 2) as [string, string?];
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        // not JSON: recorded as null
      }
      resolve({ status, json });
    });
    socket.write(`POST ${EVENTS} HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n[{"type":"scan",`);
  });
}

let g: TestGateway;
let hec: HttpReceiver;
let sink: HttpReceiver;
beforeAll(async () => {
  // Small body limits so that 413 answers need small bodies; a short body timeout so that 408 comes soon.
  g = await startTestGateway({ env: { SIEMGATE_MAX_BODY_BYTES: '16384', SIEMGATE_MAX_INGEST_BYTES: '16384', SIEMGATE_INGEST_BODY_TIMEOUT_MS: '2000' } });
  hec = await startHecReceiver('hec-token');
  sink = await startHttpReceiver();
});
afterAll(async () => {
  await hec?.close();
  await sink?.close();
  await g?.stop({ removeDatabase: true });
});

describe('GET /v1/openapi.json', () => {
  it('answers 200 JSON without an API key, and is a valid OpenAPI 3.1 document whose schemas all compile', async () => {
    const answer = await rest(g, 'GET', OPENAPI_PATH, undefined, { token: null, template: OPENAPI_PATH });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.json.openapi).toBe('3.1.0');
    expect(Object.keys(answer.json.paths).sort()).toEqual([EVENTS, OPENAPI_PATH, BASE, ITEM, TEST].sort());
    expect(await validateDocument(answer.json)).toEqual({ valid: true, version: '3.1', errors: undefined });
    expect(answerChecker(answer.json).schemaErrors()).toEqual([]);
  });

  it('describes every route the gateway routes, with the same methods, and nothing it does not route', async () => {
    const doc = (await rest(g, 'GET', OPENAPI_PATH)).json;
    expect(documentedOperations(doc).sort()).toEqual(routedOperations().sort());
  });

  it('the route table is the router\'s truth: each path allows exactly its methods, other paths are not routed', async () => {
    const refused: Sample[] = [];
    for (const [template, methods] of Object.entries(ROUTES)) {
      const method = ['PATCH', 'PUT', 'DELETE'].find((m) => !methods.includes(m))!;
      const answer = await rest(g, method, template.replace('{integration_id}', randomUUID()));
      expect(answer.status, `${method} ${template}`).toBe(405);
      expect(answer.headers.get('allow')?.split(/,\s*/).sort(), template).toEqual([...methods].sort());
      refused.push({ method: method.toLowerCase(), template, status: answer.status, body: answer.json ?? null });
    }
    const doc = (await rest(g, 'GET', OPENAPI_PATH)).json;
    expect(answerChecker(doc).problems(refused)).toEqual([]); // 405 answers are the documented Error
    for (const path of [`${BASE}/${randomUUID()}/tests`, `${BASE}/${randomUUID()}/test/again`, `${BASE}//test`]) {
      expect((await rest(g, 'GET', path)).status, path).toBe(404);
      expect((await rest(g, 'POST', path, {})).status, path).toBe(404);
    }
  });

  it('a broken document is refused (the document check is real)', async () => {
    const doc = (await rest(g, 'GET', OPENAPI_PATH)).json;
    const wrongPlace = structuredClone(doc);
    wrongPlace.paths[ITEM].parameters[0].in = 'body'; // OpenAPI 2's parameter location, not one of 3.1's
    const refused = await validateDocument(wrongPlace);
    expect(refused.valid).toBe(false);
    expect(JSON.stringify(refused.errors)).toContain('/parameters/0');

    const dangling = structuredClone(doc);
    dangling.paths[BASE].get.responses['400'] = { $ref: '#/components/responses/NoSuchResponse' };
    expect((await validateDocument(dangling)).valid).toBe(false);

    const openApi30 = structuredClone(doc); // OpenAPI 3.0's nullable, which 3.1 writes as a type array
    openApi30.components.schemas.SplunkIntegration.properties.customer_id = { type: 'string', nullable: true };
    expect(answerChecker(openApi30).schemaErrors().join('\n')).toMatch(/SplunkIntegration\/properties\/customer_id: nullable is OpenAPI 3.0/);
  });
});

describe('every route\'s answers match the documented schemas', () => {
  it('every route, method and status of the document, answered by the real server, matches its schema', async () => {
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
    const item = `${BASE}/${splunkId}`;
    const listed = await rest(g, 'GET', BASE, undefined, { template: BASE });
    expect(listed.json.map((i: { health: string }) => i.health)).toContain('unknown'); // nothing tried yet
    await rest(g, 'GET', `${BASE}?integration_type=splunk&customer_id=cust_acme&enabled=true`, undefined, { template: BASE });
    await rest(g, 'GET', item, undefined, { template: ITEM });
    await rest(g, 'PUT', item, { config: { source: 'raxe' }, enabled: true }, { template: ITEM });
    await rest(g, 'POST', `${item}/test`, undefined, { template: TEST });
    await rest(g, 'PUT', item, { config: { token: 'wrong' } }, { template: ITEM });
    const failed = await rest(g, 'POST', `${item}/test`, undefined, { template: TEST });
    expect(failed.json.success).toBe(false);
    await rest(g, 'GET', item, undefined, { template: ITEM }); // with last_error and last_error_at set
    await rest(g, 'DELETE', `${BASE}/${ids.at(-1)}`, undefined, { template: ITEM });

    // 400, 404, 413, 415.
    await rest(g, 'POST', BASE, { integration_type: 'splunk', name: 'x', config: { endpoint: 'ftp://x' } }, { template: BASE });
    await rest(g, 'GET', `${BASE}?enabled=maybe`, undefined, { template: BASE });
    await rest(g, 'POST', BASE, 'name=x', { contentType: 'application/x-www-form-urlencoded', template: BASE });
    await rest(g, 'POST', BASE, { ...bodies[0], name: 'x'.repeat(20_000) }, { template: BASE });
    await rest(g, 'PUT', `${BASE}/${randomUUID()}`, { name: 'x' }, { template: ITEM });
    await rest(g, 'PUT', item, { batching: { retry_count: 99 } }, { template: ITEM });
    await rest(g, 'PUT', item, 'name=x', { contentType: 'text/plain', template: ITEM });
    await rest(g, 'PUT', item, { name: 'x'.repeat(20_000) }, { template: ITEM });
    await rest(g, 'GET', `${BASE}/${randomUUID()}`, undefined, { template: ITEM });
    await rest(g, 'DELETE', `${BASE}/${randomUUID()}`, undefined, { template: ITEM });
    await rest(g, 'POST', `${BASE}/${randomUUID()}/test`, undefined, { template: TEST });

    // 401 without a key and 403 for a role the route refuses, on every route that needs a key.
    for (const op of routedOperations()) {
      const [method, template] = op.split(' ') as [string, string];
      if (template === OPENAPI_PATH) continue;
      const path = template.replace('{integration_id}', splunkId);
      const body = method === 'get' || method === 'delete' ? undefined : template === EVENTS ? [{ type: 'scan', severity: 'HIGH' }] : { name: 'x' };
      await rest(g, method, path, body, { token: null, template });
      await rest(g, method, path, body, { token: viewer, template });
      if (template !== EVENTS) await rest(g, method, path, body, { token: ingestKey, template });
    }

    // POST /v1/events.
    await rest(g, 'POST', EVENTS, [{ type: 'scan', severity: 'HIGH', customerId: 'cust_acme' }], { template: EVENTS });
    await rest(g, 'POST', EVENTS, [{ type: 'scan', severity: 'SEVERE' }], { template: EVENTS });
    await rest(g, 'POST', EVENTS, '<xml/>', { contentType: 'application/xml', template: EVENTS });
    await rest(g, 'POST', EVENTS, [{ type: 'scan', severity: 'HIGH', name: 'x'.repeat(20_000) }], { template: EVENTS });
    const timedOut = await unfinishedUpload(g.url, ADMIN_TOKEN);
    samples.push({ method: 'post', template: EVENTS, status: timedOut.status, body: timedOut.json });

    // 503: the database refuses writes (as when read-only); reads keep working.
    await sql`PRAGMA query_only = ON`.execute(g.store.db);
    try {
      await rest(g, 'POST', BASE, bodies[1], { template: BASE });
      await rest(g, 'PUT', item, { name: 'renamed' }, { template: ITEM });
      await rest(g, 'DELETE', item, undefined, { template: ITEM });
      await rest(g, 'POST', `${item}/test`, undefined, { template: TEST });
      await rest(g, 'POST', EVENTS, [{ type: 'scan', severity: 'HIGH' }], { template: EVENTS });
      await rest(g, 'GET', BASE, undefined, { template: BASE });
    } finally {
      await sql`PRAGMA query_only = OFF`.execute(g.store.db);
    }

    const doc = (await rest(g, 'GET', OPENAPI_PATH)).json;
    const exercised = new Set(samples.map((s) => `${s.method} ${s.template} ${s.status}`));
    expect([...exercised].sort()).toEqual(documentedStatuses(doc).sort());
    expect(answerChecker(doc).problems(samples)).toEqual([]);
  }, 60_000);

  it('an answer that strays from the schema is reported (the answer check is real)', async () => {
    const doc = (await rest(g, 'GET', OPENAPI_PATH)).json;
    const listed = (await rest(g, 'GET', BASE)).json;
    const strayed = [{ ...listed[0], config: { ...listed[0].config, token: 'leaked' } }];
    const problems = answerChecker(doc).problems([
      { method: 'get', template: BASE, status: 200, body: strayed },
      { method: 'post', template: TEST, status: 200, body: { success: 'yes' } },
      { method: 'get', template: ITEM, status: 200, body: { ...listed[0], last_error_at: 'yesterday' } },
      { method: 'delete', template: ITEM, status: 204, body: { deleted: true } },
      { method: 'get', template: ITEM, status: 418, body: null },
      { method: 'put', template: BASE, status: 200, body: null },
    ]);
    const text = problems.join('\n');
    expect(text).toMatch(/GET \/v1\/settings\/siem 200: \/0/);
    expect(text).toMatch(/POST \/v1\/settings\/siem\/\{integration_id\}\/test 200: \/success/);
    expect(text).toMatch(/GET \/v1\/settings\/siem\/\{integration_id\} 200: \/last_error_at/);
    expect(text).toMatch(/DELETE \/v1\/settings\/siem\/\{integration_id\} 204: documented without a body/);
    expect(text).toMatch(/GET \/v1\/settings\/siem\/\{integration_id\} 418: status not documented/);
    expect(text).toMatch(/PUT \/v1\/settings\/siem 200: route not documented/);
  });
});
