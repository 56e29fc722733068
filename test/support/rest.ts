import { createHmac } from 'node:crypto';
import { ADMIN_TOKEN, readJsonAnswer, type TestGateway } from './gateway.js';
import { startHttpReceiver, type HttpReceiver, type ReceivedRequest } from './http-receiver.js';

/** One REST answer as a client sees it. */
export interface RestAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** One answer of the REST API, kept for checking against the OpenAPI document. */
export interface Sample {
  method: string;
  /** The OpenAPI path template, e.g. `/v1/settings/siem/{integration_id}`. */
  template: string;
  status: number;
  body: unknown;
}

/** Every answer of {@link rest} calls that named a template, in order. */
export const samples: Sample[] = [];

/**
 * Calls the REST API like any HTTP client: JSON body (or a raw string), `Authorization: Bearer <token>`
 * (default the bootstrap admin; null sends none). `template` records the answer in {@link samples}.
 */
export async function rest(
  g: Pick<TestGateway, 'url'>,
  method: string,
  path: string,
  body?: unknown,
  options: { token?: string | null; contentType?: string; template?: string } = {},
): Promise<RestAnswer> {
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  const response = await fetch(`${g.url}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': options.contentType ?? 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const { text, json } = await readJsonAnswer(response);
  if (options.template) samples.push({ method: method.toLowerCase(), template: options.template, status: response.status, body: json ?? null });
  return { status: response.status, headers: response.headers, text, json };
}

/** Creates an API key of `role` in organisation `slug` (created if new) through the store, as the CLI does; returns its token. */
export async function keyFor(g: TestGateway, slug: string, role: 'admin' | 'viewer' | 'ingest'): Promise<string> {
  const { organization } = await g.store.ensureOrganization(slug);
  const { token } = await g.store.tenant(organization.id).createApiKey({ name: `${slug} ${role}`, role }, { keyId: null, name: 'test' });
  return token;
}

export const WORKSPACE_ID = '4f6d7e8a-1b2c-4d3e-8f9a-0b1c2d3e4f5a';
export const SHARED_KEY = Buffer.alloc(64, 42).toString('base64');

/**
 * A Log Analytics HTTP Data Collector API stand-in, written from Microsoft's documentation: accepts
 * `POST /api/logs` only with `Authorization: SharedKey <workspace>:<base64 HMAC-SHA256 of
 * "POST\n<length>\napplication/json\nx-ms-date:<date>\n/api/logs">` under the base64-decoded key.
 */
export async function startDataCollector(workspaceId = WORKSPACE_ID, key = SHARED_KEY): Promise<HttpReceiver> {
  const expected = (req: ReceivedRequest) => {
    const toSign = `POST\n${req.body.length}\napplication/json\nx-ms-date:${String(req.headers['x-ms-date'])}\n/api/logs`;
    return `SharedKey ${workspaceId}:${createHmac('sha256', Buffer.from(key, 'base64')).update(toSign, 'utf8').digest('base64')}`;
  };
  return startHttpReceiver((req) => {
    if (!req.url.startsWith('/api/logs')) return { status: 404, body: '' };
    if (req.headers.authorization !== expected(req)) return { status: 403, body: '{"Error":"InvalidAuthorization","Message":"An invalid scheme was specified in the Authorization header"}' };
    return { status: 200, body: '' };
  });
}

/** The `X-ARX-Signature` a webhook receiver expects, computed from the product documentation's recipe. */
export function arxSignature(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
