import { z } from 'zod';
import type { TlsOptions } from '../../net/tls-options.js';
import { headerNameRule, headerValueRule, pemCertificateRule, pemPrivateKeyRule, timeoutSecondsRule } from './config-rules.js';

/**
 * A destination descriptor: everything siemgate knows about one destination's config, written once in
 * `src/destinations/<name>/descriptor.ts` and listed in `src/destinations/registry.ts`. From it come the
 * TypeScript config type ({@link FieldsConfig}), validation (`schema`, behind `parseDestinationConfig`), the
 * partial-update merge, the secret fields (sealing, `hasX` outputs, audit and log redaction, error-text
 * scrubbing), the batching defaults, and the GraphQL and REST inputs and outputs. The adapter itself lives
 * beside it (`adapter.ts`) and is registered in `create-siem-adapter.ts`, out of the store's reach.
 * Modelled on Vector's `src/sinks/<sink>/config.rs`, whose config struct is the single source of its fields.
 */

/** An enumerated field: the GraphQL enum's name, its values (upper case, as stored), and optional value descriptions. */
export interface EnumKind {
  enum: string;
  values: readonly string[];
  descriptions?: Readonly<Record<string, string>>;
}

/** What a field holds: a scalar, an enum, the shared TLS object, or a list of HTTP headers. */
export type FieldKind = 'String' | 'Int' | 'Boolean' | 'Tls' | 'Headers' | EnumKind;

/** One config field. */
export interface FieldSpec {
  type: FieldKind;
  /** Must be given on create. */
  required?: boolean;
  /** Filled in by validation when unset, and shown to clients as the input default. */
  default?: unknown;
  /**
   * The default is what an unset field means (`gzip: false`); validation leaves the field unset, so stored
   * configs keep their shape. The default is still shown to clients.
   */
  defaultWhenUnset?: boolean;
  /** Always set after validation, from a default computed from other fields (syslog `port`); optional on input. */
  alwaysSet?: boolean;
  /** Set by validation from other fields, never given by clients (Sentinel `api`): not an input field. */
  derived?: boolean;
  /** The field's own validation rule (shared with the GraphQL inputs); cross-field rules are the descriptor's `refine`. */
  rule?: z.ZodTypeAny;
  /** Input description (GraphQL inputs, REST, OpenAPI). */
  description?: string;
  /** Description of the output field (or of its `hasX` flag for a secret) when it differs from the input's. */
  outputDescription?: string;
  /**
   * A secret: sealed at rest, never returned (outputs say `hasX`), redacted from the audit log and the logs,
   * and scrubbed from every error text that leaves the process.
   */
  secret?: boolean;
}

export type Fields = Readonly<Record<string, FieldSpec>>;

/** Batching and retry settings of an integration. */
export interface Batching {
  batchSize: number;
  flushIntervalSeconds: number;
  retryCount: number;
  timeoutSeconds: number;
}

/** Batching defaults of every destination that sets none of its own. */
export const DEFAULT_BATCHING: Readonly<Batching> = Object.freeze({ batchSize: 100, flushIntervalSeconds: 10, retryCount: 3, timeoutSeconds: 30 });

/** One extra HTTP header of a webhook. */
export interface HeaderEntry {
  name: string;
  value: string;
}

/** Fields of the nested `tls` object every destination with TLS shares (`clientKey` is secret). */
export const TLS_FIELDS = {
  caCert: {
    type: 'String', rule: pemCertificateRule, description: 'PEM CA bundle used instead of the system roots.',
    outputDescription: 'PEM CA bundle used instead of the system roots.',
  },
  clientCert: {
    type: 'String', rule: pemCertificateRule, description: 'PEM client certificate for mutual TLS.',
    outputDescription: 'PEM client certificate (mutual TLS).',
  },
  clientKey: { type: 'String', rule: pemPrivateKeyRule, secret: true, description: 'PEM private key of the client certificate. Write-only.' },
  rejectUnauthorized: { type: 'Boolean', default: true, description: 'Verify the server certificate and host name. Turn off only for testing.' },
} as const satisfies Fields;

