import type { z } from 'zod';
import {
  base64KeyRule, batchSizeRule, customerIdRule, dcrImmutableIdRule, facilityRule, flushIntervalRule, guidRule, headerNameRule,
  headerValueRule, hostRule, identifierRule, integrationNameRule, logTypeRule, pemCertificateRule, pemPrivateKeyRule, portRule,
  retryCountRule, secretRule, streamNameRule, tenantIdRule, textRule, timeoutSecondsRule, urlRule,
} from '../destinations/config-rules.js';
import { builder } from './builder.js';
import { RoutingFilterInput } from './routing-types.js';
import {
  CefTransportEnum, SiemIntegrationTypeEnum, SyslogFormatEnum, SyslogProtocolEnum, WebhookSignatureSchemeEnum,
} from './integration-types.js';

/**
 * One table describes every destination's input fields; both the create input (required fields and
 * defaults) and the update input (every field optional, no defaults, so omitted fields keep their
 * stored values) are generated from it. Field rules come from `config-rules.ts`, shared with the store.
 */
interface FieldSpec {
  type: 'String' | 'Int' | 'Boolean' | 'Tls' | 'Headers' | { enum: unknown };
  required?: boolean;
  default?: unknown;
  rule?: z.ZodTypeAny;
  description?: string;
}

const TlsInput = builder.inputType('TlsInput', {
  description: 'TLS settings for HTTPS and syslog over TLS. PEM text.',
  fields: (t) => ({
    caCert: t.string({ description: 'PEM CA bundle used instead of the system roots.', validate: pemCertificateRule }),
    clientCert: t.string({ description: 'PEM client certificate for mutual TLS.', validate: pemCertificateRule }),
    clientKey: t.string({ description: 'PEM private key of the client certificate. Write-only.', validate: pemPrivateKeyRule }),
    rejectUnauthorized: t.boolean({ description: 'Verify the server certificate and host name. Turn off only for testing.', defaultValue: true }),
  }),
});

const WebhookHeaderInput = builder.inputType('WebhookHeaderInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: headerNameRule }),
    value: t.string({ required: true, description: 'Write-only: may hold a credential.', validate: headerValueRule }),
  }),
});

const HTTP_FIELDS: Record<string, FieldSpec> = {
  tls: { type: 'Tls' },
  timeoutSeconds: { type: 'Int', rule: timeoutSecondsRule, description: 'Per-request timeout (1..300); unset means the batching timeout.' },
  gzip: { type: 'Boolean', default: false, description: 'Gzip request bodies (Content-Encoding: gzip).' },
};

