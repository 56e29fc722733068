import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, firstError } from '../support/api.js';
import { ADMIN_TOKEN, createKeyWithCli, startTestGateway, type TestGateway } from '../support/gateway.js';
import { INGEST_EVENTS, makeEvent, makeEvents, postEvents } from '../support/delivery.js';

/**
 * Issue 8, items 1 (ingest part), 3 and 12 (ingest part), against the real server over real sockets:
 * - one organisation's slow uploads cannot delay another's ingest; a body that does not arrive in time
 *   gets 408 REQUEST_TIMEOUT and its connection is closed; aborted uploads give back all they held;
 * - a key revoked while its upload is in progress gets 401 and nothing is stored;
 * - invalid UTF-8 and numbers JSON cannot carry are refused with 400 naming the event and field.
 * Small limits come from the settings so that the tests are quick; nothing asserts how long anything took.
 */

let g: TestGateway;
let otherOrgToken: string;

beforeAll(async () => {
  g = await startTestGateway({
    env: {
      SIEMGATE_INGEST_BODY_TIMEOUT_MS: '4000',
      SIEMGATE_INGEST_READS_PER_ORG: '2',
      SIEMGATE_INGEST_CONCURRENCY: '1',
      SIEMGATE_MAX_INGEST_EVENTS: '50',
    },
  });
  otherOrgToken = await createKeyWithCli(g.env, 'slow-org', 'ingest');
});
afterAll(async () => {
  await g?.stop({ removeDatabase: true });
});

interface RawAnswer {
  status: number;
  text: string;
  json: any;
}

