import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../logger.js';
import { internalError, sendError } from '../answer.js';
import type { HttpHandler } from '../router.js';

/** Options of {@link serveNodeHttp}. */
export interface NodeHttpOptions {
  port: number;
  host: string;
  log: Logger;
  /** Node's cut-off for a whole request (headers and body). */
  requestTimeoutMs: number;
  /** @default 15_000 */
  headersTimeoutMs?: number;
}

/** A handler served over Node HTTP. */
export interface NodeHttpServer {
  server: Server;
  /** The address actually bound (`server.address()`). */
  address: AddressInfo;
  /** Stops intake: no new connections; idle keep-alive connections closed. Resolves once every connection has ended. */
  stopAccepting(): Promise<void>;
  /** Waits for the connections still open, closing them after `graceMs`. */
  finish(graceMs?: number): Promise<void>;
}

/**
 * Serves `handle` on a Node HTTP server listening on `host:port`: the thin Node adapter of the gateway (see
 * `createGatewayCore`). An error the handler lets escape is logged and answered 500 (or the connection
 * cut when the answer is under way). Rejects with the listen error (e.g. a busy port) and closes nothing else.
 *
 * @example
 * ```ts
 * const http = await serveNodeHttp(core.handle, { port: 4000, host: '127.0.0.1', log, requestTimeoutMs: 60_000 });
 * ```
 */
export async function serveNodeHttp(handle: HttpHandler, options: NodeHttpOptions): Promise<NodeHttpServer> {
  const { log } = options;
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'unhandled error in HTTP handler');
      if (!res.headersSent) sendError(res, internalError());
      else res.destroy();
    });
  });
  server.requestTimeout = options.requestTimeoutMs;
  server.headersTimeout = options.headersTimeoutMs ?? 15_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  let closed: Promise<void> | undefined;
  const stopAccepting = () => {
    closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    return closed;
  };
  return {
    server,
    address: server.address() as AddressInfo,
    stopAccepting,
    async finish(graceMs = 2_000) {
      const force = setTimeout(() => server.closeAllConnections(), graceMs);
      await stopAccepting();
      clearTimeout(force);
    },
  };
}
