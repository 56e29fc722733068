import { integrationHealth } from '../delivery/integration-health.js';
import type { SiemIntegrationRecord } from '../store/tenant-store.js';
import { builder } from './builder.js';

export const SiemIntegrationTypeEnum = builder.enumType('SiemIntegrationType', {
  description: 'The kind of SIEM destination.',
  values: {
    SPLUNK: { description: 'Splunk HTTP Event Collector (HEC).' },
    SENTINEL: { description: 'Microsoft Sentinel: HTTP Data Collector API or Logs Ingestion API.' },
    SYSLOG: { description: 'CEF over syslog (UDP, TCP or TLS).' },
    WEBHOOK: { description: 'Any HTTP endpoint, with HMAC signatures.' },
    CROWDSTRIKE: { description: 'CrowdStrike Falcon LogScale HEC-compatible ingest.' },
    ARCSIGHT: { description: 'CEF over HTTP to an ArcSight SmartConnector.' },
    CEF: { description: 'Generic CEF over HTTP or syslog.' },
  } as const,
});

export const IntegrationHealthEnum = builder.enumType('IntegrationHealth', {
  description: 'Derived from error tracking.',
  values: {
    UNKNOWN: { description: 'Nothing tried yet: no delivery attempt and no connection test.' },
    HEALTHY: { description: 'No failure since the last success.' },
    DEGRADED: { description: '1 or 2 consecutive failures: recent errors, retries expected to succeed.' },
    FAILING: { description: '3 or more consecutive failures.' },
    DISABLED: { description: 'Disabled by an admin; receives nothing.' },
  } as const,
});

export const SyslogProtocolEnum = builder.enumType('SyslogProtocol', { values: ['UDP', 'TCP', 'TLS'] as const });
export const SyslogFormatEnum = builder.enumType('SyslogFormat', { values: ['RFC5424', 'RFC3164'] as const });
export const CefTransportEnum = builder.enumType('CefTransport', { values: ['HTTP', 'UDP', 'TCP', 'TLS'] as const });
export const WebhookSignatureSchemeEnum = builder.enumType('WebhookSignatureScheme', {
  values: {
    ARX: { description: '`X-ARX-Signature: sha256=<hex HMAC-SHA256 of the body>`.' },
    STANDARD_WEBHOOKS: { description: 'Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`; adds replay protection.' },
  } as const,
});
export const SentinelApiEnum = builder.enumType('SentinelApi', {
  values: {
    DATA_COLLECTOR: { description: 'HTTP Data Collector API (shared key). Out of support since 14 September 2026: prefer LOGS_INGESTION.' },
    LOGS_INGESTION: { description: 'Logs Ingestion API (DCE + DCR, Entra ID client credentials).' },
  } as const,
});

/** What a config object type resolves from: the public config plus which secrets are set. */
interface ConfigParent {
  type: SiemIntegrationRecord['type'];
  config: Record<string, unknown>;
  secretFields: string[];
}

type TlsParent = { caCert?: string; clientCert?: string; rejectUnauthorized?: boolean; hasClientKey: boolean };

export const TlsConfigRef = builder.objectRef<TlsParent>('TlsConfig').implement({
  description: 'TLS settings. The client private key is never returned.',
  fields: (t) => ({
    caCert: t.string({ nullable: true, description: 'PEM CA bundle used instead of the system roots.', resolve: (p) => p.caCert ?? null }),
    clientCert: t.string({ nullable: true, description: 'PEM client certificate (mutual TLS).', resolve: (p) => p.clientCert ?? null }),
    hasClientKey: t.exposeBoolean('hasClientKey'),
    rejectUnauthorized: t.boolean({ resolve: (p) => p.rejectUnauthorized !== false }),
  }),
});

const str = (key: string) => (p: ConfigParent) => (p.config[key] as string | undefined) ?? null;
const int = (key: string) => (p: ConfigParent) => (p.config[key] as number | undefined) ?? null;
const has = (path: string) => (p: ConfigParent) => p.secretFields.includes(path);
const tlsOf = (p: ConfigParent): TlsParent | null => {
  const tls = p.config.tls as Omit<TlsParent, 'hasClientKey'> | undefined;
  const hasClientKey = p.secretFields.includes('tls.clientKey');
  return tls || hasClientKey ? { ...tls, hasClientKey } : null;
};

