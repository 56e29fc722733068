import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGunzip, createInflate, type Inflate, type Gunzip } from 'node:zlib';
import { ErrorCode, GatewayError } from '../errors.js';

/** A request body was larger than allowed (for a compressed body: once inflated, or as sent). PAYLOAD_TOO_LARGE, 413; the connection is closed. */
export class PayloadTooLargeError extends GatewayError {
  /** @param inflated for a compressed body, the inflated bytes at which reading stopped */
  constructor(readonly limit: number, readonly inflated?: number) {
    super(
      ErrorCode.PAYLOAD_TOO_LARGE,
      inflated === undefined
        ? `Request body exceeds the limit of ${limit} bytes`
        : `The inflated request body exceeds the limit of ${limit} bytes (inflating stopped after ${inflated} bytes)`,
      { headers: { connection: 'close' } },
    );
    this.name = 'PayloadTooLargeError';
  }
}

/** Content codings a request body may arrive in (`Content-Encoding`). */
export type ContentCoding = 'identity' | 'gzip' | 'deflate';

/** A `Content-Encoding` other than gzip, deflate or identity. UNSUPPORTED_MEDIA_TYPE, 415. */
export class UnsupportedEncodingError extends GatewayError {
  constructor(readonly encoding: string) {
    super(ErrorCode.UNSUPPORTED_MEDIA_TYPE, `Content-Encoding ${JSON.stringify(encoding.slice(0, 64))} is not supported; send the body uncompressed, gzip or deflate`);
    this.name = 'UnsupportedEncodingError';
  }
}

/** A compressed body that does not inflate (corrupt or truncated stream). BAD_USER_INPUT, 400; the connection is closed. */
export class CorruptBodyError extends GatewayError {
  constructor(coding: ContentCoding, detail: string) {
    super(ErrorCode.BAD_USER_INPUT, `The ${coding} request body could not be inflated: ${detail}`, { headers: { connection: 'close' } });
    this.name = 'CorruptBodyError';
  }
}

/**
 * The request's content coding: `gzip` (also `x-gzip`), `deflate` (the zlib format of RFC 9110) or
 * `identity` (no or an empty header). One coding only.
 *
 * @throws UnsupportedEncodingError for anything else (answer 415)
 * @example
 * ```ts
 * const coding = contentCodingOf(req); // 'gzip' for Content-Encoding: gzip
 * const body = await readBody(req, limit, { coding });
 * ```
 */
export function contentCodingOf(req: IncomingMessage): ContentCoding {
  const header = req.headers['content-encoding'];
  if (header === undefined) return 'identity';
  const value = header.trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  throw new UnsupportedEncodingError(header);
}

/** The client went away (connection closed or reset) before its body was complete: nobody to answer. */
export class RequestAbortedError extends Error {
  readonly code = 'SIEMGATE_REQUEST_ABORTED';
  constructor() {
    super('The client closed the connection before the request body was complete');
    this.name = 'RequestAbortedError';
  }
}

/** Options of {@link readBody}. */
export interface ReadBodyOptions {
  /** Stops reading and rejects with the signal's reason (e.g. a body deadline). */
  signal?: AbortSignal;
  /** Called with the bytes buffered so far (for a compressed body: inflated) after every chunk. */
  onProgress?: (received: number) => void;
  /**
   * The body's content coding (see {@link contentCodingOf}); a compressed body is inflated as it streams in,
   * and `limit` applies to the bytes received and to the inflated bytes alike. @default 'identity'
   */
  coding?: ContentCoding;
}

/**
 * Reads a request body, refusing more than `limit` bytes: by Content-Length before reading anything,
 * or as soon as a streamed (chunked) body passes the limit. A compressed body (`coding`) is inflated as it
 * arrives and refused as soon as its inflated size passes the limit, so a decompression bomb is never
 * inflated further than `limit` plus one inflater chunk (16 KiB); a corrupt stream rejects with
 * {@link CorruptBodyError}. Always settles: on the end of the body, on
 * an error, when the client goes away ({@link RequestAbortedError}) or when `signal` aborts; afterwards
 * it holds no listener on the request.
 *
 * @throws PayloadTooLargeError, RequestAbortedError, CorruptBodyError, or the signal's reason
 * @example
 * ```ts
 * const body = await readBody(req, 1024 * 1024, { signal: AbortSignal.timeout(10_000) });
 * ```
 */
export function readBody(req: IncomingMessage, limit: number, options: ReadBodyOptions = {}): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new PayloadTooLargeError(limit));
  }
  const { signal, onProgress } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (options.coding !== undefined && options.coding !== 'identity') return readCompressed(req, limit, options.coding, options);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: unknown) => {
      cleanup();
      chunks.length = 0;
      // Keep draining what still arrives, so the socket can carry the answer.
      req.resume();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return fail(new PayloadTooLargeError(limit));
      chunks.push(chunk);
      onProgress?.(size);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => fail(error);
    const onClose = () => {
      if (!req.complete) fail(new RequestAbortedError());
    };
    const onAbort = () => fail(signal!.reason);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** {@link readBody} for a compressed body: inflates while reading, bounded on both sides. */
function readCompressed(req: IncomingMessage, limit: number, coding: ContentCoding, { signal, onProgress }: ReadBodyOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const inflater: Gunzip | Inflate = coding === 'gzip' ? createGunzip() : createInflate();
    const chunks: Buffer[] = [];
    let received = 0;
    let size = 0;
    let settled = false;
    const cleanup = () => {
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      inflater.off('data', onInflated);
      inflater.off('end', onInflatedEnd);
      inflater.off('drain', onDrain);
      inflater.off('error', onInflateError);
      // Errors after the outcome is decided (e.g. from a destroyed inflater) have nobody left to tell.
      inflater.on('error', () => {});
    };
    const fail = (error: unknown) => {
      if (settled) return;
      cleanup();
      chunks.length = 0;
      // Stops inflating at once: the inflater processes no further output after destroy.
      inflater.destroy();
      req.resume();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) return fail(new PayloadTooLargeError(limit));
      // Back-pressure: no more compressed input until the inflater has worked through what it has.
      if (!inflater.write(chunk)) req.pause();
    };
    const onDrain = () => {
      if (!settled) req.resume();
    };
    const onInflated = (out: Buffer) => {
      size += out.length;
      if (size > limit) return fail(new PayloadTooLargeError(limit, size));
      chunks.push(out);
      onProgress?.(size);
    };
    const onInflatedEnd = () => {
      if (settled) return;
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onEnd = () => inflater.end();
    const onError = (error: Error) => fail(error);
    const onInflateError = (error: Error) => fail(new CorruptBodyError(coding, error.message));
    const onClose = () => {
      if (!req.complete) fail(new RequestAbortedError());
    };
    const onAbort = () => fail(signal!.reason);
    inflater.on('data', onInflated);
    inflater.once('end', onInflatedEnd);
    inflater.on('drain', onDrain);
    inflater.on('error', onInflateError);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Sends a JSON answer with an exact Content-Length.
 *
 * @example
 * ```ts
 * sendJson(res, 202, { accepted: 10 });
 * ```
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}