/** Fields every HTTP destination shares. */
export const HTTP_FIELDS = {
  tls: { type: 'Tls' },
  timeoutSeconds: {
    type: 'Int', rule: timeoutSecondsRule, description: 'Per-request timeout (1..300); unset means the batching timeout.',
    outputDescription: 'Per-request timeout; unset means the batching timeout.',
  },
  gzip: {
    type: 'Boolean', default: false, defaultWhenUnset: true, description: 'Gzip request bodies (Content-Encoding: gzip).',
    outputDescription: 'Request bodies are gzip-compressed.',
  },
} as const satisfies Fields;

// ---- Types derived from a field table -------------------------------------------------------------------

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type KindValue<K> = K extends 'String' ? string
  : K extends 'Int' ? number
  : K extends 'Boolean' ? boolean
  : K extends 'Tls' ? TlsOptions
  : K extends 'Headers' ? HeaderEntry[]
  : K extends { values: readonly (infer V)[] } ? V
  : never;

type ValueOf<S> = S extends { type: infer K } ? KindValue<K> : never;

/** Whether validation's field-by-field pass always yields the field. */
type Parsed<S> = S extends { required: true } ? true
  : S extends { type: 'Headers' } ? true
  : S extends { defaultWhenUnset: true } ? false
  : S extends { default: {} } ? true
  : false;

/** Whether a validated config always has the field. */
type Present<S> = S extends { alwaysSet: true } ? true : Parsed<S>;

/** The value a descriptor's `refine` and `finish` see: each field checked, field defaults filled in. */
export type ParsedFields<F> = Simplify<
  { -readonly [K in keyof F as Parsed<F[K]> extends true ? K : never]: ValueOf<F[K]> } & {
    -readonly [K in keyof F as Parsed<F[K]> extends true ? never : K]?: ValueOf<F[K]>;
  }
>;

/** The validated config a field table describes: `{ type }` plus each field, optional where it may be unset. */
export type FieldsConfig<T extends string, F> = Simplify<
  { type: T } & { -readonly [K in keyof F as Present<F[K]> extends true ? K : never]: ValueOf<F[K]> } & {
    -readonly [K in keyof F as Present<F[K]> extends true ? never : K]?: ValueOf<F[K]>;
  }
>;

/** The options every HTTP destination shares ({@link HTTP_FIELDS}). */
export type HttpOptions = Omit<FieldsConfig<string, typeof HTTP_FIELDS>, 'type'>;

// ---- Descriptors ----------------------------------------------------------------------------------------

/** What a destination's `descriptor.ts` writes. */
export interface DestinationSpec<T extends string, F extends Fields, C> {
  /** Stored and exposed name, e.g. `SPLUNK`. */
  type: T;
  /** GraphQL type-name stem: `Splunk` → `SplunkConfig`, `SplunkConfigInput`, `SplunkConfigUpdateInput`. */
  typeName: string;
  /** One line for the `SiemIntegrationType` enum value. */
  description: string;
  /** Description of the output config type. */
  configDescription: string;
  /** The config's fields, in the order clients see them. */
  fields: F;
  /** Cross-field rules, after each field passed its own. */
  refine?: (value: ParsedFields<F>, ctx: z.RefinementCtx) => void;
  /** Computed defaults and reshaping, after `refine`; may add issues and return `z.NEVER`. */
  finish?: (value: ParsedFields<F>, ctx: z.RefinementCtx) => C;
  /**
   * Partial-update special cases, after the generic merge (given fields replace stored ones, `tls` merges
   * field by field, secrets kept when omitted): e.g. dropping the fields of an old transport.
   */
  merge?: (stored: C, patch: Readonly<Record<string, unknown>>, merged: Record<string, unknown>) => void;
  /** Batching defaults where they differ from {@link DEFAULT_BATCHING}. */
  batching?: Partial<Batching>;
}

