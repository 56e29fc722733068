import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, firstError } from '../support/api.js';
import {
  INGEST_EVENTS, STATUS_SUBSCRIPTION, connectWs, createSplunkIntegration, makeEvent, startHecSink, waitFor, type HecSink, type Subscription, type WsClient,
} from '../support/delivery.js';
import { readJsonAnswer, startTestGateway, type TestGateway } from '../support/gateway.js';
import { SettingsError, loadSettings } from '../../src/settings.js';

/**
 * Issue 8, items 6, 8 and 12: introspection off on every transport, a bound on subscriptions per
 * WebSocket connection, CORS off by default, GraphQL POST bodies only as JSON, and documents that
 * mix allowed and forbidden fields executing nothing.
 */

const CREATE_KEY = 'mutation CreateKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { token } }';
const EVIL_ORIGIN = 'https://evil.example';

let g: TestGateway;
let viewer: string;
let ingestKey: string;

beforeAll(async () => {
  g = await startTestGateway();
  viewer = dataOf(await g.gql(CREATE_KEY, { input: { name: 'viewer', role: 'VIEWER' } })).createApiKey.token;
  ingestKey = dataOf(await g.gql(CREATE_KEY, { input: { name: 'ingest', role: 'INGEST' } })).createApiKey.token;
});
afterAll(async () => {
  await g?.stop({ removeDatabase: true });
});

const clients: WsClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});
function ws(baseUrl: string, token?: string): WsClient {
  const c = connectWs(baseUrl, token ? { token } : {});
  clients.push(c);
  return c;
}

async function keyNames(): Promise<string[]> {
  return dataOf(await g.gql('{ apiKeys { name } }')).apiKeys.map((k: { name: string }) => k.name);
}

/** One graphql-ws operation's outcome: its data, or the errors it was answered with. */
async function wsOnce(client: WsClient, query: string, variables: Record<string, unknown> = {}): Promise<Subscription> {
  const sub = client.subscribe(query, variables);
  await sub.waitForEnd();
  return sub;
}
const wsErrors = (sub: Subscription): { message: string; extensions?: Record<string, any> }[] =>
  Array.isArray(sub.error) ? (sub.error as any[]) : sub.results.flatMap((r: any) => r.errors ?? []);

