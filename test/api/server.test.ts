import { request as httpRequest } from 'node:http';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_INTEGRATION, createIntegration, dataOf, firstError } from '../support/api.js';
import { ADMIN_TOKEN, readJsonAnswer, startTestGateway, type TestGateway } from '../support/gateway.js';

/** The HTTP server around the API: health endpoints, request limits, hardening against abusive queries, GraphiQL. */

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop({ removeDatabase: true });
});

async function postRaw(body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${g.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, ...headers },
    body,
  });
  return { ...(await readJsonAnswer(response)), headers: response.headers };
}

describe('health endpoints', () => {
  it('GET /healthz answers 200', async () => {
    const response = await fetch(`${g.url}/healthz`);
    expect(response.status).toBe(200);
  });

  it('GET /readyz answers 200 while the database answers', async () => {
    const response = await fetch(`${g.url}/readyz`);
    expect(response.status).toBe(200);
  });

  it('need no token', async () => {
    expect((await fetch(`${g.url}/healthz`, { headers: {} })).status).toBe(200);
    expect((await fetch(`${g.url}/readyz`, { headers: {} })).status).toBe(200);
  });

  it('an unknown path answers 404 NOT_FOUND in the common error shape', async () => {
    const answer = await readJsonAnswer(await fetch(`${g.url}/admin`));
    expect(answer.status).toBe(404);
    // Was {"error": "not found"} before issue 10 (a deliberate contract change: one body shape on every route).
    expect(answer.json).toEqual({ error: { code: 'NOT_FOUND', message: 'No route for /admin' } });
  });
});

