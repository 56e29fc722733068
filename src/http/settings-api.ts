import type { IncomingMessage, ServerResponse } from 'node:http';
import { Role } from '../auth/api-token.js';
import { authenticate } from '../auth/authenticate.js';
import type { IntegrationTester } from '../delivery/integration-tester.js';
import type { ConfigIssue } from '../destinations/destination-config.js';
import type { SiemIntegrationType } from '../destinations/types.js';
import { BadUserInputError, ForbiddenError, MethodNotAllowedError, NotFoundError, UnsupportedMediaTypeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { integrationService } from '../service/integration-service.js';
import { REST_TYPES, configFromRest, restPath, toRestIntegration, typeFromRest } from '../service/rest-representation.js';
import type { Principal, Store } from '../store/store.js';
import { InvalidInputError } from '../store/store-errors.js';
import type { Batching, IntegrationFilter, UpdateIntegrationInput } from '../store/tenant-store.js';
import { openApiDocument } from './openapi.js';
import { answerError } from './answer.js';
import { readBody, sendJson } from './read-body.js';

/** Where the REST API for SIEM integrations lives (the product documentation's paths). */
export const SETTINGS_API_PATH = '/v1/settings/siem';
/** The OpenAPI 3.1 document of the REST API. */
export const OPENAPI_PATH = '/v1/openapi.json';

/**
 * The router's route table: path template → methods. A request whose path fits no template is a 404, a
 * method not listed a 405 with `Allow`. The OpenAPI test checks that the document describes every entry.
 */
export const SETTINGS_API_ROUTES: Readonly<Record<string, readonly string[]>> = {
  [OPENAPI_PATH]: ['GET', 'HEAD'],
  [SETTINGS_API_PATH]: ['GET', 'POST'],
  [`${SETTINGS_API_PATH}/{integration_id}`]: ['GET', 'PUT', 'DELETE'],
  [`${SETTINGS_API_PATH}/{integration_id}/test`]: ['POST'],
};

/** Whether a request path belongs to {@link handleSettingsApi}. */
export function isSettingsApiPath(pathname: string): boolean {
  return pathname === OPENAPI_PATH || pathname === SETTINGS_API_PATH || pathname.startsWith(`${SETTINGS_API_PATH}/`);
}

/** Options of {@link handleSettingsApi}. */
export interface SettingsApiOptions {
  services: { store: Store; tester: IntegrationTester };
  log: Logger;
  /** Largest request body. */
  maxBodyBytes: number;
}

/** Top-level fields of a REST integration body, snake_case. */
const CREATE_FIELDS = ['integration_type', 'name', 'config', 'enabled', 'customer_id', 'batching'] as const;
const BATCHING_FIELDS: Record<string, keyof Batching> = {
  batch_size: 'batchSize',
  flush_interval_seconds: 'flushIntervalSeconds',
  retry_count: 'retryCount',
  timeout_seconds: 'timeoutSeconds',
};
const LIST_QUERY = ['integration_type', 'enabled', 'customer_id'];

const badInput = (issues: ConfigIssue[]) => BadUserInputError.fromIssues(issues);

/**
 * The REST API of the product documentation over the integration service (the same service GraphQL
 * resolvers call, so tenancy, validation, secrets, audit and live status are shared):
 *
 * - `GET /v1/settings/siem` → 200, the organisation's integrations (optional `?integration_type=&customer_id=&enabled=`)
 * - `POST /v1/settings/siem` `{integration_type, name, config, enabled}` → 201, the integration
 * - `GET /v1/settings/siem/{id}` → 200; `PUT` (partial update) → 200; `DELETE` → 204 No Content
 * - `POST /v1/settings/siem/{id}/test` → 200 `{"success": true, "message": "Test event sent successfully"}`
 *   or `{"success": false, "message": "Connection test failed: <details>"}`
 * - `GET /v1/openapi.json` → the OpenAPI 3.1 document (no key needed)
 *
 * Admin keys only. Errors, answered `{"error": {"code", "message"}}` (see `answer.ts`): 400 BAD_USER_INPUT
 * naming the snake_case field (`config.workspace_id: …`, also in `field`), 401, 403, 404 (also for another
 * organisation's id), 405 with `Allow`, 413, 415 (not JSON), 503. Nothing is written on any error.
 *
 * @example
 * ```ts
 * if (isSettingsApiPath(url.pathname)) return handleSettingsApi(req, res, { services, log, maxBodyBytes });
 * ```
 */
export async function handleSettingsApi(req: IncomingMessage, res: ServerResponse, options: SettingsApiOptions): Promise<void> {
  try {
    await route(req, res, options);
  } catch (error) {
    answerError(req, res, error, { log: options.log, route: 'settings API', inputPath: (path) => restPath(path) || 'body' });
  }
}

async function route(req: IncomingMessage, res: ServerResponse, options: SettingsApiOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://gateway');
  const method = req.method ?? 'GET';
  if (url.pathname === OPENAPI_PATH) {
    allow(method, SETTINGS_API_ROUTES[OPENAPI_PATH]!);
    const text = openApiText();
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
    res.end(method === 'HEAD' ? undefined : text);
    return;
  }
  const rest = url.pathname.slice(SETTINGS_API_PATH.length).replace(/\/$/, '');
  const parts = rest === '' ? [] : rest.slice(1).split('/');
  let id: string | undefined;
  if (parts.length >= 1) {
    try {
      id = decodeURIComponent(parts[0]!);
    } catch {
      throw new NotFoundError(`No route for ${url.pathname}`);
    }
  }
  const template = [SETTINGS_API_PATH, ...parts.map((p, i) => (i === 0 ? '{integration_id}' : p))].join('/');
  const methods = SETTINGS_API_ROUTES[template];
  if (!methods || (parts.length >= 1 && !id)) throw new NotFoundError(`No route for ${url.pathname}`);
  allow(method, methods);

  const principal = await authenticateAdmin(req, options.services.store);
  const service = integrationService(options.services);

  if (parts.length === 0 && method === 'GET') {
    const list = await service.list(principal, listFilter(url.searchParams));
    return sendJson(res, 200, list.map(toRestIntegration));
  }
  if (parts.length === 0) {
    const body = await readJsonObject(req, options.maxBodyBytes);
    const { input, headerNames } = createInput(body);
    const created = await withRestPaths(headerNames, () => service.create(principal, input));
    return sendJson(res, 201, toRestIntegration(created), { location: `${SETTINGS_API_PATH}/${encodeURIComponent(created.id)}` });
  }
  if (parts.length === 2) {
    const result = await service.test(principal, id!);
    return sendJson(res, 200, { success: result.success, message: result.message });
  }
  if (method === 'GET') return sendJson(res, 200, toRestIntegration(await service.get(principal, id!)));
  if (method === 'DELETE') {
    await service.delete(principal, id!);
    res.writeHead(204);
    res.end();
    return;
  }
  // PUT: content type and body are checked before the id, so a bad request is a 4xx whatever the id.
  const body = await readJsonObject(req, options.maxBodyBytes);
  const stored = await service.get(principal, id!);
  const { patch, headerNames } = updateInput(body, stored.type);
  const updated = await withRestPaths(headerNames, () => service.update(principal, id!, patch));
  return sendJson(res, 200, toRestIntegration(updated));
}

function allow(method: string, methods: readonly string[]): void {
  if (!methods.includes(method)) throw new MethodNotAllowedError(methods);
}

async function authenticateAdmin(req: IncomingMessage, store: Store): Promise<Principal> {
  const principal: Principal = await authenticate(store, req.headers.authorization);
  if (principal.role !== Role.ADMIN) {
    throw new ForbiddenError(`Role ${principal.role} may not use the SIEM settings API; it requires an admin key`);
  }
  return principal;
}

async function readJsonObject(req: IncomingMessage, maxBodyBytes: number): Promise<Record<string, unknown>> {
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(contentType)) {
    throw new UnsupportedMediaTypeError('Send the body as application/json');
  }
  const text = (await readBody(req, maxBodyBytes)).toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw badInput([{ path: 'body', message: `not valid JSON (${(error as Error).message})` }]);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badInput([{ path: 'body', message: 'must be a JSON object' }]);
  return body as Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function unknownKeys(body: Record<string, unknown>, known: readonly string[], prefix = ''): ConfigIssue[] {
  return Object.keys(body)
    .filter((k) => !known.includes(k))
    .map((k) => ({ path: `${prefix}${k}`, message: `is not a field here (known: ${known.join(', ')})` }));
}

function batchingFromRest(value: unknown, issues: ConfigIssue[]): Partial<Batching> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) {
    issues.push({ path: 'batching', message: 'must be an object' });
    return undefined;
  }
  issues.push(...unknownKeys(value, Object.keys(BATCHING_FIELDS), 'batching.'));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (BATCHING_FIELDS[k] && v !== null) out[BATCHING_FIELDS[k]] = v;
  return out as Partial<Batching>;
}

