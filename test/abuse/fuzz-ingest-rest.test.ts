import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENTED_CODES, REST_CODES, makeEvents } from '../support/fault-kit.js';
import { ingestBody } from '../support/fuzz.js';
import { ADMIN_TOKEN, createKeyWithCli, readJsonAnswer, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Property-based fuzzing of `POST /v1/events` bodies: random bytes, random JSON, NDJSON lines of mixed quality,
 * near-valid events with one hostile field, under every content type. Always one of the documented answers
 * (202, 400, 413, 415) with `{"error": {code, message}}` on refusal, never a 5xx; a refused request stores nothing
 * (all or nothing), an accepted one stores exactly `accepted - duplicates` new events.
 */

const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const ALLOWED = new Set<string>([...DOCUMENTED_CODES, ...REST_CODES]);

let g: TestGateway;
let ingestToken: string;
let viewerToken: string;

beforeAll(async () => {
  g = await startTestGateway({ env: { SIEMGATE_MAX_INGEST_BYTES: String(256 * 1024), SIEMGATE_MAX_INGEST_EVENTS: '50' } });
  [ingestToken, viewerToken] = await Promise.all([createKeyWithCli(g.env, 'default', 'ingest'), createKeyWithCli(g.env, 'default', 'viewer')]);
});
afterAll(async () => {
  if (g) {
    expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
    await g.stop({ removeDatabase: true });
  }
});

const eventCount = async () => Number(((await sql<{ n: number }>`SELECT coalesce(sum(last_position - first_position + 1), 0) AS n FROM event_segments`.execute(g.store.db)).rows[0] as { n: number }).n);

async function postRaw(body: Buffer | string, contentType: string | null, token: string | null = ingestToken, method = 'POST') {
  const response = await fetch(`${g.url}/v1/events`, {
    method,
    headers: { ...(contentType ? { 'content-type': contentType } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: method === 'GET' || method === 'HEAD' ? undefined : (body as unknown as string),
  });
  return readJsonAnswer(response);
}

const outcomes = new Map<string, number>();

describe('fuzzing POST /v1/events', () => {
  it('answers every body with a documented status and code, and writes all or nothing', async () => {
    await fc.assert(fc.asyncProperty(ingestBody, async ({ body, contentType }) => {
      const before = await eventCount();
      const res = await postRaw(body, contentType);
      const where = `content-type ${contentType} body ${JSON.stringify(body.toString('utf8').slice(0, 300))} (${body.length} bytes) → HTTP ${res.status} ${res.text.slice(0, 400)}`;
      const key = res.status === 202 ? '202 accepted' : `${res.status} ${res.json?.error?.code ?? 'no code'}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      expect([202, 400, 413, 415], where).toContain(res.status);
      expect(res.json, `not JSON: ${where}`).toBeTypeOf('object');
      const after = await eventCount();
      if (res.status === 202) {
        expect(Number.isInteger(res.json.accepted) && res.json.accepted > 0, where).toBe(true);
        expect(after - before, where).toBe(res.json.accepted - res.json.duplicates);
      } else {
        expect(ALLOWED.has(res.json.error?.code), `undocumented code: ${where}`).toBe(true);
        expect(typeof res.json.error.message === 'string' && res.json.error.message.length > 0, where).toBe(true);
        expect(res.json.error.message, where).not.toMatch(/SqliteError|SQLITE_|node_modules|\.ts:\d+|\bat [\w.]+ \(/);
        expect(after, `partial write: ${where}`).toBe(before);
      }
    }), { numRuns: NUM_RUNS, interruptAfterTimeLimit: 20_000 });
    console.log(`[fuzz] POST /v1/events: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n}× ${k}`).join(', ')}`);
  });

  it('a batch with one bad event among good ones stores none of them (all or nothing), naming the bad one', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 9 }), fc.constantFrom<[string, unknown]>(
      ['severity', 'SEVERE'], ['type', 'a b'], ['id', 'not-a-uuid'], ['sourceIp', '999.1.1.1'], ['time', 'yesterday'], ['promptLength', -1], ['customer_id', 'other customer'], ['data', 'not an object'],
    ), fc.boolean(), async (badIndex, [field, value], ndjson) => {
      const events: Record<string, unknown>[] = makeEvents(10);
      events[badIndex] = { ...events[badIndex], [field]: value };
      const before = await eventCount();
      const body = ndjson ? events.map((e) => JSON.stringify(e)).join('\n') : JSON.stringify(events);
      const res = await postRaw(body, ndjson ? 'application/x-ndjson' : 'application/json');
      expect(res.status, res.text).toBe(400);
      expect(res.json.error.code).toBe('BAD_USER_INPUT');
      expect(res.json.error.message).toContain(`events[${badIndex}]`);
      expect(await eventCount()).toBe(before);
    }), { numRuns: 40 });
  });

  it('refuses other methods (405), other roles (403) and bad tokens (401) before reading anything, storing nothing', async () => {
    const before = await eventCount();
    const good = JSON.stringify(makeEvents(2));
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const res = await postRaw(good, 'application/json', ingestToken, method);
      expect(res.status, method).toBe(405);
      expect(res.json.error.code).toBe('METHOD_NOT_ALLOWED');
    }
    const viewer = await postRaw(good, 'application/json', viewerToken);
    expect(viewer.status).toBe(403);
    expect(viewer.json.error.code).toBe('FORBIDDEN');
    for (const token of [null, 'sg_nope_nope_nope_nope_nope_nope', `${ADMIN_TOKEN} extra`]) {
      const res = await postRaw(good, 'application/json', token);
      expect(res.status, String(token)).toBe(401);
      expect(res.json.error.code).toBe('UNAUTHENTICATED');
    }
    expect(await eventCount()).toBe(before);
  });
});

