import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { createTestEvent } from '../../events/security-event.js';
import { classifyError, HttpStatus, scrubUrls } from '../../net/delivery-result.js';
import { ConnectFailedError, type EgressPolicy } from '../../net/egress-policy.js';
import { createHttpDispatcher } from '../../net/http-client.js';
import { createSecretScrubber, MAX_ERROR_TEXT_CHARS, shorten, type SecretScrubber } from '../../secrets/scrub-secrets.js';
import type { ConnectionTestResult, DeliveryResult, SiemAdapter, TestStep, TlsOptions } from '../types.js';

const gzip = promisify(gzipCallback);

/** Response bodies are read up to this many bytes; the rest is discarded. */
export const MAX_ANSWER_BODY_BYTES = 64 * 1024;
/** SIEM error texts are shortened to this many characters in results (after scrubbing). */
export { MAX_ERROR_TEXT_CHARS, shorten };
/** Transport-level vocabulary, defined in `net/delivery-result.ts`; re-exported for the adapters. */
export { classifyError, HttpStatus };

const MS_PER_SECOND = 1000;

/** Thrown by {@link HttpDestination.request} when no complete answer arrived within the timeout. */
export class HttpTimeoutError extends Error {
  readonly code = 'SIEMGATE_HTTP_TIMEOUT';
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
    this.name = 'HttpTimeoutError';
  }
}

/** Thrown by {@link HttpDestination.request} when the caller's signal aborted the request. */
export class HttpAbortedError extends Error {
  readonly code = 'SIEMGATE_HTTP_ABORTED';
  constructor() {
    super('request aborted');
    this.name = 'HttpAbortedError';
  }
}

/** Thrown by {@link HttpDestination.request} for an endpoint that is not an absolute http(s) URL. */
export class InvalidEndpointError extends Error {
  readonly code = 'SIEMGATE_INVALID_ENDPOINT';
  constructor(detail: string) {
    super(`invalid endpoint URL: ${detail}`);
    this.name = 'InvalidEndpointError';
  }
}

export interface HttpRequestSpec {
  /** Absolute http(s) URL. */
  url: string;
  /** @default "POST" */
  method?: 'POST' | 'GET';
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Gzip the body and send `Content-Encoding: gzip`. @default false */
  gzip?: boolean;
  /** Aborts the request; it then rejects with {@link HttpAbortedError}. */
  signal?: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** UTF-8 body, at most {@link MAX_ANSWER_BODY_BYTES} bytes of it. */
  body: string;
  latencyMs: number;
}

export interface HttpDestinationOptions {
  /** Checked before every connection; the socket goes to the approved address. */
  egress: EgressPolicy;
  /** CA bundle, client certificate, verification switch. @default system roots, verification on */
  tls?: TlsOptions;
  /** Whole-request limit (connect, headers and body) in milliseconds. */
  timeoutMs: number;
  /**
   * Credentials this destination sends. They are scrubbed from every answer (body and headers) before
   * anyone reads it, so a SIEM that echoes a token in its error text cannot leak it into a result,
   * `lastError` or a log, in any encoding and in part (see createSecretScrubber). A function is asked
   * again for each answer (for credentials that change, like a cached bearer token). @default []
   */
  secrets?: readonly (string | undefined)[] | (() => readonly (string | undefined)[]);
}

/**
 * Shared plumbing for every HTTP adapter: a pooled, egress-checked undici dispatcher plus one `request` call that
 * handles gzip, the whole-request timeout and the body cap. Redirects are never followed: a 3xx comes back as an answer.
 *
 * @example
 * ```ts
 * const http = new HttpDestination({ egress, timeoutMs: 30_000 });
 * const answer = await http.request({ url, headers: { authorization: `Splunk ${token}` }, body, gzip: true });
 * const result = classifyAnswer(answer, records.length);
 * await http.close();
 * ```
 */
export class HttpDestination {
  private readonly dispatcher: Dispatcher;
  /** Aborted by {@link close}: ends connections still being set up, which the dispatcher's own close cannot reach. */
  private readonly closing = new AbortController();
  private readonly timeoutMs: number;
  private readonly secrets: () => readonly (string | undefined)[];
  private scrubberFor?: { key: string; scrubber: SecretScrubber };

  constructor(options: HttpDestinationOptions) {
    this.timeoutMs = options.timeoutMs;
    const secrets = options.secrets ?? [];
    this.secrets = typeof secrets === 'function' ? secrets : () => secrets;
    this.dispatcher = createHttpDispatcher({ egress: options.egress, tls: options.tls, timeoutMs: options.timeoutMs, signal: this.closing.signal });
  }

