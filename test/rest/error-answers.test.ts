import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, GatewayError, HTTP_STATUS, MethodNotAllowedError, isErrorCode } from '../../src/errors.js';
import { EventValidationError } from '../../src/events/event-schema.js';
import { toGatewayError } from '../../src/service/client-error.js';
import { InvalidInputError, RecordNotFoundError, StoreUnavailableError } from '../../src/store/store-errors.js';
import { ApiKeyRevokedError } from '../../src/store/tenant-store.js';
import { ADMIN_TOKEN, readJsonAnswer, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Issue 10, one error module: every route answers an error with `{"error": {"code", "message"}}`, the code one
 * of `ErrorCode` and the status the code's; a path no route has is 404 NOT_FOUND, a method a route does not
 * take 405 METHOD_NOT_ALLOWED with `Allow`. (Before, 404 answered `{"error": "not found"}` and /metrics text.)
 */

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway({ env: { SIEMGATE_METRICS_TOKEN: METRICS_TOKEN } });
});
afterAll(async () => {
  await g?.stop({ removeDatabase: true });
});

async function call(method: string, path: string, headers: Record<string, string> = {}) {
  const body = method === 'GET' || method === 'HEAD' ? undefined : '{}';
  const response = await fetch(`${g.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...headers }, body });
  return { ...(await readJsonAnswer(response)), headers: response.headers };
}

/** The one error body: exactly `error.code` and `error.message` (plus details some codes carry). */
function expectErrorShape(answer: { status: number; json: any; headers: Headers }, code: ErrorCode, where: string) {
  expect(answer.status, where).toBe(HTTP_STATUS[code]);
  expect(answer.headers.get('content-type'), where).toMatch(/^application\/json/);
  expect(Object.keys(answer.json ?? {}), where).toEqual(['error']);
  expect(answer.json.error, where).toMatchObject({ code, message: expect.any(String) });
  expect(answer.json.error.message.length, where).toBeGreaterThan(0);
}

describe('a path no route has', () => {
  // One unknown path in (or beside) every route family.
  it.each([
    '/admin',
    '/',
    '/healthz/deep',
    '/readyz/x',
    '/metrics/x',
    '/v1/events/x',
    '/v1/events/',
    '/v1',
    '/v1/openapi.json/x',
    '/v1/settings/siem/some-id/test/more',
    '/v1/settings/siem/some-id/unknown',
    '/graphql/x',
    '/graphiql',
  ])('%s answers 404 NOT_FOUND in the common shape, naming the path', async (path) => {
    for (const method of ['GET', 'POST']) {
      const answer = await call(method, path);
      expectErrorShape(answer, ErrorCode.NOT_FOUND, `${method} ${path}`);
      expect(answer.json.error.message).toContain(path.split('?')[0]);
    }
  });
});

describe('a method the route does not take', () => {
  it.each([
    ['DELETE', '/healthz', 'GET, HEAD'],
    ['POST', '/readyz', 'GET, HEAD'],
    ['POST', '/metrics', 'GET, HEAD'],
    ['GET', '/v1/events', 'POST'],
    ['PUT', '/v1/events', 'POST'],
    ['PATCH', '/v1/settings/siem', 'GET, POST'],
    ['POST', '/v1/settings/siem/some-id', 'GET, PUT, DELETE'],
    ['GET', '/v1/settings/siem/some-id/test', 'POST'],
    ['DELETE', '/v1/openapi.json', 'GET, HEAD'],
    ['PUT', '/graphql', 'GET, POST, OPTIONS'],
    ['DELETE', '/graphql', 'GET, POST, OPTIONS'],
  ])('%s %s answers 405 METHOD_NOT_ALLOWED with Allow: %s', async (method, path, allow) => {
    const answer = await call(method, path);
    expectErrorShape(answer, ErrorCode.METHOD_NOT_ALLOWED, `${method} ${path}`);
    expect(answer.headers.get('allow')).toBe(allow);
  });

  it('HEAD of a route that takes GET and HEAD answers 200 without a body', async () => {
    const answer = await call('HEAD', '/healthz');
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('');
  });
});

describe('refusals of every route family in the one shape', () => {
  it('/metrics without its token: 401 UNAUTHENTICATED with WWW-Authenticate, nothing of the registry', async () => {
    const answer = await call('GET', '/metrics', { authorization: `Bearer ${ADMIN_TOKEN}` });
    expectErrorShape(answer, ErrorCode.UNAUTHENTICATED, 'GET /metrics');
    expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(answer.text).not.toContain('siemgate_');
    expect((await call('GET', '/metrics', { authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(200);
  });

  it('/v1/events and the settings API without a key: 401 UNAUTHENTICATED with WWW-Authenticate: Bearer', async () => {
    for (const [method, path] of [['POST', '/v1/events'], ['GET', '/v1/settings/siem']] as const) {
      const answer = await call(method, path, { authorization: '' });
      expectErrorShape(answer, ErrorCode.UNAUTHENTICATED, `${method} ${path}`);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('the settings API: 404 NOT_FOUND for an id nobody has, 400 BAD_USER_INPUT naming the field', async () => {
    expectErrorShape(await call('GET', '/v1/settings/siem/no-such-id'), ErrorCode.NOT_FOUND, 'GET by id');
    const bad = await call('POST', '/v1/settings/siem');
    expectErrorShape(bad, ErrorCode.BAD_USER_INPUT, 'POST without fields');
    expect(bad.json.error.field).toBe('integration_type');
  });

  it('/v1/events: 415 UNSUPPORTED_MEDIA_TYPE for another Content-Encoding, 400 BAD_USER_INPUT with issues for an invalid event', async () => {
    expectErrorShape(await call('POST', '/v1/events', { 'content-encoding': 'br' }), ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'br');
    const response = await fetch(`${g.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify([{ type: 'scan', severity: 'LOUD' }]),
    });
    const invalid = { ...(await readJsonAnswer(response)), headers: response.headers };
    expectErrorShape(invalid, ErrorCode.BAD_USER_INPUT, 'invalid event');
    expect(invalid.json.error.issues[0].path).toMatch(/^events\[0\]\.severity/);
  });

  it('GraphQL keeps GraphQL-over-HTTP answers for GraphQL requests: errors[].extensions.code from the same enum', async () => {
    const response = await fetch(`${g.url}/graphql`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{ viewer { role } }' });
    const answer = await readJsonAnswer(response);
    expect(answer.status).toBe(415);
    expect(answer.json.errors[0].extensions.code).toBe(ErrorCode.UNSUPPORTED_MEDIA_TYPE);
    const unauthenticated = await g.gql('{ viewer { role } }', {}, null);
    expect(unauthenticated.status).toBe(401);
    expect(isErrorCode(unauthenticated.errors?.[0]?.extensions?.code)).toBe(true);
  });
});

