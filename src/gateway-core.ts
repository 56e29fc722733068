import type { IncomingMessage } from 'node:http';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Kysely } from 'kysely';
import { roleScopes } from './auth/api-token.js';
import { authenticate } from './auth/authenticate.js';
import { RevocationMonitor } from './auth/revocation-monitor.js';
import { SecretBox } from './crypto/secret-box.js';
import { DeliveryEngine } from './delivery/delivery-engine.js';
import { IntegrationTester } from './delivery/integration-tester.js';
import { RedisBus } from './delivery/redis-bus.js';
import { LocalBus, type ReplicaBus } from './delivery/replica-bus.js';
import { EventPreparer } from './events/event-preparer.js';
import { IngestAdmission } from './http/ingest-admission.js';
import { GRAPHQL_PATH, createHttpHandler, type HttpHandler } from './http/router.js';
import { createLogger, type Logger } from './logger.js';
import { DeliveryLog } from './metrics/delivery-log.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { EgressPolicy } from './net/egress-policy.js';
import { createMaskError, createYogaLogging } from './plugins/mask-error.js';
import { useDocumentAuthorization } from './plugins/use-document-authorization.js';
import { useInputErrors } from './plugins/use-input-errors.js';
import { useMetrics } from './plugins/use-metrics.js';
import { useJsonRequests } from './plugins/use-json-requests.js';
import { useNoIntrospection } from './plugins/use-no-introspection.js';
import { useQueryLimits } from './plugins/use-query-limits.js';
import { useCompiledQueries } from './plugins/use-compiled-queries.js';
import { useRevocation } from './plugins/use-revocation.js';
import { INPUT_TYPE_PATHS, buildSchema } from './schema/index.js';
import type { GatewayContext, GatewayServices } from './schema/context.js';
import { resolveSecretKey, type Settings } from './settings.js';
import { describeDatabase, openDatabase } from './store/database.js';
import { WalBarrier } from './store/wal-barrier.js';
import { migrateToLatest } from './store/sqlite-database.js';
import { Store, type Principal } from './store/store.js';
import type { Database } from './store/tables.js';

/** Options of {@link createGatewayCore}. */
export interface GatewayCoreOptions {
  settings: Settings;
  /** @default a pino logger at `settings.logLevel` on stderr */
  logger?: Logger;
  /** Overrides the egress policy built from the settings (tests allow loopback receivers this way). */
  egress?: EgressPolicy;
}

/** Yoga's server context: the Node request over HTTP; the connection's principal over graphql-ws. */
export interface ServerContext {
  req?: IncomingMessage;
  /** Set for graphql-ws operations, authenticated at connection time (and re-checked for every operation). */
  principal?: Principal;
}

/** The GraphQL server: Yoga's own handler (`yoga.fetch(request)`), its envelop for graphql-ws. */
export type GatewayYoga = YogaServerInstance<ServerContext, GatewayContext>;

/**
 * The gateway without a transport: the store, the delivery engine, the schema and Yoga, and the HTTP routes
 * (REST ingest, settings API, metrics, health, GraphQL) as one request handler. Adapters serve it:
 * `http/use/node-http.ts` over a Node HTTP server, `http/use/graphql-ws.ts` over WebSocket.
 */
export interface GatewayCore {
  settings: Settings;
  log: Logger;
  store: Store;
  /** The delivery engine (its status and attempt hubs count live subscribers). */
  engine: DeliveryEngine;
  yoga: GatewayYoga;
  revocations: RevocationMonitor;
  /** Limits and fair admission of ingested events (REST and `ingestEvents`). */
  ingestAdmission: IngestAdmission;
  /** Every HTTP route, GraphQL included: unknown paths answer 404, wrong methods 405. */
  handle: HttpHandler;
  /** Token of the admin key created on first start (no key existed, no bootstrap token set); print it once. */
  bootstrapToken?: string;
  /** Starts delivery (once the transports are up). */
  start(): Promise<void>;
  /** Finishes (or, after `settings.shutdownTimeoutMs`, hands back) the batches in flight; stops metrics. */
  stop(): Promise<void>;
  /** Stops the revocation monitor and closes the database: last, after the transports are closed. */
  dispose(): Promise<void>;
}

/**
 * Opens the store (migrating it) and builds everything a transport serves; starts nothing but the
 * revocation monitor.
 *
 * @example
 * ```ts
 * const core = await createGatewayCore({ settings: loadSettings(process.env) });
 * const answer = await core.yoga.fetch('http://gateway/graphql', { method: 'POST', headers, body });
 * ```
 */
