import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, updateIntegration } from '../support/api.js';
import { createKeyWithCli, startTestGateway, type TestGateway } from '../support/gateway.js';
import {
  ATTEMPTS_SUBSCRIPTION, STATUS_SUBSCRIPTION, connectWs, createSplunkIntegration, describeError, ingest, makeEvent, startHecSink,
  subscriptionErrors, untilStatusSubscribed, waitFor, type HecSink, type WsClient,
} from '../support/delivery.js';

/**
 * Issue 4, "Subscriptions over graphql-ws": at `/graphql` (graphql-transport-ws), authenticated by
 * `connectionParams.authorization`, scoped to the caller's organisation, for admin and viewer.
 */

const CREATE_KEY = 'mutation CreateKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { token } }';

let g: TestGateway;
let sinkA: HecSink;
let sinkB: HecSink;
let viewerA: string;
let ingestA: string;
let adminB: string;
let viewerB: string;
let integrationA: any;
let integrationB: any;

beforeAll(async () => {
  [g, sinkA, sinkB] = await Promise.all([startTestGateway({ env: { SIEMGATE_RETRY_BASE_MS: '20' } }), startHecSink(), startHecSink()]);
  viewerA = dataOf(await g.gql(CREATE_KEY, { input: { name: 'A viewer', role: 'VIEWER' } })).createApiKey.token;
  ingestA = dataOf(await g.gql(CREATE_KEY, { input: { name: 'A ingest', role: 'INGEST' } })).createApiKey.token;
  adminB = await createKeyWithCli(g.env, 'org-b', 'admin');
  viewerB = dataOf(await g.gql(CREATE_KEY, { input: { name: 'B viewer', role: 'VIEWER' } }, adminB)).createApiKey.token;
  integrationA = await createSplunkIntegration(g, sinkA, { name: 'A Splunk', customerId: 'cust_a', batching: { batchSize: 1 } });
  integrationB = await createSplunkIntegration(g, sinkB, { name: 'B Splunk', customerId: 'cust_b', batching: { batchSize: 1 } }, adminB);
});
afterAll(async () => {
  await Promise.all([g?.stop({ removeDatabase: true }), sinkA?.close(), sinkB?.close()]);
});

const clients: WsClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});
function ws(auth: Parameters<typeof connectWs>[1]): WsClient {
  const c = connectWs(g.url, auth);
  clients.push(c);
  return c;
}

describe('who may subscribe', () => {
  it('a viewer sees status changes and delivery attempts of its organisation', async () => {
    const client = ws({ token: viewerA });
    const status = client.subscribe(STATUS_SUBSCRIPTION, {}, 'siemIntegrationStatus');
    const attempts = client.subscribe(ATTEMPTS_SUBSCRIPTION, { integrationId: integrationA.id }, 'deliveryAttempts');
    await untilStatusSubscribed(g, status, integrationA.id);

    await updateIntegration(g, integrationA.id, { name: 'A Splunk (watched)' });
    const renamed = await status.waitForValue((v) => v.id === integrationA.id && v.name === 'A Splunk (watched)');
    expect(renamed.health).toBe('UNKNOWN'); // nothing delivered or tested yet

    const event = makeEvent({ customerId: 'cust_a' });
    await ingest(g.url, [event]);
    await sinkA.waitForIds([event.id]);
    const attempt = await attempts.waitForValue((a) => a.success === true);
    expect(attempt).toMatchObject({ integrationId: integrationA.id, eventCount: 1, httpStatus: 200 });
    expect(status.error).toBeUndefined();
  });

  it('an admin may subscribe too', async () => {
    const client = ws({});
    const status = client.subscribe(STATUS_SUBSCRIPTION, { id: integrationA.id }, 'siemIntegrationStatus');
    await untilStatusSubscribed(g, status, integrationA.id);
    expect(status.error).toBeUndefined();
  });

  it.each([
    ['without connectionParams', { token: null }],
    ['with an unknown token', { token: 'sg_this_token_was_never_issued_00000000000' }],
    ['with a token but no Bearer scheme', { authorization: 'sg_test_admin_token_0123456789abcdef' }],
  ])('refuses a connection %s', async (_label, auth) => {
    const client = ws(auth as any);
    const status = client.subscribe(STATUS_SUBSCRIPTION, {}, 'siemIntegrationStatus');
    await status.waitForEnd();
    expect(status.values).toEqual([]);
    const error = describeError(status.error) as { closeCode?: number };
    // graphql-ws closes a refused connection with 4403 Forbidden.
    expect(error?.closeCode, JSON.stringify(error)).toBe(4403);
  });

  it('refuses an ingest key with FORBIDDEN, ending the subscription', async () => {
    const client = ws({ token: ingestA });
    const status = client.subscribe(STATUS_SUBSCRIPTION, {}, 'siemIntegrationStatus');
    const attempts = client.subscribe(ATTEMPTS_SUBSCRIPTION, {}, 'deliveryAttempts');
    // A refused subscription ends at once; give it generous time, then make the organisation busy
    // (a live subscription would be told about this) so that either way there is something to look at.
    await Promise.all([status.waitForEnd(5_000), attempts.waitForEnd(5_000)]).catch(() => undefined);
    await updateIntegration(g, integrationA.id, { name: 'A Splunk, busy' });
    const event = makeEvent({ customerId: 'cust_a' });
    await ingest(g.url, [event]);
    await sinkA.waitForIds([event.id]);
    await waitFor(() => subscriptionErrors(status).length > 0 && subscriptionErrors(attempts).length > 0, { timeoutMs: 5_000 }).catch(() => undefined);

    for (const sub of [status, attempts]) {
      expect(sub.values).toEqual([]);
      expect(subscriptionErrors(sub).map((e) => e.extensions?.code), JSON.stringify(describeError(sub.error))).toContain('FORBIDDEN');
      expect(sub.completed || sub.error !== undefined, `the subscription is still open after ${sub.results.length} FORBIDDEN messages`).toBe(true);
      expect(sub.results.length, 'one refusal, not one error per organisation event').toBeLessThanOrEqual(1);
    }
  });
});

