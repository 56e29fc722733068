import type { SecurityEvent } from '../events/security-event.js';
import type { StoredEvent } from '../events/stored-event.js';
import type { DeliveryResult } from '../net/delivery-result.js';
import type { TlsOptions } from '../net/tls-options.js';
import type { SyslogProtocol } from '../net/syslog-transport.js';

/** Transport-level vocabulary, defined in `src/net/`; re-exported as part of the adapter contract. */
export type { DeliveryKind, DeliveryResult } from '../net/delivery-result.js';
export type { SyslogProtocol, TlsOptions };

/** The kinds of SIEM destination siemgate delivers to. Stored and exposed by these names. */
export const SiemIntegrationType = {
  SPLUNK: 'SPLUNK',
  SENTINEL: 'SENTINEL',
  SYSLOG: 'SYSLOG',
  WEBHOOK: 'WEBHOOK',
  CROWDSTRIKE: 'CROWDSTRIKE',
  ARCSIGHT: 'ARCSIGHT',
  CEF: 'CEF',
} as const;
export type SiemIntegrationType = (typeof SiemIntegrationType)[keyof typeof SiemIntegrationType];

/** Options every HTTP destination shares. */
export interface HttpOptions {
  tls?: TlsOptions;
  /** Per-request timeout; falls back to the integration's batching `timeoutSeconds`. */
  timeoutSeconds?: number;
  /** Gzip the request body (`Content-Encoding: gzip`). @default false */
  gzip?: boolean;
}

export interface SplunkConfig extends HttpOptions {
  type: 'SPLUNK';
  /** Full HEC URL, e.g. `https://splunk.example.com:8088/services/collector/event`. */
  endpoint: string;
  /** HEC token (secret). Sent as `Authorization: Splunk <token>`. */
  token: string;
  /** Target index; omitted means the token's default index. */
  index?: string;
  source?: string;
  /** @default "_json" */
  sourcetype: string;
  /** HEC `host` field; omitted means the gateway's host name. */
  host?: string;
  /** Wait for indexer acknowledgement before counting a batch as delivered. @default false */
  indexerAck?: boolean;
}

/** Sentinel through the (legacy) HTTP Data Collector API, signed with the workspace shared key. */
export interface SentinelDataCollectorConfig extends HttpOptions {
  type: 'SENTINEL';
  api: 'DATA_COLLECTOR';
  workspaceId: string;
  /** Base64 workspace shared key (secret). */
  sharedKey: string;
  /** Custom log type; shows as `<logType>_CL`. @default "ARXSecAudit" */
  logType: string;
  /** Overrides `https://<workspaceId>.ods.opinsights.azure.com`. */
  endpoint?: string;
}

/** Sentinel through the Logs Ingestion API (DCE + DCR), authenticated with Entra ID client credentials. */
export interface SentinelLogsIngestionConfig extends HttpOptions {
  type: 'SENTINEL';
  api: 'LOGS_INGESTION';
  /** Data collection endpoint, e.g. `https://my-dce.eastus-1.ingest.monitor.azure.com`. */
  dceEndpoint: string;
  dcrImmutableId: string;
  /** e.g. `Custom-SiemGate_CL`. */
  streamName: string;
  tenantId: string;
  clientId: string;
  /** Entra ID application secret (secret). */
  clientSecret: string;
  /** @default "https://login.microsoftonline.com" */
  authorityHost: string;
}

export type SentinelConfig = SentinelDataCollectorConfig | SentinelLogsIngestionConfig;

export type SyslogFormat = 'RFC5424' | 'RFC3164';

/** CEF over syslog (the product documentation's "Syslog (CEF)"). */
export interface SyslogConfig {
  type: 'SYSLOG';
  host: string;
  /** @default 514 */
  port: number;
  /** @default "TCP" */
  protocol: SyslogProtocol;
  /** Facility name, e.g. `local0`. @default "local0" */
  facility: string;
  /** @default "RFC5424" */
  format: SyslogFormat;
  /** Only for protocol TLS. */
  tls?: TlsOptions;
  timeoutSeconds?: number;
}

export type WebhookSignatureScheme = 'ARX' | 'STANDARD_WEBHOOKS';

export interface WebhookConfig extends HttpOptions {
  type: 'WEBHOOK';
  endpoint: string;
  /** HMAC signing secret (secret). Without one, requests are unsigned. */
  secret?: string;
  /** `ARX` signs with `X-ARX-Signature: sha256=<hex>`; `STANDARD_WEBHOOKS` with `webhook-signature: v1,<base64>`. @default "ARX" */
  signatureScheme: WebhookSignatureScheme;
  /** Extra request headers. Values may carry credentials, so they are treated as secrets. */
  headers: { name: string; value: string }[];
}

/** CrowdStrike Falcon LogScale (Humio) HEC-compatible ingest. */
export interface CrowdStrikeConfig extends HttpOptions {
  type: 'CROWDSTRIKE';
  /** e.g. `https://cloud.community.humio.com/api/v1/ingest/hec`. */
  endpoint: string;
  /** Ingest token (secret). Sent as `Authorization: Bearer <token>`. */
  token: string;
  repository?: string;
  parser?: string;
}

/** CEF records over HTTP to an ArcSight SmartConnector receiver. */
export interface ArcSightConfig extends HttpOptions {
  type: 'ARCSIGHT';
  endpoint: string;
  /** Connector token (secret). */
  token: string;
  smartConnectorId?: string;
  /** @default "RAXE" */
  deviceVendor: string;
  /** @default "ThreatDetection" */
  deviceProduct: string;
}

export type CefTransport = 'HTTP' | 'UDP' | 'TCP' | 'TLS';

/** Generic CEF: over HTTP with a Bearer token, or over syslog UDP/TCP/TLS. */
export interface CefConfig {
  type: 'CEF';
  /** @default "HTTP" */
  transport: CefTransport;
  /** Required for HTTP. */
  endpoint?: string;
  /** Bearer token for HTTP (secret). */
  token?: string;
  /** Required for UDP/TCP/TLS. */
  host?: string;
  /** @default 514 for UDP, 6514 for TCP and TLS */
  port?: number;
  /** @default "local0" */
  facility: string;
  /** @default "RAXE" */
  deviceVendor: string;
  /** @default "ThreatDetection" */
  deviceProduct: string;
  tls?: TlsOptions;
  timeoutSeconds?: number;
  gzip?: boolean;
}

/** The full, decrypted configuration of one destination. */
export type DestinationConfig =
  | SplunkConfig
  | SentinelConfig
  | SyslogConfig
  | WebhookConfig
  | CrowdStrikeConfig
  | ArcSightConfig
  | CefConfig;

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
