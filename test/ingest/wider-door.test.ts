import { request } from 'node:http';
import { connect } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOf } from '../support/api.js';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { INGEST_EVENTS, makeEvent, postEvents } from '../support/delivery.js';
import { fromStoredLine } from '../../src/events/stored-event.js';

/**
 * Issue 11, "A wider door", over the real server and real HTTP: gzip/deflate bodies for `POST /v1/events`
 * and `POST /graphql` (limits on the inflated size, bombs stopped early, corrupt streams 400, other codings
 * 415); unknown top-level fields kept under `data` and counted; the product documentation's snake_case
 * names as aliases, a conflicting alias refused naming both.
 */

const INGEST_LIMIT = 2 * 1024 * 1024;
const GRAPHQL_LIMIT = 64 * 1024;
/** How far past the limit inflating may go before it stops: one inflater output chunk (zlib's default 16 KiB). */
const SLACK = 16 * 1024;

let g: TestGateway;

beforeAll(async () => {
  g = await startTestGateway({ env: { SIEMGATE_MAX_INGEST_BYTES: String(INGEST_LIMIT), SIEMGATE_MAX_BODY_BYTES: String(GRAPHQL_LIMIT) } });
});
afterAll(async () => {
  await g?.stop({ removeDatabase: true });
});

interface Answer {
  status: number;
  json: any;
}

/** A POST with a raw body over node:http; resolves with the answer even when the gateway stops reading early. */
function post(path: string, body: Buffer, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${g.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-length': String(body.length), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    // The gateway may answer and close before the whole body is written (a refused bomb): not an error here.
    req.on('error', (error) => (req.writableEnded ? undefined : reject(error)));
    req.end(body);
  });
}

const postEventsEncoded = (events: unknown, coding: string, encode: (b: Buffer) => Buffer) =>
  post('/v1/events', encode(Buffer.from(JSON.stringify(events))), { 'content-type': 'application/json', 'content-encoding': coding });

/** The canonical event as stored (the JSON of a SecurityEvent, `time` as ISO 8601). */
const serializable = (e: unknown) => JSON.parse(JSON.stringify(e));

async function stored(id: string): Promise<any> {
  const rows = await g.store.db.selectFrom('event_segments').select('events').execute();
  for (const row of rows) {
    const line = row.events.split('\n').find((l) => l.includes(`"id":${JSON.stringify(id)}`));
    if (line) return serializable(fromStoredLine(line));
  }
  return undefined;
}

/** The inflated byte count the gateway reports it stopped at. */
function stoppedAt(message: string): number {
  const m = /inflating stopped after (\d+) bytes/.exec(message);
  expect(m, message).not.toBeNull();
  return Number(m![1]);
}

/** `count` gzip members of `size` zero bytes each, concatenated (a valid gzip stream inflating to count × size). */
function zeroBomb(size: number, count = 1): Buffer {
  const member = gzipSync(Buffer.alloc(size));
  return Buffer.concat(Array.from({ length: count }, () => member));
}

