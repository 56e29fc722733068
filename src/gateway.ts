import type { AddressInfo } from 'node:net';
import type { DeliveryEngine } from './delivery/delivery-engine.js';
import { createGatewayCore } from './gateway-core.js';
import { GRAPHQL_PATH } from './http/router.js';
import { serveGraphQLOverWebSocket } from './http/use/graphql-ws.js';
import { serveNodeHttp } from './http/use/node-http.js';
import type { Logger } from './logger.js';
import type { EgressPolicy } from './net/egress-policy.js';
import type { Settings } from './settings.js';
import { describeDatabase } from './store/database.js';
import type { Store } from './store/store.js';

export { GRAPHQL_PATH };

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  settings: Settings;
  /** @default a pino logger at `settings.logLevel` on stderr */
  logger?: Logger;
  /** Overrides the egress policy built from the settings (tests allow loopback receivers this way). */
  egress?: EgressPolicy;
}

/** A running gateway. */
export interface Gateway {
  /** e.g. `http://127.0.0.1:4000` */
  url: string;
  port: number;
  /** The address actually bound (`server.address()`), e.g. `{ address: '0.0.0.0', family: 'IPv4', port: 4000 }`. */
  address: AddressInfo;
  store: Store;
  /** The delivery engine (its status and attempt hubs count live subscribers). */
  engine: DeliveryEngine;
  /** Token of the admin key created on first start (no key existed, no bootstrap token set); print it once. */
  bootstrapToken?: string;
  /** Stops intake, closes connections and the database. */
  close(): Promise<void>;
}

/**
 * Opens the store (migrating it), then serves GraphQL over HTTP and graphql-ws, `/healthz` and `/readyz`:
 * the transport-free core (`gateway-core.ts`) on its two thin adapters (`http/use/node-http.ts`,
 * `http/use/graphql-ws.ts`).
 *
 * @example
 * ```ts
 * const gateway = await startGateway({ settings: loadSettings(process.env) });
 * console.log(`listening on ${gateway.url}/graphql`);
 * process.on('SIGTERM', () => gateway.close());
 * ```
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const core = await createGatewayCore(options);
  const { settings, log, store, engine } = core;

  // Listen before attaching graphql-ws: a listen error (busy port) then reaches the caller alone, not also
  // graphql-ws's error handler, which prints it with a stack trace.
  const http = await serveNodeHttp(core.handle, {
    port: settings.port,
    host: settings.host,
    log,
    // Ingest bodies have their own, size-scaled deadline (408 REQUEST_TIMEOUT); Node's cut-off must not come first.
    requestTimeoutMs: Math.max(60_000, core.ingestAdmission.bodyDeadlineMs(settings.maxIngestBytes) + 5_000),
    headersTimeoutMs: 15_000,
  }).catch(async (error: unknown) => {
    await core.dispose();
    throw error;
  });

  const ws = serveGraphQLOverWebSocket(http.server, core.yoga, {
    path: GRAPHQL_PATH,
    maxPayload: settings.maxBodyBytes,
    store,
    revocations: core.revocations,
    maxSubscriptions: settings.maxSubscriptionsPerConnection,
  });
  await core.start();
  const { address } = http;
  const { port } = address;
  const host = settings.host === '0.0.0.0' || settings.host === '::' ? '127.0.0.1' : settings.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // `address` is the one bound (0.0.0.0 for every IPv4 interface); `url` the local one to open. Written at
  // every SIEMGATE_LOG_LEVEL but `silent`: it is how an operator (or a supervisor) learns the server is up.
  (log.level === 'silent' ? log : log.child({}, { level: 'info' })).info({ address: address.address, port, url: `${url}${GRAPHQL_PATH}`, graphiql: settings.graphiql, database: describeDatabase({ path: settings.databasePath, url: settings.databaseUrl }) }, 'siemgate listening');

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    address,
    store,
    engine,
    bootstrapToken: core.bootstrapToken,
    close() {
      closed ??= (async () => {
        // 1. Stop intake: no new connections; idle keep-alive connections closed.
        void http.stopAccepting();
        await ws.stop();
        // 2. Finish (or, after the deadline, hand back) the batches in flight.
        await core.stop();
        await ws.close();
        // 3. Close what is left: connections (forced after 2 s), then the database.
        await http.finish(2_000);
        await core.dispose();
      })();
      return closed;
    },
  };
}
