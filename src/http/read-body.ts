import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request body was larger than allowed. */
export class PayloadTooLargeError extends Error {
  readonly code = 'SIEMGATE_PAYLOAD_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`Request body exceeds the limit of ${limit} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

/** The client went away (connection closed or reset) before its body was complete. */
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
  /** Called with the bytes received so far after every chunk. */
  onProgress?: (received: number) => void;
}

/**
 * Reads a request body, refusing more than `limit` bytes: by Content-Length before reading anything,
 * or as soon as a streamed (chunked) body passes the limit. Always settles: on the end of the body, on
 * an error, when the client goes away ({@link RequestAbortedError}) or when `signal` aborts; afterwards
 * it holds no listener on the request.
 *
 * @throws PayloadTooLargeError, RequestAbortedError, or the signal's reason
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
