import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterEach, expect } from 'vitest';
import { createIntegration, dataOf } from './api.js';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from './gateway.js';
import { startHttpReceiver, type HttpReceiver, type ReceivedRequest, type Reply } from './http-receiver.js';
import type { TestDialect } from './dialects.js';
import { postEvents } from './events.js';
import { parseHecBatch } from './spec-parsers.js';
import { safeJson, waitFor } from './wait.js';

export { makeEvent, makeEvents, postEvents, type IngestAnswer, type TestEvent } from './events.js';
export { waitFor } from './wait.js';

/**
 * Helpers for the end-to-end delivery tests (test/delivery): a Splunk HEC sink that parses what it got,
 * event builders, ingestion over REST and GraphQL, polling, and a real graphql-ws subscriber.
 * Everything talks to the real gateway over loopback; nothing reaches into its internals.
 */

// ── events and ingestion: ./events.ts ─────────────────────────────────────

/** Posts events and fails unless the gateway answers 202 with every event accepted. */
export async function ingest(baseUrl: string, events: unknown[], token?: string | null): Promise<{ accepted: number; duplicates: number }> {
  const answer = await postEvents(baseUrl, events, { token });
  expect(answer.status, `ingest answered ${answer.status}: ${JSON.stringify(answer.body)}`).toBe(202);
  expect(answer.body.accepted).toBe(events.length);
  return answer.body;
}

export const INGEST_EVENTS = /* GraphQL */ `
  mutation Ingest($events: [SecurityEventInput!]!) { ingestEvents(events: $events) { accepted duplicates ids } }
`;

// ── the SIEM: a Splunk HEC sink ─────────────────────────────────────────────

export const HEC_SUCCESS: Reply = { status: 200, body: '{"text":"Success","code":0}' };
export const HEC_BUSY: Reply = { status: 503, body: '{"text":"Server is busy","code":9}' };
export const HEC_INVALID_DATA: Reply = { status: 400, body: '{"text":"Invalid data format","code":6}' };

/** One HEC envelope as the sink parsed it. `event.id` is the canonical event id. */
export interface HecRecord {
  time: number;
  event: { id: string; event_type: string; severity: string; customer_id?: string; data?: any; [k: string]: unknown };
  [k: string]: unknown;
}

/** One request with its parsed records and the answer the sink gave. */
export interface SinkRequest {
  request: ReceivedRequest;
  records: HecRecord[];
  /** The answer's status (set once the sink has answered). */
  status?: number;
}

export interface HecSink {
  receiver: HttpReceiver;
  /** `${url}/services/collector/event` */
  endpoint: string;
  requests: SinkRequest[];
  /** Decides answers from now on (default: success). Receives the parsed request. */
  respond(responder: (req: SinkRequest) => Reply | Promise<Reply>): void;
  /** Every record of every request, in arrival order (failed attempts included). */
  allRecords(): HecRecord[];
  /** Records of requests the sink answered with 2xx, in arrival order: what the SIEM accepted. */
  accepted(): HecRecord[];
  /** Event ids of {@link accepted}, in order. */
  acceptedIds(): string[];
  /** Waits until the sink has accepted every id in `ids`. */
  waitForIds(ids: Iterable<string>, timeoutMs?: number): Promise<void>;
  /** All request bodies as one string (what a secret must never appear in). */
  rawBodies(): string;
  close(): Promise<void>;
}

/** A Splunk HEC on 127.0.0.1 that records and parses every request; answers success unless told otherwise. */
export async function startHecSink(responder?: (req: SinkRequest) => Reply | Promise<Reply>): Promise<HecSink> {
  let current = responder ?? (() => HEC_SUCCESS);
  const requests: SinkRequest[] = [];
  const receiver = await startHttpReceiver(async (request) => {
    let records: HecRecord[] = [];
    try {
      records = parseHecBatch(request.body.toString('utf8'));
    } catch {
      records = [];
    }
    const entry: SinkRequest = { request, records };
    requests.push(entry);
    const reply = await current(entry);
    entry.status = reply.status;
    return reply;
  });
  const accepted = () => requests.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300).flatMap((r) => r.records);
  const sink: HecSink = {
    receiver,
    endpoint: `${receiver.url}/services/collector/event`,
    requests,
    respond(next) {
      current = next;
    },
    allRecords: () => requests.flatMap((r) => r.records),
    accepted,
    acceptedIds: () => accepted().map((r) => r.event.id),
    async waitForIds(ids, timeoutMs = 15_000) {
      const wanted = [...ids];
      await waitFor(
        () => {
          const got = new Set(sink.acceptedIds());
          return wanted.every((id) => got.has(id));
        },
        {
          timeoutMs,
          message: () => {
            const got = new Set(sink.acceptedIds());
            const missing = wanted.filter((id) => !got.has(id));
            return `sink accepted ${wanted.length - missing.length} of ${wanted.length} expected events (missing e.g. ${missing.slice(0, 3).join(', ')}; ${requests.length} requests seen)`;
          },
        },
      );
    },
    rawBodies: () => requests.map((r) => r.request.body.toString('utf8')).join('\n'),
    close: () => receiver.close(),
  };
  return sink;
}

