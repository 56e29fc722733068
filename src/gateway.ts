import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Kysely } from 'kysely';
import { WebSocketServer } from 'ws';
import { authenticate } from './auth/authenticate.js';
import { SecretBox } from './crypto/secret-box.js';
import { DeliveryEngine } from './delivery/delivery-engine.js';
import { IntegrationTester } from './delivery/integration-tester.js';
import { INGEST_PATH, IngestGate, handleIngest } from './http/ingest-endpoint.js';
import { ErrorCode } from './errors.js';
import { PayloadTooLargeError, readBody, sendJson } from './http/read-body.js';
import { createLogger, type Logger } from './logger.js';
import { EgressPolicy } from './net/egress-policy.js';
import { createMaskError } from './plugins/mask-error.js';
import { useInputErrors } from './plugins/use-input-errors.js';
import { useQueryLimits } from './plugins/use-query-limits.js';
import { INPUT_TYPE_PATHS, buildSchema } from './schema/index.js';
import type { GatewayContext, GatewayServices } from './schema/context.js';
import { resolveSecretKey, type Settings } from './settings.js';
import { migrateToLatest, openSqliteDatabase } from './store/sqlite-database.js';
import { Store, type Principal } from './store/store.js';
import type { Database } from './store/tables.js';

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
  store: Store;
  /** Token of the admin key created on first start (no key existed, no bootstrap token set); print it once. */
  bootstrapToken?: string;
  /** Stops intake, closes connections and the database. */
  close(): Promise<void>;
}

/** RFC 6455 close code 1012 "Service Restart": clients should reconnect later. */
const WS_CLOSE_SERVICE_RESTART = 1012;

/** GraphQL endpoint path, for HTTP and graphql-ws. */
export const GRAPHQL_PATH = '/graphql';


/**
 * Opens the store (migrating it), then serves GraphQL over HTTP and graphql-ws, `/healthz` and `/readyz`.
 *
 * @example
 * ```ts
 * const gateway = await startGateway({ settings: loadSettings(process.env) });
 * console.log(`listening on ${gateway.url}/graphql`);
 * process.on('SIGTERM', () => gateway.close());
 * ```
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { settings } = options;
  const log = options.logger ?? createLogger({ level: settings.logLevel });

  const secretKey = resolveSecretKey(settings);
  if (secretKey.generated) {
    log.warn({ keyFile: secretKey.path }, 'SIEMGATE_SECRET_KEY is not set: generated a key file beside the database. Back it up; without it stored secrets cannot be decrypted.');
  }
  const db = openSqliteDatabase(settings.databasePath, { synchronous: settings.dbSynchronous });
  let store: Store;
  try {
    const applied = await migrateToLatest(db);
    if (applied.length > 0) log.info({ migrations: applied }, 'database migrated');
    store = new Store(db, new SecretBox(secretKey.key));
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const { token: bootstrapToken } = await store.bootstrap(settings.bootstrapToken);

  const egress = options.egress ?? new EgressPolicy({ allow: settings.egressAllow, denyPrivate: settings.egressDenyPrivate, log: log.child({ component: 'egress' }) });
  const engine = new DeliveryEngine({
    store,
    egress,
    log,
    retentionMs: settings.retentionDays * 86_400_000,
    retryBaseMs: settings.retryBaseMs,
    retryMaxMs: settings.retryMaxMs,
  });
  const services: GatewayServices = { store, tester: new IntegrationTester({ egress }), engine };
  const yoga = createGraphQLServer({ settings, log, services });
  const ingestGate = new IngestGate(settings.ingestConcurrency);

  const server = createServer((req, res) => {
    handleHttp(req, res, { yoga, store, settings, log, ingestGate }).catch((error: unknown) => {
      log.error({ err: error }, 'unhandled error in HTTP handler');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Unexpected error.' }] });
      else res.destroy();
    });
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 15_000;

  const wsServer = new WebSocketServer({ server, path: GRAPHQL_PATH, maxPayload: settings.maxBodyBytes });
  const wsCleanup = serveGraphQLOverWebSocket(wsServer, yoga, store);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await engine.start();
  const { port } = server.address() as AddressInfo;
  const host = settings.host === '0.0.0.0' || settings.host === '::' ? '127.0.0.1' : settings.host;
  log.info({ port, graphiql: settings.graphiql, database: settings.databasePath }, 'siemgate listening');

  let closed: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    store,
    bootstrapToken,
    close() {
      closed ??= (async () => {
        // 1. Stop intake: no new connections; idle keep-alive connections closed.
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await wsCleanup.dispose();
        for (const client of wsServer.clients) client.close(WS_CLOSE_SERVICE_RESTART, 'Server shutting down');
        // 2. Finish (or, after the deadline, hand back) the batches in flight.
        await engine.stop(settings.shutdownTimeoutMs);
        await new Promise<void>((resolve) => wsServer.close(() => resolve()));
        const force = setTimeout(() => server.closeAllConnections(), 2_000);
        await httpClosed;
        clearTimeout(force);
        await destroyDatabase(db);
      })();
      return closed;
    },
  };
}

async function destroyDatabase(db: Kysely<Database>) {
  await db.destroy();
}

interface ServerContext {
  req?: IncomingMessage;
  /** Set for graphql-ws operations, authenticated at connection time. */
  principal?: Principal;
}

