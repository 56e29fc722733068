import { ConnectFailedError, EgressDeniedError, connectFailureMessage } from './egress-policy.js';
import { shorten } from '../secrets/scrub-secrets.js';

/*
 * What a delivery attempt came to, and how transport answers and errors are classified: the vocabulary the
 * transports (this folder), the destination adapters and the delivery engine share. It imports no layer
 * above `net`, so all of them may use it.
 */

/**
 * How one delivery attempt ended, classified for the delivery engine.
 *
 * - `success`: the destination accepted every record.
 * - `auth`: 401/403 or the SIEM's own "invalid token" answer. Keep the events queued; an admin fixes the credential.
 * - `rejected`: the destination refused the request as sent. Either its payload (400, 413, 422, HEC
 *   "invalid data"): not retryable as is, the batch is split and what is still refused is dead-lettered;
 *   or its address or method (3xx, 404, 405, …): the events stay queued until an admin fixes the
 *   integration. {@link isPayloadRejection} tells the two apart, the one place that decides it.
 * - `throttled`: 429, or 503 with `Retry-After`; `retryAfterMs` carries the server's wish.
 * - `server`: other 5xx, HEC "server busy".
 * - `network`: refused, reset, DNS failure, TLS failure, egress refusal.
 * - `timeout`: no complete answer within the timeout.
 */
export type DeliveryKind = 'success' | 'auth' | 'rejected' | 'throttled' | 'server' | 'network' | 'timeout';

export interface DeliveryResult {
  kind: DeliveryKind;
  /** True only for `success`. */
  ok: boolean;
  /** HTTP status of the (last) response, when there was one. */
  status?: number;
  /** Server-requested delay before the next attempt. */
  retryAfterMs?: number;
  /** Short, human-readable, never contains a secret. E.g. `HTTP 403: Invalid token (code 4)`. */
  message: string;
  /** Wall time of the attempt, including splitting and acknowledgement polling. */
  latencyMs: number;
  /** How many records were sent. */
  recordCount: number;
}

/** HTTP status codes the classification cares about. */
export const HttpStatus = {
  OK_MIN: 200,
  OK_MAX: 299,
  REDIRECT_MIN: 300,
  REDIRECT_MAX: 399,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  TOO_MANY_REQUESTS: 429,
  SERVER_ERROR_MIN: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

/**
 * HTTP statuses of a refused request that are not about its payload: the method or address is wrong (404,
 * 405, 410), a proxy wants credentials (407), or the server gave up or conflicted (408, 409). Redirects (3xx)
 * count too: they are never followed.
 */
const NOT_PAYLOAD_STATUSES: ReadonlySet<number> = new Set([404, 405, 407, 408, 409, 410]);

/**
 * Whether the SIEM refused the payload itself (not retryable as is): 400, 413, 422 and other payload
 * errors, a HEC "invalid data" code, an event too large to send. 404/405 and redirects mean a wrong
 * address, and auth failures a wrong credential: those keep the events queued until an admin fixes the
 * integration.
 *
 * @example
 * ```ts
 * isPayloadRejection({ kind: 'rejected', ok: false, status: 400, message: 'HTTP 400', latencyMs: 3, recordCount: 1 }); // true
 * isPayloadRejection({ kind: 'rejected', ok: false, status: 404, message: 'HTTP 404', latencyMs: 3, recordCount: 1 }); // false
 * ```
 */
export function isPayloadRejection(result: DeliveryResult): boolean {
  if (result.kind !== 'rejected') return false;
  const status = result.status;
  if (status === undefined) return true;
  if (status >= HttpStatus.REDIRECT_MIN && status <= HttpStatus.REDIRECT_MAX) return false;
  return !NOT_PAYLOAD_STATUSES.has(status);
}

/** Removes query strings and user info from any URL inside a text, so messages never carry URL-borne secrets. */
export function scrubUrls(text: string): string {
  return text.replace(/\b(https?|wss?):\/\/[^\s"'<>]+/gi, (match) => {
    try {
      const u = new URL(match);
      return `${u.protocol}//${u.host}${u.pathname}`;
    } catch {
      return match.replace(/[?#].*$/, '');
    }
  });
}

/** Node/undici error codes → how they read in a message. */
const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  EPIPE: 'connection closed by the server while sending',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_DESTROYED: 'connection destroyed',
  UND_ERR_INFO: 'invalid request',
  UND_ERR_RESPONSE_EXCEEDED_MAX_SIZE: 'response too large',
  HPE_INVALID_CONSTANT: 'invalid HTTP response (is this an HTTPS endpoint called over HTTP?)',
};
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'ENODATA', 'ESERVFAIL']);
const TIMEOUT_CODES: Record<string, string> = {
  SIEMGATE_HTTP_TIMEOUT: '',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for response headers',
  UND_ERR_BODY_TIMEOUT: 'timed out reading the response body',
  ETIMEDOUT: 'connect timed out',
  SIEMGATE_HTTP_ABORTED: 'request aborted',
  UND_ERR_ABORTED: 'request aborted',
  ABORT_ERR: 'request aborted',
};

