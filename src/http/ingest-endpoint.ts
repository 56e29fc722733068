import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { Role } from '../auth/api-token.js';
import { authenticate } from '../auth/authenticate.js';
import { ErrorCode } from '../errors.js';
import { EventValidationError, parseSecurityEvents } from '../events/event-schema.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/store.js';
import { StoreUnavailableError } from '../store/store-errors.js';
import { PayloadTooLargeError, readBody, sendJson } from './read-body.js';

/** Path of the REST ingestion endpoint. */
export const INGEST_PATH = '/v1/events';

/** Options of {@link handleIngest}. */
export interface IngestEndpointOptions {
  store: Store;
  log: Logger;
  /** Largest request body. @default 10485760 (10 MiB) */
  maxBodyBytes: number;
  /** Most events in one request. @default 10000 */
  maxEvents: number;
  /** Bounds how many requests are read, validated and stored at once (see {@link IngestGate}). */
  gate: IngestGate;
}

/**
 * A counting semaphore for ingestion. Requests beyond `limit` wait before their body is read, so TCP
 * backpressure holds them at the client instead of their bodies piling up in memory. Parsing and the
 * synchronous SQLite insert run on the one event loop, so more concurrency adds memory, not throughput.
 *
 * @example
 * ```ts
 * const gate = new IngestGate(2);
 * const release = await gate.acquire();
 * try { await store(); } finally { release(); }
 * ```
 */
export class IngestGate {
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  async acquire(): Promise<() => void> {
    if (this.#active >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    };
  }
}

/**
 * `POST /v1/events`: a JSON array of events, or NDJSON (one event per line), for roles `ingest` and
 * `admin`. All or nothing: a rejection names the event's index and field and stores nothing. Answers
 * `202 {"accepted": N, "duplicates": D}` once every event is committed to the store.
 *
 * Errors: 400 BAD_USER_INPUT, 401 UNAUTHENTICATED, 403 FORBIDDEN, 405, 413 PAYLOAD_TOO_LARGE,
 * 415 (not JSON), 503 STORE_UNAVAILABLE.
 *
 * @example
 * ```sh
 * curl -X POST localhost:4000/v1/events -H "Authorization: Bearer $TOKEN" \
 *   -H 'content-type: application/json' -d '[{"type":"scan","severity":"HIGH","customerId":"cust_acme"}]'
 * ```
 */
export async function handleIngest(req: IncomingMessage, res: ServerResponse, options: IngestEndpointOptions): Promise<void> {
  if (req.method !== 'POST') {
    req.resume();
    return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'Use POST', { allow: 'POST' });
  }
  let principal;
  try {
    principal = await authenticate(options.store, req.headers.authorization);
  } catch (error) {
    req.resume();
    return sendError(res, 401, ErrorCode.UNAUTHENTICATED, (error as GraphQLError).message, { 'www-authenticate': 'Bearer' });
  }
  if (principal.role !== Role.INGEST && principal.role !== Role.ADMIN) {
    req.resume();
    return sendError(res, 403, ErrorCode.FORBIDDEN, `Role ${principal.role} may not ingest events; use an ingest or admin key`);
  }
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType && !['application/json', 'application/x-ndjson', 'application/ndjson', 'application/jsonl', 'text/plain'].includes(contentType)) {
    req.resume();
    return sendError(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Send application/json (an array of events) or application/x-ndjson (one event per line)');
  }

  const release = await options.gate.acquire();
  try {
    return await ingest(req, res, options, principal.organization.id);
  } finally {
    release();
  }
}

async function ingest(req: IncomingMessage, res: ServerResponse, options: IngestEndpointOptions, organizationId: string): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(req, options.maxBodyBytes);
  } catch (error) {
    if (error instanceof PayloadTooLargeError) return sendError(res, 413, ErrorCode.PAYLOAD_TOO_LARGE, error.message, { connection: 'close' });
    throw error;
  }

  let raw: unknown[];
  try {
    raw = parseBody(body.toString('utf8'));
  } catch (error) {
    return sendError(res, 400, ErrorCode.BAD_USER_INPUT, (error as Error).message);
  }
  if (raw.length === 0) return sendError(res, 400, ErrorCode.BAD_USER_INPUT, 'events: send at least one event');
  if (raw.length > options.maxEvents) {
    return sendError(res, 413, ErrorCode.PAYLOAD_TOO_LARGE, `events: at most ${options.maxEvents} events per request, got ${raw.length}`);
  }

  try {
    const events = parseSecurityEvents(raw);
    const { accepted, duplicates } = await options.store.tenant(organizationId).ingest(events);
    return sendJson(res, 202, { accepted, duplicates });
  } catch (error) {
    if (error instanceof EventValidationError) {
      return sendJson(res, 400, { error: { code: ErrorCode.BAD_USER_INPUT, message: error.message, issues: error.issues.slice(0, 100) } });
    }
    if (error instanceof StoreUnavailableError) {
      options.log.error({ err: error.cause ?? error }, 'ingest refused: store unavailable');
      return sendError(res, 503, ErrorCode.STORE_UNAVAILABLE, `The gateway cannot store events right now: ${error.detail}`, { 'retry-after': '30' });
    }
    throw error;
  }
}

/** A JSON array, a single JSON object, or NDJSON. */
function parseBody(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    const parsed = parseJson(trimmed, 'body');
    if (!Array.isArray(parsed)) throw new Error('body: must be a JSON array of events');
    return parsed;
  }
  return trimmed
    .split('\n')
    .map((line, i) => [line.trim(), i] as const)
    .filter(([line]) => line.length > 0)
    .map(([line, i]) => parseJson(line, `line ${i + 1}`));
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${where}: not valid JSON (${(error as Error).message})`);
  }
}

function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) {
  sendJson(res, status, { error: { code, message } }, headers);
}