/** A `POST /v1/events` over a raw socket: the headers go at once, the body as the test writes it. */
function rawUpload(token: string, contentLength: number | null, path = '/v1/events') {
  const { port } = new URL(g.url);
  const socket: Socket = connect(Number(port), '127.0.0.1');
  socket.on('error', () => undefined);
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  let answered: RawAnswer | undefined;
  const answer = new Promise<RawAnswer | undefined>((resolve) => {
    socket.once('close', () => {
      const [head = '', body = ''] = received.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      let json: any;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      answered = status ? { status, text: received, json } : undefined;
      resolve(answered);
    });
  });
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
      (contentLength === null ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${contentLength}\r\n`) +
      'Connection: close\r\n\r\n',
  );
  return {
    socket,
    answer,
    get answered() {
      return answered;
    },
    write: (data: string | Buffer) => socket.write(data),
  };
}

/** Writes `body` one byte every `everyMs` until the socket closes. */
function trickle(upload: ReturnType<typeof rawUpload>, body: string, everyMs: number) {
  let i = 0;
  const timer = setInterval(() => {
    if (upload.socket.destroyed || i >= body.length) return clearInterval(timer);
    upload.write(body[i++]!);
  }, everyMs);
  upload.socket.once('close', () => clearInterval(timer));
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fair ingestion', () => {
  it("answers organisation A while organisation B's slow uploads are still open; B's get 408 and are closed", async () => {
    const body = JSON.stringify([makeEvent()]);
    const slow = Array.from({ length: 4 }, () => rawUpload(otherOrgToken, body.length));
    slow.forEach((u) => trickle(u, body, 300));
    await settle(200); // B's uploads are in: two reading, two waiting in B's own queue

    const a = await postEvents(g.url, [makeEvent()], { token: ADMIN_TOKEN });
    expect(a.status).toBe(202);
    expect(slow.map((u) => u.answered)).toEqual([undefined, undefined, undefined, undefined]);

    const answers = await Promise.all(slow.map((u) => u.answer));
    for (const answer of answers) {
      expect(answer?.status).toBe(408);
      expect(answer?.json).toMatchObject({ error: { code: 'REQUEST_TIMEOUT' } });
    }
    // The connections were closed by the gateway (the answers above resolve on close).
    expect(slow.every((u) => u.socket.destroyed || u.socket.readableEnded)).toBe(true);
  });

  it('gives back everything aborted uploads held: ingest still works for the same organisation', async () => {
    for (let round = 0; round < 3; round++) {
      const uploads = Array.from({ length: 5 }, () => rawUpload(ADMIN_TOKEN, 5000));
      uploads.forEach((u) => u.write('[{"type":"scan","sev'));
      await settle(100);
      uploads.forEach((u) => u.socket.destroy());
      await Promise.all(uploads.map((u) => u.answer));
    }
    const chunked = Array.from({ length: 3 }, () => rawUpload(ADMIN_TOKEN, null));
    chunked.forEach((u) => u.write('10\r\n[{"type":"scan","s\r\n'));
    await settle(100);
    chunked.forEach((u) => u.socket.destroy());

    for (let i = 0; i < 3; i++) expect((await postEvents(g.url, [makeEvent()])).status).toBe(202);
  });

  it('refuses a chunked body that does not arrive in time with 408 too', async () => {
    const upload = rawUpload(ADMIN_TOKEN, null);
    upload.write('5\r\n[{"ty\r\n');
    const answer = await upload.answer;
    expect(answer?.status).toBe(408);
    expect(answer?.json?.error?.code).toBe('REQUEST_TIMEOUT');
  });

  it('applies the event limit to ingestEvents as to POST /v1/events', async () => {
    const res = await g.gql(INGEST_EVENTS, { events: makeEvents(51) });
    expect(firstError(res).extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await postEvents(g.url, makeEvents(51))).status).toBe(413);
    expect(dataOf(await g.gql(INGEST_EVENTS, { events: makeEvents(50) })).ingestEvents.accepted).toBe(50);
  });
});

describe('a key revoked while its upload is in progress', () => {
  it('gets 401 and nothing is stored', async () => {
    const created = dataOf(await g.gql('mutation { createApiKey(input: { name: "producer", role: INGEST }) { token apiKey { id } } }')).createApiKey;
    const event = makeEvent();
    const body = JSON.stringify([event]);
    const upload = rawUpload(created.token, body.length);
    upload.write(body.slice(0, 10));
    await settle(100);
    dataOf(await g.gql('mutation Revoke($id: ID!) { revokeApiKey(id: $id) { id } }', { id: created.apiKey.id }));
    upload.write(body.slice(10));
    const answer = await upload.answer;
    expect(answer?.status).toBe(401);
    expect(answer?.json?.error?.code).toBe('UNAUTHENTICATED');
    // Not stored: sending the same id again is not a duplicate.
    expect((await postEvents(g.url, [event])).body).toEqual({ accepted: 1, duplicates: 0, movedToData: 0 });
  });
});

describe('input JSON cannot carry', () => {
  it('refuses invalid UTF-8 with 400 naming the event and field, storing nothing', async () => {
    const events = makeEvents(4);
    const text = JSON.stringify(events).replace(`"name":"Prompt Injection Detected","data":{"n":2}`, `"name":"Prompt \u0001MARK","data":{"n":2}`);
    const bytes = Buffer.from(text, 'utf8');
    const at = bytes.indexOf(0x01);
    bytes[at] = 0xff; // a byte that never occurs in UTF-8
    const response = await fetch(`${g.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: bytes,
    });
    const answer = (await response.json()) as any;
    expect(response.status).toBe(400);
    expect(answer.error.code).toBe('BAD_USER_INPUT');
    expect(answer.error.message).toMatch(/^events\[2\]\.name: not valid UTF-8/);
    expect((await postEvents(g.url, [events[0]!])).body).toEqual({ accepted: 1, duplicates: 0, movedToData: 0 });
  });

  it.each([
    ['1e400', 'events[1].data.bytes'],
    ['-1e400', 'events[1].data.bytes'],
    ['9007199254740993', 'events[1].data.bytes'],
    ['[1, 2, 123456789012345678901234567890]', 'events[1].data.bytes.2'],
  ])('refuses %s with 400 naming %s', async (literal, path) => {
    const events = makeEvents(2);
    const text = JSON.stringify(events).replace('"data":{"n":1}', `"data":{"n":1,"bytes":${literal}}`);
    const answer = await postEvents(g.url, text);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('BAD_USER_INPUT');
    expect(answer.body.error.message).toContain(`${path}: number out of range`);
    expect((await postEvents(g.url, [events[0]!])).body).toEqual({ accepted: 1, duplicates: 0, movedToData: 0 });
  });

  it('refuses an out-of-range top-level number, and accepts the largest exact integer', async () => {
    const bad = await postEvents(g.url, `[{"type":"scan","severity":"LOW","scanDurationMs":1e400}]`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('events[0].scanDurationMs: number out of range');
    const ok = await postEvents(g.url, `[{"type":"scan","severity":"LOW","data":{"bytes":9007199254740991,"ratio":1.5e300}}]`);
    expect(ok.status).toBe(202);
  });

  it('refuses 1e400 in ingestEvents too', async () => {
    const response = await fetch(`${g.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: `{"query":${JSON.stringify(INGEST_EVENTS)},"variables":{"events":[{"type":"scan","severity":"LOW","data":{"bytes":1e400}}]}}`,
    });
    const res = (await response.json()) as any;
    expect(res.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(res.errors[0].message).toContain('events[0].data.bytes: number out of range');
  });
});
