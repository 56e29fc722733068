import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request body was larger than allowed. */
export class PayloadTooLargeError extends Error {
  readonly code = 'SIEMGATE_PAYLOAD_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`Request body exceeds the limit of ${limit} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

/**
 * Reads a request body, refusing more than `limit` bytes: by Content-Length before reading anything,
 * or as soon as a streamed (chunked) body passes the limit.
 *
 * @throws PayloadTooLargeError
 * @example
 * ```ts
 * const body = await readBody(req, 1024 * 1024);
 * ```
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new PayloadTooLargeError(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        reject(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
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
