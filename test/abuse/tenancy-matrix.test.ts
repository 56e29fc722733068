import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyWithCli, startTestGateway, type GqlResponse, type TestGateway } from '../support/gateway.js';
import { ADMIN_TOKEN } from '../support/gateway.js';
import { integrationStatus, makeEvents, postEvents, sleep, startIdReceiver, waitFor, type IdReceiver } from '../support/fault-kit.js';
import { subscribe } from '../support/ws-subscribe.js';

/**
 * Every query, mutation and subscription of the API, tried by each role of organisation A (admin, viewer, ingest)
 * against organisation B's objects (an integration with a dead letter, API keys, audit entries) and against A's
 * own. Another organisation's id must answer NOT_FOUND (or FORBIDDEN for a role that may not use the operation at
 * all), never data; lists, stats and live subscriptions must never carry anything of B; and B must be exactly as it
 * was afterwards.
 */

type Role = 'admin' | 'viewer' | 'ingest';
const ROLES: Role[] = ['admin', 'viewer', 'ingest'];

let g: TestGateway;
let rxA: IdReceiver;
let rxB: IdReceiver;
const A: Record<Role, string> = { admin: ADMIN_TOKEN, viewer: '', ingest: '' };
let bAdmin: string;
const B = { integrationId: '', integrationName: 'B-secret-integration-name', secret: 'b-webhook-signing-secret-4c1d', keyIds: [] as string[], auditIds: [] as string[], customerId: 'cust_b_only' };
let aIntegrationId = '';

const CREATE = 'mutation($input: CreateSiemIntegrationInput!) { createSiemIntegration(input: $input) { id } }';

async function bState() {
  // Separate queries: together they pass the cost limit.
  const parts = await Promise.all([
    '{ siemIntegrations { id name enabled customerId config { __typename ... on WebhookConfig { endpoint hasSecret } } } }',
    '{ apiKeys { id name role revokedAt } }',
    `{ deadLetters(integrationId: "${B.integrationId}") { edges { node { id eventId status } } } }`,
    '{ auditLog(first: 200) { edges { node { id action targetId } } } }',
  ].map((q) => g.gql(q, {}, bAdmin)));
  for (const p of parts) expect(p.errors, JSON.stringify(p.errors)).toBeUndefined();
  return Object.assign({}, ...parts.map((p) => p.data));
}

beforeAll(async () => {
  rxA = await startIdReceiver();
  // B's SIEM refuses the payload: B's events end up as dead letters, which A then tries to read and replay.
  rxB = await startIdReceiver({ responder: () => ({ status: 400, body: '{"text":"Invalid data format","code":6}' }) });
  g = await startTestGateway({ env: { SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '200' } });
  [A.viewer, A.ingest, bAdmin] = await Promise.all([
    createKeyWithCli(g.env, 'default', 'viewer'),
    createKeyWithCli(g.env, 'default', 'ingest'),
    createKeyWithCli(g.env, 'org-b', 'admin'),
  ]);
  await createKeyWithCli(g.env, 'org-b', 'viewer');

  const a = await g.gql(CREATE, { input: { name: 'A integration', config: { webhook: { endpoint: `${rxA.url}/a` } }, batching: { flushIntervalSeconds: 1 } } });
  aIntegrationId = a.data.createSiemIntegration.id;
  const b = await g.gql(CREATE, {
    input: { name: B.integrationName, customerId: B.customerId, config: { webhook: { endpoint: `${rxB.url}/b`, secret: B.secret } }, batching: { flushIntervalSeconds: 1, retryCount: 0 } },
  }, bAdmin);
  expect(b.errors).toBeUndefined();
  B.integrationId = b.data.createSiemIntegration.id;
  expect((await postEvents(g.url, makeEvents(2, { customerId: B.customerId }), { token: bAdmin })).status).toBe(202);
  await waitFor(async () => (await bState()).deadLetters.edges.length >= 2, { message: "B's dead letters" });
  const state = await bState();
  B.keyIds = state.apiKeys.map((k: { id: string }) => k.id);
  B.auditIds = state.auditLog.edges.map((e: { node: { id: string } }) => e.node.id);
});
afterAll(async () => {
  await g?.stop({ removeDatabase: true });
  await Promise.all([rxA?.close(), rxB?.close()]);
});