function headerNamesOf(config: Record<string, unknown>): string[] {
  return isObject(config.headers) ? Object.keys(config.headers) : [];
}

function createInput(body: Record<string, unknown>) {
  const issues = unknownKeys(body, CREATE_FIELDS);
  const type = typeFromRest(body.integration_type);
  if (body.integration_type === undefined) issues.push({ path: 'integration_type', message: `is required (one of ${REST_TYPES.join(', ')})` });
  else if (!type) issues.push({ path: 'integration_type', message: `must be one of ${REST_TYPES.join(', ')}` });
  if (body.name === undefined) issues.push({ path: 'name', message: 'is required' });
  if (body.config === undefined) issues.push({ path: 'config', message: 'is required' });
  else if (!isObject(body.config)) issues.push({ path: 'config', message: 'must be an object' });
  const batching = batchingFromRest(body.batching, issues);
  const translated = type && isObject(body.config) ? configFromRest(type, body.config) : { config: {}, issues: [] };
  issues.push(...translated.issues);
  if (issues.length > 0) throw badInput(issues);
  return {
    input: {
      type: type!,
      name: body.name as string,
      config: translated.config,
      enabled: body.enabled as boolean | undefined,
      customerId: body.customer_id as string | null | undefined,
      batching,
    },
    headerNames: headerNamesOf(body.config as Record<string, unknown>),
  };
}

