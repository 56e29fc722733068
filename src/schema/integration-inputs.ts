import { DESTINATIONS, type SiemIntegrationType } from '../destinations/registry.js';
import {
  batchSizeRule, customerIdRule, flushIntervalRule, headerNameRule, headerValueRule, integrationNameRule, retryCountRule,
  timeoutSecondsRule,
} from '../destinations/shared/config-rules.js';
import { DEFAULT_BATCHING, TLS_FIELDS, type DestinationDescriptor, type Fields, type FieldSpec } from '../destinations/shared/descriptor.js';
import { builder } from './builder.js';
import { RoutingFilterInput } from './routing-types.js';
import { enumRefOf } from './integration-types.js';

/**
 * Each destination's descriptor (`src/destinations/<name>/descriptor.ts`) generates both its create input
 * (required fields and defaults) and its update input (every field optional, no defaults, so omitted fields
 * keep their stored values). Field rules come from the descriptors too, shared with the store's final check.
 */

/** One input field of a field table; `mode` update drops `required` and defaults. */
function inputField(t: PothosSchemaTypes.InputFieldBuilder<any, 'InputObject'>, f: FieldSpec, mode: 'create' | 'update'): unknown {
  const options = {
    required: mode === 'create' && f.required === true,
    description: f.description,
    ...(mode === 'create' && f.default !== undefined ? { defaultValue: f.default } : {}),
    ...(f.rule ? { validate: f.rule } : {}),
  } as const;
  const type: unknown = f.type === 'Tls' ? TlsInput : f.type === 'Headers' ? [WebhookHeaderInput] : typeof f.type === 'object' ? enumRefOf(f.type) : f.type;
  return t.field({ type: type as never, ...(options as object) } as never);
}

/** The input fields of a field table, without the fields validation sets alone (Sentinel `api`). */
const inputFields = (fields: Fields, mode: 'create' | 'update') => (t: PothosSchemaTypes.InputFieldBuilder<any, 'InputObject'>): never =>
  Object.fromEntries(Object.entries(fields).filter(([, f]) => !f.derived).map(([name, f]) => [name, inputField(t, f, mode)])) as never;

const TlsInput = builder.inputType('TlsInput', {
  description: 'TLS settings for HTTPS and syslog over TLS. PEM text.',
  fields: inputFields(TLS_FIELDS, 'create'),
});

const WebhookHeaderInput = builder.inputType('WebhookHeaderInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: headerNameRule }),
    value: t.string({ required: true, description: 'Write-only: may hold a credential.', validate: headerValueRule }),
  }),
});

/** Input type name → the input path it appears at, for error messages that name fields the way clients wrote them. */
export const INPUT_TYPE_PATHS: Record<string, string> = { TlsInput: 'tls', WebhookHeaderInput: 'headers' };

function buildConfigInput(d: Pick<DestinationDescriptor, 'typeName' | 'member' | 'fields'>, mode: 'create' | 'update') {
  const name = mode === 'create' ? `${d.typeName}ConfigInput` : `${d.typeName}ConfigUpdateInput`;
  INPUT_TYPE_PATHS[name] = `config.${d.member}`;
  return builder.inputType(name, {
    description: mode === 'update' ? `Changes to a ${d.typeName} config: only given fields change; omitted fields (secrets included) keep their values.` : undefined,
    fields: inputFields(d.fields, mode),
  });
}

export const SiemConfigInput = builder.inputType('SiemConfigInput', {
  description: 'Exactly one destination.',
  isOneOf: true,
  fields: (t) => Object.fromEntries(DESTINATIONS.map((d) => [d.member, t.field({ type: buildConfigInput(d, 'create') })])) as never,
});

export const SiemConfigUpdateInput = builder.inputType('SiemConfigUpdateInput', {
  description: 'Exactly one destination, matching the integration\'s type.',
  isOneOf: true,
  fields: (t) => Object.fromEntries(DESTINATIONS.map((d) => [d.member, t.field({ type: buildConfigInput(d, 'update') })])) as never,
});

const batchingFields = (mode: 'create' | 'update') => (t: PothosSchemaTypes.InputFieldBuilder<any, 'InputObject'>) => ({
  batchSize: t.int({ description: 'Events per batch (1..10000).', validate: batchSizeRule, ...(mode === 'create' ? { defaultValue: DEFAULT_BATCHING.batchSize } : {}) }),
  flushIntervalSeconds: t.int({ description: 'Longest wait before a partial batch is sent (1..3600).', validate: flushIntervalRule, ...(mode === 'create' ? { defaultValue: DEFAULT_BATCHING.flushIntervalSeconds } : {}) }),
  retryCount: t.int({ description: 'Quick retries before the slow retry schedule (0..20).', validate: retryCountRule, ...(mode === 'create' ? { defaultValue: DEFAULT_BATCHING.retryCount } : {}) }),
  timeoutSeconds: t.int({ description: 'Per-attempt timeout (1..300).', validate: timeoutSecondsRule, ...(mode === 'create' ? { defaultValue: DEFAULT_BATCHING.timeoutSeconds } : {}) }),
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
export function oneOfMember(config: Record<string, unknown>): [SiemIntegrationType, Record<string, unknown>] {
  const [member, value] = Object.entries(config).find(([, v]) => v !== undefined && v !== null)!;
  return [member.toUpperCase() as SiemIntegrationType, value as Record<string, unknown>];
}
