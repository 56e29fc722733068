import { hostname as osHostname } from 'node:os';
import { cefHeaderOf, createCefHttpAdapter } from '../shared/cef-http.js';
import { resolveTimeoutMs } from '../../net/timeouts.js';
import type { AdapterOptions, ArcSightConfig, SiemAdapter } from '../types.js';

/** Header that names the SmartConnector a batch is meant for (sent only when `smartConnectorId` is configured). */
export const SMART_CONNECTOR_ID_HEADER = 'X-SmartConnector-Id';

/**
 * ArcSight destination: CEF records over HTTP(S) to a SmartConnector receiver, e.g.
 * `https://arcsight.company.com/receiver/v1/events` (product documentation).
 *
 * OpenText/Micro Focus publish no specification for a "CEF over HTTP" SmartConnector receiver, so the request follows
 * the product documentation's generic CEF-over-HTTP contract, which such receivers (and HTTP-to-syslog relays in front
 * of a syslog SmartConnector) accept:
 * - `POST <endpoint>`, body = CEF lines each ended by LF, `Content-Type: text/plain; charset=utf-8`, optional gzip;
 * - `Authorization: Bearer <connector token>`;
 * - `X-SmartConnector-Id: <smartConnectorId>` when configured (routing hint; the CEF records do not carry it);
 * - CEF header: `deviceVendor` / `deviceProduct` from the config (defaults RAXE / ThreatDetection), Device Version =
 *   siemgate's version; the extension maps fields as in `formatCef`, with `dvchost` = this gateway's host name.
 * Answers are classified like every HTTP destination (2xx success, 401/403 auth, 429 throttled, 5xx server, 4xx rejected).
 *
 * @example
 * ```ts
 * const arcsight = createArcSightAdapter(
 *   { type: 'ARCSIGHT', endpoint: 'https://arcsight.company.com/receiver/v1/events', token, smartConnectorId: 'sc-001',
 *     deviceVendor: 'RAXE', deviceProduct: 'ThreatDetection' },
 *   { egress },
 * );
 * const result = await arcsight.send(events.map((e) => arcsight.transform(e)));
 * ```
 */
export function createArcSightAdapter(config: ArcSightConfig, options: AdapterOptions): SiemAdapter<string> {
  const timeoutMs = resolveTimeoutMs(config.timeoutSeconds, options);
  const hostname = options.hostname || osHostname();
  const header = cefHeaderOf(config);
  return createCefHttpAdapter('ARCSIGHT', {
    endpoint: config.endpoint,
    headers: {
      authorization: `Bearer ${config.token}`,
      ...(config.smartConnectorId ? { [SMART_CONNECTOR_ID_HEADER.toLowerCase()]: config.smartConnectorId } : {}),
    },
    ...(config.tls ? { tls: config.tls } : {}),
    secrets: [config.token],
    gzip: config.gzip ?? false,
    timeoutMs,
    header,
    hostname,
    egress: options.egress,
  });
}