function createGraphQLServer({ settings, log, services }: { settings: Settings; log: Logger; services: GatewayServices }) {
  return createYoga<ServerContext, GatewayContext>({
    schema: buildSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: settings.graphiql ? { title: 'siemgate', headers: JSON.stringify({ Authorization: 'Bearer <your API token>' }) } : false,
    landingPage: false,
    logging: {
      debug: (...args) => log.debug(args.map(String).join(' ')),
      info: (...args) => log.info(args.map(String).join(' ')),
      warn: (...args) => log.warn(args.map(String).join(' ')),
      error: (...args) => log.error(args.map(String).join(' ')),
    },
    maskedErrors: { maskError: createMaskError(log) },
    context: async (initial): Promise<GatewayContext> => {
      const principal = initial.principal ?? (await authenticate(services.store, initial.request?.headers.get('authorization')));
      return {
        principal,
        tenant: services.store.tenant(principal.organization.id),
        actor: { keyId: principal.keyId, name: principal.keyName },
        services,
        cache: {},
      };
    },
    plugins: [
      useInputErrors({ inputTypePaths: INPUT_TYPE_PATHS }),
      ...(settings.graphiql ? [] : [useDisableIntrospection()]),
      useQueryLimits({ blockFieldSuggestions: !settings.graphiql }),
    ],
  });
}

/**
 * graphql-ws on the HTTP server's `/graphql`, authenticated once per connection by
 * `connectionParams.authorization` (`Bearer <token>`), executed through Yoga's envelop so the same
 * plugins, limits and error masking apply as over HTTP.
 */
function serveGraphQLOverWebSocket(wsServer: WebSocketServer, yoga: YogaServerInstance<ServerContext, GatewayContext>, store: Store) {
  type Extra = { principal?: Principal; socket: import('ws').WebSocket; request: IncomingMessage };
  return useServer<Record<string, unknown> | undefined, Extra>(
    {
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        try {
          ctx.extra.principal = await authenticate(store, typeof authorization === 'string' ? authorization : undefined);
          return true;
        } catch {
          ctx.extra.socket.close(CloseCode.Forbidden, 'Forbidden: connectionParams.authorization must be "Bearer <valid API token>"');
          return false;
        }
      },
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          req: ctx.extra.request,
          principal: ctx.extra.principal,
          params,
        } as never);
        const args = {
          schema,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wsServer,
  );
}

async function handleHttp(
  req: IncomingMessage,
  res: ServerResponse,
  { yoga, store, settings, log, ingestGate }: { yoga: YogaServerInstance<ServerContext, GatewayContext>; store: Store; settings: Settings; log: Logger; ingestGate: IngestGate },
) {
  const url = new URL(req.url ?? '/', 'http://gateway');
  if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (url.pathname === '/readyz') {
    try {
      await store.ping();
      return sendJson(res, 200, { status: 'ready' });
    } catch (error) {
      log.warn({ err: error }, 'readiness check failed');
      return sendJson(res, 503, { status: 'unavailable', reason: 'database does not answer' });
    }
  }
  if (url.pathname === INGEST_PATH) {
    return handleIngest(req, res, { store, log, maxBodyBytes: settings.maxIngestBytes, maxEvents: settings.maxIngestEvents, gate: ingestGate });
  }
  if (url.pathname !== GRAPHQL_PATH) return sendJson(res, 404, { error: 'not found' });

  let body: Buffer | undefined;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    try {
      body = await readBody(req, settings.maxBodyBytes);
    } catch (error) {
      if (error instanceof PayloadTooLargeError) {
        res.setHeader('connection', 'close');
        return sendJson(res, 413, { errors: [{ message: error.message, extensions: { code: ErrorCode.PAYLOAD_TOO_LARGE } }] });
      }
      throw error;
    }
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const abort = new AbortController();
  res.once('close', () => abort.abort());
  const request = new Request(new URL(req.url ?? '/', 'http://gateway'), { method: req.method, headers, body: body as unknown as BodyInit | undefined, signal: abort.signal });
  const response = await yoga.fetch(request, { req });
  res.statusCode = response.status;
  response.headers.forEach((value, name) => res.setHeader(name, value));
  if (!response.body) return res.end();
  if (!response.headers.get('content-type')?.includes('text/event-stream')) {
    // A plain result: one write, rather than copying the web stream chunk by chunk.
    return res.end(Buffer.from(await response.arrayBuffer()));
  }
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
  }
  res.end();
}

