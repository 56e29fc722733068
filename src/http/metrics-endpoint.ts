import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NotFoundError, UnauthenticatedError } from '../errors.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  /** Undefined when metrics are off: the endpoint answers 404. */
  metrics: GatewayMetrics | undefined;
  /** When set, a scrape must send `Authorization: Bearer <token>` (compared in constant time). */
  token?: string;
}

/**
 * `GET /metrics` (or HEAD): the registry in Prometheus text format. Throws NOT_FOUND when metrics are off,
 * UNAUTHENTICATED (`WWW-Authenticate: Bearer realm="metrics"`) without the configured bearer token; the
 * router answers those, and 405 for other methods, in the common error shape.
 *
 * @example
 * ```ts
 * await serveMetrics(req, res, { metrics, token: settings.metricsToken });
 * ```
 */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse, options: ServeMetricsOptions): Promise<void> {
  req.resume();
  if (!options.metrics) throw new NotFoundError('Metrics are off (SIEMGATE_METRICS=false)');
  if (options.token !== undefined && !bearerMatches(req.headers.authorization, options.token)) {
    throw new UnauthenticatedError('Send Authorization: Bearer <SIEMGATE_METRICS_TOKEN>', 'metrics');
  }
  const text = await options.metrics.registry.metrics();
  res.writeHead(200, { 'content-type': options.metrics.registry.contentType, 'content-length': String(Buffer.byteLength(text)) });
  res.end(req.method === 'HEAD' ? undefined : text);
}

/** Constant-time comparison (of fixed-length digests, so the token's length does not leak either). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(match?.[1] ?? ''), digest(token)) && match !== null;
}
