import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { METRICS_PATH, serveMetrics, type GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { Settings } from '../settings.js';
import type { Store } from '../store/store.js';
import { handleGraphQL, type GraphQLNodeHandler } from './graphql-endpoint.js';
import { INGEST_PATH, handleIngest } from './ingest-endpoint.js';
import type { IngestAdmission } from './ingest-admission.js';
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
  metrics?: GatewayMetrics;
  services: SettingsApiOptions['services'];
}

/**
 * The gateway's HTTP routes: `/healthz`, `/readyz`, `/metrics`, `POST /v1/events`, the settings API
 * (`/v1/settings/siem…`, `/v1/openapi.json`) and GraphQL on `/graphql`.
 *
 * @example
 * ```ts
 * createServer((req, res) => void createHttpHandler(options)(req, res));
 * ```
 */
export function createHttpHandler(options: HttpRoutesOptions): HttpHandler {
  return (req, res) => handleHttp(req, res, options);
}

async function handleHttp(
  req: IncomingMessage,
  res: ServerResponse,
  { yoga, store, settings, log, ingestAdmission, metrics, services }: HttpRoutesOptions,
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
  return handleGraphQL(req, res, { yoga, maxBodyBytes: settings.maxBodyBytes });
}