/**
 * No trace of B in a response: no id, name, secret or customer of B, whatever the field. `echoed` are the ids the
 * caller itself sent: a NOT_FOUND message may repeat them ("SiemIntegration \"<id>\" not found") without revealing anything.
 */
function expectNothingOfB(res: unknown, context: string, echoed: unknown[] = []) {
  let text = JSON.stringify(res);
  for (const e of echoed) if (typeof e === 'string' && e) text = text.split(`\\"${e}\\" not found`).join('\\"<requested id>\\" not found');
  for (const needle of [B.integrationId, B.integrationName, B.secret, B.customerId, ...B.keyIds, ...B.auditIds, rxB.url]) {
    expect(text.includes(needle), `${context} leaks ${needle}: ${text.slice(0, 400)}`).toBe(false);
  }
}

function expectCode(res: GqlResponse<any>, code: string, context: string) {
  expect(res.status, context).toBeLessThan(500);
  expect(res.errors?.[0]?.extensions?.code, `${context}: ${JSON.stringify(res).slice(0, 400)}`).toBe(code);
  const data = res.data ? Object.values(res.data)[0] : null;
  expect(data ?? null, `${context} returned data`).toBeNull();
}

/** Operations that take an id of B's, and the answer each role of A must get. */
const BY_ID: { name: string; doc: string; vars: () => Record<string, unknown>; expected: Record<Role, 'NOT_FOUND' | 'FORBIDDEN'> }[] = [
  { name: 'query siemIntegration', doc: 'query($id: ID!) { siemIntegration(id: $id) { id name config { __typename } stats { delivered } } }', vars: () => ({ id: B.integrationId }), expected: { admin: 'NOT_FOUND', viewer: 'NOT_FOUND', ingest: 'FORBIDDEN' } },
  { name: 'query deadLetters', doc: 'query($id: ID!) { deadLetters(integrationId: $id) { edges { node { id event } } } }', vars: () => ({ id: B.integrationId }), expected: { admin: 'NOT_FOUND', viewer: 'NOT_FOUND', ingest: 'FORBIDDEN' } },
  { name: 'mutation updateSiemIntegration', doc: 'mutation($id: ID!) { updateSiemIntegration(id: $id, input: { name: "hijacked", enabled: false }) { id name } }', vars: () => ({ id: B.integrationId }), expected: { admin: 'NOT_FOUND', viewer: 'FORBIDDEN', ingest: 'FORBIDDEN' } },
  { name: 'mutation updateSiemIntegration (config)', doc: 'mutation($id: ID!, $url: String!) { updateSiemIntegration(id: $id, input: { config: { webhook: { endpoint: $url } } }) { id } }', vars: () => ({ id: B.integrationId, url: `${rxA.url}/stolen` }), expected: { admin: 'NOT_FOUND', viewer: 'FORBIDDEN', ingest: 'FORBIDDEN' } },
  { name: 'mutation deleteSiemIntegration', doc: 'mutation($id: ID!) { deleteSiemIntegration(id: $id) }', vars: () => ({ id: B.integrationId }), expected: { admin: 'NOT_FOUND', viewer: 'FORBIDDEN', ingest: 'FORBIDDEN' } },
  { name: 'mutation testSiemIntegration', doc: 'mutation($id: ID!) { testSiemIntegration(id: $id) { success message } }', vars: () => ({ id: B.integrationId }), expected: { admin: 'NOT_FOUND', viewer: 'FORBIDDEN', ingest: 'FORBIDDEN' } },
  { name: 'mutation replayDeadLetters', doc: 'mutation($id: ID!) { replayDeadLetters(integrationId: $id) }', vars: () => ({ id: B.integrationId }), expected: { admin: 'NOT_FOUND', viewer: 'FORBIDDEN', ingest: 'FORBIDDEN' } },
  { name: 'mutation discardQueuedEvents', doc: 'mutation($id: ID!) { discardQueuedEvents(integrationId: $id) { discarded } }', vars: () => ({ id: B.integrationId }), expected: { admin: 'NOT_FOUND', viewer: 'FORBIDDEN', ingest: 'FORBIDDEN' } },
  { name: 'mutation revokeApiKey', doc: 'mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }', vars: () => ({ id: B.keyIds[0] }), expected: { admin: 'NOT_FOUND', viewer: 'FORBIDDEN', ingest: 'FORBIDDEN' } },
  { name: 'mutation revokeApiKey (B\'s admin key)', doc: 'mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }', vars: () => ({ id: B.keyIds.at(-1) }), expected: { admin: 'NOT_FOUND', viewer: 'FORBIDDEN', ingest: 'FORBIDDEN' } },
];

