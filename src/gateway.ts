import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError, getOperationAST } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Kysely } from 'kysely';
import { WebSocketServer } from 'ws';
import { roleScopes } from './auth/api-token.js';
import { authenticate } from './auth/authenticate.js';
import { RevocationMonitor } from './auth/revocation-monitor.js';
import { SecretBox } from './crypto/secret-box.js';
import { DeliveryEngine } from './delivery/delivery-engine.js';
import { IntegrationTester } from './delivery/integration-tester.js';
import { INGEST_PATH, handleIngest } from './http/ingest-endpoint.js';
import { IngestAdmission } from './http/ingest-admission.js';
import { handleSettingsApi, isSettingsApiPath } from './http/settings-api.js';
import { ErrorCode } from './errors.js';
import { CorruptBodyError, PayloadTooLargeError, UnsupportedEncodingError, contentCodingOf, readBody, sendJson, type ContentCoding } from './http/read-body.js';
import { createLogger, type Logger } from './logger.js';
import { DeliveryLog } from './metrics/delivery-log.js';
import { GatewayMetrics, METRICS_PATH, serveMetrics } from './metrics/gateway-metrics.js';
import { EgressPolicy } from './net/egress-policy.js';
import { createMaskError, createYogaLogging } from './plugins/mask-error.js';
import { useDocumentAuthorization } from './plugins/use-document-authorization.js';
import { useInputErrors } from './plugins/use-input-errors.js';
import { useMetrics } from './plugins/use-metrics.js';
import { useJsonRequests } from './plugins/use-json-requests.js';
import { useNoIntrospection } from './plugins/use-no-introspection.js';
import { QUERY_LIMIT_EXCEEDED, useQueryLimits } from './plugins/use-query-limits.js';
import { useRevocation } from './plugins/use-revocation.js';
import { useCompiledQueries } from './plugins/use-compiled-queries.js';
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
  const metrics = settings.metrics ? new GatewayMetrics({ store, engine }) : undefined;
  const deliveryLog = new DeliveryLog({ store, log });
  const ingestAdmission = new IngestAdmission({
    maxBodyBytes: settings.maxIngestBytes,
    maxEvents: settings.maxIngestEvents,
    commitConcurrency: settings.ingestConcurrency,
    readsPerOrganization: settings.ingestReadsPerOrganization,
    bufferBytesPerOrganization: settings.ingestBufferBytesPerOrganization,
    bodyTimeoutMs: settings.ingestBodyTimeoutMs,
  });
  const services: GatewayServices = { store, tester: new IntegrationTester({ egress }), engine, ingest: ingestAdmission };
  const revocations = new RevocationMonitor({ store, onError: (error) => log.warn({ err: error }, 'checking API keys for revocation failed') });
  revocations.start();
  const yoga = createGraphQLServer({ settings, log, services, metrics, revocations });

  const server = createServer((req, res) => {
    handleHttp(req, res, { yoga, store, settings, log, ingestAdmission, metrics, services }).catch((error: unknown) => {
      log.error({ err: error }, 'unhandled error in HTTP handler');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Unexpected error.' }] });
      else res.destroy();
    });
  });
  // Ingest bodies have their own, size-scaled deadline (408 REQUEST_TIMEOUT); Node's cut-off must not come first.
  server.requestTimeout = Math.max(60_000, ingestAdmission.bodyDeadlineMs(settings.maxIngestBytes) + 5_000);
  server.headersTimeout = 15_000;

  // Listen before attaching graphql-ws: a listen error (busy port) then reaches the caller alone, not also
  // graphql-ws's error handler, which prints it with a stack trace.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    revocations.stop();
    metrics?.close();
    await destroyDatabase(db);
    throw error;
  });

  const wsServer = new WebSocketServer({ server, path: GRAPHQL_PATH, maxPayload: settings.maxBodyBytes });
  const wsCleanup = serveGraphQLOverWebSocket(wsServer, yoga, { store, revocations, maxSubscriptions: settings.maxSubscriptionsPerConnection });
  await deliveryLog.attach(engine);
  await engine.start();
  const address = server.address() as AddressInfo;
  const { port } = address;
  const host = settings.host === '0.0.0.0' || settings.host === '::' ? '127.0.0.1' : settings.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // `address` is the one bound (0.0.0.0 for every IPv4 interface); `url` the local one to open. Written at
  // every SIEMGATE_LOG_LEVEL but `silent`: it is how an operator (or a supervisor) learns the server is up.
  (log.level === 'silent' ? log : log.child({}, { level: 'info' })).info({ address: address.address, port, url: `${url}${GRAPHQL_PATH}`, graphiql: settings.graphiql, database: settings.databasePath }, 'siemgate listening');

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    address,
    store,
    engine,
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
        await deliveryLog.detach();
        metrics?.close();
        await new Promise<void>((resolve) => wsServer.close(() => resolve()));
        revocations.stop();
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
  /** Set for graphql-ws operations, authenticated at connection time (and re-checked for every operation). */
  principal?: Principal;
}

