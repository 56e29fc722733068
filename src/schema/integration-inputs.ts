import {
  batchSizeRule, customerIdRule, flushIntervalRule, headerNameRule, headerValueRule, integrationNameRule, pemCertificateRule,
  pemPrivateKeyRule, retryCountRule, timeoutSecondsRule,
} from '../destinations/shared/config-rules.js';
import { DESTINATION_FIELDS, type DestinationMember } from '../service/destination-fields.js';
import { builder } from './builder.js';
import { RoutingFilterInput } from './routing-types.js';
import {
  CefTransportEnum, SiemIntegrationTypeEnum, SyslogFormatEnum, SyslogProtocolEnum, WebhookSignatureSchemeEnum,
} from './integration-types.js';

/**
 * The destination field table (`src/service/destination-fields.ts`, shared with the REST API) generates
 * both the create input (required fields and defaults) and the update input (every field optional, no
 * defaults, so omitted fields keep their stored values). Field rules come from `config-rules.ts`, shared with the store.
 */
const ENUMS: Record<string, unknown> = {
  SyslogProtocol: SyslogProtocolEnum,
  SyslogFormat: SyslogFormatEnum,
  WebhookSignatureScheme: WebhookSignatureSchemeEnum,
  CefTransport: CefTransportEnum,
};

export { DESTINATION_FIELDS };

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

/** Input type name → the input path it appears at, for error messages that name fields the way clients wrote them. */
export const INPUT_TYPE_PATHS: Record<string, string> = { TlsInput: 'tls', WebhookHeaderInput: 'headers' };

function buildConfigInput(member: string, spec: (typeof DESTINATION_FIELDS)[DestinationMember], mode: 'create' | 'update') {
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
            f.type === 'Tls' ? TlsInput : f.type === 'Headers' ? [WebhookHeaderInput] : typeof f.type === 'object' ? ENUMS[f.type.enum] : f.type;
          return [field, t.field({ type: type as never, ...(options as object) } as never)];
        }),
      ) as never,
  });
}

const MEMBERS = Object.keys(DESTINATION_FIELDS) as DestinationMember[];

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
