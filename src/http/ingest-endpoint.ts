import type { IncomingMessage, ServerResponse } from 'node:http';
import { Role } from '../auth/api-token.js';
import { authenticate } from '../auth/authenticate.js';
import { BadUserInputError, ErrorCode, ForbiddenError, GatewayError, UnsupportedMediaTypeError } from '../errors.js';
import type { EventPreparer } from '../events/event-preparer.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/store.js';
import { answerError } from './answer.js';
import { AdmissionAbortedError, type IngestAdmission } from './ingest-admission.js';
import { PayloadTooLargeError, RequestAbortedError, contentCodingOf, readBody, sendJson, type ContentCoding } from './read-body.js';

/** Path of the REST ingestion endpoint. */
export const INGEST_PATH = '/v1/events';

/** Options of {@link handleIngest}. */
export interface IngestEndpointOptions {
  store: Store;
  log: Logger;
  /** Limits and fair admission (per-organisation reads, shared commit slot), shared with `ingestEvents`. */
  admission: IngestAdmission;
  /** Parses, validates and serialises bodies (on worker threads). */
  preparer: EventPreparer;
}

/** A body did not arrive within the time allowed for its size. REQUEST_TIMEOUT, 408; the connection is closed. */
export class BodyTimeoutError extends GatewayError {
  constructor(readonly allowedMs: number) {
    super(ErrorCode.REQUEST_TIMEOUT, `The request body did not arrive within ${allowedMs} ms (allowed for its size); the connection is closed`, { headers: { connection: 'close' } });
    this.name = 'BodyTimeoutError';
  }
}

/**
 * `POST /v1/events`: a JSON array of events, or NDJSON (one event per line), for roles `ingest` and
 * `admin`, optionally `Content-Encoding: gzip` or `deflate` (the limit applies to the inflated size). All or
 * nothing: a rejection names the event's index and field (as sent) and stores nothing. snake_case aliases
 * are accepted and unknown top-level fields are kept under `data` (see {@link parseSecurityEventBatch}).
 * Answers `202 {"accepted": N, "duplicates": D, "movedToData": M}` once every event is committed to the store.
 *
 * Errors, answered `{"error": {"code", "message"}}` (see `answer.ts`): 400 BAD_USER_INPUT (also invalid UTF-8,
 * numbers JSON cannot carry, a corrupt compressed body), 401 UNAUTHENTICATED (also when the key is revoked
 * before the events commit: nothing is stored), 403 FORBIDDEN, 405 (the router's), 408 REQUEST_TIMEOUT (the body did not arrive in time; connection closed), 413 PAYLOAD_TOO_LARGE
 * (also once inflated), 415 (not JSON, or an unsupported Content-Encoding), 503 STORE_UNAVAILABLE.
 *
 * Admission is fair between organisations (see {@link IngestAdmission}): the body is read under the
 * organisation's own bounds, holding no shared capacity, and only parsing and the commit take a shared slot.
 *
 * @example
 * ```sh
 * curl -X POST localhost:4000/v1/events -H "Authorization: Bearer $TOKEN" \
 *   -H 'content-type: application/json' -d '[{"type":"scan","severity":"HIGH","customerId":"cust_acme"}]'
 * ```
 */
export async function handleIngest(req: IncomingMessage, res: ServerResponse, options: IngestEndpointOptions): Promise<void> {
  try {
    const principal = await authenticate(options.store, req.headers.authorization);
    if (principal.role !== Role.INGEST && principal.role !== Role.ADMIN) {
      throw new ForbiddenError(`Role ${principal.role} may not ingest events; use an ingest or admin key`);
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType && !['application/json', 'application/x-ndjson', 'application/ndjson', 'application/jsonl', 'text/plain'].includes(contentType)) {
      throw new UnsupportedMediaTypeError('Send application/json (an array of events) or application/x-ndjson (one event per line)');
    }
    const coding = contentCodingOf(req);
    await ingest(req, res, options, principal.organization.id, principal.keyId, coding);
  } catch (error) {
    answerError(req, res, error, { log: options.log, route: 'ingest endpoint', storing: 'events' });
  }
}

async function ingest(req: IncomingMessage, res: ServerResponse, options: IngestEndpointOptions, organizationId: string, keyId: string, coding: ContentCoding): Promise<void> {
  const { admission } = options;
  const { maxBodyBytes, maxEvents } = admission.limits;
  const declared = Number(req.headers['content-length'] ?? NaN);
  const known = Number.isSafeInteger(declared) && declared >= 0;
  if (known && declared > maxBodyBytes) throw new PayloadTooLargeError(maxBodyBytes);

  // The whole request, waiting for the organisation's turn included, must arrive within the time allowed
  // for its size (declared, or received so far for a chunked body).
  const abort = new AbortController();
  const started = Date.now();
  let received = 0;
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const allowed = admission.bodyDeadlineMs(Math.max(known ? declared : 0, received));
    const left = started + allowed - Date.now();
    if (left <= 0) abort.abort(new BodyTimeoutError(allowed));
    else timer = setTimeout(check, left);
  };
  timer = setTimeout(check, admission.bodyDeadlineMs(known ? declared : 0));
  const onGone = () => {
    if (!res.writableFinished) abort.abort(new RequestAbortedError());
  };
  res.once('close', onGone);

  let releaseRead: (() => void) | undefined;
  let releaseCommit: (() => void) | undefined;
  try {
    let body: Buffer;
    try {
      // What will be buffered: the declared size, or (chunked, or compressed: inflated size unknown) the limit.
      releaseRead = await admission.reserve(organizationId, known && coding === 'identity' ? declared : maxBodyBytes, abort.signal);
      body = await readBody(req, maxBodyBytes, { signal: abort.signal, onProgress: (n) => (received = n), coding });
    } catch (error) {
      const cause = error instanceof AdmissionAbortedError ? error.reason : error;
      if (cause instanceof BodyTimeoutError) res.once('finish', () => req.socket.destroySoon());
      if (cause instanceof RequestAbortedError) {
        req.socket?.destroy();
        return;
      }
      throw cause;
    }
    clearTimeout(timer);
    timer = undefined;

    releaseCommit = await admission.commit.acquire(organizationId, abort.signal).catch(() => undefined);
    if (!releaseCommit) return; // the client went away while waiting

    // Parsed, validated and serialised beside the main thread; a refusal names the event and field and stores nothing.
    const prepared = await options.preparer.prepare(body, { maxEvents, now: Date.now() });
    if (!prepared.ok) {
      const { code, message, issues } = prepared;
      if (code === ErrorCode.PAYLOAD_TOO_LARGE) throw new GatewayError(code, message);
      throw new BadUserInputError(message, issues ? { details: { field: issues[0]?.path, issues } } : undefined);
    }
    // A key revoked meanwhile, a store that refuses: answered by answerError.
    const { accepted, duplicates } = await options.store.tenant(organizationId).ingestPrepared(prepared.events, { keyId });
    return sendJson(res, 202, { accepted, duplicates, movedToData: prepared.events.movedToData });
  } finally {
    clearTimeout(timer);
    res.off('close', onGone);
    releaseCommit?.();
    releaseRead?.();
  }
}