function createGraphQLServer({ settings, log, services, metrics, revocations }: { settings: Settings; log: Logger; services: GatewayServices; metrics?: GatewayMetrics; revocations: RevocationMonitor }) {
  const corsOrigins = new Set(settings.corsOrigins);
  return createYoga<ServerContext, GatewayContext>({
    schema: buildSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: settings.graphiql ? { title: 'siemgate', headers: JSON.stringify({ Authorization: 'Bearer <your API token>' }) } : false,
    // GraphiQL from the gateway itself (JS, CSS, editor workers and favicon inlined): works offline.
    renderGraphiQL,
    landingPage: false,
    // Off unless SIEMGATE_CORS_ORIGINS lists the origin; never with credentials (API keys are sent as headers).
    cors: (request) => {
      const origin = request.headers.get('origin');
      if (!origin || !corsOrigins.has(origin)) return false;
      return { origin, credentials: false, methods: ['GET', 'POST'], allowedHeaders: ['authorization', 'content-type', 'accept'] };
    },
    logging: createYogaLogging(log),
    maskedErrors: { maskError: createMaskError() },
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
      useJsonRequests(),
      useInputErrors({ inputTypePaths: INPUT_TYPE_PATHS }),
      ...(metrics ? [useMetrics({ record: (operation, code) => metrics.graphqlOperations.inc({ operation, code }) })] : []),
      ...(settings.graphiql ? [] : [useNoIntrospection()]),
      useQueryLimits({ blockFieldSuggestions: !settings.graphiql }),
      useDocumentAuthorization({
        callerOf: (ctx) => {
          const principal = (ctx as Partial<GatewayContext>).principal;
          return principal && { role: principal.role, scopes: roleScopes(principal.role) };
        },
      }),
      useRevocation({ monitor: revocations, keyIdOf: (ctx) => (ctx as Partial<GatewayContext>).principal?.keyId }),
      useCompiledQueries({ onError: (errors) => log.error({ errors: errors.map((e) => e.message) }, 'a query could not be compiled') }),
    ],
  });
}

/**
 * graphql-ws on the HTTP server's `/graphql`, authenticated per connection by
 * `connectionParams.authorization` (`Bearer <token>`), executed through Yoga's envelop so the same
 * plugins, limits and error masking apply as over HTTP. Every operation re-checks the key's state; a
 * revoked key's connections are closed with 4403 (within the revocation monitor's bound when another
 * process revoked it). At most `maxSubscriptions` subscriptions are active per connection.
 */
