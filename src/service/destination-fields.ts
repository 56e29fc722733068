import type { z } from 'zod';
import {
  base64KeyRule, dcrImmutableIdRule, facilityRule, guidRule, hostRule, identifierRule, logTypeRule, portRule, secretRule,
  streamNameRule, tenantIdRule, textRule, timeoutSecondsRule, urlRule,
} from '../destinations/shared/config-rules.js';
import type { SiemIntegrationType } from '../destinations/types.js';

/**
 * One table describes every destination's config fields (camelCase, as stored). Every front end is
 * derived from it: the GraphQL create and update inputs (`src/schema/integration-inputs.ts`), the REST
 * API's snake_case bodies (`src/http/settings-api.ts`) and its OpenAPI document (`src/http/openapi.ts`).
 * Field rules come from `config-rules.ts`, shared with the store's final check (`parseDestinationConfig`).
 */
export interface FieldSpec {
  type: 'String' | 'Int' | 'Boolean' | 'Tls' | 'Headers' | { enum: string; values: readonly string[] };
  required?: boolean;
  default?: unknown;
  rule?: z.ZodTypeAny;
  description?: string;
}

/** Lower-case member names, as GraphQL's `SiemConfigInput` and REST's `integration_type` spell them. */
export type DestinationMember = 'splunk' | 'sentinel' | 'syslog' | 'webhook' | 'crowdstrike' | 'arcsight' | 'cef';

/** `SPLUNK` → `splunk`. */
export const memberOf = (type: SiemIntegrationType): DestinationMember => type.toLowerCase() as DestinationMember;

/** Fields of the nested `tls` object (`clientKey` is write-only). */
export const TLS_FIELDS: Record<string, FieldSpec> = {
  caCert: { type: 'String', description: 'PEM CA bundle used instead of the system roots.' },
  clientCert: { type: 'String', description: 'PEM client certificate for mutual TLS.' },
  clientKey: { type: 'String', description: 'PEM private key of the client certificate. Write-only.' },
  rejectUnauthorized: { type: 'Boolean', default: true, description: 'Verify the server certificate and host name. Turn off only for testing.' },
};

const HTTP_FIELDS: Record<string, FieldSpec> = {
  tls: { type: 'Tls' },
  timeoutSeconds: { type: 'Int', rule: timeoutSecondsRule, description: 'Per-request timeout (1..300); unset means the batching timeout.' },
  gzip: { type: 'Boolean', default: false, description: 'Gzip request bodies (Content-Encoding: gzip).' },
};