/** A destination descriptor, completed by {@link defineDestination}. */
export interface DestinationDescriptor<T extends string = string, C extends { type: T } = { type: T }> {
  readonly type: T;
  /** Lower-case name: GraphQL's `SiemConfigInput` member and REST's `integration_type`. */
  readonly member: Lowercase<T>;
  readonly typeName: string;
  readonly description: string;
  readonly configDescription: string;
  readonly fields: Fields;
  /** Validates a complete config (with `type`) and fills in defaults. */
  readonly schema: z.ZodType<C, z.ZodTypeDef, unknown>;
  /** Dotted paths of the secret fields, e.g. `token`, `tls.clientKey`. */
  readonly secretFields: readonly string[];
  readonly batching: Readonly<Batching>;
  readonly merge?: (stored: C, patch: Readonly<Record<string, unknown>>, merged: Record<string, unknown>) => void;
}

const tlsSchema = z
  .object(shapeOf(TLS_FIELDS))
  .strict()
  .superRefine((v: Record<string, unknown>, ctx) => {
    if (!!v.clientCert !== !!v.clientKey) {
      ctx.addIssue({ code: 'custom', path: [v.clientCert ? 'clientKey' : 'clientCert'], message: 'clientCert and clientKey must be given together' });
    }
  });

const headersSchema = z.array(z.object({ name: headerNameRule, value: headerValueRule }).strict()).max(50, 'at most 50 headers');

function fieldSchema(spec: FieldSpec): z.ZodTypeAny {
  const kind = spec.type;
  const base: z.ZodTypeAny =
    spec.rule ??
    (kind === 'String' ? z.string()
      : kind === 'Int' ? z.number().int('must be a whole number')
      : kind === 'Boolean' ? z.boolean()
      : kind === 'Tls' ? tlsSchema
      : kind === 'Headers' ? headersSchema
      : z.enum(kind.values as [string, ...string[]]));
  if (spec.required) return base;
  if (kind === 'Headers') return base.default([]);
  if (spec.default !== undefined && !spec.defaultWhenUnset) return base.default(spec.default);
  return base.optional();
}

function shapeOf(fields: Fields): z.ZodRawShape {
  return Object.fromEntries(Object.entries(fields).map(([name, spec]) => [name, fieldSchema(spec)]));
}

/** Dotted paths of the secret fields of a field table, nested `tls` included. */
function secretPaths(fields: Fields): string[] {
  return Object.entries(fields).flatMap(([name, spec]) => {
    if (spec.type === 'Tls') return Object.entries(TLS_FIELDS).filter(([, f]) => 'secret' in f && f.secret).map(([sub]) => `${name}.${sub}`);
    return spec.secret ? [name] : [];
  });
}

/**
 * Completes a destination spec into its descriptor: builds the validation schema from the fields (each
 * field's rule, required/default/optional, unknown fields refused), then `refine` and `finish`.
 *
 * @example
 * ```ts
 * const FIELDS = { endpoint: { type: 'String', required: true, rule: urlRule } } as const satisfies Fields;
 * export type ExampleConfig = FieldsConfig<'EXAMPLE', typeof FIELDS>;
 * export const example = defineDestination<'EXAMPLE', typeof FIELDS, ExampleConfig>({ type: 'EXAMPLE', typeName: 'Example', description: '…', configDescription: '…', fields: FIELDS });
 * ```
 */
export function defineDestination<T extends string, F extends Fields, C extends { type: T } = FieldsConfig<T, F> & { type: T }>(
  spec: DestinationSpec<T, F, C>,
): DestinationDescriptor<T, C> {
  let schema: z.ZodTypeAny = z.object({ type: z.literal(spec.type), ...shapeOf(spec.fields) }).strict();
  if (spec.refine) schema = schema.superRefine(spec.refine as never);
  if (spec.finish) schema = schema.transform(spec.finish as never);
  return Object.freeze({
    type: spec.type,
    member: spec.type.toLowerCase() as Lowercase<T>,
    typeName: spec.typeName,
    description: spec.description,
    configDescription: spec.configDescription,
    fields: spec.fields,
    schema: schema as unknown as z.ZodType<C, z.ZodTypeDef, unknown>,
    secretFields: Object.freeze(secretPaths(spec.fields)),
    batching: Object.freeze({ ...DEFAULT_BATCHING, ...spec.batching }),
    ...(spec.merge ? { merge: spec.merge } : {}),
  });
}
