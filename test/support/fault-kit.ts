import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { expect } from 'vitest';
import { ADMIN_TOKEN, readJsonAnswer, type GqlResponse } from './gateway.js';
import { waitFor } from './wait.js';

export { sleep, waitFor } from './wait.js';

/**
 * Helpers for the fault and abuse suites (test/fault, test/abuse): a receiver that counts event ids and can be
 * closed and reopened on the same port, event factories, REST ingestion, polling.
 * Everything talks to the gateway from the outside (HTTP, GraphQL); nothing here reaches into src/.
 */

/** A canonical event as a producer sends it, with its own UUID so the receiver side can be checked by id. */
export interface TestEvent {
  id: string;
  type: string;
  severity: 'NONE' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
  customerId?: string;
  name?: string;
  [key: string]: unknown;
}

/** `n` ordinary events with fresh UUIDs (type `fault.test`). */
export function makeEvents(n: number, extra: Partial<TestEvent> = {}): TestEvent[] {
  return Array.from({ length: n }, (_, i) => ({ id: randomUUID(), type: 'fault.test', severity: 'LOW' as const, name: `fault event ${i}`, ...extra }));
}

/** `POST /v1/events` as a producer does it. Returns the status and the parsed JSON answer (or the raw text). */
export async function postEvents(baseUrl: string, body: string | Buffer | unknown[], options: { token?: string | null; contentType?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; json: any; text: string }> {
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const response = await fetch(`${baseUrl}/v1/events`, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...options.headers,
    },
    // fetch takes a Buffer at run time; the DOM typings only know BodyInit.
    body: payload as unknown as string,
  });
  return readJsonAnswer(response);
}

/**
 * Event ids in one request body of an HTTP destination: a webhook JSON array of records (`[{id, type, ...}]`),
 * or Splunk HEC concatenated objects (`{..., event: {id, type}}` per line). Audit events of the gateway itself
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
    records = text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
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
  at: number;
  status: number;
  ids: string[];
}

/** An HTTP(S) receiver that tallies event ids, and that can be closed and reopened on the same port. */
export interface IdReceiver {
  readonly url: string;
  readonly port: number;
  /** Every request's ids, in arrival order, with the status it was answered with. */
  batches: ReceivedBatch[];
  /** How many times each id arrived in a request answered 2xx. */
  delivered: Map<string, number>;
  /** How many times each id arrived at all (a slow SIEM indexes what it got even if the sender gave up waiting). */
  arrived: Map<string, number>;
  /** Requests that arrived (whatever the answer). */
  readonly requestCount: number;
  /** Replaces how requests are answered (status, headers, optional delay before answering). */
  respond(fn: IdResponder): void;
  /** Stops listening and drops every connection (the port is then closed: connection refused). */
  close(): Promise<void>;
  /** Listens again on the same port. */
  reopen(): Promise<void>;
  /** Ids (of `expected`) not yet delivered. */
  missing(expected: Iterable<string>): string[];
  /** Sum over ids of (deliveries − 1). */
  duplicates(): number;
}

export type IdResponder = (req: { index: number; ids: string[]; body: Buffer; headers: IncomingMessage['headers'] }) => { status: number; headers?: Record<string, string>; body?: string; delayMs?: number };

/**
 * Starts an id-counting receiver on 127.0.0.1 (`port` 0 = any free port). An id counts as delivered once a
 * request carrying it was answered 2xx (the gateway treats anything else as not delivered).
 */
export async function startIdReceiver(options: { port?: number; tls?: HttpsServerOptions; responder?: IdResponder } = {}): Promise<IdReceiver> {
  let responder: IdResponder = options.responder ?? (() => ({ status: 200, body: '{"text":"Success","code":0}' }));
  const batches: ReceivedBatch[] = [];
  const delivered = new Map<string, number>();
  const arrived = new Map<string, number>();
  let requestCount = 0;
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let port = options.port ?? 0;

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let ids: string[] = [];
      try {
        ids = idsInBody(body);
      } catch {
        ids = [];
      }
      const index = requestCount++;
      for (const id of ids) arrived.set(id, (arrived.get(id) ?? 0) + 1);
      const reply = responder({ index, ids, body, headers: req.headers });
      const answer = () => {
        timers.delete(timer);
        if (res.destroyed) return;
        batches.push({ at: Date.now(), status: reply.status, ids });
        if (reply.status >= 200 && reply.status < 300) for (const id of ids) delivered.set(id, (delivered.get(id) ?? 0) + 1);
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body ?? '{}');
      };
      const timer = setTimeout(answer, reply.delayMs ?? 0);
      timers.add(timer);
    });
  };

  const listen = async () => {
    server = options.tls ? createHttpsServer(options.tls, handler) : createServer(handler);
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    if (options.tls) server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '127.0.0.1', () => {
        server!.off('error', reject);
        resolve();
      });
    });
    port = (server.address() as AddressInfo).port;
  };
  await listen();

  const receiver: IdReceiver = {
    get url() {
      return `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    batches,
    delivered,
    arrived,
    get requestCount() {
      return requestCount;
    },
    respond(fn) {
      responder = fn;
    },
    async close() {
      if (!server) return;
      const s = server;
      server = undefined;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async reopen() {
      if (server) return;
      await listen();
    },
    missing(expected) {
      return [...expected].filter((id) => !delivered.has(id));
    },
    duplicates() {
      let n = 0;
      for (const c of delivered.values()) n += c - 1;
      return n;
    },
  };
  return receiver;
}

export const INTEGRATION_STATUS = /* GraphQL */ `
  query Status($id: ID!) {
    siemIntegration(id: $id) { id errorCount lastError lastErrorAt lastEventAt health stats { delivered failedAttempts queued deadLettered } }
  }
`;

/** The integration's error tracking and stats, as an admin reads them. */
export async function integrationStatus(g: { gql: (q: string, v?: Record<string, unknown>) => Promise<GqlResponse<any>> }, id: string): Promise<{
  errorCount: number; lastError: string | null; lastErrorAt: string | null; lastEventAt: string | null; health: string;
  stats: { delivered: number; failedAttempts: number; queued: number; deadLettered: number };
}> {
  const res = await g.gql(INTEGRATION_STATUS, { id });
  if (res.errors) throw new Error(`status query failed: ${JSON.stringify(res.errors)}`);
  return res.data.siemIntegration;
}

export const CREATE_INTEGRATION = 'mutation($input: CreateSiemIntegrationInput!) { createSiemIntegration(input: $input) { id } }';

type GqlClient = { gql: (q: string, v?: Record<string, unknown>) => Promise<GqlResponse<any>> };

/** Creates an integration from `input` as the bootstrap admin, expects no errors, and returns its id. */
export async function createIntegrationId(g: GqlClient, input: Record<string, unknown>): Promise<string> {
  const res = await g.gql(CREATE_INTEGRATION, { input });
  expect(res.errors).toBeUndefined();
  return res.data.createSiemIntegration.id;
}

/** Polls the integration's status until `errorCount >= min`, and returns that status. */
export function waitForErrorCount(g: GqlClient, id: string, min: number, options: Parameters<typeof waitFor>[1] = {}): ReturnType<typeof integrationStatus> {
  return waitFor(async () => {
    const s = await integrationStatus(g, id);
    return s.errorCount >= min ? s : null;
  }, options);
}

/** Polls the integration's status until errorCount is back to 0 with nothing queued, and returns that status. */
export function waitUntilHealed(g: GqlClient, id: string): ReturnType<typeof integrationStatus> {
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
