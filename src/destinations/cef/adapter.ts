import { hostname as osHostname } from 'node:os';
import { SYSLOG_PORT, SYSLOG_TLS_PORT } from '../../net/syslog-transport.js';
import { resolveTimeoutMs } from '../../net/timeouts.js';
import { cefHeaderOf, createCefHttpAdapter } from '../shared/cef-http.js';
import { createSyslogCefAdapter } from '../shared/syslog-cef.js';
import { DEFAULT_APP_NAME, parseFacility } from '../shared/syslog-format.js';
import type { AdapterOptions, CefConfig, SiemAdapter } from '../types.js';

/**
 * Thrown by {@link createCefAdapter} for a configuration its transport cannot work with
 * (HTTP without `endpoint`, UDP/TCP/TLS without `host`).
 *
 * @example
 * ```ts
 * try { createCefAdapter({ ...config, transport: 'TCP', host: undefined }, { egress }); }
 * catch (err) { if (err instanceof InvalidCefConfigError) console.warn(err.message); }
 * ```
 */
export class InvalidCefConfigError extends Error {
  readonly code = 'SIEMGATE_CEF_CONFIG_INVALID';
  constructor(detail: string) {
    super(`invalid CEF destination: ${detail}`);
    this.name = 'InvalidCefConfigError';
  }
}

/**
 * Generic CEF destination (product documentation: "CEF (Generic) — any CEF-compatible SIEM via HTTP or Syslog").
 * Records are CEF lines with `deviceVendor`/`deviceProduct` from the config (defaults RAXE / ThreatDetection) and
 * Device Version = siemgate's version ({@link CEF_DEVICE_VERSION}).
 *
 * - `HTTP`: POST to `endpoint`, body = CEF lines each ended by LF, `Content-Type: text/plain; charset=utf-8`,
 *   `Authorization: Bearer <token>` when a token is configured, optional gzip. Connection test: the shared HTTP test.
 * - `UDP` / `TCP` / `TLS`: each CEF line inside an RFC 5424 header (PRI from `facility` and the event's syslog
 *   severity) over the syslog transport: UDP datagrams, RFC 6587 octet counting on TCP, RFC 5425 on TLS.
 *   Port defaults to 514 for UDP and 6514 for TCP/TLS, as the product documentation lists.
 *
 * @throws {@link InvalidCefConfigError} when the transport's endpoint or host is missing; InvalidSyslogFacilityError.
 * @example
 * ```ts
 * const cef = createCefAdapter(
 *   { type: 'CEF', transport: 'HTTP', endpoint: 'https://collector.company.com/cef', token, facility: 'local0',
 *     deviceVendor: 'RAXE', deviceProduct: 'ThreatDetection' },
 *   { egress },
 * );
 * const result = await cef.send(events.map((e) => cef.transform(e)));
 * ```
 */
export function createCefAdapter(config: CefConfig, options: AdapterOptions): SiemAdapter<string> {
  const transport = config.transport ?? 'HTTP';
  const timeoutMs = resolveTimeoutMs(config.timeoutSeconds, options);
  const hostname = options.hostname || osHostname();
  const header = cefHeaderOf(config);

  if (transport !== 'HTTP') {
    if (!config.host) throw new InvalidCefConfigError(`host is required for transport ${transport}`);
    return createSyslogCefAdapter({
      type: 'CEF',
      protocol: transport,
      host: config.host,
      port: config.port ?? (transport === 'UDP' ? SYSLOG_PORT : SYSLOG_TLS_PORT),
      facility: parseFacility(config.facility ?? 'local0'),
      format: 'RFC5424',
      ...(transport === 'TLS' && config.tls ? { tls: config.tls } : {}),
      timeoutMs,
      hostname,
      appName: DEFAULT_APP_NAME,
      cef: header,
      egress: options.egress,
    });
  }

  if (!config.endpoint) throw new InvalidCefConfigError('endpoint is required for transport HTTP');
  return createCefHttpAdapter('CEF', {
    endpoint: config.endpoint,
    headers: config.token ? { authorization: `Bearer ${config.token}` } : {},
    secrets: [config.token],
    ...(config.tls ? { tls: config.tls } : {}),
    gzip: config.gzip ?? false,
    timeoutMs,
    header,
    hostname,
    egress: options.egress,
  });
}
