import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_LOG, CREATE_INTEGRATION, DELETE_INTEGRATION, GET_INTEGRATION, LIST_INTEGRATIONS, TEST_INTEGRATION, UPDATE_INTEGRATION, auditEntries,
  createIntegration, dataOf, firstError, getIntegration, listIntegrations, startHecReceiver, storeSnapshot, testEventRequests, withoutTracking,
} from '../support/api.js';
import { ADMIN_TOKEN, createKeyWithCli, startTestGateway, type TestGateway } from '../support/gateway.js';
import type { HttpReceiver } from '../support/http-receiver.js';
import { forEachDialect } from '../support/dialects.js';

const HEC_TOKEN = 'tenant-hec-token-91ac';
const VIEWER_Q = '{ viewer { apiKeyId role organization { id slug } } }';
const CREATE_KEY = 'mutation CreateKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { token apiKey { id name role tokenPrefix createdAt lastUsedAt revokedAt } } }';
const REVOKE_KEY = 'mutation RevokeKey($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }';
const API_KEYS = '{ apiKeys { id name role tokenPrefix createdAt lastUsedAt revokedAt } }';

forEachDialect((dialect) => {
  let g: TestGateway;
  let hec: HttpReceiver;
  let viewerToken: string;
  let ingestToken: string;
  let otherAdminToken: string;
  /** An integration of organisation `default`, which the other roles and organisations poke at. */
  let splunk: any;

  beforeAll(async () => {
    [g, hec] = await Promise.all([dialect.databaseEnv().then((env) => startTestGateway({ env })), startHecReceiver(HEC_TOKEN)]);
    const createKey = async (role: string) => dataOf(await g.gql(CREATE_KEY, { input: { name: `${role} key`, role } })).createApiKey.token as string;
    // The second organisation's admin key is made the way an operator makes it: with the real CLI, against the running gateway's database.
    [viewerToken, ingestToken, otherAdminToken] = await Promise.all([createKey('VIEWER'), createKey('INGEST'), createKeyWithCli(g.env, 'other', 'admin')]);
    adminKeyId = dataOf(await g.gql(VIEWER_Q)).viewer.apiKeyId;
    splunk = await createIntegration(g, {
      name: 'Default org Splunk',
      customerId: 'cust_acme',
      config: { splunk: { endpoint: `${hec.url}/services/collector/event`, token: HEC_TOKEN } },
    });
  });
  afterAll(async () => {
    await Promise.all([g?.stop({ removeDatabase: true }), hec?.close()]);
  });

  /** Every mutation of the API, with valid arguments, so that only the caller's role can make it fail. */
  const EVERY_MUTATION: [string, string, () => Record<string, unknown>][] = [
    ['createSiemIntegration', CREATE_INTEGRATION, () => ({ input: { name: 'x', config: { syslog: { host: 'syslog.example.com' } } } })],
    ['updateSiemIntegration', UPDATE_INTEGRATION, () => ({ id: splunk.id, input: { name: 'renamed' } })],
    ['deleteSiemIntegration', DELETE_INTEGRATION, () => ({ id: splunk.id })],
    ['testSiemIntegration', TEST_INTEGRATION, () => ({ id: splunk.id })],
    ['createApiKey', CREATE_KEY, () => ({ input: { name: 'sneaky', role: 'ADMIN' } })],
    ['revokeApiKey', REVOKE_KEY, () => ({ id: adminKeyId })],
  ];
  let adminKeyId: string;

  describe('authentication', () => {
    it('answers HTTP 401 UNAUTHENTICATED with a Bearer challenge when no token is sent', async () => {
      const response = await fetch(`${g.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query: '{ viewer { role } }' }),
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = (await response.json()) as { data?: unknown; errors: { extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      expect(body.data ?? null).toBeNull();
    });

    it.each([
      ['an unknown token', 'Bearer sg_this_token_was_never_issued_0000000000'],
      ['another scheme', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`],
      ['a bare token without the Bearer scheme', ADMIN_TOKEN],
    ])('answers HTTP 401 UNAUTHENTICATED for %s', async (_label, authorization) => {
      const response = await fetch(`${g.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ query: '{ siemIntegrations { id name } }' }),
      });
      expect(response.status).toBe(401);
      const body = (await response.json()) as { data?: unknown; errors: { extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(body)).not.toContain(splunk.id);
    });

    it('refuses a mutation without a token before it changes anything', async () => {
      const before = await storeSnapshot(g);
      const res = await g.gql(CREATE_INTEGRATION, { input: { name: 'anon', config: { syslog: { host: 'syslog.example.com' } } } }, null);
      expect(res.status).toBe(401);
      expect(firstError(res).extensions?.code).toBe('UNAUTHENTICATED');
      expect(await storeSnapshot(g)).toEqual(before);
    });
  });

  describe('viewer { organization role }', () => {
    it.each([
      ['an admin key', () => ADMIN_TOKEN, 'ADMIN', 'default'],
      ['a viewer key', () => viewerToken, 'VIEWER', 'default'],
      ['an ingest key', () => ingestToken, 'INGEST', 'default'],
      ['another organisation\'s admin key', () => otherAdminToken, 'ADMIN', 'other'],
    ])('tells %s its role and organisation', async (_label, token, role, slug) => {
      const { viewer } = dataOf(await g.gql(VIEWER_Q, {}, token()));
      expect(viewer).toMatchObject({ role, organization: { slug, id: expect.any(String) }, apiKeyId: expect.any(String) });
    });

    it('gives the two organisations different ids', async () => {
      const mine = dataOf(await g.gql(VIEWER_Q)).viewer.organization.id;
      const theirs = dataOf(await g.gql(VIEWER_Q, {}, otherAdminToken)).viewer.organization.id;
      expect(mine).not.toBe(theirs);
    });
  });

  describe('the viewer role', () => {
    it('reads the list, one integration and the audit log, without any secret', async () => {
      const list = await listIntegrations(g, {}, viewerToken);
      expect(list.map((i) => i.id)).toContain(splunk.id);
      const one = await getIntegration(g, splunk.id, viewerToken);
      expect(withoutTracking(one)).toEqual(withoutTracking(await getIntegration(g, splunk.id)));
      expect(one.config.hasToken).toBe(true);
      const audit = await auditEntries(g, { token: viewerToken });
      expect(audit.length).toBeGreaterThan(0);
      expect(JSON.stringify([list, one, audit])).not.toContain(HEC_TOKEN);
    });

    it.each(EVERY_MUTATION)('is FORBIDDEN to call %s, which changes nothing', async (_name, mutation, variables) => {
      const before = await storeSnapshot(g);
      const sent = hec.requests.length;
      const res = await g.gql(mutation, variables(), viewerToken);
      expect(firstError(res).extensions?.code).toBe('FORBIDDEN');
      expect(res.data ?? null).toBeNull();
      expect(await storeSnapshot(g)).toEqual(before);
      expect(testEventRequests(hec, sent)).toEqual([]);
    });

    it('is FORBIDDEN to list API keys', async () => {
      expect(firstError(await g.gql(API_KEYS, {}, viewerToken)).extensions?.code).toBe('FORBIDDEN');
    });
  });

  describe('the ingest role', () => {
    it.each([
      ['siemIntegrations', LIST_INTEGRATIONS, () => ({})],
      ['siemIntegration', GET_INTEGRATION, () => ({ id: splunk.id })],
      ['auditLog', AUDIT_LOG, () => ({})],
      ['apiKeys', API_KEYS, () => ({})],
    ])('is FORBIDDEN to read %s', async (_name, query, variables) => {
      const res = await g.gql(query, variables(), ingestToken);
      expect(firstError(res).extensions?.code).toBe('FORBIDDEN');
      expect(JSON.stringify(res)).not.toContain(splunk.id);
    });

    it.each(EVERY_MUTATION)('is FORBIDDEN to call %s, which changes nothing', async (_name, mutation, variables) => {
      const before = await storeSnapshot(g);
      const res = await g.gql(mutation, variables(), ingestToken);
      expect(firstError(res).extensions?.code).toBe('FORBIDDEN');
      expect(await storeSnapshot(g)).toEqual(before);
    });
  });

  describe('another organisation', () => {
    it('sees an empty list and none of the first organisation\'s audit log', async () => {
      expect(await listIntegrations(g, {}, otherAdminToken)).toEqual([]);
      expect(await listIntegrations(g, { customerId: 'cust_acme' }, otherAdminToken)).toEqual([]);
      const audit = await auditEntries(g, { token: otherAdminToken });
      expect(audit.map((e) => e.targetId)).not.toContain(splunk.id);
    });

    it.each([
      ['read', GET_INTEGRATION, (id: string) => ({ id })],
      ['update', UPDATE_INTEGRATION, (id: string) => ({ id, input: { name: 'hijacked', enabled: false } })],
      ['delete', DELETE_INTEGRATION, (id: string) => ({ id })],
      ['test', TEST_INTEGRATION, (id: string) => ({ id })],
    ])('cannot %s the first organisation\'s integration: NOT_FOUND, exactly as for an id that never existed', async (_verb, operation, variables) => {
      const before = await storeSnapshot(g);
      const sent = hec.requests.length;
      const res = await g.gql(operation, variables(splunk.id), otherAdminToken);
      const error = firstError(res);
      expect(error.extensions?.code).toBe('NOT_FOUND');
      expect(res.data ?? null).toBeNull();
      // Nothing to learn by probing: the answer for a real foreign id matches the answer for a made-up one.
      const unknownId = '00000000-0000-4000-8000-000000000000';
      const probe = firstError(await g.gql(operation, variables(unknownId), otherAdminToken));
      expect(error.message.replace(splunk.id, '<id>')).toBe(probe.message.replace(unknownId, '<id>'));
      expect(await storeSnapshot(g)).toEqual(before);
      expect(testEventRequests(hec, sent)).toEqual([]);
    });

    it('creates its own integrations, which the first organisation does not see', async () => {
      const theirs = await createIntegration(g, { name: 'Other org syslog', config: { syslog: { host: 'other.example.com' } } }, otherAdminToken);
      expect((await listIntegrations(g, {}, otherAdminToken)).map((i) => i.id)).toEqual([theirs.id]);
      expect((await listIntegrations(g)).map((i) => i.id)).not.toContain(theirs.id);
      expect(firstError(await g.gql(GET_INTEGRATION, { id: theirs.id })).extensions?.code).toBe('NOT_FOUND');
    });

    it('cannot see or revoke the first organisation\'s API keys', async () => {
      const mine = dataOf(await g.gql(API_KEYS)).apiKeys;
      const theirs = dataOf(await g.gql(API_KEYS, {}, otherAdminToken)).apiKeys;
      const myIds = mine.map((k: { id: string }) => k.id);
      for (const k of theirs) expect(myIds).not.toContain(k.id);

      const viewerKeyId = dataOf(await g.gql(VIEWER_Q, {}, viewerToken)).viewer.apiKeyId;
      expect(firstError(await g.gql(REVOKE_KEY, { id: viewerKeyId }, otherAdminToken)).extensions?.code).toBe('NOT_FOUND');
      expect(dataOf(await g.gql(VIEWER_Q, {}, viewerToken)).viewer.role).toBe('VIEWER');
    });
  });

  describe('API keys', () => {
    it('creates a key whose token is returned once and works at once with its role', async () => {
      const created = dataOf(await g.gql(CREATE_KEY, { input: { name: 'dashboards', role: 'VIEWER' } })).createApiKey;
      expect(created.token).toMatch(/^sg_\S{20,}$/);
      expect(created.apiKey).toMatchObject({ name: 'dashboards', role: 'VIEWER', revokedAt: null });
      expect(created.token.startsWith(created.apiKey.tokenPrefix)).toBe(true);
      expect(created.apiKey.tokenPrefix.length).toBeLessThan(created.token.length / 2);

      const { viewer } = dataOf(await g.gql(VIEWER_Q, {}, created.token));
      expect(viewer).toMatchObject({ apiKeyId: created.apiKey.id, role: 'VIEWER', organization: { slug: 'default' } });

      const keys = dataOf(await g.gql(API_KEYS)).apiKeys;
      expect(keys.find((k: { id: string }) => k.id === created.apiKey.id)).toMatchObject({ name: 'dashboards', role: 'VIEWER' });
      expect(JSON.stringify(keys)).not.toContain(created.token);
    });

    it('lists the organisation\'s keys with their roles, never a token', async () => {
      const res = await g.gql(API_KEYS);
      const keys = dataOf(res).apiKeys;
      expect(keys.map((k: { role: string }) => k.role)).toEqual(expect.arrayContaining(['ADMIN', 'VIEWER', 'INGEST']));
      for (const token of [ADMIN_TOKEN, viewerToken, ingestToken, otherAdminToken]) expect(JSON.stringify(res)).not.toContain(token);
    });

    it('revokes a key: it is marked revoked, and its token answers 401 from then on', async () => {
      const created = dataOf(await g.gql(CREATE_KEY, { input: { name: 'short-lived', role: 'ADMIN' } })).createApiKey;
      expect(dataOf(await g.gql(VIEWER_Q, {}, created.token)).viewer.role).toBe('ADMIN');

      const revoked = dataOf(await g.gql(REVOKE_KEY, { id: created.apiKey.id })).revokeApiKey;
      expect(revoked).toMatchObject({ id: created.apiKey.id, revokedAt: expect.any(String) });

      const res = await g.gql(VIEWER_Q, {}, created.token);
      expect(res.status).toBe(401);
      expect(firstError(res).extensions?.code).toBe('UNAUTHENTICATED');
      const keys = dataOf(await g.gql(API_KEYS)).apiKeys;
      expect(keys.find((k: { id: string }) => k.id === created.apiKey.id).revokedAt).toEqual(expect.any(String));
    });

    it('answers NOT_FOUND when revoking a key that does not exist', async () => {
      expect(firstError(await g.gql(REVOKE_KEY, { id: '00000000-0000-4000-8000-000000000000' })).extensions?.code).toBe('NOT_FOUND');
    });

    it('audits api_key.created and api_key.revoked with the acting key, never the token', async () => {
      const created = dataOf(await g.gql(CREATE_KEY, { input: { name: 'audited key', role: 'INGEST' } })).createApiKey;
      await g.gql(REVOKE_KEY, { id: created.apiKey.id });

      const [createdEntry] = await auditEntries(g, { action: 'api_key.created' });
      expect(createdEntry).toMatchObject({
        action: 'api_key.created', actorKeyId: adminKeyId, actorName: 'bootstrap', targetType: 'ApiKey', targetId: created.apiKey.id,
        changes: { after: { name: 'audited key', role: 'ingest' } },
      });
      const [revokedEntry] = await auditEntries(g, { action: 'api_key.revoked' });
      expect(revokedEntry).toMatchObject({ action: 'api_key.revoked', actorKeyId: adminKeyId, targetType: 'ApiKey', targetId: created.apiKey.id });
      expect(JSON.stringify([createdEntry, revokedEntry])).not.toContain(created.token);
    });
  });
});