// ── per-test resources ──────────────────────────────────────────────────────

/**
 * Registers an `afterEach` that stops everything started through the returned helpers (all at once; with
 * `reverse`, started in reverse order of registration): `gateway()` is a fresh gateway with a fast retry
 * schedule (20 ms base, 200 ms cap) on `dialect`'s store (default SQLite), `sink()` a HEC sink. Push any other cleanup onto `cleanups`.
 */
export function perTestResources(options: { reverse?: boolean; dialect?: TestDialect } = {}): {
  cleanups: (() => Promise<unknown>)[];
  gateway: () => Promise<TestGateway>;
  sink: (...args: Parameters<typeof startHecSink>) => Promise<HecSink>;
} {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    const pending = cleanups.splice(0);
    await Promise.all((options.reverse ? pending.reverse() : pending).map((c) => c()));
  });
  return {
    cleanups,
    async gateway() {
      const g = await startTestGateway({ env: { SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '200', ...(await options.dialect?.databaseEnv()) } });
      cleanups.push(() => g.stop({ removeDatabase: true }));
      return g;
    },
    async sink(...args) {
      const s = await startHecSink(...args);
      cleanups.push(() => s.close());
      return s;
    },
  };
}

/** Creates a Splunk integration delivering to `sink` (flushIntervalSeconds 1 unless given) and returns it. */
export async function createSplunkIntegration(
  g: TestGateway,
  sink: HecSink,
  options: { name?: string; token?: string; customerId?: string; filter?: unknown; batching?: Record<string, number>; enabled?: boolean; endpoint?: string } = {},
  adminToken?: string,
): Promise<any> {
  return createIntegration(
    g,
    {
      name: options.name ?? `Splunk ${randomUUID().slice(0, 8)}`,
      ...(options.customerId !== undefined ? { customerId: options.customerId } : {}),
      ...(options.filter !== undefined ? { filter: options.filter } : {}),
      ...(options.enabled !== undefined ? { enabled: options.enabled } : {}),
      batching: { flushIntervalSeconds: 1, ...options.batching },
      config: { splunk: { endpoint: options.endpoint ?? sink.endpoint, token: options.token ?? 'hec-token-0000-1111' } },
    },
    adminToken,
  );
}

export const STATUS_FIELDS = /* GraphQL */ `
  id name enabled customerId errorCount lastError lastErrorAt lastEventAt health
  stats { delivered failedAttempts queued deadLettered successRate p50LatencyMs p95LatencyMs }
`;

/** An integration's error tracking and live figures over HTTP GraphQL (as the bootstrap admin unless `token`). */
export async function integrationStatus(g: Pick<TestGateway, 'gql'>, id: string, token?: string): Promise<any> {
  return dataOf(await g.gql(`query Status($id: ID!) { siemIntegration(id: $id) { ${STATUS_FIELDS} } }`, { id }, token)).siemIntegration;
}

export const DEAD_LETTERS = /* GraphQL */ `
  query DeadLetters($integrationId: ID!, $first: Int, $after: String) {
    deadLetters(integrationId: $integrationId, first: $first, after: $after) {
      edges { cursor node { id eventId event reason error httpStatus status attempts createdAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

/** Every dead letter of an integration (following pages). */
export async function deadLetters(g: TestGateway, integrationId: string, token?: string): Promise<any[]> {
  const out: any[] = [];
  let after: string | undefined;
  for (;;) {
    const page = dataOf(await g.gql(DEAD_LETTERS, { integrationId, first: 500, after }, token)).deadLetters;
    out.push(...page.edges.map((e: any) => e.node));
    if (!page.pageInfo.hasNextPage) return out;
    after = page.pageInfo.endCursor;
  }
}

export const REPLAY_DEAD_LETTERS = /* GraphQL */ `mutation Replay($id: ID!) { replayDeadLetters(integrationId: $id) }`;

// ── graphql-ws ──────────────────────────────────────────────────────────────

/** What a subscription got: `next` payloads, and how it ended. */
export interface Subscription<T = any> {
  /** `data` of every `next` without errors, in order. */
  values: T[];
  /** Every `next` payload as received (errors included). */
  results: { data?: any; errors?: any[] }[];
  /** Set when the subscription ended with an error (GraphQL errors array, Error, or CloseEvent-like). */
  error?: unknown;
  completed: boolean;
  /** Resolves once a value matching `predicate` has arrived (fails after the timeout). */
  waitForValue(predicate: (value: T) => boolean, timeoutMs?: number): Promise<T>;
  /** Resolves once the subscription ended (error or complete). */
  waitForEnd(timeoutMs?: number): Promise<void>;
  unsubscribe(): void;
}

export interface WsClient {
  client: Client;
  /** Close events the socket saw (code, reason). */
  closes: { code: number; reason: string }[];
  subscribe<T = any>(query: string, variables?: Record<string, unknown>, field?: string): Subscription<T>;
  dispose(): Promise<void>;
}

/**
 * A real graphql-ws client (protocol graphql-transport-ws) on `ws://<gateway>/graphql`, authenticated by
 * `connectionParams.authorization` (`Bearer <token>`; `null` sends no connectionParams, a string sends that exact value).
 * No retries: a refused connection ends the subscription with the close event.
 */