/** Adds the fields every HTTP destination shares. */
function httpFields(t: PothosSchemaTypes.ObjectFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<any>, ConfigParent>) {
  return {
    tls: t.field({ type: TlsConfigRef, nullable: true, resolve: tlsOf }),
    timeoutSeconds: t.int({ nullable: true, description: 'Per-request timeout; unset means the batching timeout.', resolve: int('timeoutSeconds') }),
    gzip: t.boolean({ description: 'Request bodies are gzip-compressed.', resolve: (p: ConfigParent) => p.config.gzip === true }),
  };
}

const config = <T extends string>(name: T, description: string, fields: (t: any) => Record<string, unknown>) =>
  builder.objectRef<ConfigParent>(name).implement({ description, fields: fields as never });

export const SplunkConfigRef = config('SplunkConfig', 'Splunk HEC.', (t) => ({
  endpoint: t.string({ resolve: str('endpoint') }),
  hasToken: t.boolean({ description: 'Whether a HEC token is set. The token is never returned.', resolve: has('token') }),
  index: t.string({ nullable: true, resolve: str('index') }),
  source: t.string({ nullable: true, resolve: str('source') }),
  sourcetype: t.string({ resolve: str('sourcetype') }),
  host: t.string({ nullable: true, resolve: str('host') }),
  indexerAck: t.boolean({ description: 'Batches count as delivered only once Splunk acknowledges indexing.', resolve: (p: ConfigParent) => p.config.indexerAck === true }),
  ...httpFields(t),
}));

export const SentinelConfigRef = config('SentinelConfig', 'Microsoft Sentinel (Log Analytics).', (t) => ({
  api: t.field({ type: SentinelApiEnum, resolve: (p: ConfigParent) => p.config.api }),
  workspaceId: t.string({ nullable: true, resolve: str('workspaceId') }),
  hasSharedKey: t.boolean({ resolve: has('sharedKey') }),
  logType: t.string({ nullable: true, resolve: str('logType') }),
  endpoint: t.string({ nullable: true, resolve: str('endpoint') }),
  dceEndpoint: t.string({ nullable: true, resolve: str('dceEndpoint') }),
  dcrImmutableId: t.string({ nullable: true, resolve: str('dcrImmutableId') }),
  streamName: t.string({ nullable: true, resolve: str('streamName') }),
  tenantId: t.string({ nullable: true, resolve: str('tenantId') }),
  clientId: t.string({ nullable: true, resolve: str('clientId') }),
  hasClientSecret: t.boolean({ resolve: has('clientSecret') }),
  authorityHost: t.string({ nullable: true, resolve: str('authorityHost') }),
  ...httpFields(t),
}));

export const SyslogConfigRef = config('SyslogConfig', 'CEF over syslog.', (t) => ({
  host: t.string({ resolve: str('host') }),
  port: t.int({ resolve: int('port') }),
  protocol: t.field({ type: SyslogProtocolEnum, resolve: (p: ConfigParent) => p.config.protocol }),
  facility: t.string({ resolve: str('facility') }),
  format: t.field({ type: SyslogFormatEnum, resolve: (p: ConfigParent) => p.config.format }),
  tls: t.field({ type: TlsConfigRef, nullable: true, resolve: tlsOf }),
  timeoutSeconds: t.int({ nullable: true, resolve: int('timeoutSeconds') }),
}));

export const WebhookConfigRef = config('WebhookConfig', 'Generic webhook.', (t) => ({
  endpoint: t.string({ resolve: str('endpoint') }),
  hasSecret: t.boolean({ description: 'Whether an HMAC signing secret is set.', resolve: has('secret') }),
  signatureScheme: t.field({ type: WebhookSignatureSchemeEnum, resolve: (p: ConfigParent) => p.config.signatureScheme }),
  headerNames: t.stringList({
    description: 'Names of the extra headers sent. Their values may hold credentials and are never returned.',
    resolve: (p: ConfigParent) => (p.config.headerNames as string[] | undefined) ?? [],
  }),
  ...httpFields(t),
}));

export const CrowdStrikeConfigRef = config('CrowdStrikeConfig', 'CrowdStrike Falcon LogScale.', (t) => ({
  endpoint: t.string({ resolve: str('endpoint') }),
  hasToken: t.boolean({ resolve: has('token') }),
  repository: t.string({ nullable: true, resolve: str('repository') }),
  parser: t.string({ nullable: true, resolve: str('parser') }),
  ...httpFields(t),
}));

