import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, firstError } from '../support/api.js';
import { ADMIN_TOKEN, createKeyWithCli, startTestGateway, type TestGateway } from '../support/gateway.js';
import {
  INGEST_EVENTS, createSplunkIntegration, ingest, makeEvent, makeEvents, postEvents, startHecSink, type HecSink,
} from '../support/delivery.js';
import { forEachDialect } from '../support/dialects.js';

/**
 * Issue 4, "Ingestion": `POST /v1/events` (JSON array or NDJSON) and the `ingestEvents` mutation, for
 * roles ingest and admin; all or nothing with the failing event's index and field named; an event with
 * its own id stored (and delivered) once however often it is sent; size limits with a clear 413.
 */

const CREATE_KEY = 'mutation CreateKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { token } }';

forEachDialect((dialect) => {
  let g: TestGateway;
  let sink: HecSink;
  let ingestToken: string;
  let viewerToken: string;

  beforeAll(async () => {
    [g, sink] = await Promise.all([dialect.databaseEnv().then((env) => startTestGateway({ env })), startHecSink()]);
    // Only events of type `scan` reach the sink: the gateway's own audit events stay out of the way.
    // batchSize 1: every event is a full batch and leaves at once, which keeps these tests quick.
    await createSplunkIntegration(g, sink, { name: 'All scans', filter: { eventTypes: ['scan'] }, batching: { batchSize: 1 } });
    ingestToken = dataOf(await g.gql(CREATE_KEY, { input: { name: 'producer', role: 'INGEST' } })).createApiKey.token;
    viewerToken = dataOf(await g.gql(CREATE_KEY, { input: { name: 'dashboard', role: 'VIEWER' } })).createApiKey.token;
  });
  afterAll(async () => {
    await Promise.all([g?.stop({ removeDatabase: true }), sink?.close()]);
  });

  /** Ingests one fresh event and waits until the sink accepted it: everything ingested before it has been delivered by then (ingest order). */
  async function barrier(): Promise<void> {
    const marker = makeEvent({ name: 'barrier' });
    await ingest(g.url, [marker]);
    await sink.waitForIds([marker.id]);
  }

  const occurrences = (id: string) => sink.acceptedIds().filter((x) => x === id).length;

  describe('idempotent ids', () => {
    it('stores and delivers an event sent twice only once, and counts the second as a duplicate', async () => {
      const event = makeEvent();
      const first = await postEvents(g.url, [event]);
      expect(first.status).toBe(202);
      expect(first.body).toEqual({ accepted: 1, duplicates: 0, movedToData: 0 });

      const again = await postEvents(g.url, [event, makeEvent()]);
      expect(again.status).toBe(202);
      expect(again.body).toEqual({ accepted: 2, duplicates: 1, movedToData: 0 });

      await sink.waitForIds([event.id]);
      await barrier();
      expect(occurrences(event.id)).toBe(1);
    });

    it('counts an id repeated inside one request as a duplicate and delivers it once', async () => {
      const event = makeEvent();
      const answer = await postEvents(g.url, [event, { ...event }, makeEvent()]);
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual({ accepted: 3, duplicates: 1, movedToData: 0 });
      await barrier();
      expect(occurrences(event.id)).toBe(1);
    });

    it('treats the REST endpoint and the ingestEvents mutation as one store of ids', async () => {
      const event = makeEvent();
      await ingest(g.url, [event]);
      const res = dataOf(await g.gql(INGEST_EVENTS, { events: [event] })).ingestEvents;
      expect(res).toEqual({ accepted: 1, duplicates: 1, ids: [event.id] });
      await barrier();
      expect(occurrences(event.id)).toBe(1);
    });
  });

  describe('all-or-nothing validation', () => {
    it('refuses a request with one bad event among ten with 400 naming events[3].severity, and stores and delivers none of it', async () => {
      const events = makeEvents(10);
      events[3]!.severity = 'EXTREME';
      const answer = await postEvents(g.url, events);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('BAD_USER_INPUT');
      expect(answer.body.error.message).toContain('events[3].severity');
      expect(answer.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['events[3].severity']);

      await barrier();
      const delivered = new Set(sink.acceptedIds());
      expect(events.filter((e) => delivered.has(e.id))).toEqual([]);

      // Nothing was stored: the nine valid events are new when sent again.
      const valid = events.filter((_, i) => i !== 3);
      const resend = await postEvents(g.url, valid);
      expect(resend.status).toBe(202);
      expect(resend.body).toEqual({ accepted: 9, duplicates: 0, movedToData: 0 });
      await sink.waitForIds(valid.map((e) => e.id));
    });

    it('names every bad event by index and field', async () => {
      const events = makeEvents(10);
      events[2]!.sourceIp = 'not-an-ip';
      delete (events[5] as Partial<typeof events[5]>).type;
      // An unknown field is kept under data (issue 11) unless data has it too: still a bad event.
      events[8]!.unknownField = true;
      events[8]!.data = { unknownField: false };
      const answer = await postEvents(g.url, events);
      expect(answer.status).toBe(400);
      const paths = answer.body.error.issues.map((i: { path: string }) => i.path);
      expect(paths).toContain('events[2].sourceIp');
      expect(paths).toContain('events[5].type');
      expect(paths.some((p: string) => p.startsWith('events[8]'))).toBe(true);
      expect(answer.body.error.message).toContain('events[2].sourceIp');
    });

    it('refuses a body that is not JSON, naming where, and an empty array', async () => {
      const broken = await postEvents(g.url, '[{"type":"scan","severity":"HIGH"},', {});
      expect(broken.status).toBe(400);
      expect(broken.body.error.code).toBe('BAD_USER_INPUT');

      const empty = await postEvents(g.url, []);
      expect(empty.status).toBe(400);
      expect(empty.body.error.code).toBe('BAD_USER_INPUT');
    });
  });

  describe('NDJSON', () => {
    it('accepts one event per line and delivers them', async () => {
      const events = makeEvents(5);
      const body = events.map((e) => JSON.stringify(e)).join('\n') + '\n';
      const answer = await postEvents(g.url, body, { contentType: 'application/x-ndjson' });
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual({ accepted: 5, duplicates: 0, movedToData: 0 });
      await sink.waitForIds(events.map((e) => e.id));
    });

    it('refuses NDJSON with a broken line, naming the line, and stores nothing of it', async () => {
      const events = makeEvents(3);
      const body = [JSON.stringify(events[0]), '{"type":"scan",', JSON.stringify(events[2])].join('\n');
      const answer = await postEvents(g.url, body, { contentType: 'application/x-ndjson' });
      expect(answer.status).toBe(400);
      expect(answer.body.error.message).toMatch(/line 2/);
      const resend = await postEvents(g.url, [events[0], events[2]]);
      expect(resend.body).toEqual({ accepted: 2, duplicates: 0, movedToData: 0 });
    });

    it('refuses a bad event in NDJSON by its index and field', async () => {
      const events = makeEvents(4);
      events[1]!.severity = 'loud';
      const answer = await postEvents(g.url, events.map((e) => JSON.stringify(e)).join('\n'), { contentType: 'application/x-ndjson' });
      expect(answer.status).toBe(400);
      expect(answer.body.error.message).toContain('events[1].severity');
    });
  });

  describe('roles', () => {
    it('lets ingest and admin keys ingest', async () => {
      const a = makeEvent();
      const b = makeEvent();
      expect((await postEvents(g.url, [a], { token: ingestToken })).status).toBe(202);
      expect((await postEvents(g.url, [b])).status).toBe(202);
      await sink.waitForIds([a.id, b.id]);
    });

    it('answers 403 FORBIDDEN to a viewer and stores nothing', async () => {
      const event = makeEvent();
      const answer = await postEvents(g.url, [event], { token: viewerToken });
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe('FORBIDDEN');
      expect((await postEvents(g.url, [event])).body).toEqual({ accepted: 1, duplicates: 0, movedToData: 0 });
    });

    it('answers 401 UNAUTHENTICATED without a token or with an unknown one', async () => {
      const none = await postEvents(g.url, [makeEvent()], { token: null });
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('UNAUTHENTICATED');
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);

      const unknown = await postEvents(g.url, [makeEvent()], { token: 'sg_this_token_was_never_issued_000000000' });
      expect(unknown.status).toBe(401);
    });

    it("stores events in the key's own organisation only, with ids of its own", async () => {
      const otherIngest = await createKeyWithCli(g.env, 'ingest-other-org', 'ingest');
      const event = makeEvent();
      expect((await postEvents(g.url, [event], { token: otherIngest })).body).toEqual({ accepted: 1, duplicates: 0, movedToData: 0 });
      await barrier();
      expect(occurrences(event.id)).toBe(0);

      // The same id in two organisations is two events: neither is a duplicate of the other, and the count
      // tells one organisation nothing about the other's ids.
      const ours = makeEvent();
      await ingest(g.url, [ours]);
      await sink.waitForIds([ours.id]);
      expect((await postEvents(g.url, [ours], { token: otherIngest })).body).toEqual({ accepted: 1, duplicates: 0, movedToData: 0 });
      expect((await postEvents(g.url, [event])).body).toEqual({ accepted: 1, duplicates: 0, movedToData: 0 });
      await sink.waitForIds([event.id]);
    });
  });

  describe('the ingestEvents mutation', () => {
    it('stores and delivers events, returning accepted, duplicates and the ids (generated where absent)', async () => {
      const withId = makeEvent({ customerId: 'cust_acme' });
      const { id: _omit, ...withoutId } = makeEvent();
      const res = dataOf(await g.gql(INGEST_EVENTS, { events: [withId, withoutId] }, ingestToken)).ingestEvents;
      expect(res.accepted).toBe(2);
      expect(res.duplicates).toBe(0);
      expect(res.ids).toHaveLength(2);
      expect(res.ids[0]).toBe(withId.id);
      expect(res.ids[1]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      await sink.waitForIds(res.ids);
    });

    it('refuses a bad severity naming events[3].severity and stores nothing', async () => {
      const events = makeEvents(10);
      events[3]!.severity = 'EXTREME';
      const res = await g.gql(INGEST_EVENTS, { events });
      const error = firstError(res);
      expect(error.extensions?.code).toBe('BAD_USER_INPUT');
      expect(error.message).toContain('events[3].severity');
      const valid = events.filter((_, i) => i !== 3);
      expect(dataOf(await g.gql(INGEST_EVENTS, { events: valid })).ingestEvents.duplicates).toBe(0);
    });

    it('refuses an event breaking a rule of the canonical shape with BAD_USER_INPUT naming events[3].sourceIp, and stores nothing', async () => {
      const events = makeEvents(10);
      events[3]!.sourceIp = 'not-an-ip';
      const res = await g.gql(INGEST_EVENTS, { events });
      const error = firstError(res);
      expect(error.message).toContain('events[3].sourceIp');
      expect(error.extensions?.code).toBe('BAD_USER_INPUT');
      const valid = events.filter((_, i) => i !== 3);
      expect(dataOf(await g.gql(INGEST_EVENTS, { events: valid })).ingestEvents.duplicates).toBe(0);
    });

    it('is refused to a viewer (FORBIDDEN)', async () => {
      const res = await g.gql(INGEST_EVENTS, { events: [makeEvent()] }, viewerToken);
      expect(firstError(res).extensions?.code).toBe('FORBIDDEN');
    });

    it('does not let an ingest key read integrations, status or dead letters (FORBIDDEN)', async () => {
      for (const query of [
        '{ siemIntegrations { id name } }',
        '{ deliveryStats { delivered queued } }',
        '{ auditLog { edges { node { id } } } }',
      ]) {
        const res = await g.gql(query, {}, ingestToken);
        expect(firstError(res).extensions?.code, query).toBe('FORBIDDEN');
        expect(res.data ?? null, query).toBeNull();
      }
    });
  });

  describe('size limits', () => {
    let small: TestGateway;
    beforeAll(async () => {
      small = await startTestGateway({ env: { ...(await dialect.databaseEnv()), SIEMGATE_MAX_INGEST_BYTES: '2048', SIEMGATE_MAX_INGEST_EVENTS: '5', SIEMGATE_MAX_BODY_BYTES: '4096' } });
    });
    afterAll(async () => {
      await small?.stop({ removeDatabase: true });
    });

    it('answers 413 PAYLOAD_TOO_LARGE to a body over SIEMGATE_MAX_INGEST_BYTES and stores none of it', async () => {
      const events = makeEvents(4, () => ({ data: { pad: 'x'.repeat(600) } }));
      expect(Buffer.byteLength(JSON.stringify(events))).toBeGreaterThan(2048);
      const answer = await postEvents(small.url, events);
      expect(answer.status).toBe(413);
      expect(answer.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(answer.body.error.message).toMatch(/2048/);
      // None of them was stored: each is new when sent on its own.
      for (const e of events) expect((await postEvents(small.url, [e])).body).toEqual({ accepted: 1, duplicates: 0, movedToData: 0 });
    });

    it('answers 413 to an oversize streamed (chunked) body too', async () => {
      const chunk = new TextEncoder().encode(JSON.stringify(makeEvent({ data: { pad: 'y'.repeat(500) } })) + '\n');
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 8; i++) controller.enqueue(chunk);
          controller.close();
        },
      });
      const response = await fetch(`${small.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(response.status).toBe(413);
    });

    it('answers 413 to more events than SIEMGATE_MAX_INGEST_EVENTS and stores none; at the limit it accepts', async () => {
      const events = makeEvents(6);
      const over = await postEvents(small.url, events);
      expect(over.status).toBe(413);
      expect(over.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      const atLimit = await postEvents(small.url, events.slice(0, 5));
      expect(atLimit.status).toBe(202);
      expect(atLimit.body).toEqual({ accepted: 5, duplicates: 0, movedToData: 0 });
    });

    it('answers 413 to an ingestEvents mutation whose body exceeds SIEMGATE_MAX_BODY_BYTES', async () => {
      const events = makeEvents(10, () => ({ data: { pad: 'z'.repeat(500) } }));
      const res = await small.gql(INGEST_EVENTS, { events });
      expect(res.status).toBe(413);
      expect(firstError(res).extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    });
  });
});