describe('organisation scoping', () => {
  it("another organisation's subscriber sees nothing of the first's changes", async () => {
    // B subscribes to everything it may see, and is known to be live.
    const b = ws({ token: viewerB });
    const bStatus = b.subscribe(STATUS_SUBSCRIPTION, {}, 'siemIntegrationStatus');
    const bAttempts = b.subscribe(ATTEMPTS_SUBSCRIPTION, {}, 'deliveryAttempts');
    await untilStatusSubscribed(g, bStatus, integrationB.id, adminB);
    // A witness in organisation A, to know when A's changes have been published.
    const a = ws({ token: viewerA });
    const aStatus = a.subscribe(STATUS_SUBSCRIPTION, {}, 'siemIntegrationStatus');
    const aAttempts = a.subscribe(ATTEMPTS_SUBSCRIPTION, {}, 'deliveryAttempts');
    await untilStatusSubscribed(g, aStatus, integrationA.id);

    // Changes in A: a rename, a new integration, deliveries.
    await updateIntegration(g, integrationA.id, { name: 'A Splunk, renamed for B not to see' });
    const extraA = await createSplunkIntegration(g, sinkA, { name: 'A second', customerId: 'cust_a2', batching: { batchSize: 1 } });
    const eventA = makeEvent({ customerId: 'cust_a' });
    await ingest(g.url, [eventA]);
    await sinkA.waitForIds([eventA.id]);
    await aStatus.waitForValue((v) => v.id === extraA.id);
    await aAttempts.waitForValue((x) => x.integrationId === integrationA.id && x.success);

    // Then one change in B: B's subscriber gets it, and nothing before it.
    await updateIntegration(g, integrationB.id, { name: 'B Splunk, renamed' }, adminB);
    const eventB = makeEvent({ customerId: 'cust_b' });
    await ingest(g.url, [eventB], adminB);
    await bStatus.waitForValue((v) => v.id === integrationB.id && v.name === 'B Splunk, renamed');
    await bAttempts.waitForValue((x) => x.integrationId === integrationB.id && x.success);

    const aIds = new Set([integrationA.id, extraA.id]);
    expect(bStatus.values.map((v) => v.id).filter((id) => aIds.has(id))).toEqual([]);
    expect(bStatus.values.every((v) => v.id === integrationB.id)).toBe(true);
    expect(bAttempts.values.every((x) => x.integrationId === integrationB.id)).toBe(true);
    expect(JSON.stringify([bStatus.results, bAttempts.results])).not.toContain('renamed for B not to see');
  });

  it.each([
    ['siemIntegrationStatus', STATUS_SUBSCRIPTION, (id: string) => ({ id })],
    ['deliveryAttempts', ATTEMPTS_SUBSCRIPTION, (id: string) => ({ integrationId: id })],
  ])("%s on another organisation's integration id ends with NOT_FOUND", async (field, query, vars) => {
    const client = ws({ token: viewerB });
    const foreign = client.subscribe(query, vars(integrationA.id), field);
    await foreign.waitForEnd();
    expect(foreign.values).toEqual([]);
    const errors = subscriptionErrors(foreign);
    expect(errors.map((e) => e.extensions?.code), JSON.stringify(describeError(foreign.error))).toEqual(['NOT_FOUND']);
    expect(JSON.stringify(errors)).not.toContain('A Splunk');

    // The same answer as for an id that never existed.
    const missing = client.subscribe(query, vars('00000000-0000-4000-8000-000000000000'), field);
    await missing.waitForEnd();
    expect(subscriptionErrors(missing).map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
  });

  it('a subscription with an id reports that integration only', async () => {
    const client = ws({});
    const only = client.subscribe(STATUS_SUBSCRIPTION, { id: integrationA.id }, 'siemIntegrationStatus');
    await untilStatusSubscribed(g, only, integrationA.id);
    const other = await createSplunkIntegration(g, sinkA, { name: 'A third', customerId: 'cust_a3' });
    await updateIntegration(g, other.id, { name: 'A third, renamed' });
    await updateIntegration(g, integrationA.id, { name: 'A Splunk, after the others' });
    await only.waitForValue((v) => v.name === 'A Splunk, after the others');
    expect(only.values.every((v) => v.id === integrationA.id)).toBe(true);
  });
});
