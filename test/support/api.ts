import { readFileSync, existsSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { GqlResponse, TestGateway } from './gateway.js';
import { startHttpReceiver, type HttpReceiver, type ReceivedRequest, type Reply } from './http-receiver.js';

/**
 * GraphQL documents and helpers shared by the end-to-end API tests (test/api). Everything here talks to
 * the real gateway over HTTP; nothing reaches into the gateway's internals.
 */

/**
 * Every public field of an integration, every config member included. GraphQL refuses to merge a field that is
 * non-null in one union member and nullable in another (`endpoint`, `host`, `port`), so those are aliased here and
 * renamed back by {@link normalizeIntegration}: tests see each config under its schema field names.
 */
export const INTEGRATION_FIELDS = /* GraphQL */ `
  fragment TlsFields on TlsConfig { caCert clientCert hasClientKey rejectUnauthorized }
  fragment IntegrationFields on SiemIntegration {
    id type name enabled customerId errorCount lastError lastErrorAt lastEventAt health createdAt updatedAt
    batching { batchSize flushIntervalSeconds retryCount timeoutSeconds }
    config {
      __typename
      ... on SplunkConfig { endpoint hasToken index source sourcetype host indexerAck gzip timeoutSeconds tls { ...TlsFields } }
      ... on SentinelConfig {
        api workspaceId hasSharedKey logType sentinelEndpoint: endpoint dceEndpoint dcrImmutableId streamName tenantId clientId hasClientSecret
        authorityHost gzip timeoutSeconds tls { ...TlsFields }
      }
      ... on SyslogConfig { syslogHost: host syslogPort: port protocol facility format timeoutSeconds tls { ...TlsFields } }
      ... on WebhookConfig { endpoint hasSecret signatureScheme headerNames gzip timeoutSeconds tls { ...TlsFields } }
      ... on CrowdStrikeConfig { endpoint hasToken repository parser gzip timeoutSeconds tls { ...TlsFields } }
      ... on ArcSightConfig { endpoint hasToken smartConnectorId deviceVendor deviceProduct gzip timeoutSeconds tls { ...TlsFields } }
      ... on CefConfig { transport cefEndpoint: endpoint hasToken host port facility deviceVendor deviceProduct gzip timeoutSeconds tls { ...TlsFields } }
    }
  }
`;

const ALIASES: Record<string, Record<string, string>> = {
  SentinelConfig: { sentinelEndpoint: 'endpoint' },
  CefConfig: { cefEndpoint: 'endpoint' },
  SyslogConfig: { syslogHost: 'host', syslogPort: 'port' },
};

/** Renames the aliased config fields of {@link INTEGRATION_FIELDS} back to their schema names. */
export function normalizeIntegration<T>(integration: T): T {
  const i = integration as { config?: Record<string, unknown> & { __typename?: string } } | null;
  if (!i?.config?.__typename || !ALIASES[i.config.__typename]) return integration;
  const config: Record<string, unknown> = {};
  const names = ALIASES[i.config.__typename]!;
  for (const [k, v] of Object.entries(i.config)) config[names[k] ?? k] = v;
  return { ...i, config } as T;
}

export const CREATE_INTEGRATION = /* GraphQL */ `
  mutation CreateIntegration($input: CreateSiemIntegrationInput!) {
    createSiemIntegration(input: $input) { ...IntegrationFields }
  }
  ${INTEGRATION_FIELDS}
`;

export const UPDATE_INTEGRATION = /* GraphQL */ `
  mutation UpdateIntegration($id: ID!, $input: UpdateSiemIntegrationInput!) {
    updateSiemIntegration(id: $id, input: $input) { ...IntegrationFields }
  }
  ${INTEGRATION_FIELDS}
`;

export const DELETE_INTEGRATION = /* GraphQL */ `
  mutation DeleteIntegration($id: ID!) { deleteSiemIntegration(id: $id) }
`;

export const TEST_INTEGRATION = /* GraphQL */ `
  mutation TestIntegration($id: ID!) {
    testSiemIntegration(id: $id) { success message httpStatus latencyMs steps { name ok detail } }
  }
`;

export const GET_INTEGRATION = /* GraphQL */ `
  query GetIntegration($id: ID!) { siemIntegration(id: $id) { ...IntegrationFields } }
  ${INTEGRATION_FIELDS}
`;

export const LIST_INTEGRATIONS = /* GraphQL */ `
  query ListIntegrations($type: SiemIntegrationType, $enabled: Boolean, $customerId: String) {
    siemIntegrations(type: $type, enabled: $enabled, customerId: $customerId) { ...IntegrationFields }
  }
  ${INTEGRATION_FIELDS}
`;

export const AUDIT_LOG = /* GraphQL */ `
  query AuditLog($first: Int, $after: String, $action: String) {
    auditLog(first: $first, after: $after, action: $action) {
      edges { cursor node { id action actorKeyId actorName targetType targetId changes createdAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export interface AuditEntry {
  id: string;
  action: string;
  actorKeyId: string | null;
  actorName: string;
  targetType: string;
  targetId: string;
  changes: Record<string, any>;
  createdAt: string;
}

/** The one error of a response (fails the test when there is none). */
export function firstError(res: GqlResponse<unknown>) {
  expect(res.errors, `expected an error, got ${JSON.stringify(res)}`).toBeDefined();
  expect(res.errors!.length).toBeGreaterThan(0);
  return res.errors![0]!;
}

/** Fails with the response's errors when it has any; returns its data. */
export function dataOf<T>(res: GqlResponse<T>): T {
  expect(res.errors, `unexpected errors: ${JSON.stringify(res.errors)}`).toBeUndefined();
  expect(res.data).toBeDefined();
  return res.data as T;
}

/** Creates an integration as `token` (default admin) and returns it; fails on errors. */
export async function createIntegration(g: Pick<TestGateway, 'gql'>, input: Record<string, unknown>, token?: string): Promise<any> {
  return normalizeIntegration(dataOf(await g.gql(CREATE_INTEGRATION, { input }, token)).createSiemIntegration);
}

export async function getIntegration(g: TestGateway, id: string, token?: string): Promise<any> {
  return normalizeIntegration(dataOf(await g.gql(GET_INTEGRATION, { id }, token)).siemIntegration);
}

export async function updateIntegration(g: TestGateway, id: string, input: Record<string, unknown>, token?: string): Promise<any> {
  return normalizeIntegration(dataOf(await g.gql(UPDATE_INTEGRATION, { id, input }, token)).updateSiemIntegration);
}

export async function testIntegration(g: TestGateway, id: string, token?: string): Promise<any> {
  return dataOf(await g.gql(TEST_INTEGRATION, { id }, token)).testSiemIntegration;
}

export async function listIntegrations(g: TestGateway, filter: Record<string, unknown> = {}, token?: string): Promise<any[]> {
  return dataOf(await g.gql(LIST_INTEGRATIONS, filter, token)).siemIntegrations.map(normalizeIntegration);
}

/** The whole audit log (newest first), following pages. */
export async function auditEntries(g: TestGateway, options: { action?: string; token?: string } = {}): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  let after: string | undefined;
  for (;;) {
    const page = dataOf(await g.gql(AUDIT_LOG, { first: 500, after, action: options.action }, options.token)).auditLog;
    out.push(...page.edges.map((e: { node: AuditEntry }) => e.node));
    if (!page.pageInfo.hasNextPage) return out;
    after = page.pageInfo.endCursor;
  }
}

/**
 * Error-tracking fields. The delivery engine updates them in the background (every audited change is itself an
 * event delivered to the organisation's global integrations), so they may change between two reads without any
 * request having changed anything.
 */
export const TRACKING_FIELDS = ['errorCount', 'lastError', 'lastErrorAt', 'lastEventAt', 'health'] as const;

/** An integration without its {@link TRACKING_FIELDS}. */
export function withoutTracking<T extends Record<string, any>>(integration: T): Omit<T, (typeof TRACKING_FIELDS)[number]> {
  const copy: Record<string, unknown> = { ...integration };
  for (const f of TRACKING_FIELDS) delete copy[f];
  return copy as Omit<T, (typeof TRACKING_FIELDS)[number]>;
}

/**
 * What "the store is unchanged" compares: every integration with every field that a request can change (all but
 * the {@link TRACKING_FIELDS}), and the whole audit log. Two snapshots are equal only if no integration and no audit
 * entry was added, removed or changed.
 */
export async function storeSnapshot(g: TestGateway): Promise<{ integrations: any[]; audit: AuditEntry[] }> {
  return { integrations: (await listIntegrations(g)).map(withoutTracking), audit: await auditEntries(g) };
}

/** Event type of the connection test's event: what tells a test request apart from delivered events at a receiver. */
export const TEST_EVENT_TYPE = 'siemgate.test';

/** The requests (from index `from` on) that carry the connection test's event, not delivered audit events. */
export function testEventRequests(receiver: Pick<HttpReceiver, 'requests'>, from = 0): ReceivedRequest[] {
  return receiver.requests.slice(from).filter((r) => r.body.toString('utf8').includes(TEST_EVENT_TYPE));
}

/** The raw bytes of the gateway's SQLite database and, when present, its write-ahead log. */
export function databaseFiles(g: Pick<TestGateway, 'env'>): { name: string; bytes: Buffer }[] {
  const path = g.env.SIEMGATE_DB!;
  return [path, `${path}-wal`]
    .filter((p) => existsSync(p))
    .map((p) => ({ name: p, bytes: readFileSync(p) }));
}

/** A loopback port with nothing listening on it (bound once, then released). */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A Splunk HTTP Event Collector written from Splunk's documentation (not from our adapter):
 * `POST /services/collector/event` with `Authorization: Splunk <token>`;
 * 200 `{"text":"Success","code":0}` for the right token, 401 `{"text":"Token is required","code":2}` without one,
 * 401 `{"text":"Invalid authorization","code":3}` for another scheme, 403 `{"text":"Invalid token","code":4}` for a wrong token,
 * 400 `{"text":"No data","code":5}` for an empty body, 404 for other paths.
 */
export async function startHecReceiver(validToken: string, options: { tls?: { cert: string; key: string } } = {}): Promise<HttpReceiver> {
  const responder = (req: ReceivedRequest): Reply => {
    const path = req.url.split('?')[0];
    if (req.method !== 'POST' || (path !== '/services/collector/event' && path !== '/services/collector')) {
      return { status: 404, body: '{"text":"The requested URL was not found on this server.","code":404}' };
    }
    const auth = req.headers.authorization;
    if (!auth) return { status: 401, body: '{"text":"Token is required","code":2}' };
    const m = /^Splunk (.+)$/.exec(auth);
    if (!m) return { status: 401, body: '{"text":"Invalid authorization","code":3}' };
    if (m[1] !== validToken) return { status: 403, body: '{"text":"Invalid token","code":4}' };
    if (req.body.length === 0) return { status: 400, body: '{"text":"No data","code":5}' };
    return { status: 200, body: '{"text":"Success","code":0}' };
  };
  return startHttpReceiver(responder, options.tls);
}
