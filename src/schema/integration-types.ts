import type { EnumRef, ObjectRef } from '@pothos/core';
import { integrationHealth } from '../delivery/integration-health.js';
import { DESTINATIONS, type SiemIntegrationType } from '../destinations/registry.js';
import { TLS_FIELDS, type DestinationDescriptor, type EnumKind } from '../destinations/shared/descriptor.js';
import type { SiemIntegrationRecord } from '../store/tenant-store.js';
import { builder } from './builder.js';

export const SiemIntegrationTypeEnum = builder.enumType('SiemIntegrationType', {
  description: 'The kind of SIEM destination.',
  values: Object.fromEntries(DESTINATIONS.map((d) => [d.type, { description: d.description }])) as { [T in SiemIntegrationType]: { description: string } },
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

const ENUM_REFS = new Map<string, EnumRef<PothosSchemaTypes.ExtendDefaultTypes<any>, string>>();

/** The GraphQL enum of an enumerated config field (`SyslogProtocol`, `CefTransport`, …), made once per name. */
export function enumRefOf(kind: EnumKind): EnumRef<PothosSchemaTypes.ExtendDefaultTypes<any>, string> {
  const made = ENUM_REFS.get(kind.enum);
  if (made) return made;
  const ref = builder.enumType(kind.enum, {
    values: Object.fromEntries(kind.values.map((v) => [v, kind.descriptions?.[v] ? { description: kind.descriptions[v] } : {}])) as Record<string, { description?: string }>,
  });
  ENUM_REFS.set(kind.enum, ref as never);
  return ref as never;
}

/** What a config object type resolves from: the public config plus which secrets are set (dotted paths, relative to the object). */
interface ConfigParent {
  type: SiemIntegrationRecord['type'];
  config: Record<string, unknown>;
  secretFields: string[];
}

type Fields = DestinationDescriptor['fields'];
type FieldBuilder = PothosSchemaTypes.ObjectFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<any>, ConfigParent>;

const capitalised = (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}`;

/**
 * The output fields of a config, derived from its field table: each field as a nullable or non-null value (non-null
 * when required, defaulted or always set), a secret as `hasX` (a header list as its names), the nested TLS object
 * as {@link TlsConfigRef}.
 */
function outputFields(t: FieldBuilder, fields: Fields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(fields)) {
    const description = spec.outputDescription;
    const value = (p: ConfigParent) => p.config[name] ?? null;
    if (spec.type === 'Headers') {
      out.headerNames = t.stringList({ description, resolve: (p: ConfigParent) => (p.config.headerNames as string[] | undefined) ?? [] });
    } else if (spec.secret) {
      out[`has${capitalised(name)}`] = t.boolean({ description, resolve: (p: ConfigParent) => p.secretFields.includes(name) });
    } else if (spec.type === 'Tls') {
      out[name] = t.field({ type: TlsConfigRef, nullable: true, resolve: (p: ConfigParent) => tlsParent(p, name) });
    } else {
      const nullable = !(spec.required || spec.alwaysSet || spec.default !== undefined);
      const type = typeof spec.type === 'object' ? enumRefOf(spec.type) : spec.type;
      const resolve = spec.type === 'Boolean' ? (p: ConfigParent) => (p.config[name] ?? spec.default) === true : value;
      out[name] = t.field({ type: type as never, nullable, description, resolve: resolve as never });
    }
  }
  return out;
}

/** The parent of the nested TLS object: its fields, and its secrets relative to it; null when nothing is set. */
function tlsParent(p: ConfigParent, field: string): ConfigParent | null {
  const tls = p.config[field] as Record<string, unknown> | undefined;
  const secretFields = p.secretFields.filter((path) => path.startsWith(`${field}.`)).map((path) => path.slice(field.length + 1));
  return tls || secretFields.length > 0 ? { type: p.type, config: tls ?? {}, secretFields } : null;
}

export const TlsConfigRef = builder.objectRef<ConfigParent>('TlsConfig');
TlsConfigRef.implement({
  description: 'TLS settings. The client private key is never returned.',
  fields: (t) => outputFields(t as unknown as FieldBuilder, TLS_FIELDS) as never,
});

/** Each destination's output config type (`SplunkConfig`, …), derived from its descriptor. */
const CONFIG_TYPE_BY_INTEGRATION_TYPE = Object.fromEntries(
  DESTINATIONS.map((d) => [
    d.type,
    builder.objectRef<ConfigParent>(`${d.typeName}Config`).implement({
      description: d.configDescription,
      fields: (t) => outputFields(t as unknown as FieldBuilder, d.fields) as never,
    }),
  ]),
) as Record<SiemIntegrationType, ObjectRef<PothosSchemaTypes.ExtendDefaultTypes<any>, ConfigParent>>;

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