export const DESTINATION_FIELDS: Record<DestinationMember, { typeName: string; fields: Record<string, FieldSpec> }> = {
  splunk: {
    typeName: 'Splunk',
    fields: {
      endpoint: { type: 'String', required: true, rule: urlRule, description: 'Full HEC URL, e.g. https://splunk.example.com:8088/services/collector/event.' },
      token: { type: 'String', required: true, rule: secretRule, description: 'HEC token. Write-only.' },
      index: { type: 'String', rule: identifierRule, description: 'Target index; unset means the token\'s default index.' },
      source: { type: 'String', rule: identifierRule },
      sourcetype: { type: 'String', default: '_json', rule: identifierRule },
      host: { type: 'String', rule: identifierRule, description: 'HEC host field; unset means the gateway\'s host name.' },
      indexerAck: { type: 'Boolean', default: false, description: 'Count a batch as delivered only once Splunk acknowledges it (HEC indexer acknowledgement).' },
      ...HTTP_FIELDS,
    },
  },
  sentinel: {
    typeName: 'Sentinel',
    fields: {
      workspaceId: { type: 'String', rule: guidRule, description: 'Data Collector API: Log Analytics workspace id.' },
      sharedKey: { type: 'String', rule: base64KeyRule, description: 'Data Collector API: workspace shared key (base64). Write-only.' },
      logType: { type: 'String', rule: logTypeRule, description: 'Data Collector API: custom log type (default ARXSecAudit; shows as ARXSecAudit_CL).' },
      endpoint: { type: 'String', rule: urlRule, description: 'Data Collector API: overrides https://<workspaceId>.ods.opinsights.azure.com.' },
      dceEndpoint: { type: 'String', rule: urlRule, description: 'Logs Ingestion API: data collection endpoint URL.' },
      dcrImmutableId: { type: 'String', rule: dcrImmutableIdRule, description: 'Logs Ingestion API: data collection rule immutable id (dcr-…).' },
      streamName: { type: 'String', rule: streamNameRule, description: 'Logs Ingestion API: stream, e.g. Custom-SiemGate_CL.' },
      tenantId: { type: 'String', rule: tenantIdRule, description: 'Logs Ingestion API: Entra ID tenant.' },
      clientId: { type: 'String', rule: guidRule, description: 'Logs Ingestion API: application (client) id.' },
      clientSecret: { type: 'String', rule: secretRule, description: 'Logs Ingestion API: client secret. Write-only.' },
      authorityHost: { type: 'String', rule: urlRule, description: 'Logs Ingestion API: token authority (default https://login.microsoftonline.com).' },
      ...HTTP_FIELDS,
    },
  },
  syslog: {
    typeName: 'Syslog',
    fields: {
      host: { type: 'String', required: true, rule: hostRule },
      port: { type: 'Int', rule: portRule, description: '1..65535; unset means 514 (6514 for TLS).' },
      protocol: { type: { enum: 'SyslogProtocol', values: ['UDP', 'TCP', 'TLS'] }, default: 'TCP' },
      facility: { type: 'String', default: 'local0', rule: facilityRule, description: 'Facility name (kern … local7) or code 0..23.' },
      format: { type: { enum: 'SyslogFormat', values: ['RFC5424', 'RFC3164'] }, default: 'RFC5424' },
      tls: { type: 'Tls', description: 'Only with protocol TLS.' },
      timeoutSeconds: HTTP_FIELDS.timeoutSeconds!,
    },
  },
  webhook: {
    typeName: 'Webhook',
    fields: {
      endpoint: { type: 'String', required: true, rule: urlRule },
      secret: { type: 'String', rule: secretRule, description: 'HMAC-SHA256 signing secret. Write-only.' },
      signatureScheme: { type: { enum: 'WebhookSignatureScheme', values: ['ARX', 'STANDARD_WEBHOOKS'] }, default: 'ARX' },
      headers: { type: 'Headers', description: 'Extra request headers. Write-only; replaced as a whole on update.' },
      ...HTTP_FIELDS,
    },
  },
  crowdstrike: {
    typeName: 'CrowdStrike',
    fields: {
      endpoint: { type: 'String', required: true, rule: urlRule, description: 'e.g. https://cloud.community.humio.com/api/v1/ingest/hec.' },
      token: { type: 'String', required: true, rule: secretRule, description: 'LogScale ingest token. Write-only.' },
      repository: { type: 'String', rule: identifierRule },
      parser: { type: 'String', rule: identifierRule },
      ...HTTP_FIELDS,
    },
  },
  arcsight: {
    typeName: 'ArcSight',
    fields: {
      endpoint: { type: 'String', required: true, rule: urlRule },
      token: { type: 'String', required: true, rule: secretRule, description: 'Connector token. Write-only.' },
      smartConnectorId: { type: 'String', rule: identifierRule },
      deviceVendor: { type: 'String', default: 'RAXE', rule: textRule(63) },
      deviceProduct: { type: 'String', default: 'ThreatDetection', rule: textRule(63) },
      ...HTTP_FIELDS,
    },
  },
  cef: {
    typeName: 'Cef',
    fields: {
      transport: { type: { enum: 'CefTransport', values: ['HTTP', 'UDP', 'TCP', 'TLS'] }, default: 'HTTP' },
      endpoint: { type: 'String', rule: urlRule, description: 'For transport HTTP.' },
      token: { type: 'String', rule: secretRule, description: 'Bearer token for transport HTTP. Write-only.' },
      host: { type: 'String', rule: hostRule, description: 'For transports UDP, TCP and TLS.' },
      port: { type: 'Int', rule: portRule, description: 'Unset means 514 for UDP, 6514 for TCP and TLS.' },
      facility: { type: 'String', default: 'local0', rule: facilityRule },
      deviceVendor: { type: 'String', default: 'RAXE', rule: textRule(63) },
      deviceProduct: { type: 'String', default: 'ThreatDetection', rule: textRule(63) },
      ...HTTP_FIELDS,
    },
  },
};