export function connectWs(baseUrl: string, auth: { token?: string | null; authorization?: string } = {}): WsClient {
  const closes: { code: number; reason: string }[] = [];
  const token = auth.token === undefined ? ADMIN_TOKEN : auth.token;
  const authorization = auth.authorization ?? (token ? `Bearer ${token}` : undefined);
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: authorization !== undefined ? { authorization } : undefined,
    retryAttempts: 0,
    shouldRetry: () => false,
    lazy: true,
    on: {
      closed: (event: any) => closes.push({ code: event?.code, reason: String(event?.reason ?? '') }),
    },
  });
  return {
    client,
    closes,
    subscribe<T>(query: string, variables: Record<string, unknown> = {}, field?: string): Subscription<T> {
      const sub: Subscription<T> = {
        values: [],
        results: [],
        completed: false,
        async waitForValue(predicate, timeoutMs = 15_000) {
          return waitFor(() => sub.values.find(predicate), {
            timeoutMs,
            message: () => `no matching subscription value (got ${sub.values.length} values; error: ${safeJson(describeError(sub.error))})`,
          });
        },
        async waitForEnd(timeoutMs = 10_000) {
          await waitFor(() => sub.completed || sub.error !== undefined, { timeoutMs, message: 'subscription did not end' });
        },
        unsubscribe: () => undefined,
      };
      sub.unsubscribe = client.subscribe(
        { query, variables },
        {
          next: (result: any) => {
            sub.results.push(result);
            if (!result.errors && result.data) sub.values.push(field ? result.data[field] : result.data);
          },
          error: (error: unknown) => {
            sub.error = error;
          },
          complete: () => {
            sub.completed = true;
          },
        },
      );
      return sub;
    },
    dispose: async () => {
      await client.dispose();
    },
  };
}

/** A readable form of what a graphql-ws subscription ended with. */
export function describeError(error: unknown): unknown {
  if (error === undefined) return undefined;
  if (Array.isArray(error)) return error;
  if (error && typeof error === 'object' && 'code' in error && 'reason' in error) {
    return { closeCode: (error as any).code, reason: (error as any).reason };
  }
  return error instanceof Error ? error.message : error;
}

/**
 * The GraphQL errors a subscription was refused with, wherever graphql-ws put them: an `error` message
 * (the sink's error is the errors array) or a `next` carrying `errors`. Empty when it was not refused that way.
 */
export function subscriptionErrors(sub: Subscription): { message: string; extensions?: Record<string, any> }[] {
  if (Array.isArray(sub.error)) return sub.error as any[];
  return sub.results.flatMap((r) => r.errors ?? []);
}

export const STATUS_SUBSCRIPTION = /* GraphQL */ `
  subscription Status($id: ID) { siemIntegrationStatus(id: $id) { ${STATUS_FIELDS} } }
`;

export const ATTEMPTS_SUBSCRIPTION = /* GraphQL */ `
  subscription Attempts($integrationId: ID) {
    deliveryAttempts(integrationId: $integrationId) { integrationId attemptId eventCount success httpStatus latencyMs error at }
  }
`;

/**
 * Makes sure a status subscription is live on the server before a test relies on it: renames the
 * integration (a change every status subscriber of the organisation is told about) until the
 * subscription has reported that integration, then forgets what it got so far.
 */
export async function untilStatusSubscribed(g: TestGateway, sub: Subscription, integrationId: string, token?: string): Promise<void> {
  let n = 0;
  await waitFor(
    async () => {
      if (sub.values.some((v: any) => v.id === integrationId)) return true;
      if (sub.error !== undefined) throw new Error(`subscription failed: ${safeJson(describeError(sub.error))}`);
      n += 1;
      dataOf(await g.gql(`mutation Poke($id: ID!, $name: String!) { updateSiemIntegration(id: $id, input: { name: $name }) { id } }`, { id: integrationId, name: `poke ${n}` }, token));
      return false;
    },
    { timeoutMs: 15_000, intervalMs: 150, message: 'status subscription never became live' },
  );
  sub.values.length = 0;
  sub.results.length = 0;
}