function serveGraphQLOverWebSocket(
  wsServer: WebSocketServer,
  yoga: YogaServerInstance<ServerContext, GatewayContext>,
  { store, revocations, maxSubscriptions }: { store: Store; revocations: RevocationMonitor; maxSubscriptions: number },
) {
  type Extra = { principal?: Principal; socket: import('ws').WebSocket; request: IncomingMessage; subscriptionIds?: Set<string> };
  const closeRevoked = (socket: import('ws').WebSocket) => socket.close(CloseCode.Forbidden, 'Forbidden: the API key was revoked');
  return useServer<Record<string, unknown> | undefined, Extra>(
    {
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        try {
          const principal = await authenticate(store, typeof authorization === 'string' ? authorization : undefined);
          ctx.extra.principal = principal;
          ctx.extra.subscriptionIds = new Set();
          const socket = ctx.extra.socket;
          const unwatch = revocations.watch(principal.keyId, () => closeRevoked(socket));
          socket.once('close', unwatch);
          return true;
        } catch {
          ctx.extra.socket.close(CloseCode.Forbidden, 'Forbidden: connectionParams.authorization must be "Bearer <valid API token>"');
          return false;
        }
      },
      onSubscribe: async (ctx, id, params) => {
        const principal = ctx.extra.principal!;
        // The key's current state, for every operation: a key revoked since the connection opened runs nothing.
        if (!(await store.isApiKeyActive(principal.keyId))) {
          closeRevoked(ctx.extra.socket);
          return [new GraphQLError('The API key is invalid or revoked', { extensions: { code: ErrorCode.UNAUTHENTICATED } })];
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          req: ctx.extra.request,
          principal,
          params,
        } as never);
        const document = parse(params.query);
        const errors = validate(schema, document);
        if (errors.length) return errors;
        if (getOperationAST(document, params.operationName)?.operation === 'subscription') {
          // Subscriptions that ended (completed, errored, or completed by the client) leave ctx.subscriptions at once.
          const active = ctx.extra.subscriptionIds!;
          for (const other of active) if (!(other in ctx.subscriptions)) active.delete(other);
          if (active.size >= maxSubscriptions) {
            return [
              new GraphQLError(`At most ${maxSubscriptions} subscriptions may be active on one connection; complete one first (SIEMGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION)`, {
                extensions: { code: QUERY_LIMIT_EXCEEDED, limit: maxSubscriptions },
              }),
            ];
          }
          active.add(id);
        }
        return {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
      onComplete: (ctx, id) => {
        ctx.extra.subscriptionIds?.delete(id);
      },
    },
    wsServer,
  );
}

async function handleHttp(
  req: IncomingMessage,
  res: ServerResponse,
  { yoga, store, settings, log, ingestAdmission, metrics, services }: { yoga: YogaServerInstance<ServerContext, GatewayContext>; store: Store; settings: Settings; log: Logger; ingestAdmission: IngestAdmission; metrics?: GatewayMetrics; services: GatewayServices },
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
  if (url.pathname === METRICS_PATH) return serveMetrics(req, res, { metrics, token: settings.metricsToken });
  if (url.pathname === INGEST_PATH) {
    metrics?.observeIngest(req, res);
    return handleIngest(req, res, { store, log, admission: ingestAdmission });
  }
  if (isSettingsApiPath(url.pathname)) return handleSettingsApi(req, res, { services, log, maxBodyBytes: settings.maxBodyBytes });
  if (url.pathname !== GRAPHQL_PATH) return sendJson(res, 404, { error: 'not found' });

  let body: Buffer | undefined;
  let coding: ContentCoding = 'identity';
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    try {
      // gzip or deflate bodies are inflated here, SIEMGATE_MAX_BODY_BYTES applying to the inflated size.
      coding = contentCodingOf(req);
      body = await readBody(req, settings.maxBodyBytes, { coding });
    } catch (error) {
      const refuse = (status: number, code: string) => {
        req.resume();
        res.setHeader('connection', 'close');
        return sendJson(res, status, { errors: [{ message: (error as Error).message, extensions: { code } }] });
      };
      if (error instanceof PayloadTooLargeError) return refuse(413, ErrorCode.PAYLOAD_TOO_LARGE);
      if (error instanceof UnsupportedEncodingError) return refuse(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE);
      if (error instanceof CorruptBodyError) return refuse(400, ErrorCode.BAD_USER_INPUT);
      throw error;
    }
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    // The body handed on is already inflated.
    if (coding !== 'identity' && (name === 'content-encoding' || name === 'content-length')) continue;
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
  // A stream (SSE): a client that goes away cancels it at once, which ends the subscription behind it
  // (and unsubscribes it) without waiting for its next message.
  const reader = response.body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  res.once('close', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done).off('close', done);
            resolve();
          };
          res.once('drain', done).once('close', done);
        });
      }
    }
  } finally {
    res.off('close', cancel);
    res.end();
  }
}

