import type { IncomingHttpHeaders } from 'node:http';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { createIntegration } from './api.js';
import { integrationStatus } from './delivery.js';
import type { TestGateway } from './gateway.js';
import { startHttpReceiver, type HttpReceiver, type ReceivedRequest } from './http-receiver.js';
import { makeEvents, postEvents } from './events.js';
import { parseHecBatch } from './spec-parsers.js';
import { sleep, waitFor } from './wait.js';

export { integrationStatus } from './delivery.js';
export { makeEvents, postEvents, type TestEvent } from './events.js';
export { sleep, waitFor } from './wait.js';

/**
 * Helpers for the fault and abuse suites (test/fault, test/abuse): a receiver that counts event ids, event factories, REST ingestion, polling.
 * Everything talks to the gateway from the outside (HTTP, GraphQL); nothing here reaches into src/.
 */

/**
 * Event ids in one request body of an HTTP destination: a webhook JSON array of records (`[{id, type, ...}]`),
 * or a Splunk HEC batch (`{..., event: {id, type}}` objects one after another). Audit events of the gateway itself
 * (`siem.*`, `api_key.*`) are left out unless `includeAudit`.
 */
export function idsInBody(body: Buffer, options: { includeAudit?: boolean } = {}): string[] {
  const text = body.toString('utf8').trim();
  if (text === '') return [];
  let records: any[];
  try {
    const parsed = JSON.parse(text);
    records = Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    records = parseHecBatch(text);
  }
  const out: string[] = [];
  for (const r of records) {
    const e = r?.event && typeof r.event === 'object' ? r.event : r;
    const type = String(e?.type ?? e?.event_type ?? '');
    if (!options.includeAudit && (type.startsWith('siem.') || type.startsWith('api_key.') || type === 'siemgate.test')) continue;
    if (typeof e?.id === 'string') out.push(e.id);
  }
  return out;
}

export interface ReceivedBatch {
  /** When it was answered (`Date.now()`). */
  at: number;
  status: number;
  ids: string[];
}

/** An {@link HttpReceiver} that tallies the event ids of what it receives (closed and reopened on the same port with its own `close`/`reopen`). */
export interface IdReceiver extends Omit<HttpReceiver, 'respond'> {
  /** Every answered request's ids, in the order of the answers, with the status it was answered with. */
  readonly batches: ReceivedBatch[];
  /** How many times each id arrived in a request answered 2xx. */
  readonly delivered: Map<string, number>;
  /** How many times each id arrived at all (a slow SIEM indexes what it got even if the sender gave up waiting). */
  readonly arrived: Map<string, number>;
  /** Requests that arrived (whatever the answer). */
  readonly requestCount: number;
  /** Replaces how requests are answered (status, headers, optional delay before answering). */
  respond(fn: IdResponder): void;
  /** Ids (of `expected`) not yet delivered. */
  missing(expected: Iterable<string>): string[];
  /** Sum over ids of (deliveries − 1). */
  duplicates(): number;
}

export type IdResponder = (req: { index: number; ids: string[]; body: Buffer; headers: IncomingHttpHeaders }) => { status: number; headers?: Record<string, string>; body?: string; delayMs?: number };

/** The ids of one request body, none if it is not one {@link idsInBody} reads. */
function idsOf(body: Buffer): string[] {
  try {
    return idsInBody(body);
  } catch {
    return [];
  }
}