describe('request body limit', () => {
  it('refuses a body over 1 MiB with HTTP 413 and PAYLOAD_TOO_LARGE', async () => {
    const query = `{ viewer { role } }${' '.repeat(1024 * 1024 + 10)}`;
    const res = await postRaw(JSON.stringify({ query }));
    expect(res.status).toBe(413);
    expect(res.json.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses an oversize body sent in chunks without a Content-Length', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${g.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, 'transfer-encoding': 'chunked' },
      }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      req.write('{"query":"{ viewer { role } }');
      let written = 0;
      const pump = () => {
        while (written < 2 * 1024 * 1024) {
          written += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end('"}');
      };
      pump();
    });
    expect(status).toBe(413);
    expect(JSON.parse(body).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('accepts a body under the limit', async () => {
    const res = await postRaw(JSON.stringify({ query: `{ viewer { role } }${' '.repeat(100_000)}` }));
    expect(res.status).toBe(200);
    expect(res.json.data.viewer.role).toBe('ADMIN');
  });
});

describe('query limits', () => {
  /** Refused with a GraphQL error (never a 500, never data). */
  function expectRefused(res: Awaited<ReturnType<typeof postRaw>>, pattern: RegExp) {
    expect(res.status).not.toBe(500);
    expect(res.json?.errors?.length).toBeGreaterThan(0);
    expect(res.json.data ?? null).toBeNull();
    expect(res.json.errors.map((e: { message: string }) => e.message).join('\n')).toMatch(pattern);
  }

  it('refuses nesting deeper than 12 through a __type ofType chain', async () => {
    // __type › fields › type › 10 × ofType › name: depth 14, cheap enough that only the depth limit applies.
    let inner = 'name';
    for (let i = 0; i < 10; i++) inner = `ofType { ${inner} }`;
    const res = await postRaw(JSON.stringify({ query: `{ __type(name: "SiemIntegration") { fields { type { ${inner} } } } }` }));
    expectRefused(res, /depth/i);
  });

  it('refuses nesting deeper than 12 built from a chain of fragments (by the depth or the cost limit)', async () => {
    const fragments = Array.from({ length: 11 }, (_, i) => `fragment F${i} on __Type { ofType { ${i === 10 ? 'name' : `...F${i + 1}`} } }`).join('\n');
    const res = await postRaw(JSON.stringify({ query: `{ __type(name: "Query") { ...F0 } }\n${fragments}` }));
    expectRefused(res, /depth|cost/i);
  });

  it('allows the ordinary nesting of the API', async () => {
    const res = await postRaw(JSON.stringify({ query: '{ siemIntegrations { id config { ... on SplunkConfig { tls { caCert } } } } auditLog(first: 1) { edges { node { id } } } }' }));
    expect(res.status).toBe(200);
    expect(res.json.errors).toBeUndefined();
  });

  it('refuses 50 aliases', async () => {
    const aliases = Array.from({ length: 50 }, (_, i) => `a${i}: viewer { role }`).join(' ');
    expectRefused(await postRaw(JSON.stringify({ query: `{ ${aliases} }` })), /alias/i);
  });

  it('allows a handful of aliases', async () => {
    const res = await postRaw(JSON.stringify({ query: '{ a: viewer { role } b: viewer { role } }' }));
    expect(res.json.data).toEqual({ a: { role: 'ADMIN' }, b: { role: 'ADMIN' } });
  });

  it('refuses a query whose cost explodes through repeated fragment spreads', async () => {
    // Each level spreads the next one ten times: 10^4 copies of the leaf selection, in a short query text.
    const levels = 4;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === levels - 1
        ? `fragment L${i} on Query { siemIntegrations { id name type enabled customerId errorCount lastError health batching { batchSize retryCount } } }`
        : `fragment L${i} on Query { ${Array.from({ length: 10 }, () => `...L${i + 1}`).join(' ')} }`,
    ).join('\n');
    const res = await postRaw(JSON.stringify({ query: `{ ...L0 }\n${fragments}` }));
    expectRefused(res, /cost|complex|limit/i);
  });

  it('refuses a query of more than 4000 tokens', async () => {
    const fields = Array.from({ length: 4500 }, () => 'role').join(' ');
    expectRefused(await postRaw(JSON.stringify({ query: `{ viewer { ${fields} } }` })), /token/i);
  });
});

describe('GraphiQL and introspection (on by default)', () => {
  it('serves GraphiQL on GET /graphql to a browser', async () => {
    const response = await fetch(`${g.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(await response.text()).toMatch(/graphiql/i);
  });

  it('answers introspection', async () => {
    const res = await g.gql('{ __schema { queryType { name } } }');
    expect(dataOf(res).__schema.queryType.name).toBe('Query');
  });
});

describe('with SIEMGATE_GRAPHIQL=false', () => {
  let closed: TestGateway;
  beforeAll(async () => {
    closed = await startTestGateway({ env: { SIEMGATE_GRAPHIQL: 'false' } });
  });
  afterAll(async () => {
    await closed?.stop({ removeDatabase: true });
  });

  it('does not serve GraphiQL', async () => {
    const response = await fetch(`${closed.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await response.text()).not.toMatch(/graphiql/i);
  });

  it.each([
    ['__schema', '{ __schema { types { name } } }'],
    ['__type', '{ __type(name: "SiemIntegration") { fields { name } } }'],
  ])('refuses introspection through %s', async (_label, query) => {
    const res = await closed.gql(query);
    expect(res.errors?.length).toBeGreaterThan(0);
    expect(JSON.stringify(res.data ?? null)).not.toContain('SiemIntegration');
    expect(JSON.stringify(res)).not.toMatch(/"types"|"fields"/);
  });

  it('still answers ordinary queries', async () => {
    expect(dataOf(await closed.gql('{ viewer { role } }')).viewer.role).toBe('ADMIN');
  });

  it('does not suggest field names in errors', async () => {
    const res = await closed.gql('{ siemIntegration { id } siemIntegrationz { id } }');
    expect(JSON.stringify(res.errors)).not.toMatch(/Did you mean/);
  });
});

describe('unexpected errors', () => {
  it('are masked for the client: no internals, no stack, a stable code', async () => {
    const created = await createIntegration(g, { name: 'Tampered', config: { splunk: { endpoint: 'https://splunk.example.com/services/collector/event', token: 'hec-token' } } });
    // Damage the sealed secrets of this row behind the gateway's back, as disk corruption or a wrong key would.
    const db = new Database(g.env.SIEMGATE_DB!);
    try {
      db.prepare('UPDATE siem_integrations SET secrets = ? WHERE id = ?').run(Buffer.alloc(64, 1).toString('base64'), created.id);
    } finally {
      db.close();
    }
    const res = await g.gql(TEST_INTEGRATION, { id: created.id });
    const error = firstError(res);
    expect(res.status).not.toBe(401);
    expect(error.message).toBe('Unexpected error.');
    expect(error.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(res)).not.toMatch(/decrypt|SecretBox|stack|\.ts:|node_modules|SIEMGATE_SECRET_KEY/);
  });

  it('leave the server answering', async () => {
    expect(dataOf(await g.gql('{ viewer { role } }')).viewer.role).toBe('ADMIN');
  });
});
