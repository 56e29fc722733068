import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Errors of queries as the GraphQL specification and graphql-js give them, whichever executor runs the
 * query (queries are compiled, see src/plugins/use-compiled-queries.ts): each error names where in the
 * document it arose (`locations`) and the response path; variables that do not coerce are a request error.
 */

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop({ removeDatabase: true });
});

type Located = { message: string; locations?: { line: number; column: number }[]; path?: (string | number)[]; extensions?: Record<string, unknown> };

describe('errors of a query', () => {
  it('a resolver error carries the line and column of its field, its path and its code', async () => {
    const res = await g.gql('query Lookup {\n  viewer { role }\n    siemIntegration(id: "nope") { id }\n}');
    expect(res.status).toBe(200);
    expect(res.data).toBeNull();
    const [error] = res.errors as Located[];
    expect(error).toEqual({
      message: 'SiemIntegration "nope" not found',
      locations: [{ line: 3, column: 5 }],
      path: ['siemIntegration'],
      extensions: { code: 'NOT_FOUND' },
    });
  });

  it('an argument refused by its rule is located at its field', async () => {
    const res = await g.gql('query($n: Int) {\n  auditLog(first: $n) { pageInfo { hasNextPage } }\n}', { n: 501 });
    const [error] = res.errors as Located[];
    expect(error).toMatchObject({ locations: [{ line: 2, column: 3 }], path: ['auditLog'], extensions: { code: 'BAD_USER_INPUT', field: 'first' } });
  });

  it('variables that do not coerce are refused with HTTP 400 and the standard message, nothing executed', async () => {
    const res = await g.gql('query($t: SiemIntegrationType, $f: Int) { siemIntegrations(type: $t) { id } deadLetters(integrationId: "x", first: $f) { edges { cursor } } }', {
      t: 'NOPE',
      f: 'abc',
    });
    expect(res.status).toBe(400);
    expect(res.data).toBeUndefined();
    const errors = res.errors as Located[];
    expect(errors.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT']);
    expect(errors[0]!.message).toBe('t: Value "NOPE" does not exist in "SiemIntegrationType" enum');
    expect(errors[1]!.message).toBe('f: Int cannot represent non-integer value: "abc"');
    expect(errors[0]!.locations).toEqual([{ line: 1, column: 7 }]);
  });
});
