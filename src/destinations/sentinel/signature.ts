import { createHmac } from 'node:crypto';

/** Parts of the Azure Monitor HTTP Data Collector API's SharedKey string-to-sign, from Microsoft's documentation. */
export const SentinelSignatureDefaults = {
  /** The only verb the Data Collector API accepts. */
  METHOD: 'POST',
  /** The only content type the Data Collector API accepts. */
  CONTENT_TYPE: 'application/json',
  /** The API resource name that ends the string-to-sign. */
  RESOURCE: '/api/logs',
  /** Header whose value is signed; it must be sent with exactly the same value. */
  DATE_HEADER: 'x-ms-date',
  /** Authorization scheme name. */
  SCHEME: 'SharedKey',
} as const;

/** Standard base64 (with padding), the form Azure shows workspace keys in. */
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The workspace shared key is not usable base64. The message never contains the key. */
export class SentinelSharedKeyError extends Error {
  readonly code = 'SIEMGATE_SENTINEL_SHARED_KEY_INVALID';
  constructor(reason: string) {
    super(`Sentinel shared key: ${reason}`);
    this.name = 'SentinelSharedKeyError';
  }
}

/** Inputs of one SharedKey signature. */
export interface SentinelSignatureInput {
  /** Log Analytics workspace ID (the `CustomerId`); it prefixes the signature in the header. */
  workspaceId: string;
  /** Base64 workspace key (primary or secondary). Secret: it is decoded and used as the HMAC key, never echoed. */
  sharedKey: string;
  /** The exact `x-ms-date` header value (RFC 1123, e.g. `Mon, 04 Apr 2016 08:00:00 GMT`); a `Date` is formatted with `toUTCString()`. */
  date: string | Date;
  /** Byte length of the UTF-8 request body, i.e. the `Content-Length` that is sent. */
  contentLength: number;
  /** @default "POST" */
  method?: string;
  /** @default "application/json" */
  contentType?: string;
  /** @default "/api/logs" */
  resource?: string;
}

/**
 * Decodes a base64 workspace shared key strictly (standard alphabet, correct padding, not empty).
 * Throws {@link SentinelSharedKeyError} otherwise; the error never includes the key.
 *
 * @example
 * ```ts
 * const keyBytes = decodeSentinelSharedKey(config.sharedKey);
 * ```
 */
export function decodeSentinelSharedKey(sharedKey: string): Buffer {
  const trimmed = sharedKey.trim();
  if (trimmed.length === 0) throw new SentinelSharedKeyError('is empty');
  if (!BASE64_PATTERN.test(trimmed)) throw new SentinelSharedKeyError('is not valid base64');
  return Buffer.from(trimmed, 'base64');
}

/**
 * Builds the Data Collector API `Authorization` header value:
 * `SharedKey <workspaceId>:<base64 HMAC-SHA256(base64-decoded key, UTF-8 string-to-sign)>` where the string-to-sign is
 * `POST\n<content-length>\napplication/json\nx-ms-date:<date>\n/api/logs`.
 *
 * @example
 * ```ts
 * const body = JSON.stringify(records);
 * const date = new Date().toUTCString();
 * const authorization = buildSentinelSignature({
 *   workspaceId, sharedKey, date, contentLength: Buffer.byteLength(body, 'utf8'),
 * });
 * // "SharedKey 0f3c…:k7e0…="
 * ```
 */
export function buildSentinelSignature(input: SentinelSignatureInput): string {
  if (!Number.isSafeInteger(input.contentLength) || input.contentLength < 0) {
    throw new RangeError(`contentLength must be a non-negative integer, got ${input.contentLength}`);
  }
  const date = typeof input.date === 'string' ? input.date : input.date.toUTCString();
  const stringToSign = [
    input.method ?? SentinelSignatureDefaults.METHOD,
    String(input.contentLength),
    input.contentType ?? SentinelSignatureDefaults.CONTENT_TYPE,
    `${SentinelSignatureDefaults.DATE_HEADER}:${date}`,
    input.resource ?? SentinelSignatureDefaults.RESOURCE,
  ].join('\n');
  const signature = createHmac('sha256', decodeSentinelSharedKey(input.sharedKey))
    .update(stringToSign, 'utf8')
    .digest('base64');
  return `${SentinelSignatureDefaults.SCHEME} ${input.workspaceId}:${signature}`;
}