export async function createGatewayCore(options: GatewayCoreOptions): Promise<GatewayCore> {
  const { settings } = options;
  const log = options.logger ?? createLogger({ level: settings.logLevel });

  const secretKey = resolveSecretKey(settings);
  if (secretKey.generated) {
    log.warn({ keyFile: secretKey.path }, 'SIEMGATE_SECRET_KEY is not set: generated a key file beside the database. Back it up; without it stored secrets cannot be decrypted.');
  }
  // SQLite with synchronous=FULL: commits are flushed off the event loop, shared by the writes waiting together.
  // (A plain file path: the -wal file beside it is where the commits go.)
  const plainFile = settings.databasePath !== ':memory:' && !settings.databasePath.startsWith('file:');
  const flushOffThread = !settings.databaseUrl && settings.dbSynchronous === 'FULL' && plainFile;
  const database = { path: settings.databasePath, url: settings.databaseUrl, synchronous: settings.dbSynchronous, flushOffThread };
  const wal = flushOffThread ? new WalBarrier(`${settings.databasePath}-wal`) : undefined;
  const db = openDatabase(database, { onIdleError: (error) => log.warn({ err: error }, 'an idle database connection failed; the next query opens another') });
  let store: Store;
  try {
    const applied = await migrateToLatest(db);
    if (applied.length > 0) log.info({ migrations: applied }, 'database migrated');
    store = new Store(db, new SecretBox(secretKey.key), undefined, { log: { durable: wal && (() => wal.sync()) } });
  } catch (error) {
    await db.destroy();
    // Name the database (a URL without its password): "cannot migrate the database: connect ECONNREFUSED" alone does not say which.
    if (settings.databaseUrl && error instanceof Error) error.message = `${describeDatabase(database)}: ${error.message}`;
    throw error;
  }
  const { token: bootstrapToken } = await store.bootstrap(settings.bootstrapToken);

  const bus = createReplicaBus(settings, log);
  const egress = options.egress ?? new EgressPolicy({ allow: settings.egressAllow, denyPrivate: settings.egressDenyPrivate, log: log.child({ component: 'egress' }) });
  const engine = new DeliveryEngine({
    store: store.delivery(),
    egress,
    log,
    retentionMs: settings.retentionDays * 86_400_000,
    retryBaseMs: settings.retryBaseMs,
    retryMaxMs: settings.retryMaxMs,
    bus,
    leaseMs: settings.leaseSeconds * 1000,
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
  // Parsing, validating and serialising ingest bodies: beside the main thread, which commits and delivers.
  const preparer = new EventPreparer({ threads: settings.ingestThreads });
  const services: GatewayServices = { store, tester: new IntegrationTester({ egress }), engine, ingest: ingestAdmission };
  const revocations = new RevocationMonitor({ store, onError: (error) => log.warn({ err: error }, 'checking API keys for revocation failed') });
  revocations.start();
  const yoga = createGraphQLServer({ settings, log, services, metrics, revocations });
  const handle = createHttpHandler({ yoga, store, settings, log, ingestAdmission, preparer, metrics, services, bus });

  return {
    settings,
    log,
    store,
    engine,
    yoga,
    revocations,
    ingestAdmission,
    handle,
    bootstrapToken,
    async start() {
      // The id index is rebuilt from the log before the first write; start it now rather than on the first request.
      store.log.load().catch((error: unknown) => log.error({ err: error }, 'could not read the event log'));
      await deliveryLog.attach(engine);
      await engine.start();
    },
    async stop() {
      await engine.stop(settings.shutdownTimeoutMs);
      await deliveryLog.detach();
      metrics?.close();
    },
    async dispose() {
      revocations.stop();
      metrics?.close();
      await preparer.close();
      await bus.close();
      await wal?.close();
      await destroyDatabase(db);
    },
  };
}

/**
 * Redis pub/sub when `SIEMGATE_REDIS_URL` is set; otherwise this replica alone, which it says once at info
 * level (whatever the database: an operator running several replicas learns why status stays local).
 */
function createReplicaBus(settings: Settings, log: Logger): ReplicaBus {
  if (settings.redisUrl) return new RedisBus({ url: settings.redisUrl, prefix: settings.redisPrefix, log });
  log.info(
    'SIEMGATE_REDIS_URL is not set: cross-replica live status is off (status, delivery attempts and wake-ups stay within this replica; ' +
      'other replicas find new events by polling)',
  );
  return new LocalBus();
}

async function destroyDatabase(db: Kysely<Database>) {
  await db.destroy();
}

function createGraphQLServer({ settings, log, services, metrics, revocations }: { settings: Settings; log: Logger; services: GatewayServices; metrics?: GatewayMetrics; revocations: RevocationMonitor }) {
  const corsOrigins = new Set(settings.corsOrigins);
  return createYoga<ServerContext, GatewayContext>({
    schema: buildSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: settings.graphiql ? { title: 'siemgate', headers: JSON.stringify({ Authorization: 'Bearer <your API token>' }) } : false,
    // GraphiQL from the gateway itself (JS, CSS, editor workers and favicon inlined): works offline. Loaded on the
    // first visit: its ~30 MB of inlined assets would otherwise be most of an idle gateway's memory.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
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