export const DESTINATION_FIELDS: Record<string, { typeName: string; fields: Record<string, FieldSpec> }> = {
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
      protocol: { type: { enum: SyslogProtocolEnum }, default: 'TCP' },
      facility: { type: 'String', default: 'local0', rule: facilityRule, description: 'Facility name (kern … local7) or code 0..23.' },
      format: { type: { enum: SyslogFormatEnum }, default: 'RFC5424' },
      tls: { type: 'Tls', description: 'Only with protocol TLS.' },
      timeoutSeconds: HTTP_FIELDS.timeoutSeconds!,
    },
  },
  webhook: {
    typeName: 'Webhook',
    fields: {
      endpoint: { type: 'String', required: true, rule: urlRule },
      secret: { type: 'String', rule: secretRule, description: 'HMAC-SHA256 signing secret. Write-only.' },
      signatureScheme: { type: { enum: WebhookSignatureSchemeEnum }, default: 'ARX' },
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
      transport: { type: { enum: CefTransportEnum }, default: 'HTTP' },
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

/** Input type name → the input path it appears at, for error messages that name fields the way clients wrote them. */
export const INPUT_TYPE_PATHS: Record<string, string> = { TlsInput: 'tls', WebhookHeaderInput: 'headers' };

function buildConfigInput(member: string, spec: (typeof DESTINATION_FIELDS)[string], mode: 'create' | 'update') {
  const name = mode === 'create' ? `${spec.typeName}ConfigInput` : `${spec.typeName}ConfigUpdateInput`;
  INPUT_TYPE_PATHS[name] = `config.${member}`;
  return builder.inputType(name, {
    description: mode === 'update' ? `Changes to a ${spec.typeName} config: only given fields change; omitted fields (secrets included) keep their values.` : undefined,
    fields: (t) =>
      Object.fromEntries(
        Object.entries(spec.fields).map(([field, f]) => {
          const options = {
            required: mode === 'create' && f.required === true,
            description: f.description,
            ...(mode === 'create' && f.default !== undefined ? { defaultValue: f.default } : {}),
            ...(f.rule ? { validate: f.rule } : {}),
          } as const;
          const type =
            f.type === 'Tls' ? TlsInput : f.type === 'Headers' ? [WebhookHeaderInput] : typeof f.type === 'object' ? f.type.enum : f.type;
          return [field, t.field({ type: type as never, ...(options as object) } as never)];
        }),
      ) as never,
  });
}

const MEMBERS = Object.keys(DESTINATION_FIELDS);

export const SiemConfigInput = builder.inputType('SiemConfigInput', {
  description: 'Exactly one destination.',
  isOneOf: true,
  fields: (t) =>
    Object.fromEntries(MEMBERS.map((m) => [m, t.field({ type: buildConfigInput(m, DESTINATION_FIELDS[m]!, 'create') })])) as never,
});

export const SiemConfigUpdateInput = builder.inputType('SiemConfigUpdateInput', {
  description: 'Exactly one destination, matching the integration\'s type.',
  isOneOf: true,
  fields: (t) =>
    Object.fromEntries(MEMBERS.map((m) => [m, t.field({ type: buildConfigInput(m, DESTINATION_FIELDS[m]!, 'update') })])) as never,
});

const batchingFields = (mode: 'create' | 'update') => (t: PothosSchemaTypes.InputFieldBuilder<any, 'InputObject'>) => ({
  batchSize: t.int({ description: 'Events per batch (1..10000).', validate: batchSizeRule, ...(mode === 'create' ? { defaultValue: 100 } : {}) }),
  flushIntervalSeconds: t.int({ description: 'Longest wait before a partial batch is sent (1..3600).', validate: flushIntervalRule, ...(mode === 'create' ? { defaultValue: 10 } : {}) }),
  retryCount: t.int({ description: 'Quick retries before the slow retry schedule (0..20).', validate: retryCountRule, ...(mode === 'create' ? { defaultValue: 3 } : {}) }),
  timeoutSeconds: t.int({ description: 'Per-attempt timeout (1..300).', validate: timeoutSecondsRule, ...(mode === 'create' ? { defaultValue: 30 } : {}) }),
});

export const BatchingInput = builder.inputType('BatchingInput', { fields: batchingFields('create') as never });
export const BatchingUpdateInput = builder.inputType('BatchingUpdateInput', { fields: batchingFields('update') as never });
INPUT_TYPE_PATHS.BatchingInput = 'batching';
INPUT_TYPE_PATHS.BatchingUpdateInput = 'batching';

export const CreateSiemIntegrationInput = builder.inputType('CreateSiemIntegrationInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: integrationNameRule }),
    config: t.field({ type: SiemConfigInput, required: true }),
    enabled: t.boolean({ defaultValue: true }),
    customerId: t.string({ description: 'Route only this customer\'s events here; unset receives every event.', validate: customerIdRule }),
    batching: t.field({ type: BatchingInput }),
    filter: t.field({ type: RoutingFilterInput, description: 'Only events passing this filter are delivered here.' }),
  }),
});

export const UpdateSiemIntegrationInput = builder.inputType('UpdateSiemIntegrationInput', {
  description: 'A partial update: only the given fields change.',
  fields: (t) => ({
    name: t.string({ validate: integrationNameRule }),
    config: t.field({ type: SiemConfigUpdateInput }),
    enabled: t.boolean(),
    customerId: t.string({ description: 'Explicit null makes the integration global again.', validate: customerIdRule }),
    batching: t.field({ type: BatchingUpdateInput }),
    filter: t.field({ type: RoutingFilterInput, description: 'Explicit null removes the filter.' }),
  }),
});
INPUT_TYPE_PATHS.CreateSiemIntegrationInput = 'input';
INPUT_TYPE_PATHS.RoutingFilterInput = 'input.filter';
INPUT_TYPE_PATHS.UpdateSiemIntegrationInput = 'input';

/** Reads the one oneOf member: `{ splunk: {...} }` → `['SPLUNK', {...}]`. */
export function oneOfMember(config: Record<string, unknown>): [typeof SiemIntegrationTypeEnum.$inferType, Record<string, unknown>] {
  const [member, value] = Object.entries(config).find(([, v]) => v !== undefined && v !== null)!;
  return [member.toUpperCase() as typeof SiemIntegrationTypeEnum.$inferType, value as Record<string, unknown>];
}