function isTlsError(code: string | undefined, message: string): boolean {
  if (!code) return /\b(ssl|tls|certificate)\b/i.test(message);
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.includes('CERT') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' ||
    code === 'EPROTO'
  );
}

/** Follows `cause` chains to the innermost error that carries a code (undici wraps some socket errors). */
function innermost(error: unknown): Error & { code?: string; address?: string; port?: number; hostname?: string } {
  let current: unknown = error;
  for (let depth = 0; depth < 5; depth++) {
    const cause = (current as { cause?: unknown } | undefined)?.cause;
    if (!(cause instanceof Error) || typeof (current as { code?: unknown }).code === 'string') break;
    current = cause;
  }
  return current instanceof Error ? current : new Error(String(current));
}

function target(err: { address?: string; port?: number }): string {
  if (!err.address) return '';
  const host = err.address.includes(':') ? `[${err.address}]` : err.address;
  return err.port ? ` to ${host}:${err.port}` : ` to ${host}`;
}

/**
 * Maps a thrown error to a DeliveryResult: timeout/abort → 'timeout'; refused/reset/DNS/TLS/egress → 'network' with a clear
 * message ("DNS lookup failed for x.invalid (ENOTFOUND)",
 * "TLS: unable to verify the first certificate"; refused by policy, refused, unreachable or connect timeout alike:
 * "could not connect to 127.0.0.1:9"). Never includes a secret or a URL query.
 *
 * @example
 * ```ts
 * try { await http.request(spec); } catch (err) { return classifyError(err, performance.now() - t0, records.length); }
 * ```
 */
export function classifyError(error: unknown, latencyMs: number, recordCount: number): DeliveryResult {
  const base = { ok: false as const, latencyMs: Math.round(latencyMs), recordCount };
  if (error instanceof ConnectFailedError) return { ...base, kind: 'network', message: error.message };
  if (error instanceof EgressDeniedError) return { ...base, kind: 'network', message: connectFailureMessage(error.host, error.port) };
  const err = innermost(error);
  const code = err.code;
  const rawMessage = scrubUrls(err.message ?? String(err));

  if (code !== undefined && code in TIMEOUT_CODES) {
    const label = TIMEOUT_CODES[code] || rawMessage;
    return { ...base, kind: 'timeout', message: shorten(`${label}${code === 'ETIMEDOUT' ? target(err) : ''}`) };
  }
  if (err.name === 'AbortError' || err.name === 'TimeoutError') {
    return { ...base, kind: 'timeout', message: err.name === 'TimeoutError' ? 'timed out' : 'request aborted' };
  }
  if (code !== undefined && DNS_CODES.has(code)) {
    const host = err.hostname ?? /\s(\S+)$/.exec(err.message)?.[1] ?? 'host';
    return { ...base, kind: 'network', message: shorten(`DNS lookup failed for ${host} (${code})`) };
  }
  if (isTlsError(code, rawMessage)) {
    return { ...base, kind: 'network', message: shorten(`TLS: ${rawMessage}`) };
  }
  if (code !== undefined && code in NETWORK_CODES) {
    return { ...base, kind: 'network', message: shorten(`${NETWORK_CODES[code]}${target(err)}`) };
  }
  if (code === 'SIEMGATE_INVALID_ENDPOINT') return { ...base, kind: 'network', message: shorten(rawMessage) };
  return { ...base, kind: 'network', message: shorten(code ? `${rawMessage} (${code})` : rawMessage) };
}
