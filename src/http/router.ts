import type { IncomingMessage, ServerResponse } from 'node:http';
import { MethodNotAllowedError, NotFoundError, UnavailableError } from '../errors.js';
import type { ReplicaBus } from '../delivery/replica-bus.js';
import type { Logger } from '../logger.js';
import { METRICS_PATH, type GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { Settings } from '../settings.js';
import type { Store } from '../store/store.js';
import { answerError, sendError } from './answer.js';
import { handleGraphQL, type GraphQLNodeHandler } from './graphql-endpoint.js';
import type { EventPreparer } from '../events/event-preparer.js';
import { INGEST_PATH, handleIngest } from './ingest-endpoint.js';
import type { IngestAdmission } from './ingest-admission.js';
import { serveMetrics } from './metrics-endpoint.js';
import { sendJson } from './read-body.js';
import { handleSettingsApi, isSettingsApiPath, type SettingsApiOptions } from './settings-api.js';

/** GraphQL endpoint path, for HTTP and graphql-ws. */
export const GRAPHQL_PATH = '/graphql';

/** A Node request handler: answers every request it is given (settles once the answer is under way). */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** What the routes need. */
export interface HttpRoutesOptions {
  yoga: GraphQLNodeHandler;
  store: Store;
  settings: Settings;
  log: Logger;
  ingestAdmission: IngestAdmission;
  /** Parses, validates and serialises ingest bodies (on worker threads). */
  preparer: EventPreparer;
  metrics?: GatewayMetrics;
  services: SettingsApiOptions['services'];
  /** When it crosses replicas (Redis), `/readyz` checks it too. */
  bus?: Pick<ReplicaBus, 'crossReplica' | 'check'>;
}

/** A route of the table: the methods it takes (its `Allow`) and its handler. */
interface Route {
  methods: readonly string[];
  handle: HttpHandler;
}

/**
 * The gateway's HTTP routes: `/healthz`, `/readyz`, `/metrics`, `POST /v1/events`, the settings API
 * (`/v1/settings/siem…`, `/v1/openapi.json`, its own table) and GraphQL on `/graphql` (GET, POST, and OPTIONS for
 * CORS preflights). A path no route has answers 404 NOT_FOUND, a method the route does not take 405
 * METHOD_NOT_ALLOWED with `Allow`, and an error a route lets escape is answered by {@link answerError}: every
 * error answer is `{"error": {"code", "message"}}`, but those of GraphQL requests (GraphQL-over-HTTP's
 * `{"errors": [...]}`).
 *
 * @example
 * ```ts
 * const handle = createHttpHandler(options);
 * createServer((req, res) => void handle(req, res));
 * ```
 */
export function createHttpHandler(options: HttpRoutesOptions): HttpHandler {
  const { yoga, store, settings, log, ingestAdmission, preparer, metrics, services, bus } = options;
  const routes = new Map<string, Route>([
    ['/healthz', { methods: ['GET', 'HEAD'], handle: async (_req, res) => sendJson(res, 200, { status: 'ok' }) }],
    [
      '/readyz',
      {
        methods: ['GET', 'HEAD'],
        handle: async (_req, res) => {
          try {
            await store.ping();
          } catch (error) {
            log.warn({ err: error }, 'readiness check failed');
            return sendError(res, new UnavailableError('Not ready: the database does not answer'));
          }
          if (bus?.crossReplica) {
            try {
              await bus.check();
            } catch (error) {
              // The outage itself is logged once by the bus; every probe would repeat it.
              log.debug({ err: error }, 'readiness check failed: Redis');
              return sendError(res, new UnavailableError('Not ready: Redis (SIEMGATE_REDIS_URL) does not answer'));
            }
          }
          return sendJson(res, 200, { status: 'ready' });
        },
      },
    ],
    [METRICS_PATH, { methods: ['GET', 'HEAD'], handle: (req, res) => serveMetrics(req, res, { metrics, token: settings.metricsToken }) }],
    [
      INGEST_PATH,
      {
        methods: ['POST'],
        handle: (req, res) => {
          metrics?.observeIngest(req, res);
          return handleIngest(req, res, { store, log, admission: ingestAdmission, preparer });
        },
      },
    ],
    [GRAPHQL_PATH, { methods: ['GET', 'POST', 'OPTIONS'], handle: (req, res) => handleGraphQL(req, res, { yoga, maxBodyBytes: settings.maxBodyBytes }) }],
  ]);
  const settingsApi: HttpHandler = (req, res) => handleSettingsApi(req, res, { services, log, maxBodyBytes: settings.maxBodyBytes });

  return async (req, res) => {
    try {
      const { pathname } = new URL(req.url ?? '/', 'http://gateway');
      if (isSettingsApiPath(pathname)) return await settingsApi(req, res);
      const route = routes.get(pathname);
      if (!route) throw new NotFoundError(`No route for ${pathname.slice(0, 200)}`);
      if (!route.methods.includes(req.method ?? 'GET')) throw new MethodNotAllowedError(route.methods);
      return await route.handle(req, res);
    } catch (error) {
      answerError(req, res, error, { log, route: 'HTTP router' });
    }
  };
}