describe('CORS (SIEMGATE_CORS_ORIGINS unset: off)', () => {
  it('gives no Access-Control-Allow-Origin to any origin, on a request or a preflight', async () => {
    const post = await fetch(`${g.url}/graphql`, {
      method: 'POST',
      headers: { origin: EVIL_ORIGIN, 'content-type': 'application/json', authorization: 'Bearer x' },
      body: JSON.stringify({ query: '{ viewer { role } }' }),
    });
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
    expect(post.headers.get('access-control-allow-credentials')).toBeNull();
    const preflight = await fetch(`${g.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: EVIL_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
  });

  describe('with SIEMGATE_CORS_ORIGINS listing one origin', () => {
    let listed: TestGateway;
    beforeAll(async () => {
      listed = await startTestGateway({ env: { SIEMGATE_CORS_ORIGINS: 'https://console.example.com, http://localhost:3000' } });
    });
    afterAll(async () => {
      await listed?.stop({ removeDatabase: true });
    });

    it('allows exactly the listed origins, without credentials', async () => {
      const answer = async (origin: string) =>
        fetch(`${listed.url}/graphql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
      const ok = await answer('https://console.example.com');
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://console.example.com');
      expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
      expect(ok.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
      expect((await answer('http://localhost:3000')).headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
      for (const origin of [EVIL_ORIGIN, 'https://console.example.com.evil.example', 'null', 'http://console.example.com']) {
        expect((await answer(origin)).headers.get('access-control-allow-origin'), origin).toBeNull();
      }
    });
  });

  it('refuses origins that are not exact origins when the setting is read', () => {
    for (const bad of ['*', 'https://console.example.com/', 'console.example.com', 'https://a.example/path', 'ftp://a.example']) {
      expect(() => loadSettings({ SIEMGATE_CORS_ORIGINS: bad }), bad).toThrow(SettingsError);
    }
    expect(loadSettings({ SIEMGATE_CORS_ORIGINS: 'https://a.example,http://b.example:8080' }).corsOrigins).toEqual(['https://a.example', 'http://b.example:8080']);
    expect(loadSettings({}).corsOrigins).toEqual([]);
  });
});

describe('GraphQL POST bodies only as application/json', () => {
  const mutation = (name: string) => `mutation { createApiKey(input: { name: "${name}", role: ADMIN }) { token } }`;

  it.each([
    ['application/x-www-form-urlencoded', (name: string) => new URLSearchParams({ query: mutation(name) }).toString()],
    ['multipart/form-data; boundary=xyz', (name: string) => `--xyz\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: mutation(name) })}\r\n--xyz--\r\n`],
    ['text/plain', (name: string) => JSON.stringify({ query: mutation(name) })],
    ['application/graphql', (name: string) => mutation(name)],
    ['', (name: string) => JSON.stringify({ query: mutation(name) })],
  ])('answers 415 UNSUPPORTED_MEDIA_TYPE to %j and runs nothing', async (contentType, body) => {
    const name = `via-${contentType.split(';')[0] || 'none'}-${randomUUID().slice(0, 6)}`;
    const headers: Record<string, string> = { authorization: `Bearer ${g.env.SIEMGATE_BOOTSTRAP_TOKEN}`, accept: 'application/json' };
    const payload = body(name);
    const response = await fetch(`${g.url}/graphql`, {
      method: 'POST',
      headers: contentType ? { ...headers, 'content-type': contentType } : headers,
      body: contentType ? payload : new Blob([payload]),
    });
    const { status, json } = await readJsonAnswer(response);
    expect(status).toBe(415);
    expect(json).toEqual({ errors: [{ message: expect.stringMatching(/application\/json/), extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' } }] });
    expect(await keyNames()).not.toContain(name);
  });

  it('accepts application/json with a charset parameter', async () => {
    const response = await fetch(`${g.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${g.env.SIEMGATE_BOOTSTRAP_TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ query: '{ viewer { role } }' }),
    });
    const { status, json } = await readJsonAnswer(response);
    expect(status).toBe(200);
    expect(json.data.viewer.role).toBe('ADMIN');
  });
});

describe('a document with a field the role may not use executes nothing', () => {
  const mixed = (event: ReturnType<typeof makeEvent>, name: string) => ({
    query: `mutation Mixed($events: [SecurityEventInput!]!) {
      ingestEvents(events: $events) { accepted }
      createApiKey(input: { name: "${name}", role: ADMIN }) { token }
    }`,
    variables: { events: [event] },
  });

  /** Ingests `event` properly: `duplicates` 1 would mean the refused document had stored it. */
  async function storedBefore(event: ReturnType<typeof makeEvent>): Promise<boolean> {
    const { ingestEvents } = dataOf(await g.gql(INGEST_EVENTS, { events: [event] }, ingestKey));
    return ingestEvents.duplicates > 0;
  }

  it('an ingest key sending ingestEvents with createApiKey over HTTP: FORBIDDEN, no event stored, no key created', async () => {
    const event = makeEvent();
    const name = `mixed-http-${randomUUID().slice(0, 6)}`;
    const { query, variables } = mixed(event, name);
    const res = await g.gql(query, variables, ingestKey);
    expect(res.data ?? null).toBeNull();
    expect(res.errors!.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(firstError(res).message).toMatch(/createApiKey/);
    expect(await storedBefore(event)).toBe(false);
    expect(await keyNames()).not.toContain(name);
  });

  it('the same through a fragment, over graphql-ws', async () => {
    const event = makeEvent();
    const name = `mixed-ws-${randomUUID().slice(0, 6)}`;
    const sub = await wsOnce(
      ws(g.url, ingestKey),
      `mutation Mixed($events: [SecurityEventInput!]!) { ...Both }
       fragment Both on Mutation { ingestEvents(events: $events) { accepted } createApiKey(input: { name: "${name}", role: ADMIN }) { token } }`,
      { events: [event] },
    );
    expect(sub.values.filter((v: any) => v?.ingestEvents)).toEqual([]);
    expect(wsErrors(sub).map((e) => e.extensions?.code)).toContain('FORBIDDEN');
    expect(await storedBefore(event)).toBe(false);
    expect(await keyNames()).not.toContain(name);
  });

  it('a viewer reading allowed fields next to an admin-only one gets no partial data', async () => {
    const res = await g.gql('{ viewer { role } siemIntegrations { id } apiKeys { id } }', {}, viewer);
    expect(res.data ?? null).toBeNull();
    expect(res.errors!.map((e) => [e.extensions?.code, e.message.match(/Query\.\w+/)?.[0]])).toEqual([['FORBIDDEN', 'Query.apiKeys']]);
  });

  it('still answers documents the role may use in full', async () => {
    expect(dataOf(await g.gql('{ viewer { role } siemIntegrations { id } }', {}, viewer)).viewer.role).toBe('VIEWER');
  });
});

describe('with SIEMGATE_GRAPHIQL=false, introspection is refused on every transport', () => {
  let closed: TestGateway;
  beforeAll(async () => {
    closed = await startTestGateway({ env: { SIEMGATE_GRAPHIQL: 'false' } });
  });
  afterAll(async () => {
    await closed?.stop({ removeDatabase: true });
  });
  const INTROSPECTION = '{ __schema { types { name fields { name } } } }';

  it('over HTTP POST and GET', async () => {
    const post = await closed.gql(INTROSPECTION);
    expect(post.errors?.length).toBeGreaterThan(0);
    expect(JSON.stringify(post)).not.toMatch(/SiemIntegration/);
    const get = await fetch(`${closed.url}/graphql?query=${encodeURIComponent(INTROSPECTION)}`, {
      headers: { authorization: `Bearer ${closed.env.SIEMGATE_BOOTSTRAP_TOKEN}`, accept: 'application/json' },
    });
    const { json } = await readJsonAnswer(get);
    expect(json.errors?.length).toBeGreaterThan(0);
    expect(JSON.stringify(json)).not.toMatch(/SiemIntegration/);
  });

  it.each([
    ['__schema', INTROSPECTION],
    ['__type', '{ __type(name: "SiemIntegration") { fields { name } } }'],
  ])('over graphql-ws (%s), for an admin', async (_label, query) => {
    const sub = await wsOnce(ws(closed.url), query);
    expect(sub.values).toEqual([]);
    expect(wsErrors(sub).length).toBeGreaterThan(0);
    expect(JSON.stringify(sub.results)).not.toMatch(/"fields"/);
  });

  it('over graphql-ws, ordinary operations still run', async () => {
    const sub = await wsOnce(ws(closed.url), '{ viewer { role } }');
    expect(sub.values).toEqual([{ viewer: { role: 'ADMIN' } }]);
  });

  it('stays open over graphql-ws with GraphiQL on (the default)', async () => {
    const sub = await wsOnce(ws(g.url), '{ __type(name: "SiemIntegration") { name } }');
    expect(sub.values).toEqual([{ __type: { name: 'SiemIntegration' } }]);
  });
});

describe('at most SIEMGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION (default 100) subscriptions per WebSocket', () => {
  let sink: HecSink;
  let integration: any;
  beforeAll(async () => {
    sink = await startHecSink();
    integration = await createSplunkIntegration(g, sink, { name: 'Limited', enabled: false });
  });
  afterAll(async () => {
    await sink?.close();
  });

  /** Renames the integration until every one of `subs` reported it (all are live on the server). */
  async function untilAllLive(subs: Subscription[]) {
    let n = 0;
    await waitFor(
      async () => {
        if (subs.every((s) => s.values.length > 0)) return true;
        n += 1;
        dataOf(await g.gql('mutation($id: ID!, $name: String!) { updateSiemIntegration(id: $id, input: { name: $name }) { id } }', { id: integration.id, name: `limited ${n}` }));
        return false;
      },
      { timeoutMs: 20_000, intervalMs: 200, message: () => `only ${subs.filter((s) => s.values.length > 0).length} of ${subs.length} live` },
    );
  }

  it('accepts 100, refuses the 101st with QUERY_LIMIT_EXCEEDED, keeps the connection usable, and frees a slot when one completes', async () => {
    const client = ws(g.url, viewer);
    const subs = Array.from({ length: 100 }, () => client.subscribe(STATUS_SUBSCRIPTION, { id: integration.id }, 'siemIntegrationStatus'));
    await untilAllLive(subs);
    expect(subs.filter((s) => s.error !== undefined)).toEqual([]);

    const refused = client.subscribe(STATUS_SUBSCRIPTION, { id: integration.id }, 'siemIntegrationStatus');
    await refused.waitForEnd();
    const [error] = wsErrors(refused);
    expect(error?.extensions?.code).toBe('QUERY_LIMIT_EXCEEDED');
    expect(error?.message).toMatch(/100 subscriptions/);

    // The connection is still open and answers queries.
    expect((await wsOnce(client, '{ viewer { role } }')).values).toEqual([{ viewer: { role: 'VIEWER' } }]);
    expect(client.closes).toEqual([]);

    // Completing one frees its slot.
    subs[0]!.unsubscribe();
    const replacement = client.subscribe(STATUS_SUBSCRIPTION, { id: integration.id }, 'siemIntegrationStatus');
    await untilAllLive([replacement]);
    expect(replacement.error).toBeUndefined();
  });

  it('counts per connection: another connection of the same key has its own 100', async () => {
    const first = ws(g.url, viewer);
    const second = ws(g.url, viewer);
    const subs = Array.from({ length: 100 }, () => first.subscribe(STATUS_SUBSCRIPTION, { id: integration.id }, 'siemIntegrationStatus'));
    const other = second.subscribe(STATUS_SUBSCRIPTION, { id: integration.id }, 'siemIntegrationStatus');
    await untilAllLive([...subs, other]);
    expect(other.error).toBeUndefined();
  });

  it('the setting is validated like the others', () => {
    expect(loadSettings({}).maxSubscriptionsPerConnection).toBe(100);
    expect(loadSettings({ SIEMGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '5' }).maxSubscriptionsPerConnection).toBe(5);
    for (const bad of ['0', '-1', 'many', '1.5', '100001']) {
      expect(() => loadSettings({ SIEMGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION: bad }), bad).toThrow(/SIEMGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION/);
    }
  });
});
