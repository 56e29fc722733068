import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

/** One request as the receiver saw it on the wire. */
export interface ReceivedRequest {
  method: string;
  /** Path and query, e.g. `/services/collector/event?x=1`. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The exact body bytes, before any decoding. */
  body: Buffer;
  /** The status it was answered with, once the answer was written (never, if the connection was gone by then). */
  status?: number;
  /** When the answer was written (`Date.now()`). */
  answeredAt?: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** Decides the answer to one request; may be async. Defaults to `200 {}`. */
export type Responder = (req: ReceivedRequest) => Reply | Promise<Reply>;

export interface HttpReceiver {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Replaces the responder for requests from now on. */
  respond(responder: Responder): void;
  /** Resolves once `n` requests have arrived in total. */
  waitForRequests(n: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  /** Stops listening and drops every connection (the port is then closed: connection refused). */
  close(): Promise<void>;
  /** Listens again on the same port. */
  reopen(): Promise<void>;
}

/**
 * Starts a real HTTP (or, with `tls`, HTTPS) server on 127.0.0.1 that records every request's exact bytes.
 * Tests use it as the SIEM: they check what arrived against the vendor's specification. The responder may take
 * its time (a slow SIEM); an answer to a connection that is gone by then is not written.
 *
 * @example
 * ```ts
 * const hec = await startHttpReceiver(() => ({ status: 200, body: '{"text":"Success","code":0}' }));
 * // ... deliver to `${hec.url}/services/collector/event`
 * expect(hec.requests[0].headers.authorization).toBe('Splunk my-token');
 * await hec.close();
 * ```
 */
export async function startHttpReceiver(responder?: Responder, tls?: HttpsServerOptions): Promise<HttpReceiver> {
  let current: Responder = responder ?? (() => ({ status: 200, body: '{}' }));
  const requests: ReceivedRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let server: Server | undefined;
  let port = 0;

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      const received: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(received);
      for (const w of [...waiters]) {
        if (requests.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      Promise.resolve(current(received)).then(
        (reply) => {
          if (res.destroyed) return;
          received.status = reply.status;
          received.answeredAt = Date.now();
          res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
          res.end(reply.body ?? '');
        },
        (err: unknown) => {
          if (res.destroyed) return;
          res.writeHead(500);
          res.end(String(err));
        },
      );
    });
  };

  const listen = async () => {
    const s = tls ? createHttpsServer(tls, handler) : createServer(handler);
    if (tls) s.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        resolve();
      });
    });
    server = s;
    port = (s.address() as AddressInfo).port;
  };
  await listen();

  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    respond(next) {
      current = next;
    },
    waitForRequests(n, timeoutMs = 10_000) {
      if (requests.length >= n) return Promise.resolve(requests);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`expected ${n} requests, got ${requests.length} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve(requests);
          },
        });
      });
    },
    close() {
      const s = server;
      if (!s) return Promise.resolve();
      server = undefined;
      s.closeAllConnections();
      return new Promise((resolve) => s.close(() => resolve()));
    },
    async reopen() {
      if (!server) await listen();
    },
  };
}

/**
 * Registers an `afterEach` that closes everything passed to the returned `track` (receivers, servers, adapters):
 * one at a time, last opened first, or with `parallel` all at once. `track` returns what it was given.
 */
export function closeAfterEach(options: { parallel?: boolean } = {}): <T extends { close(): Promise<void> }>(thing: T) => T {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    if (options.parallel) await Promise.all(open.splice(0).map((o) => o.close()));
    else while (open.length > 0) await open.pop()!.close();
  });
  return (thing) => {
    open.push(thing);
    return thing;
  };
}