  /**
   * Sends one request (gzip-encodes the body and sets Content-Encoding when asked). Resolves with any HTTP answer
   * (including 3xx/4xx/5xx); rejects only on network/timeout/TLS/DNS/egress errors. Body read is capped (64 KiB).
   *
   * @example
   * ```ts
   * const { status, body } = await http.request({ url: 'https://hec:8088/services/collector/health', method: 'GET', headers: {} });
   * ```
   */
  async request(spec: HttpRequestSpec): Promise<HttpAnswer> {
    const started = performance.now();
    let url: URL;
    try {
      url = new URL(spec.url);
    } catch {
      throw new InvalidEndpointError('not an absolute URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidEndpointError(`unsupported scheme ${url.protocol}`);
    }
    if (url.username || url.password) throw new InvalidEndpointError('credentials in the URL are not supported');

    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.headers)) headers[k.toLowerCase()] = v;
    let body: string | Buffer | undefined = spec.body;
    if (spec.gzip && body !== undefined) {
      body = await gzip(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
      headers['content-encoding'] = 'gzip';
    }

    const timeoutError = new HttpTimeoutError(this.timeoutMs);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(timeoutError), this.timeoutMs);
    const onCallerAbort = () => controller.abort(new HttpAbortedError());
    if (spec.signal?.aborted) onCallerAbort();
    spec.signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      const sent = this.dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: spec.method ?? 'POST',
        headers,
        body,
        signal: controller.signal,
      });
      // The deadline is left to undici: while connecting, its connect timeout (the same length) answers, with
      // the ConnectFailedError a refused port gives too. The caller's abort must not wait for a connect.
      const res = await (spec.signal ? settledOrAborted(sent, spec.signal, (late) => late.body.destroy()) : sent);
      // Scrubbed before anyone reads, parses or shortens it (the cap is the only cut before this point).
      const scrubber = this.scrubber();
      const text = scrubber.scrub(await readCapped(res.body, MAX_ANSWER_BODY_BYTES));
      const flat: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) flat[k.toLowerCase()] = scrubber.scrub(Array.isArray(v) ? v.join(', ') : v);
      }
      return { status: res.statusCode, headers: flat, body: text, latencyMs: Math.round(performance.now() - started) };
    } catch (err) {
      // A connect that never succeeded reads the same whether or not the overall deadline passed meanwhile (no scan oracle).
      if (err instanceof ConnectFailedError && !spec.signal?.aborted) throw err;
      if (controller.signal.aborted) throw controller.signal.reason;
      throw scrubErrorMessages(err, this.scrubber());
    } finally {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  /** The scrubber for the current secrets (rebuilt only when they change). */
  private scrubber(): SecretScrubber {
    const secrets = this.secrets();
    const key = JSON.stringify(secrets);
    if (this.scrubberFor?.key !== key) this.scrubberFor = { key, scrubber: createSecretScrubber(secrets) };
    return this.scrubberFor.scrubber;
  }

  /** Closes pooled connections, and ends those still connecting. @example `await http.close();` */
  async close(): Promise<void> {
    this.closing.abort();
    await this.dispatcher.close();
  }
}

/**
 * `work`, or the signal's reason as soon as it aborts. Undici keeps a request whose signal aborts while its
 * connection is still being set up (a TLS handshake the peer never answers) waiting until the connect timeout.
 * An answer arriving after the abort is handed to `discard`.
 */
function settledOrAborted<T>(work: Promise<T>, signal: AbortSignal, discard: (late: T) => void): Promise<T> {
  if (signal.aborted) {
    work.then(discard, () => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason); // an answer still to come is discarded below
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) discard(value);
        else resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

async function readCapped(body: Dispatcher.ResponseData['body'], cap: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    if (size + buf.length >= cap) {
      chunks.push(buf.subarray(0, cap - size));
      size = cap;
      body.destroy();
      break;
    }
    chunks.push(buf);
    size += buf.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Scrubs the messages of a thrown error and of its causes in place (they become result messages), and returns it. */
function scrubErrorMessages(error: unknown, scrubber: SecretScrubber): unknown {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const scrubbed = scrubber.scrub(current.message);
    if (scrubbed !== current.message) {
      try {
        current.message = scrubbed;
      } catch {
        // a frozen error: classifyError's result is scrubbed again by the worker
      }
    }
    current = current.cause;
  }
  return error;
}

/**
 * The SIEM's own error text from a JSON (`text`, `message`, `error_description`, `error`, `detail`, `title`) or plain body.
 * HTML bodies yield nothing. Shortened to 200 characters.
 */
function defaultDescribe(answer: HttpAnswer): string | undefined {
  const body = answer.body.trim();
  if (body === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object') {
      const o = parsed as Record<string, unknown>;
      for (const key of ['text', 'message', 'error_description', 'error', 'detail', 'title']) {
        const v = o[key];
        if (typeof v === 'string' && v.trim() !== '') return v;
        if (v && typeof v === 'object' && typeof (v as Record<string, unknown>).message === 'string') {
          return (v as Record<string, string>).message;
        }
      }
      return undefined;
    }
    if (typeof parsed === 'string') return parsed;
  } catch {
    // not JSON: fall through to plain text
  }
  if (/^<(!doctype|html)/i.test(body)) return undefined;
  return body;
}