describe('the error module', () => {
  it('gives every code a 4xx or 5xx status; server-side codes are the 5xx ones', () => {
    for (const code of Object.values(ErrorCode)) {
      expect(HTTP_STATUS[code], code).toBeGreaterThanOrEqual(400);
      expect(HTTP_STATUS[code], code).toBeLessThan(600);
    }
    expect(Object.keys(HTTP_STATUS).sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('maps each domain error to one client error, and internal errors to none (they are masked)', () => {
    const cases: [unknown, ErrorCode, number][] = [
      [new RecordNotFoundError('SiemIntegration', 'x'), ErrorCode.NOT_FOUND, 404],
      [new InvalidInputError([{ path: 'config.splunk.endpoint', message: 'must be a URL' }]), ErrorCode.BAD_USER_INPUT, 400],
      [new EventValidationError([{ path: 'events[0].severity', message: 'invalid' }]), ErrorCode.BAD_USER_INPUT, 400],
      [new StoreUnavailableError('read-only'), ErrorCode.STORE_UNAVAILABLE, 503],
      [new ApiKeyRevokedError(), ErrorCode.UNAUTHENTICATED, 401],
      [new MethodNotAllowedError(['GET']), ErrorCode.METHOD_NOT_ALLOWED, 405],
    ];
    for (const [error, code, status] of cases) {
      const mapped = toGatewayError(error);
      expect(mapped, String(error)).toBeInstanceOf(GatewayError);
      expect([mapped!.code, mapped!.status], String(error)).toEqual([code, status]);
      expect(mapped!.toJSON().error.code).toBe(code);
    }
    expect(toGatewayError(new TypeError('x is undefined'))).toBeUndefined();
    expect(toGatewayError(new Error('SQLITE_CORRUPT'))).toBeUndefined();
  });

  it('names input paths the way each front end writes them', () => {
    const error = new InvalidInputError([{ path: 'config.splunk.endpoint', message: 'must be a URL' }]);
    expect(toGatewayError(error, { inputPath: (p) => `input.${p}` })!.toJSON()).toEqual({
      error: { code: 'BAD_USER_INPUT', message: 'input.config.splunk.endpoint: must be a URL', field: 'input.config.splunk.endpoint' },
    });
    expect(toGatewayError(error, { inputPath: (p) => p.replace('.splunk', '') })!.toJSON().error.message).toBe('config.endpoint: must be a URL');
  });
});
