import { createTestEvent, type SecurityEvent } from '../../events/security-event.js';
import type { EgressPolicy } from '../../net/egress-policy.js';
import {
  classifySocketError,
  createSyslogTransport,
  SyslogTransportError,
  type SyslogConnectionInfo,
  type SyslogPhase,
  type SyslogTransport,
} from '../../net/syslog-transport.js';
import { formatCef, syslogSeverity, type CefHeader } from './cef-format.js';
import { shorten } from './http-destination.js';
import { formatSyslog } from './syslog-format.js';
import type {
  ConnectionTestResult,
  DeliveryResult,
  SendOptions,
  SiemAdapter,
  SiemIntegrationType,
  SyslogFormat,
  SyslogProtocol,
  TestStep,
  TlsOptions,
} from '../types.js';

/** Everything a CEF-over-syslog adapter needs, after config defaults are applied. */
export interface SyslogCefSettings {
  type: SiemIntegrationType;
  protocol: SyslogProtocol;
  host: string;
  port: number;
  /** Facility code 0..23. */
  facility: number;
  format: SyslogFormat;
  tls?: TlsOptions;
  timeoutMs: number;
  /** Syslog HOSTNAME and CEF `dvchost`. */
  hostname: string;
  appName: string;
  cef: CefHeader;
  egress: EgressPolicy;
  maxDatagramBytes?: number;
}

const SUCCESS_MESSAGE = 'Test event sent successfully';
const FAILURE_PREFIX = 'Connection test failed: ';

function protocolNote(protocol: SyslogProtocol): string {
  return protocol === 'UDP' ? 'UDP gives no delivery confirmation' : 'syslog has no application-level acknowledgement';
}

function endpointText(info: { address: string; port: number }): string {
  return `${info.address.includes(':') ? `[${info.address}]` : info.address}:${info.port}`;
}

function resolveDetail(host: string, address: string): string {
  return host === address
    ? `${address} is an IP address allowed by the egress policy`
    : `${host} resolved to ${address}, allowed by the egress policy`;
}

function connectDetail(protocol: SyslogProtocol, info: { address: string; port: number }): string {
  if (protocol === 'UDP') {
    return (
      `UDP socket connected to ${endpointText(info)}; UDP is connectionless, so nothing was exchanged with the server ` +
      'and this does not show that a syslog server is listening'
    );
  }
  return `TCP connection established to ${endpointText(info)}`;
}

function tlsDetail(info: SyslogConnectionInfo): string {
  const t = info.tls!;
  const peer = t.peerSubject ? `certificate CN=${t.peerSubject}${t.peerIssuer ? ` issued by ${t.peerIssuer}` : ''}` : 'certificate';
  const verified = t.authorized
    ? `${peer} verified for ${info.host}`
    : `${peer} NOT verified (verification is turned off)${t.authorizationError ? `: ${t.authorizationError}` : ''}`;
  const client = t.clientCertificate ? '; client certificate offered for mutual TLS' : '';
  return `${t.version} handshake (${t.cipher}); ${verified}${client}`;
}

/**
 * Runs a syslog connection test on its own short-lived transport: resolve (egress policy) → connect → TLS handshake
 * (protocol TLS) → send one test record. Each phase becomes a step; a failure names its phase and the transport's
 * message ("connection refused to …", "TLS: unable to verify the first certificate", …). UDP can only show that the
 * datagram left: the step detail says so. Never throws.
 *
 * @example
 * ```ts
 * const result = await runSyslogConnectionTest(settings, (event) => adapter.transform(event));
 * // { success: true, message: 'Test event sent successfully', steps: [{ name: 'resolve', ... }, ...] }
 * ```
 */