/** Milliseconds from a Retry-After header (delta-seconds or HTTP-date); undefined when absent or unparsable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * MS_PER_SECOND;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Maps an HTTP answer to a DeliveryResult: 2xx success; 401/403 auth; 429 and 503-with-Retry-After throttled
 * (retryAfterMs from seconds or HTTP-date); 5xx server; 3xx (redirects are not followed) and other 4xx rejected.
 * `describe` extracts the SIEM's own error text (shortened to 200 chars).
 *
 * @example
 * ```ts
 * classifyAnswer({ status: 403, headers: {}, body: '{"text":"Invalid token","code":4}', latencyMs: 12 }, 10);
 * // → { kind: 'auth', ok: false, status: 403, message: 'HTTP 403: Invalid token', latencyMs: 12, recordCount: 10 }
 * ```
 */
export function classifyAnswer(
  answer: HttpAnswer,
  recordCount: number,
  describe?: (answer: HttpAnswer) => string | undefined,
): DeliveryResult {
  const { status, latencyMs } = answer;
  const base = { status, latencyMs, recordCount };
  const rawText = (describe ?? defaultDescribe)(answer);
  const text = rawText ? shorten(scrubUrls(rawText)) : undefined;
  const message = text ? `HTTP ${status}: ${text}` : `HTTP ${status}`;

  if (status >= HttpStatus.OK_MIN && status <= HttpStatus.OK_MAX) {
    return { ...base, kind: 'success', ok: true, message: `delivered ${recordCount} record(s) (HTTP ${status})` };
  }
  if (status === HttpStatus.UNAUTHORIZED || status === HttpStatus.FORBIDDEN) {
    return { ...base, kind: 'auth', ok: false, message };
  }
  const retryAfterMs = parseRetryAfter(answer.headers['retry-after']);
  if (status === HttpStatus.TOO_MANY_REQUESTS || (status === HttpStatus.SERVICE_UNAVAILABLE && retryAfterMs !== undefined)) {
    return { ...base, kind: 'throttled', ok: false, message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  if (status >= HttpStatus.SERVER_ERROR_MIN) return { ...base, kind: 'server', ok: false, message };
  if (status >= HttpStatus.REDIRECT_MIN && status <= HttpStatus.REDIRECT_MAX) {
    const location = answer.headers.location ? ` to ${scrubUrls(answer.headers.location).replace(/[?#].*$/, '')}` : '';
    return { ...base, kind: 'rejected', ok: false, message: shorten(`HTTP ${status}: redirect${location} not followed`) };
  }
  return { ...base, kind: 'rejected', ok: false, message };
}

/** Result kinds that mean an HTTP answer came back, i.e. the connection worked. */
const ANSWERED_KINDS = new Set(['success', 'auth', 'rejected', 'throttled', 'server']);

/**
 * Shared connection test: sends createTestEvent() through adapter.transform/send, and builds a ConnectionTestResult with
 * steps (`connect`, `authenticate`, `deliver`) and the product documentation's messages:
 * "Test event sent successfully" / "Connection test failed: <details>". Never throws.
 *
 * @example
 * ```ts
 * const result = await runConnectionTest(adapter);
 * // { success: false, message: 'Connection test failed: HTTP 401: Invalid token', httpStatus: 401, steps: [...] }
 * ```
 */
export async function runConnectionTest(adapter: Pick<SiemAdapter, 'transform' | 'send'>): Promise<ConnectionTestResult> {
  const started = performance.now();
  const steps: TestStep[] = [];
  let record: unknown;
  try {
    record = adapter.transform(createTestEvent());
  } catch (err) {
    const detail = shorten(`could not build the test event: ${(err as Error).message ?? String(err)}`);
    steps.push({ name: 'transform', ok: false, detail });
    return {
      success: false,
      message: `Connection test failed: ${detail}`,
      latencyMs: Math.round(performance.now() - started),
      steps,
    };
  }

  let result: DeliveryResult;
  try {
    result = await adapter.send([record]);
  } catch (err) {
    result = classifyError(err, performance.now() - started, 1);
  }

  const statusText = result.status !== undefined ? ` (HTTP ${result.status})` : '';
  if (ANSWERED_KINDS.has(result.kind)) {
    steps.push({
      name: 'connect',
      ok: true,
      detail: result.status !== undefined ? `connected, destination answered HTTP ${result.status}` : 'connected',
    });
    if (result.kind === 'auth') {
      steps.push({ name: 'authenticate', ok: false, detail: `credentials refused: ${result.message}` });
    } else if (result.status !== undefined) {
      steps.push({ name: 'authenticate', ok: true, detail: 'credentials accepted' });
    }
    if (result.kind !== 'auth') {
      steps.push({
        name: 'deliver',
        ok: result.ok,
        detail: result.ok ? `test event delivered${statusText}` : result.message,
      });
    }
  } else if (result.kind === 'timeout' && !/^connect/i.test(result.message)) {
    steps.push({ name: 'deliver', ok: false, detail: result.message });
  } else {
    steps.push({ name: 'connect', ok: false, detail: result.message });
  }

  return {
    success: result.ok,
    message: result.ok ? 'Test event sent successfully' : `Connection test failed: ${result.message}`,
    ...(result.status !== undefined ? { httpStatus: result.status } : {}),
    latencyMs: Math.round(result.latencyMs),
    steps,
  };
}
