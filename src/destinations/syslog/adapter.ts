import { hostname as osHostname } from 'node:os';
import { SYSLOG_PORT, SYSLOG_TLS_PORT } from '../../net/syslog-transport.js';
import { resolveTimeoutMs } from '../../net/timeouts.js';
import type { CefHeader } from '../shared/cef-format.js';
import { createSyslogCefAdapter } from '../shared/syslog-cef.js';
import { DEFAULT_APP_NAME, parseFacility } from '../shared/syslog-format.js';
import type { AdapterOptions, SiemAdapter, SyslogConfig } from '../types.js';

/**
 * CEF header defaults of the syslog destination: the product documentation's "Syslog (CEF)" example line is
 * `CEF:0|ARXsec|ARX|1.0|agent.deployed|Agent Deployed|5|src=10.0.0.1 ...`.
 */
export const SYSLOG_CEF_HEADER: Readonly<CefHeader> = { deviceVendor: 'ARXsec', deviceProduct: 'ARX', deviceVersion: '1.0' };

/** Options of {@link createSyslogAdapter} beyond the common adapter options. */
export interface SyslogAdapterOptions extends AdapterOptions {
  /** Overrides of the CEF header fields. @default {@link SYSLOG_CEF_HEADER} */
  cef?: Partial<CefHeader>;
  /** RFC 5424 APP-NAME / RFC 3164 TAG. @default "siemgate" */
  appName?: string;
  /** UDP datagram limit in bytes (480..65507). @default 8192 */
  maxDatagramBytes?: number;
}

/**
 * Syslog destination (the product documentation's "Syslog (CEF)"): CEF lines with vendor `ARXsec`, product `ARX`,
 * version `1.0` (overridable with `options.cef`), inside RFC 5424 (default) or RFC 3164 headers, over UDP, TCP
 * (RFC 6587 octet counting) or TLS (RFC 5425). `config.port` is used as given (the schema fills 514, or 6514 for TLS).
 *
 * @throws InvalidSyslogFacilityError for an unknown facility; InvalidSyslogTransportOptionsError for a bad port.
 * @example
 * ```ts
 * const syslog = createSyslogAdapter(
 *   { type: 'SYSLOG', host: 'syslog.example.com', port: 6514, protocol: 'TLS', facility: 'local0', format: 'RFC5424',
 *     tls: { caCert, rejectUnauthorized: true } },
 *   { egress },
 * );
 * const result = await syslog.send(events.map((e) => syslog.transform(e)));
 * await syslog.close();
 * ```
 */
export function createSyslogAdapter(config: SyslogConfig, options: SyslogAdapterOptions): SiemAdapter<string> {
  const protocol = config.protocol ?? 'TCP';
  return createSyslogCefAdapter({
    type: 'SYSLOG',
    protocol,
    host: config.host,
    port: config.port ?? (protocol === 'TLS' ? SYSLOG_TLS_PORT : SYSLOG_PORT),
    facility: parseFacility(config.facility ?? 'local0'),
    format: config.format ?? 'RFC5424',
    ...(config.tls ? { tls: config.tls } : {}),
    timeoutMs: resolveTimeoutMs(config.timeoutSeconds, options),
    hostname: options.hostname || osHostname(),
    appName: options.appName ?? DEFAULT_APP_NAME,
    cef: { ...SYSLOG_CEF_HEADER, ...options.cef },
    egress: options.egress,
    ...(options.maxDatagramBytes !== undefined ? { maxDatagramBytes: options.maxDatagramBytes } : {}),
  });
}
