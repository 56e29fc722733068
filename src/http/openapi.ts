import { z } from 'zod/v4';
import { securityEventSchema } from '../events/event-schema.js';
import { SECRET_FIELDS } from '../destinations/destination-config.js';
import type { SiemIntegrationType } from '../destinations/types.js';
import { DESTINATION_FIELDS, TLS_FIELDS, type DestinationMember, type FieldSpec } from '../service/destination-fields.js';
import { REST_TYPES, snake } from '../service/rest-representation.js';

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1). */
export type JsonSchema = { [keyword: string]: unknown };

interface MediaType {
  schema: JsonSchema;
  example?: unknown;
}
interface Response {
  description: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
  content?: Record<string, MediaType>;
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  description?: string;
  schema: JsonSchema;
}
interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, MediaType> };
  responses: Record<string, Response>;
  security?: Record<string, string[]>[];
}
type PathItem = { parameters?: Parameter[] } & Partial<Record<'get' | 'post' | 'put' | 'delete', Operation>>;

/** The OpenAPI 3.1 document type, as far as this API uses it. */
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  jsonSchemaDialect: string;
  servers: { url: string }[];
  security: Record<string, string[]>[];
  paths: Record<string, PathItem>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown>; responses: Record<string, Response> };
}

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` }) as unknown as Response;
const json = (schema: JsonSchema, example?: unknown): Record<string, MediaType> => ({ 'application/json': { schema, ...(example !== undefined ? { example } : {}) } });
const NULLABLE_STRING: JsonSchema = { type: ['string', 'null'] };
const DATE_TIME: JsonSchema = { type: 'string', format: 'date-time' };
const TYPE_NAME: Record<DestinationMember, string> = Object.fromEntries(REST_TYPES.map((m) => [m, DESTINATION_FIELDS[m].typeName])) as never;

function fieldSchema(spec: FieldSpec, mode: 'in' | 'out'): JsonSchema {
  const described = (s: JsonSchema): JsonSchema => ({
    ...s,
    ...(spec.description ? { description: spec.description } : {}),
    ...(spec.default !== undefined ? { default: typeof spec.default === 'string' && typeof spec.type === 'object' ? spec.default.toLowerCase() : spec.default } : {}),
  });
  if (spec.type === 'String') return described({ type: 'string' });
  if (spec.type === 'Int') return described({ type: 'integer' });
  if (spec.type === 'Boolean') return described({ type: 'boolean' });
  if (spec.type === 'Tls') return ref(mode === 'in' ? 'TlsInput' : 'Tls');
  if (spec.type === 'Headers') return described({ type: 'object', additionalProperties: { type: 'string' }, description: 'Extra HTTP headers, name → value. Write-only; replaced as a whole on update.' });
  return described({ type: 'string', enum: spec.type.values.map((v) => v.toLowerCase()) });
}

function configInputSchema(member: DestinationMember, mode: 'create' | 'update'): JsonSchema {
  const fields = DESTINATION_FIELDS[member].fields;
  const required = mode === 'create' ? Object.entries(fields).filter(([, f]) => f.required).map(([k]) => snake(k)) : [];
  return {
    type: 'object',
    description: `${TYPE_NAME[member]} settings${mode === 'update' ? ': only the given fields change; omitted fields, secrets included, keep their values' : ''}.`,
    properties: Object.fromEntries(Object.entries(fields).map(([k, f]) => [snake(k), fieldSchema(f, 'in')])),
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}

function configOutputSchema(member: DestinationMember): JsonSchema {
  const type = member.toUpperCase() as SiemIntegrationType;
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  if (member === 'sentinel') {
    properties.api = { type: 'string', enum: ['data_collector', 'logs_ingestion'], description: 'Which Sentinel API the fields select.' };
    required.push('api');
  }
  for (const [k, f] of Object.entries(DESTINATION_FIELDS[member].fields)) {
    if (SECRET_FIELDS[type].includes(k)) {
      properties[`has_${snake(k)}`] = { type: 'boolean', description: `Whether ${snake(k)} is set. The value itself is never returned.` };
      required.push(`has_${snake(k)}`);
      if (k === 'headers') {
        properties.header_names = { type: 'array', items: { type: 'string' }, description: 'Names of the extra headers (values are never returned).' };
        required.push('header_names');
      }
      continue;
    }
    properties[snake(k)] = fieldSchema(f, 'out');
    if (f.required || f.default !== undefined) required.push(snake(k));
  }
  return { type: 'object', description: `${TYPE_NAME[member]} settings as stored; secrets only as has_<field>.`, properties, required, additionalProperties: false };
}

const BATCHING_PROPERTIES: Record<string, JsonSchema> = {
  batch_size: { type: 'integer', minimum: 1, maximum: 10000, default: 100, description: 'Events per batch.' },
  flush_interval_seconds: { type: 'integer', minimum: 1, maximum: 3600, default: 10, description: 'Longest wait before a partial batch is sent.' },
  retry_count: { type: 'integer', minimum: 0, maximum: 20, default: 3, description: 'Quick retries before the slow retry schedule.' },
  timeout_seconds: { type: 'integer', minimum: 1, maximum: 300, default: 30, description: 'Per-attempt timeout.' },
};

const ERROR_EXAMPLE = { error: { code: 'BAD_USER_INPUT', message: 'config.endpoint: must be an http or https URL, not ftp' } };

const SPLUNK_EXAMPLE = {
  integration_type: 'splunk',
  name: 'Production Splunk',
  config: { endpoint: 'https://splunk.example.com:8088/services/collector', token: 'your-hec-token', index: 'arxsec', source: 'arxsec-api', sourcetype: '_json' },
  enabled: true,
};

function schemas(): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {
    Error: {
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: { type: 'string', description: 'Stable: BAD_USER_INPUT, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, METHOD_NOT_ALLOWED, REQUEST_TIMEOUT, UNSUPPORTED_MEDIA_TYPE, PAYLOAD_TOO_LARGE, STORE_UNAVAILABLE, INTERNAL_SERVER_ERROR. Every route of the gateway answers errors in this shape (GraphQL requests excepted).' },
            message: { type: 'string', description: 'For BAD_USER_INPUT: `<snake_case path>: <rule>`, e.g. `config.workspace_id: must be a GUID`.' },
            field: { type: 'string', description: 'BAD_USER_INPUT only, when known: the path of the first rule broken, e.g. `config.workspace_id`.' },
            issues: { type: 'array', items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } }, description: 'POST /v1/events only: every rule broken, by event index and field.' },
          },
        },
      },
    },
    TlsInput: {
      type: 'object',
      properties: Object.fromEntries(Object.entries(TLS_FIELDS).map(([k, f]) => [snake(k), fieldSchema(f, 'in')])),
      additionalProperties: false,
    },
    Tls: {
      type: 'object',
      properties: {
        ca_cert: { type: 'string' },
        client_cert: { type: 'string' },
        reject_unauthorized: { type: 'boolean' },
        has_client_key: { type: 'boolean', description: 'Whether a client private key is set (never returned).' },
      },
      required: ['reject_unauthorized', 'has_client_key'],
      additionalProperties: false,
    },
    BatchingInput: { type: 'object', properties: BATCHING_PROPERTIES, additionalProperties: false },
    Batching: { type: 'object', properties: BATCHING_PROPERTIES, required: Object.keys(BATCHING_PROPERTIES), additionalProperties: false },
    TestResult: {
      type: 'object',
      required: ['success', 'message'],
      properties: {
        success: { type: 'boolean' },
        message: { type: 'string', description: '"Test event sent successfully" or "Connection test failed: <details>" (never a secret).' },
      },
      additionalProperties: false,
    },
    IngestResult: {
      type: 'object',
      required: ['accepted', 'duplicates', 'movedToData'],
      properties: { accepted: { type: 'integer', minimum: 0 }, duplicates: { type: 'integer', minimum: 0, description: 'Events whose id was already stored (stored once).' }, movedToData: { type: 'integer', minimum: 0, description: 'Unknown top-level fields kept under `data`, over all events.' } },
      additionalProperties: false,
    },
    SecurityEvent: securityEventJsonSchema(),
  };
  for (const m of REST_TYPES) {
    const name = TYPE_NAME[m];
    out[`${name}ConfigInput`] = configInputSchema(m, 'create');
    out[`${name}ConfigUpdate`] = configInputSchema(m, 'update');
    out[`${name}Config`] = configOutputSchema(m);
    out[`Create${name}Integration`] = {
      type: 'object',
      required: ['integration_type', 'name', 'config'],
      properties: {
        integration_type: { const: m },
        name: { type: 'string', minLength: 1, maxLength: 200 },
        config: ref(`${name}ConfigInput`),
        enabled: { type: 'boolean', default: true },
        customer_id: { type: ['string', 'null'], pattern: '^[A-Za-z0-9._:@-]+$', maxLength: 128, description: 'Route only this customer\'s events here; absent or null receives every event of the organisation.' },
        batching: ref('BatchingInput'),
      },
      additionalProperties: false,
    };
    out[`${name}Integration`] = {
      type: 'object',
      required: ['id', 'integration_type', 'name', 'enabled', 'customer_id', 'config', 'batching', 'health', 'error_count', 'last_error', 'last_error_at', 'last_event_at', 'created_at', 'updated_at'],
      properties: {
        id: { type: 'string', format: 'uuid' },
        integration_type: { const: m },
        name: { type: 'string' },
        enabled: { type: 'boolean' },
        customer_id: NULLABLE_STRING,
        config: ref(`${name}Config`),
        batching: ref('Batching'),
        health: { type: 'string', enum: ['unknown', 'healthy', 'degraded', 'failing', 'disabled'], description: 'unknown: nothing tried yet (no delivery, no connection test); healthy: no failure since the last success; degraded: 1–2 consecutive failures; failing: 3 or more.' },
        error_count: { type: 'integer', minimum: 0, description: 'Consecutive delivery failures; reset to 0 by any success.' },
        last_error: { ...NULLABLE_STRING, description: 'Error of the most recent failure; cleared by a success. Never a secret.' },
        last_error_at: { anyOf: [DATE_TIME, { type: 'null' }] },
        last_event_at: { anyOf: [DATE_TIME, { type: 'null' }], description: 'When an event (or test event) was last delivered successfully.' },
        created_at: DATE_TIME,
        updated_at: DATE_TIME,
      },
      additionalProperties: false,
    };
  }
  out.CreateIntegration = {
    oneOf: REST_TYPES.map((m) => ref(`Create${TYPE_NAME[m]}Integration`)),
    discriminator: { propertyName: 'integration_type', mapping: Object.fromEntries(REST_TYPES.map((m) => [m, `#/components/schemas/Create${TYPE_NAME[m]}Integration`])) },
  };
  out.SiemIntegration = {
    oneOf: REST_TYPES.map((m) => ref(`${TYPE_NAME[m]}Integration`)),
    discriminator: { propertyName: 'integration_type', mapping: Object.fromEntries(REST_TYPES.map((m) => [m, `#/components/schemas/${TYPE_NAME[m]}Integration`])) },
  };
  out.UpdateIntegration = {
    type: 'object',
    description: 'A partial update: only the given fields change. `integration_type`, when given, must be the stored type.',
    properties: {
      integration_type: { type: 'string', enum: REST_TYPES },
      name: { type: 'string', minLength: 1, maxLength: 200 },
      config: { anyOf: REST_TYPES.map((m) => ref(`${TYPE_NAME[m]}ConfigUpdate`)), description: 'Fields of the integration\'s own type.' },
      enabled: { type: 'boolean' },
      customer_id: { type: ['string', 'null'], description: 'null makes the integration global again.' },
      batching: ref('BatchingInput'),
    },
    additionalProperties: false,
  };
  return out;
}