describe("organisation A's roles against organisation B's ids", () => {
  let before: unknown;
  beforeAll(async () => {
    before = await bState();
  });

  for (const op of BY_ID) {
    it.each(ROLES)(`${op.name} by A's %s`, async (role) => {
      const vars = op.vars();
      const res = await g.gql(op.doc, vars, A[role]);
      expectCode(res, op.expected[role], `${op.name} as A ${role}`);
      expectNothingOfB(res, `${op.name} as A ${role}`, Object.values(vars));
    });
  }

  it.each(ROLES)('lists, stats and the audit log as A\'s %s carry nothing of B', async (role) => {
    const lists: [string, string, Role[]][] = [
      ['siemIntegrations', '{ siemIntegrations { id name customerId config { __typename ... on WebhookConfig { endpoint } } } }', ['admin', 'viewer']],
      ['siemIntegrations(customerId: B)', `{ siemIntegrations(customerId: "${B.customerId}") { id } }`, ['admin', 'viewer']],
      ['apiKeys', '{ apiKeys { id name role } }', ['admin']],
      ['auditLog', '{ auditLog(first: 100) { edges { cursor node { id action targetId changes } } } }', ['admin', 'viewer']],
      ['auditLog(action: created)', '{ auditLog(first: 100, action: "siem.integration.created") { edges { node { id targetId changes } } } }', ['admin', 'viewer']],
      ['deliveryStats', '{ deliveryStats { integrations delivered deadLettered queued failedAttempts } }', ['admin', 'viewer']],
      ['viewer', '{ viewer { apiKeyId role organization { id slug name } } }', ['admin', 'viewer', 'ingest']],
    ];
    for (const [name, doc, allowed] of lists) {
      const res = await g.gql(doc, {}, A[role]);
      if (allowed.includes(role)) {
        expect(res.errors, `${name} as A ${role}`).toBeUndefined();
        expectNothingOfB(res, `${name} as A ${role}`);
      } else {
        expectCode(res, 'FORBIDDEN', `${name} as A ${role}`);
      }
    }
    if (role !== 'ingest') {
      const stats = (await g.gql('{ deliveryStats { integrations deadLettered } siemIntegrations { id } }', {}, A[role])).data;
      expect(stats.deliveryStats.integrations).toBe(stats.siemIntegrations.length);
      expect(stats.deliveryStats.deadLettered).toBe(0); // B's dead letters are not A's
    }
    const me = (await g.gql('{ viewer { organization { slug } } }', {}, A[role])).data;
    expect(me.viewer.organization.slug).toBe('default');
  });

  it("A's audit-log cursor and B's cursor lead only to A's entries", async () => {
    const bPage = (await g.gql('{ auditLog(first: 1) { pageInfo { endCursor } } }', {}, bAdmin)).data.auditLog.pageInfo.endCursor;
    const res = await g.gql('query($after: String) { auditLog(first: 100, after: $after) { edges { node { id targetId } } } }', { after: bPage });
    expect(res.status).toBeLessThan(500);
    expectNothingOfB(res, 'auditLog after B\'s cursor');
  });

  it("A's creations and ingestion never reach B (not even events for B's customer)", async () => {
    const created = await g.gql(CREATE, { input: { name: 'A second', customerId: B.customerId, config: { webhook: { endpoint: `${rxA.url}/a2` } }, batching: { flushIntervalSeconds: 1 } } });
    expect(created.errors).toBeUndefined();
    const key = await g.gql('mutation { createApiKey(input: { name: "A extra", role: VIEWER }) { apiKey { id } } }');
    expect(key.errors).toBeUndefined();
    const bRequestsBefore = rxB.requestCount;
    const events = makeEvents(3, { customerId: B.customerId });
    expect((await postEvents(g.url, events, { token: A.ingest })).status).toBe(202);
    const viaGql = await g.gql('mutation($e: [SecurityEventInput!]!) { ingestEvents(events: $e) { accepted } }', { e: makeEvents(2, { customerId: B.customerId }) }, A.ingest);
    expect(viaGql.errors).toBeUndefined();
    await waitFor(() => rxA.missing(events.map((e) => e.id)).length === 0, { message: "A's events at A's SIEM" });
    await sleep(1_200); // longer than B's flush interval
    expect(rxB.requestCount).toBe(bRequestsBefore);
    const bView = await bState();
    expect(bView.siemIntegrations.map((i: { id: string }) => i.id)).toEqual([B.integrationId]);
    expect(bView.apiKeys.map((k: { id: string }) => k.id).sort()).toEqual([...B.keyIds].sort());
  });

  it('viewer and ingest roles cannot mutate even their own organisation (FORBIDDEN), and ingest cannot read it', async () => {
    const own: [string, string, Record<string, unknown>][] = [
      ['createSiemIntegration', CREATE, { input: { name: 'x', config: { syslog: { host: 'syslog.invalid' } } } }],
      ['updateSiemIntegration', 'mutation($id: ID!) { updateSiemIntegration(id: $id, input: { name: "x" }) { id } }', { id: aIntegrationId }],
      ['deleteSiemIntegration', 'mutation($id: ID!) { deleteSiemIntegration(id: $id) }', { id: aIntegrationId }],
      ['testSiemIntegration', 'mutation($id: ID!) { testSiemIntegration(id: $id) { success } }', { id: aIntegrationId }],
      ['replayDeadLetters', 'mutation($id: ID!) { replayDeadLetters(integrationId: $id) }', { id: aIntegrationId }],
      ['discardQueuedEvents', 'mutation($id: ID!) { discardQueuedEvents(integrationId: $id) { discarded } }', { id: aIntegrationId }],
      ['createApiKey', 'mutation { createApiKey(input: { name: "x", role: ADMIN }) { token } }', {}],
      ['revokeApiKey', 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: (await g.gql('{ viewer { apiKeyId } }')).data.viewer.apiKeyId }],
    ];
    for (const role of ['viewer', 'ingest'] as const) {
      for (const [name, doc, vars] of own) expectCode(await g.gql(doc, vars, A[role]), 'FORBIDDEN', `${name} as A ${role}`);
    }
    expectCode(await g.gql('query($id: ID!) { siemIntegration(id: $id) { id } }', { id: aIntegrationId }, A.ingest), 'FORBIDDEN', 'siemIntegration as ingest');
    // And the viewer may ingest? No: ingestion is for ingest and admin keys.
    expectCode(await g.gql('mutation { ingestEvents(events: [{ type: "scan", severity: LOW }]) { accepted } }', {}, A.viewer), 'FORBIDDEN', 'ingestEvents as viewer');
  });

  it('B is exactly as it was after all of it', async () => {
    const after = await bState();
    expect(after).toEqual(before);
  });
});