function updateInput(body: Record<string, unknown>, type: SiemIntegrationType) {
  const issues = unknownKeys(body, CREATE_FIELDS);
  if (body.integration_type !== undefined && typeFromRest(body.integration_type) !== type) {
    issues.push({ path: 'integration_type', message: `cannot change (this integration is ${type.toLowerCase()}); create a new integration instead` });
  }
  if (body.config !== undefined && !isObject(body.config)) issues.push({ path: 'config', message: 'must be an object' });
  const batching = batchingFromRest(body.batching, issues);
  const translated = isObject(body.config) ? configFromRest(type, body.config) : undefined;
  if (translated) issues.push(...translated.issues);
  if (issues.length > 0) throw badInput(issues);
  const patch: UpdateIntegrationInput = {
    name: body.name as string | undefined,
    enabled: body.enabled as boolean | undefined,
    customerId: body.customer_id as string | null | undefined,
    batching,
    config: translated?.config,
  };
  if (body.name === null) patch.name = null as never; // refused by the name rule, not silently ignored
  if (body.enabled === null) patch.enabled = null as never;
  return { patch, headerNames: isObject(body.config) ? headerNamesOf(body.config) : [] };
}

function listFilter(params: URLSearchParams): IntegrationFilter {
  const issues = [...params.keys()].filter((k) => !LIST_QUERY.includes(k)).map((k) => ({ path: `query.${k}`, message: `is not a filter (known: ${LIST_QUERY.join(', ')})` }));
  const filter: IntegrationFilter = {};
  const type = params.get('integration_type');
  if (type !== null) {
    const t = typeFromRest(type);
    if (!t) issues.push({ path: 'query.integration_type', message: `must be one of ${REST_TYPES.join(', ')}` });
    else filter.type = t;
  }
  const enabled = params.get('enabled');
  if (enabled !== null) {
    if (enabled !== 'true' && enabled !== 'false') issues.push({ path: 'query.enabled', message: 'must be true or false' });
    else filter.enabled = enabled === 'true';
  }
  const customer = params.get('customer_id');
  if (customer !== null) filter.customerId = customer;
  if (issues.length > 0) throw badInput(issues);
  return filter;
}

/** Runs a service call, translating its input paths (`config.sentinel.workspaceId`) to the REST body's (`config.workspace_id`). */
async function withRestPaths<T>(headerNames: string[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof InvalidInputError) throw badInput(error.issues.map((i) => ({ path: restPath(i.path, headerNames) || 'body', message: i.message })));
    throw error;
  }
}

let openApiCache: string | undefined;
function openApiText(): string {
  openApiCache ??= JSON.stringify(openApiDocument());
  return openApiCache;
}