/** The ingest endpoint's event, generated from the very zod schema `POST /v1/events` validates with. */
function securityEventJsonSchema(): JsonSchema {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(securityEventSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  return {
    ...schema,
    description: 'A security event. `severity` is NONE, LOW, MEDIUM, HIGH or CRITICAL (any case); `time` an RFC 3339 time; `id` a UUID (generated when absent, deduplicated when given). snake_case aliases (`event_type`, `timestamp`, `customer_id`, …) are accepted; other unknown fields are kept under `data`.',
    additionalProperties: true,
  };
}

const ID_PARAMETER: Parameter = { name: 'integration_id', in: 'path', required: true, description: 'The integration\'s id.', schema: { type: 'string' } };
const TAGS = ['SIEM settings'];

/**
 * The OpenAPI 3.1 document of the REST API (`GET /v1/openapi.json`): the SIEM settings routes of the
 * product documentation and `POST /v1/events`. Built from the same field table as the GraphQL inputs
 * and the REST translation, and from the ingest endpoint's own event schema.
 *
 * @example
 * ```ts
 * const doc = openApiDocument();
 * doc.paths['/v1/settings/siem'].post.responses['201'];
 * ```
 */
export function openApiDocument(): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: {
      title: 'siemgate REST API',
      version: '1',
      description:
        'Manage SIEM integrations (admin API keys) and ingest security events (ingest or admin keys). GraphQL at /graphql is the primary API; these routes run on the same service. Secrets are write-only: answers show `has_<field>` booleans.',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    servers: [{ url: 'http://localhost:4000' }],
    security: [{ bearerAuth: [] }],
    paths: {
      '/v1/settings/siem': {
        get: {
          operationId: 'listSiemIntegrations',
          summary: 'List the organisation\'s SIEM integrations',
          tags: TAGS,
          parameters: [
            { name: 'integration_type', in: 'query', schema: { type: 'string', enum: REST_TYPES } },
            { name: 'customer_id', in: 'query', schema: { type: 'string' } },
            { name: 'enabled', in: 'query', schema: { type: 'string', enum: ['true', 'false'] } },
          ],
          responses: {
            '200': { description: 'The integrations, oldest first.', content: json({ type: 'array', items: ref('SiemIntegration') }) },
            '400': responseRef('BadRequest'),
            '401': responseRef('Unauthorized'),
            '403': responseRef('Forbidden'),
          },
        },
        post: {
          operationId: 'createSiemIntegration',
          summary: 'Create an integration',
          tags: TAGS,
          requestBody: { required: true, content: json(ref('CreateIntegration'), SPLUNK_EXAMPLE) },
          responses: {
            '201': {
              description: 'Created.',
              headers: { Location: { description: 'The new integration\'s URL.', schema: { type: 'string' } } },
              content: json(ref('SiemIntegration')),
            },
            '400': responseRef('BadRequest'),
            '401': responseRef('Unauthorized'),
            '403': responseRef('Forbidden'),
            '413': responseRef('PayloadTooLarge'),
            '415': responseRef('UnsupportedMediaType'),
            '503': responseRef('StoreUnavailable'),
          },
        },
      },
      '/v1/settings/siem/{integration_id}': {
        parameters: [ID_PARAMETER],
        get: {
          operationId: 'getSiemIntegration',
          summary: 'One integration',
          tags: TAGS,
          responses: { '200': { description: 'The integration.', content: json(ref('SiemIntegration')) }, '401': responseRef('Unauthorized'), '403': responseRef('Forbidden'), '404': responseRef('NotFound') },
        },
        put: {
          operationId: 'updateSiemIntegration',
          summary: 'Partially update an integration',
          description: 'Only include the fields you want to change.',
          tags: TAGS,
          requestBody: { required: true, content: json(ref('UpdateIntegration'), { config: { index: 'security' } }) },
          responses: {
            '200': { description: 'The updated integration.', content: json(ref('SiemIntegration')) },
            '400': responseRef('BadRequest'),
            '401': responseRef('Unauthorized'),
            '403': responseRef('Forbidden'),
            '404': responseRef('NotFound'),
            '413': responseRef('PayloadTooLarge'),
            '415': responseRef('UnsupportedMediaType'),
            '503': responseRef('StoreUnavailable'),
          },
        },
        delete: {
          operationId: 'deleteSiemIntegration',
          summary: 'Delete an integration',
          tags: TAGS,
          responses: { '204': { description: 'No Content.' }, '401': responseRef('Unauthorized'), '403': responseRef('Forbidden'), '404': responseRef('NotFound'), '503': responseRef('StoreUnavailable') },
        },
      },
      '/v1/settings/siem/{integration_id}/test': {
        parameters: [ID_PARAMETER],
        post: {
          operationId: 'testSiemIntegration',
          summary: 'Send one clearly marked test event',
          description: 'The outcome is recorded in error tracking (a success resets error_count and clears last_error).',
          tags: TAGS,
          responses: {
            '200': { description: 'The outcome (also when the test failed).', content: json(ref('TestResult'), { success: true, message: 'Test event sent successfully' }) },
            '401': responseRef('Unauthorized'),
            '403': responseRef('Forbidden'),
            '404': responseRef('NotFound'),
            '503': responseRef('StoreUnavailable'),
          },
        },
      },
      '/v1/events': {
        post: {
          operationId: 'ingestEvents',
          summary: 'Ingest security events (all or nothing)',
          description: 'A JSON array of events, or NDJSON (one event per line). Answers once every event is committed.',
          tags: ['Events'],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { type: 'array', items: ref('SecurityEvent'), minItems: 1 } },
              'application/x-ndjson': { schema: { type: 'string', description: 'One SecurityEvent JSON object per line.' } },
            },
          },
          responses: {
            '202': { description: 'Stored; delivery follows.', content: json(ref('IngestResult'), { accepted: 1, duplicates: 0, movedToData: 0 }) },
            '400': responseRef('BadRequest'),
            '401': responseRef('Unauthorized'),
            '403': responseRef('Forbidden'),
            '408': responseRef('RequestTimeout'),
            '413': responseRef('PayloadTooLarge'),
            '415': responseRef('UnsupportedMediaType'),
            '503': responseRef('StoreUnavailable'),
          },
        },
      },
      '/v1/openapi.json': {
        get: {
          operationId: 'openApiDocument',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'The OpenAPI 3.1 document.', content: json({ type: 'object' }) } },
        },
      },
    },
    components: {
      schemas: schemas(),
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'A siemgate API key: `Authorization: Bearer sg_…`.' } },
      responses: {
        BadRequest: { description: 'An input broke a rule; the message names the snake_case field. Nothing was written.', content: json(ref('Error'), ERROR_EXAMPLE) },
        Unauthorized: { description: 'No valid API key.', headers: { 'WWW-Authenticate': { description: 'Bearer', schema: { type: 'string' } } }, content: json(ref('Error')) },
        Forbidden: { description: 'The key\'s role does not allow this (settings: admin only; events: ingest or admin).', content: json(ref('Error')) },
        NotFound: { description: 'No integration with this id in the caller\'s organisation.', content: json(ref('Error')) },
        RequestTimeout: { description: 'The body did not arrive within the time allowed for its size; the connection is closed. Nothing was stored.', content: json(ref('Error')) },
        PayloadTooLarge: { description: 'The body exceeds the limit.', content: json(ref('Error')) },
        UnsupportedMediaType: { description: 'The body is not JSON.', content: json(ref('Error')) },
        StoreUnavailable: { description: 'The database cannot take writes right now.', headers: { 'Retry-After': { description: 'Seconds.', schema: { type: 'string' } } }, content: json(ref('Error')) },
      },
    },
  };
}