export const ArcSightConfigRef = config('ArcSightConfig', 'ArcSight SmartConnector (CEF over HTTP).', (t) => ({
  endpoint: t.string({ resolve: str('endpoint') }),
  hasToken: t.boolean({ resolve: has('token') }),
  smartConnectorId: t.string({ nullable: true, resolve: str('smartConnectorId') }),
  deviceVendor: t.string({ resolve: str('deviceVendor') }),
  deviceProduct: t.string({ resolve: str('deviceProduct') }),
  ...httpFields(t),
}));

export const CefConfigRef = config('CefConfig', 'Generic CEF over HTTP or syslog.', (t) => ({
  transport: t.field({ type: CefTransportEnum, resolve: (p: ConfigParent) => p.config.transport }),
  endpoint: t.string({ nullable: true, resolve: str('endpoint') }),
  hasToken: t.boolean({ resolve: has('token') }),
  host: t.string({ nullable: true, resolve: str('host') }),
  port: t.int({ nullable: true, resolve: int('port') }),
  facility: t.string({ resolve: str('facility') }),
  deviceVendor: t.string({ resolve: str('deviceVendor') }),
  deviceProduct: t.string({ resolve: str('deviceProduct') }),
  ...httpFields(t),
}));

const CONFIG_TYPE_BY_INTEGRATION_TYPE = {
  SPLUNK: SplunkConfigRef,
  SENTINEL: SentinelConfigRef,
  SYSLOG: SyslogConfigRef,
  WEBHOOK: WebhookConfigRef,
  CROWDSTRIKE: CrowdStrikeConfigRef,
  ARCSIGHT: ArcSightConfigRef,
  CEF: CefConfigRef,
} as const;

export const SiemConfigUnion = builder.unionType('SiemConfig', {
  description: 'Destination settings. Secrets are never returned, not even in part: `hasX` says whether one is set.',
  types: Object.values(CONFIG_TYPE_BY_INTEGRATION_TYPE),
  resolveType: (parent: ConfigParent) => CONFIG_TYPE_BY_INTEGRATION_TYPE[parent.type],
});

export const BatchingRef = builder
  .objectRef<SiemIntegrationRecord['batching']>('Batching')
  .implement({
    fields: (t) => ({
      batchSize: t.exposeInt('batchSize'),
      flushIntervalSeconds: t.exposeInt('flushIntervalSeconds'),
      retryCount: t.exposeInt('retryCount'),
      timeoutSeconds: t.exposeInt('timeoutSeconds'),
    }),
  });

export const SiemIntegrationRef = builder.objectRef<SiemIntegrationRecord>('SiemIntegration').implement({
  description: 'Where an organisation\'s security events go, and how delivery to it is doing.',
  fields: (t) => ({
    id: t.exposeID('id'),
    type: t.field({ type: SiemIntegrationTypeEnum, resolve: (i) => i.type }),
    name: t.exposeString('name'),
    enabled: t.exposeBoolean('enabled'),
    customerId: t.string({
      nullable: true,
      description: 'Events of this customer only; null means every event of the organisation (a global destination).',
      resolve: (i) => i.customerId,
    }),
    config: t.field({ type: SiemConfigUnion, resolve: (i) => ({ type: i.type, config: i.config, secretFields: i.secretFields }) }),
    batching: t.field({ type: BatchingRef, resolve: (i) => i.batching }),
    errorCount: t.int({ description: 'Consecutive delivery failures; 0 after any success.', resolve: (i) => i.errorCount }),
    lastError: t.string({ nullable: true, description: 'Error of the most recent failure; cleared by a success. Never contains a secret.', resolve: (i) => i.lastError }),
    lastErrorAt: t.field({ type: 'DateTime', nullable: true, resolve: (i) => i.lastErrorAt }),
    lastEventAt: t.field({ type: 'DateTime', nullable: true, description: 'When an event was last delivered successfully.', resolve: (i) => i.lastEventAt }),
    health: t.field({ type: IntegrationHealthEnum, resolve: (i) => integrationHealth(i) }),
    createdAt: t.field({ type: 'DateTime', resolve: (i) => i.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (i) => i.updatedAt }),
  }),
});