describe('compressed bodies', () => {
  it('accepts a gzip POST /v1/events and stores its events', async () => {
    const event = makeEvent();
    const answer = await postEventsEncoded([event], 'gzip', (b) => gzipSync(b));
    expect(answer).toEqual({ status: 202, json: { accepted: 1, duplicates: 0, movedToData: 0 } });
    expect((await stored(event.id)).type).toBe('scan');
  });

  it("takes the README's Quick start example: gzip NDJSON with snake_case names and an extra field", async () => {
    const line = '{"event_type":"scan","severity":"critical","customer_id":"cust_acme","rule_ids":["pi-001"],"src_ip":"10.0.0.1"}\n';
    const answer = await post('/v1/events', gzipSync(Buffer.from(line)), { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' });
    expect(answer).toEqual({ status: 202, json: { accepted: 1, duplicates: 0, movedToData: 1 } });
  });

  it('accepts deflate (zlib format) and x-gzip, case-insensitively', async () => {
    const a = makeEvent();
    const b = makeEvent();
    expect((await postEventsEncoded([a], 'Deflate', (x) => deflateSync(x))).status).toBe(202);
    expect((await postEventsEncoded([b], 'x-gzip', (x) => gzipSync(x))).status).toBe(202);
    expect(await stored(a.id)).toBeDefined();
    expect(await stored(b.id)).toBeDefined();
  });

  it('accepts a gzip body whose inflated size is within the limit though far larger than sent', async () => {
    const events = Array.from({ length: 50 }, () => makeEvent({ data: { note: 'x'.repeat(30_000) } }));
    const body = Buffer.from(JSON.stringify(events));
    expect(body.length).toBeLessThan(INGEST_LIMIT);
    const answer = await post('/v1/events', gzipSync(body), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(answer.status).toBe(202);
    expect(answer.json.accepted).toBe(50);
  });

  it('refuses a gzip bomb (10 MB of zeros, ≈10 KB sent) with 413, having inflated no more than the limit', async () => {
    const bomb = zeroBomb(10 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(20 * 1024);
    const answer = await post('/v1/events', bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(answer.status).toBe(413);
    expect(answer.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    const stop = stoppedAt(answer.json.error.message);
    expect(stop).toBeGreaterThan(INGEST_LIMIT);
    expect(stop).toBeLessThanOrEqual(INGEST_LIMIT + SLACK);
  });

  it('refuses a 1 GiB bomb (64 gzip members of 16 MiB zeros, ≈1 MB sent, within the limit as sent) the same way, after inflating no more than the limit', async () => {
    const bomb = zeroBomb(16 * 1024 * 1024, 64);
    expect(bomb.length).toBeLessThan(INGEST_LIMIT);
    const answer = await post('/v1/events', bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(answer.status).toBe(413);
    const stop = stoppedAt(answer.json.error.message);
    expect(stop).toBeLessThanOrEqual(INGEST_LIMIT + SLACK);
    // The gateway is still there and takes the next request.
    expect((await postEvents(g.url, [makeEvent()])).status).toBe(202);
  });

  it('refuses a compressed body larger than the limit as sent, before inflating it', async () => {
    const noise = Buffer.from(Array.from({ length: INGEST_LIMIT + 1024 }, (_, i) => (i * 7919) % 251));
    const answer = await post('/v1/events', noise, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(answer.status).toBe(413);
    expect(answer.json.error.message).toContain(`limit of ${INGEST_LIMIT} bytes`);
  });

  it('refuses a corrupt or truncated gzip stream with 400 BAD_USER_INPUT, storing nothing', async () => {
    const event = makeEvent();
    const good = gzipSync(Buffer.from(JSON.stringify([event])));
    const corrupt = Buffer.from(good);
    corrupt.fill(0xff, 10, 30);
    for (const body of [corrupt, good.subarray(0, good.length - 12), Buffer.from('not gzip at all')]) {
      const answer = await post('/v1/events', body, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe('BAD_USER_INPUT');
      expect(answer.json.error.message).toMatch(/^The gzip request body could not be inflated: /);
    }
    expect(await stored(event.id)).toBeUndefined();
  });

  it('refuses an unsupported Content-Encoding with 415 naming it', async () => {
    for (const coding of ['br', 'zstd', 'gzip, gzip', 'compress']) {
      const answer = await post('/v1/events', Buffer.from(JSON.stringify([makeEvent()])), { 'content-type': 'application/json', 'content-encoding': coding });
      expect(answer.status, coding).toBe(415);
      expect(answer.json.error).toEqual({ code: 'UNSUPPORTED_MEDIA_TYPE', message: `Content-Encoding "${coding}" is not supported; send the body uncompressed, gzip or deflate` });
    }
  });

  describe('GraphQL', () => {
    const gqlBody = (query: string, variables: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({ query, variables }));
    const gqlPost = (body: Buffer, coding: string) => post('/graphql', body, { 'content-type': 'application/json', 'content-encoding': coding });

    it('accepts a gzip or deflate request, ingestEvents included', async () => {
      expect(await gqlPost(gzipSync(gqlBody('{ viewer { role } }')), 'gzip')).toEqual({ status: 200, json: { data: { viewer: { role: 'ADMIN' } } } });
      const event = makeEvent();
      const answer = await gqlPost(deflateSync(gqlBody(INGEST_EVENTS, { events: [event] })), 'deflate');
      expect(dataOf<any>({ status: answer.status, ...answer.json }).ingestEvents).toEqual({ accepted: 1, duplicates: 0, ids: [event.id] });
      expect(await stored(event.id)).toBeDefined();
    });

    it('refuses a bomb with 413 after inflating no more than SIEMGATE_MAX_BODY_BYTES', async () => {
      const answer = await gqlPost(zeroBomb(10 * 1024 * 1024), 'gzip');
      expect(answer.status).toBe(413);
      expect(answer.json.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
      const stop = stoppedAt(answer.json.errors[0].message);
      expect(stop).toBeGreaterThan(GRAPHQL_LIMIT);
      expect(stop).toBeLessThanOrEqual(GRAPHQL_LIMIT + SLACK);
    });

    it('refuses a corrupt stream with 400 BAD_USER_INPUT and another coding with 415', async () => {
      const corrupt = await gqlPost(Buffer.from('definitely not deflate'), 'deflate');
      expect(corrupt.status).toBe(400);
      expect(corrupt.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(corrupt.json.errors[0].message).toMatch(/^The deflate request body could not be inflated: /);
      const br = await gqlPost(gqlBody('{ viewer { role } }'), 'br');
      expect(br.status).toBe(415);
      expect(br.json.errors[0].extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });
  });
});

describe('unknown top-level fields', () => {
  it('keeps them under data and says how many were moved', async () => {
    const event = { id: crypto.randomUUID(), type: 'scan', severity: 'HIGH', src_ip: '10.0.0.1', host: { name: 'raxe-agent-01', os: 'linux' } };
    const other = makeEvent({ data: { model: 'gpt-4o' }, tenant: 'acme' });
    const answer = await postEvents(g.url, [event, other]);
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ accepted: 2, duplicates: 0, movedToData: 3 });
    const saved = await stored(event.id);
    expect(saved.data).toEqual({ src_ip: '10.0.0.1', host: { name: 'raxe-agent-01', os: 'linux' } });
    expect(saved.src_ip).toBeUndefined();
    expect((await stored(other.id)).data).toEqual({ model: 'gpt-4o', tenant: 'acme' });
  });

  it('keeps NDJSON events the same way; refuses __proto__ (it cannot be kept under data) rather than losing it', async () => {
    const id = crypto.randomUUID();
    const answer = await postEvents(g.url, `{"id":"${id}","type":"scan","severity":"LOW","toString":"x","valueOf":{"a":1}}\n`, { contentType: 'application/x-ndjson' });
    expect(answer.body).toEqual({ accepted: 1, duplicates: 0, movedToData: 2 });
    expect((await stored(id)).data).toEqual({ toString: 'x', valueOf: { a: 1 } });

    const proto = await postEvents(g.url, `{"type":"scan","severity":"LOW","__proto__":{"polluted":true}}\n`, { contentType: 'application/x-ndjson' });
    expect(proto.status).toBe(400);
    expect(proto.body.error.issues).toEqual([{ path: 'events[0].__proto__', message: 'is not an event field and cannot be kept under data under this name; rename it' }]);
    expect(({} as any).polluted).toBeUndefined();
  });

  it('refuses a field also given under data with 400 naming both, storing nothing', async () => {
    const event = makeEvent({ src_ip: '10.0.0.1', data: { src_ip: '10.0.0.2' } });
    const answer = await postEvents(g.url, [makeEvent(), event]);
    expect(answer.status).toBe(400);
    expect(answer.body.error.issues).toEqual([{ path: 'events[1].src_ip', message: 'is not an event field, so it belongs under data, but data.src_ip is given too; send it once' }]);
    expect(await stored(event.id)).toBeUndefined();
  });

  it('applies the data rules to the moved fields, naming them as sent', async () => {
    const tooBig = await postEvents(g.url, [makeEvent({ blob: 'x'.repeat(33 * 1024) })]);
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.error.message).toContain('events[0].data: must serialise to at most 32768 bytes');
    const bigNumber = await postEvents(g.url, `[{"type":"scan","severity":"LOW","extra":{"n":12345678901234567890}}]`);
    expect(bigNumber.status).toBe(400);
    expect(bigNumber.body.error.issues[0].path).toBe('events[0].extra.n');
  });

  it('ingestEvents (a closed GraphQL input) refuses an unknown field; extra fields go in data there', async () => {
    const res = await g.gql(INGEST_EVENTS, { events: [{ type: 'scan', severity: 'HIGH', src_ip: '10.0.0.1' }] });
    expect(res.errors?.[0]?.message).toMatch(/src_ip/);
    const event = makeEvent({ data: { src_ip: '10.0.0.1' } });
    expect(dataOf(await g.gql(INGEST_EVENTS, { events: [event] })).ingestEvents.accepted).toBe(1);
  });
});

describe('snake_case aliases', () => {
  // The product documentation's Splunk event, as its producers send it, plus the remaining aliases.
  const ALIASED: [string, unknown, string, unknown][] = [
    ['event_type', 'scan', 'type', 'scan'],
    ['timestamp', '2026-01-30T10:30:00Z', 'time', '2026-01-30T10:30:00.000Z'],
    ['customer_id', 'cust_acme', 'customerId', 'cust_acme'],
    ['mssp_id', 'mssp_partner', 'msspId', 'mssp_partner'],
    ['installation_id', 'inst_abc123', 'installationId', 'inst_abc123'],
    ['agent_id', 'agent_prod_001', 'agentId', 'agent_prod_001'],
    ['user_email', 'analyst@example.com', 'userEmail', 'analyst@example.com'],
    ['source_ip', '192.0.2.7', 'sourceIp', '192.0.2.7'],
    ['threat_detected', true, 'threatDetected', true],
    ['rule_ids', ['pi-001', 'pi-003'], 'ruleIds', ['pi-001', 'pi-003']],
    ['prompt_hash', 'sha256:abc123...', 'promptHash', 'sha256:abc123...'],
    ['prompt_length', 1234, 'promptLength', 1234],
    ['detection_count', 2, 'detectionCount', 2],
    ['scan_duration_ms', 12.5, 'scanDurationMs', 12.5],
  ];

  it.each(ALIASED)('reads %s as %s', async (alias, value, canonical, expected) => {
    const id = crypto.randomUUID();
    const event: Record<string, unknown> = { id, severity: 'critical', [alias]: value };
    if (canonical !== 'type') event.type = 'scan';
    const answer = await postEvents(g.url, [event]);
    expect(answer.body).toEqual({ accepted: 1, duplicates: 0, movedToData: 0 });
    const saved = await stored(id);
    expect(saved[canonical]).toEqual(expected);
    expect(saved[alias]).toBeUndefined();
    expect(saved.data).toBeUndefined();
  });

  it('takes the documentation\'s Splunk example event as it is', async () => {
    const answer = await postEvents(g.url, [{
      event_type: 'scan', threat_detected: true, severity: 'critical', rule_ids: ['pi-001', 'pi-003'], prompt_hash: 'sha256:abc123...', customer_id: 'cust_acme', agent_id: 'agent_prod_001',
    }]);
    expect(answer.body).toEqual({ accepted: 1, duplicates: 0, movedToData: 0 });
  });

  it('applies the canonical field\'s rules to an alias, naming the field as sent', async () => {
    const answer = await postEvents(g.url, [makeEvent({ customer_id: 'cust acme', timestamp: 'yesterday', prompt_length: -1 })]);
    expect(answer.status).toBe(400);
    const paths = answer.body.error.issues.map((i: { path: string }) => i.path).sort();
    expect(paths).toEqual(['events[0].customer_id', 'events[0].prompt_length', 'events[0].timestamp']);
    expect(answer.body.error.message).toContain('events[0].timestamp: must be an ISO-8601 date-time');
  });

  it('refuses an alias and its canonical name with different values, naming both; the same value is accepted', async () => {
    const conflict = await postEvents(g.url, [makeEvent({ customerId: 'cust_a', customer_id: 'cust_b' })]);
    expect(conflict.status).toBe(400);
    expect(conflict.body.error.issues).toEqual([{ path: 'events[0].customer_id', message: 'conflicts with customerId, which has a different value; send one of them' }]);
    // Alias first, canonical second: named the other way round.
    const reversed = await postEvents(g.url, `[{"event_type":"scan","type":"login","severity":"LOW"}]`);
    expect(reversed.body.error.issues).toEqual([{ path: 'events[0].type', message: 'conflicts with event_type, which has a different value; send one of them' }]);
    const lists = await postEvents(g.url, [makeEvent({ ruleIds: ['a'], rule_ids: ['a', 'b'] })]);
    expect(lists.status).toBe(400);

    const same = makeEvent({ customerId: 'cust_a', customer_id: 'cust_a', ruleIds: ['a'], rule_ids: ['a'] });
    expect((await postEvents(g.url, [same])).status).toBe(202);
    expect(await stored(same.id)).toMatchObject({ customerId: 'cust_a', ruleIds: ['a'] });
  });
});

describe('compressed bodies under admission', () => {
  let small: TestGateway;
  beforeAll(async () => {
    // One organisation may buffer one full-size body at a time; a body must arrive within 1.5 s.
    small = await startTestGateway({
      env: { SIEMGATE_MAX_INGEST_BYTES: String(64 * 1024), SIEMGATE_INGEST_BUFFER_BYTES_PER_ORG: String(64 * 1024), SIEMGATE_INGEST_BODY_TIMEOUT_MS: '1500' },
    });
  });
  afterAll(async () => {
    await small?.stop({ removeDatabase: true });
  });

  it('reserves the inflated limit for a gzip body (not its small Content-Length) and gives a stalled one 408', async () => {
    const { port } = new URL(small.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    let received = '';
    let stalledStatus: number | undefined;
    socket.on('data', (c: Buffer) => {
      received += c.toString('latin1');
      stalledStatus ??= Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0) || undefined;
    });
    const stalled = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const gz = gzipSync(Buffer.from(JSON.stringify([makeEvent()])));
    socket.write(
      `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\n` +
        `Content-Encoding: gzip\r\nContent-Length: ${gz.length}\r\nConnection: close\r\n\r\n`,
    );
    socket.write(gz.subarray(0, 12)); // the gzip header and a little more, then nothing
    await new Promise((r) => setTimeout(r, 200));

    // A small plain body of the same organisation fits only once the stalled upload gave its reservation back.
    const plain = await postEvents(small.url, [makeEvent()]);
    expect(plain.status).toBe(202);
    expect(stalledStatus).toBe(408);
    await stalled;
    expect(received).toContain('REQUEST_TIMEOUT');
  });
});