describe("subscriptions across organisations and roles", () => {
  const STATUS = 'subscription($id: ID) { siemIntegrationStatus(id: $id) { id name errorCount lastError stats { queued } } }';
  const ATTEMPTS = 'subscription($id: ID) { deliveryAttempts(integrationId: $id) { integrationId eventCount success error } }';

  it.each([
    ['admin', 'NOT_FOUND'],
    ['viewer', 'NOT_FOUND'],
    ['ingest', 'FORBIDDEN'],
  ] as const)("A's %s subscribing to B's integration gets %s and nothing else", async (role, code) => {
    for (const doc of [STATUS, ATTEMPTS]) {
      const sub = await subscribe(g.url, A[role], doc, { id: B.integrationId });
      try {
        await sub.waitDone();
        expect(sub.results).toEqual([]);
        expect(sub.errors[0]?.extensions?.code, JSON.stringify(sub.errors)).toBe(code);
        expectNothingOfB(sub.errors, `subscription as A ${role}`, [B.integrationId]);
      } finally {
        await sub.close();
      }
    }
  });

  it('the ingest role may not subscribe at all (FORBIDDEN); a bad token is refused at connection', async () => {
    for (const doc of [STATUS, ATTEMPTS]) {
      const sub = await subscribe(g.url, A.ingest, doc, {});
      try {
        await sub.waitDone();
        expect(sub.errors[0]?.extensions?.code).toBe('FORBIDDEN');
      } finally {
        await sub.close();
      }
    }
    await expect(subscribe(g.url, 'sg_not_a_token_at_all_0000000000', STATUS, {})).rejects.toThrow(/closed/);
  });

  it("A's organisation-wide subscriptions see A's changes and never B's, while B's integration changes and fails", async () => {
    const statusA = await subscribe(g.url, A.viewer, STATUS, {});
    const attemptsA = await subscribe(g.url, A.admin, ATTEMPTS, {});
    const statusB = await subscribe(g.url, bAdmin, STATUS, {});
    try {
      // B changes its integration and delivers (and fails) more events.
      const bBefore = await integrationStatus(g, B.integrationId, bAdmin);
      expect((await g.gql('mutation($id: ID!) { updateSiemIntegration(id: $id, input: { batching: { retryCount: 1 } }) { id } }', { id: B.integrationId }, bAdmin)).errors).toBeUndefined();
      expect((await postEvents(g.url, makeEvents(2, { customerId: B.customerId }), { token: bAdmin })).status).toBe(202);
      // A changes its own integration: A's subscribers must see that (so they were live).
      expect((await g.gql('mutation($id: ID!) { updateSiemIntegration(id: $id, input: { name: "A renamed" }) { id } }', { id: aIntegrationId })).errors).toBeUndefined();
      expect((await postEvents(g.url, makeEvents(1), { token: A.ingest })).status).toBe(202);
      await statusB.waitForResults(1);
      await statusA.waitForResults(1);
      await attemptsA.waitForResults(1, 5_000);
      await waitFor(async () => (await integrationStatus(g, B.integrationId, bAdmin)).stats.deadLettered >= bBefore.stats.deadLettered + 2, {
        message: "B's batch attempted (and refused by B's SIEM)",
      });
      expect(statusB.results.some((r) => r.siemIntegrationStatus.id === B.integrationId)).toBe(true);
      for (const [name, sub] of [['status', statusA], ['attempts', attemptsA]] as const) {
        expectNothingOfB(sub.results, `A's ${name} subscription`);
        expect(sub.errors).toEqual([]);
      }
      expect(statusA.results.some((r) => r.siemIntegrationStatus.id === aIntegrationId)).toBe(true);
    } finally {
      await Promise.all([statusA.close(), attemptsA.close(), statusB.close()]);
    }
  });
});