export async function runSyslogConnectionTest(
  settings: SyslogCefSettings,
  transform: (event: SecurityEvent) => string,
): Promise<ConnectionTestResult> {
  const started = performance.now();
  const steps: TestStep[] = [];
  const elapsed = () => Math.round(performance.now() - started);
  const event = createTestEvent();
  let record: string;
  try {
    record = transform(event);
  } catch (err) {
    const detail = shorten(`could not build the test event: ${(err as Error).message ?? String(err)}`);
    steps.push({ name: 'transform', ok: false, detail });
    return { success: false, message: FAILURE_PREFIX + detail, latencyMs: elapsed(), steps };
  }

  const phases: SyslogPhase[] = settings.protocol === 'TLS' ? ['resolve', 'connect', 'tls', 'send'] : ['resolve', 'connect', 'send'];
  let probe: SyslogTransport | undefined;
  try {
    probe = createSyslogTransport(transportOptions(settings));
    const info = await probe.connect();
    steps.push({ name: 'resolve', ok: true, detail: resolveDetail(info.host, info.address) });
    steps.push({ name: 'connect', ok: true, detail: connectDetail(settings.protocol, info) });
    if (info.tls) steps.push({ name: 'tls', ok: true, detail: tlsDetail(info) });
    const report = await probe.send([record]);
    const how =
      settings.protocol === 'UDP'
        ? `test event sent as one ${report.bytes}-byte datagram${report.truncated ? ' (truncated to the datagram limit)' : ''}`
        : `test event written as one RFC 6587 octet-counted frame (${report.bytes} bytes)`;
    steps.push({
      name: 'send',
      ok: true,
      detail: `${how}; ${protocolNote(settings.protocol)}: look for externalId=${event.id} in the SIEM`,
    });
    return { success: true, message: SUCCESS_MESSAGE, latencyMs: elapsed(), steps };
  } catch (err) {
    const message = shorten(classifySocketError(err, 0, 1).message);
    if (!(err instanceof SyslogTransportError)) {
      steps.push({ name: 'connect', ok: false, detail: message });
      return { success: false, message: FAILURE_PREFIX + message, latencyMs: elapsed(), steps };
    }
    const failedPhase = err.phase;
    const address = err.address;
    for (const phase of phases) {
      if (steps.some((s) => s.name === phase)) continue;
      if (phase === failedPhase) {
        steps.push({ name: phase, ok: false, detail: message });
        break;
      }
      const detail =
        phase === 'resolve' && address
          ? resolveDetail(settings.host, address)
          : phase === 'connect' && address
            ? connectDetail(settings.protocol, { address, port: settings.port })
            : 'ok';
      steps.push({ name: phase, ok: true, detail });
    }
    return { success: false, message: FAILURE_PREFIX + message, latencyMs: elapsed(), steps };
  } finally {
    await probe?.close();
  }
}

function transportOptions(settings: SyslogCefSettings) {
  return {
    protocol: settings.protocol,
    host: settings.host,
    port: settings.port,
    egress: settings.egress,
    timeoutMs: settings.timeoutMs,
    ...(settings.protocol === 'TLS' && settings.tls ? { tls: settings.tls } : {}),
    ...(settings.maxDatagramBytes !== undefined ? { maxDatagramBytes: settings.maxDatagramBytes } : {}),
  };
}

/**
 * The shared CEF-over-syslog adapter behind {@link createSyslogAdapter} and the socket transports of the generic CEF
 * adapter. Records are complete syslog messages (header + CEF line, no framing): PRI from the facility and the
 * event's syslog severity, TIMESTAMP = event time, MSGID = event type (RFC 5424), MSG = the CEF line.
 *
 * @example
 * ```ts
 * const adapter = createSyslogCefAdapter({ type: 'SYSLOG', protocol: 'TCP', host: 'siem.local', port: 514, facility: 16,
 *   format: 'RFC5424', timeoutMs: 30_000, hostname: 'gw1', appName: 'siemgate', cef: SYSLOG_CEF_HEADER, egress });
 * ```
 */
export function createSyslogCefAdapter(settings: SyslogCefSettings): SiemAdapter<string> {
  const transport = createSyslogTransport(transportOptions(settings));

  const adapter: SiemAdapter<string> = {
    type: settings.type,
    transform(event: SecurityEvent): string {
      const cef = formatCef(event, settings.cef, { deviceHostName: settings.hostname });
      return formatSyslog(settings.format, {
        facility: settings.facility,
        severity: syslogSeverity[event.severity] ?? syslogSeverity.NONE,
        time: event.time,
        hostname: settings.hostname,
        appName: settings.appName,
        msgId: event.type,
        message: cef,
      });
    },
    async send(records: string[], sendOptions?: SendOptions): Promise<DeliveryResult> {
      const started = performance.now();
      if (records.length === 0) {
        return { kind: 'success', ok: true, message: 'nothing to send', latencyMs: 0, recordCount: 0 };
      }
      try {
        const report = await transport.send(records, { signal: sendOptions?.signal });
        const cut = report.truncated > 0 ? `, ${report.truncated} truncated to the datagram limit` : '';
        return {
          kind: 'success',
          ok: true,
          message: `sent ${records.length} record(s) over ${settings.protocol} (${report.bytes} bytes${cut}; ${protocolNote(settings.protocol)})`,
          latencyMs: Math.round(performance.now() - started),
          recordCount: records.length,
        };
      } catch (err) {
        return classifySocketError(err, performance.now() - started, records.length);
      }
    },
    test(): Promise<ConnectionTestResult> {
      return runSyslogConnectionTest(settings, (event) => adapter.transform(event));
    },
    close(): Promise<void> {
      return transport.close();
    },
  };
  return adapter;
}