describe('deeply nested event data', () => {
  it('any nesting depth of `data` (built as text, so the test itself never recurses) is answered 202, 400 or 413, never 500', async () => {
    // The bodies are built by string concatenation: JSON.stringify in this process would overflow first.
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 30_000 }), fc.boolean(), async (depth, arrays) => {
      const deep = arrays ? `{"a":${'['.repeat(depth)}1${']'.repeat(depth)}}` : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      const res = await postRaw(`[{"type":"scan","severity":"LOW","data":${deep}}]`, 'application/json');
      expect([202, 400, 413], `depth ${depth} (${arrays ? 'arrays' : 'objects'}) → HTTP ${res.status} ${res.text.slice(0, 200)}`).toContain(res.status);
    }), { numRuns: 30 });
  });

  // Found by the property above (shrunk counterexample: depth 4109, objects): `data` nested that deep (a 25 kB body,
  // under every size limit) was answered HTTP 500 "Unexpected error." on POST /v1/events, and INTERNAL_SERVER_ERROR on
  // ingestEvents (a stack overflow). Fixed in src since; kept as a regression test.
  it.each([2_000, 5_000, 20_000])('data nested %i levels deep is refused with 400 BAD_USER_INPUT (or accepted), never a 500', async (depth) => {
    const before = await eventCount();
    const deep = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    const body = `[{"type":"scan","severity":"LOW","data":${deep}}]`;
    const res = await postRaw(body, 'application/json');
    expect([202, 400, 413], `HTTP ${res.status} ${res.text.slice(0, 200)}`).toContain(res.status);
    if (res.status !== 202) {
      expect(res.json.error.code).not.toBeUndefined();
      expect(await eventCount()).toBe(before);
    }
    const gql = await fetch(`${g.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: `{"query":"mutation($e: [SecurityEventInput!]!) { ingestEvents(events: $e) { accepted } }","variables":{"e":[{"type":"scan","severity":"LOW","data":${deep}}]}}`,
    });
    const answer = (await gql.json()) as any;
    expect(gql.status).toBeLessThan(500);
    if (answer.errors) expect(['BAD_USER_INPUT', 'PAYLOAD_TOO_LARGE'], JSON.stringify(answer.errors).slice(0, 300)).toContain(answer.errors[0].extensions?.code);
  });
});
