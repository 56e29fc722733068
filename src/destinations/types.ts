import type { SecurityEvent } from '../events/security-event.js';
import type { StoredEvent } from '../events/stored-event.js';
import type { DeliveryResult } from '../net/delivery-result.js';
import type { TlsOptions } from '../net/tls-options.js';
import type { SyslogProtocol } from '../net/syslog-transport.js';
import type { CefConfig } from './cef/descriptor.js';
import { DESTINATIONS, type SiemIntegrationType as DestinationType } from './registry.js';
import type { SyslogConfig } from './syslog/descriptor.js';
import type { WebhookConfig } from './webhook/descriptor.js';

/** Transport-level vocabulary, defined in `src/net/`; re-exported as part of the adapter contract. */
export type { DeliveryKind, DeliveryResult } from '../net/delivery-result.js';
export type { SyslogProtocol, TlsOptions };

/**
 * Config types are derived from each destination's descriptor (`src/destinations/<name>/descriptor.ts`);
 * re-exported here as part of the adapter contract.
 */
export type { DestinationConfig } from './registry.js';
export type { ArcSightConfig } from './arcsight/descriptor.js';
export type { CefConfig } from './cef/descriptor.js';
export type { CrowdStrikeConfig } from './crowdstrike/descriptor.js';
export type { SentinelConfig, SentinelDataCollectorConfig, SentinelLogsIngestionConfig } from './sentinel/descriptor.js';
export type { SplunkConfig } from './splunk/descriptor.js';
export type { SyslogConfig } from './syslog/descriptor.js';
export type { WebhookConfig } from './webhook/descriptor.js';
export type { HeaderEntry, HttpOptions } from './shared/descriptor.js';

/** The kinds of SIEM destination siemgate delivers to, by name: `SiemIntegrationType.SPLUNK === 'SPLUNK'`. */
export const SiemIntegrationType = Object.freeze(Object.fromEntries(DESTINATIONS.map((d) => [d.type, d.type]))) as {
  readonly [T in DestinationType]: T;
};
export type SiemIntegrationType = DestinationType;

export type SyslogFormat = SyslogConfig['format'];
export type WebhookSignatureScheme = WebhookConfig['signatureScheme'];
export type CefTransport = CefConfig['transport'];

/** One step of a connection test, e.g. `{ name: 'connect', ok: true, detail: 'TCP connected to 10.0.0.5:6514' }`. */
export interface TestStep {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * The result of a connection test. `message` follows the product documentation:
 * `Test event sent successfully`, or `Connection test failed: <details>`.
 */
export interface ConnectionTestResult {
  success: boolean;
  message: string;
  httpStatus?: number;
  latencyMs: number;
  steps: TestStep[];
}

/** Options for one `send`. */
export interface SendOptions {
  /** Aborts the attempt (e.g. on shutdown); the result is then `timeout` or `network`. */
  signal?: AbortSignal;
}

/**
 * One SIEM destination. Created from a decrypted {@link DestinationConfig} by `createSiemAdapter`.
 * Adapters hold pooled connections: call `close()` when done.
 *
 * @example
 * ```ts
 * const adapter = createSiemAdapter(config, { egress: EgressPolicy.fromEnv(process.env) });
 * const result = await adapter.send(events.map((e) => adapter.transform(e)));
 * if (!result.ok) console.warn(result.kind, result.message);
 * await adapter.close();
 * ```
 */
export interface SiemAdapter<TRecord = unknown> {
  readonly type: SiemIntegrationType;
  /** Maps one canonical event to this destination's wire record. Pure and synchronous. */
  transform(event: SecurityEvent): TRecord;
  /**
   * Optional fast path for formats that embed the stored line (HEC, LogScale): the wire record framed around
   * the stored bytes, with no parse and re-serialise. Must put on the wire exactly what `transform` would.
   */
  fromStored?(stored: StoredEvent): TRecord;
  /** Sends records as one batch (split internally where the destination has size limits). Never throws. */
  send(records: TRecord[], options?: SendOptions): Promise<DeliveryResult>;
  /** Sends one clearly marked test event and reports each step. Never throws. */
  test(): Promise<ConnectionTestResult>;
  /** Releases pooled connections and sockets. */
  close(): Promise<void>;
}

/** What every adapter needs from its surroundings besides its config. */
export interface AdapterOptions {
  /** Checked before every outbound connection (HTTP, syslog, token endpoints). */
  egress: import('../net/egress-policy.js').EgressPolicy;
  /** Timeout when the config sets none. @default 30000 */
  defaultTimeoutMs?: number;
  /** Host name reported in records (HEC `host`, syslog HOSTNAME). @default os.hostname() */
  hostname?: string;
}