function tally(requests: ReceivedRequest[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of requests) for (const id of idsOf(r.body)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/**
 * Starts an id-counting receiver on 127.0.0.1 ({@link startHttpReceiver} underneath). An id counts as delivered once
 * a request carrying it was answered 2xx (the gateway treats anything else as not delivered).
 */
export async function startIdReceiver(options: { tls?: HttpsServerOptions; responder?: IdResponder } = {}): Promise<IdReceiver> {
  let responder: IdResponder = options.responder ?? (() => ({ status: 200, body: '{"text":"Success","code":0}' }));
  const receiver = await startHttpReceiver(async (req) => {
    const index = receiver.requests.indexOf(req);
    const reply = responder({ index, ids: idsOf(req.body), body: req.body, headers: req.headers });
    if (reply.delayMs) await sleep(reply.delayMs);
    return { status: reply.status, headers: reply.headers, body: reply.body ?? '{}' };
  }, options.tls);
  const answered = () => receiver.requests.filter((r) => r.answeredAt !== undefined).sort((a, b) => a.answeredAt! - b.answeredAt!);
  const delivered = () => tally(answered().filter((r) => r.status! >= 200 && r.status! < 300));
  // defineProperties, not Object.assign: the tallies are getters, read afresh each time.
  const extra = {
    get batches() {
      return answered().map((r) => ({ at: r.answeredAt!, status: r.status!, ids: idsOf(r.body) }));
    },
    get delivered() {
      return delivered();
    },
    get arrived() {
      return tally(receiver.requests);
    },
    get requestCount() {
      return receiver.requests.length;
    },
    respond(fn: IdResponder) {
      responder = fn;
    },
    missing(expected: Iterable<string>) {
      const got = delivered();
      return [...expected].filter((id) => !got.has(id));
    },
    duplicates() {
      let n = 0;
      for (const c of delivered().values()) n += c - 1;
      return n;
    },
  };
  return Object.defineProperties(receiver, Object.getOwnPropertyDescriptors(extra)) as unknown as IdReceiver;
}

type GqlClient = Pick<TestGateway, 'gql'>;

/** Creates an integration from `input` as the bootstrap admin, expects no errors, and returns its id. */
export async function createIntegrationId(g: GqlClient, input: Record<string, unknown>): Promise<string> {
  return (await createIntegration(g, input)).id;
}

/** Polls the integration's status until `errorCount >= min`, and returns that status. */
export function waitForErrorCount(g: GqlClient, id: string, min: number, options: Parameters<typeof waitFor>[1] = {}): Promise<any> {
  return waitFor(async () => {
    const s = await integrationStatus(g, id);
    return s.errorCount >= min ? s : null;
  }, options);
}

/** Polls the integration's status until errorCount is back to 0 with nothing queued, and returns that status. */
export function waitUntilHealed(g: GqlClient, id: string): Promise<any> {
  return waitFor(async () => {
    const s = await integrationStatus(g, id);
    return s.errorCount === 0 && s.stats.queued === 0 ? s : null;
  }, { message: 'errorCount back to 0' });
}

/** The extensions.code values the API documents (README "Hardening", src/errors.ts). */
export const DOCUMENTED_CODES = ['BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'PAYLOAD_TOO_LARGE', 'REQUEST_TIMEOUT', 'STORE_UNAVAILABLE', 'QUERY_LIMIT_EXCEEDED'] as const;
/** Codes graphql-yoga gives a document that does not parse or validate (standard GraphQL-over-HTTP codes). */
export const GRAPHQL_DOCUMENT_CODES = ['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED'] as const;
/** Extra codes of `POST /v1/events` (its doc comment: 405, 415). */
export const REST_CODES = ['METHOD_NOT_ALLOWED', 'UNSUPPORTED_MEDIA_TYPE'] as const;

/** Load posted by {@link startProducers}: the ids each gateway acknowledged (202), and those it never answered. */
export interface Production {
  /** Ids of chunks answered 202: committed, so they must be delivered. */
  acknowledged: Set<string>;
  /** Ids of chunks that got no answer or another status: they may or may not have been committed. */
  unanswered: Set<string>;
  /** Chunks answered 202 so far. */
  chunks(): number;
  /** Stops posting; resolves once every producer has returned. */
  stop(): Promise<void>;
}

/**
 * `producers` concurrent producers posting `chunk` events at a time to the gateways at `urls` in turn (round
 * robin), until {@link Production.stop}. A gateway a post cannot reach (killed) leaves the rotation; a producer
 * with no gateway left returns.
 *
 * @example
 * ```ts
 * const load = startProducers([a.url, b.url, c.url], { producers: 4, chunk: 200 });
 * await waitFor(() => load.acknowledged.size >= 3_000);
 * c.child.kill('SIGKILL');
 * await load.stop();
 * ```
 */
export function startProducers(urls: readonly string[], options: { producers: number; chunk: number }): Production {
  const acknowledged = new Set<string>();
  const unanswered = new Set<string>();
  const alive = [...urls];
  let chunks = 0;
  let stopped = false;
  let turn = 0;
  const produce = async () => {
    while (!stopped && alive.length > 0) {
      const url = alive[turn++ % alive.length]!;
      const events = makeEvents(options.chunk);
      try {
        const res = await postEvents(url, events);
        if (res.status === 202) chunks++;
        for (const e of events) (res.status === 202 ? acknowledged : unanswered).add(e.id);
      } catch {
        for (const e of events) unanswered.add(e.id);
        if (alive.includes(url)) alive.splice(alive.indexOf(url), 1);
      }
    }
  };
  const producing = Array.from({ length: options.producers }, produce);
  return {
    acknowledged,
    unanswered,
    chunks: () => chunks,
    async stop() {
      stopped = true;
      await Promise.all(producing);
    },
  };
}
