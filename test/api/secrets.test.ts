import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DELETE_INTEGRATION, auditEntries, createIntegration, dataOf, getIntegration, listIntegrations, testIntegration,
  updateIntegration,
} from '../support/api.js';
import { forEachDialect, storedData } from '../support/dialects.js';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startHttpReceiver, type HttpReceiver, type ReceivedRequest } from '../support/http-receiver.js';
import { tlsFixtures } from '../support/tls-fixtures.js';

/**
 * No secret (token, shared key, client secret, webhook secret, header value, client private key) ever comes back:
 * not in any GraphQL answer, not in the audit log, not in a connection-test message or lastError (even when the SIEM
 * echoes the credential back), and never in plaintext in the database: the SQLite file and its write-ahead log, or
 * PostgreSQL's rows.
 */

const pki = tlsFixtures();
const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const GUID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const SHARED_KEY_BYTES = 'SENTINEL-shared-key-3c9e71d2aa0f5b';
const S = {
  splunkToken: 'SPLUNK-hec-6f1d0c4b9a27',
  splunkTokenRotated: 'SPLUNK-rotated-83be5a1f02',
  sharedKey: Buffer.from(SHARED_KEY_BYTES).toString('base64'),
  clientSecret: 'ENTRA-client-secret-5d8a2e0c71',
  webhookSecret: 'WEBHOOK-hmac-secret-9b3f6a1d44',
  webhookSecretRotated: 'WEBHOOK-rotated-0d4c7b2e93',
  headerValue: 'Bearer HEADER-credential-2e7c5f9a10',
  headerValueRotated: 'HEADER-rotated-6a3e9f1c27',
  crowdstrikeToken: 'LOGSCALE-ingest-4a1f8d2c6e',
  arcsightToken: 'ARCSIGHT-connector-7e2b9c4d18',
  cefToken: 'CEF-bearer-1c6d3a8f5b',
};
/** The client private key, as the lines of its base64 body: a PEM stored inside JSON would have its line breaks escaped. */
const KEY_LINES = pki.clientKey.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'));
const NEEDLES: [string, string][] = [
  ...Object.entries(S),
  ['sharedKey (decoded)', SHARED_KEY_BYTES],
  ...KEY_LINES.map((l, i) => [`tls.clientKey line ${i + 1}`, l] as [string, string]),
];

/** Names the secrets that occur in `text` (none, hopefully). */
function secretsIn(text: string, extra: [string, string][] = []): string[] {
  return [...NEEDLES, ...extra].filter(([, value]) => text.includes(value)).map(([name]) => name);
}

forEachDialect((dialect) => {
  let g: TestGateway;
  /** Every GraphQL answer body this file received, verbatim. */
  const answers: string[] = [];
  const ids: Record<string, string> = {};
  const apiTokens: [string, string][] = [['bootstrap admin token', ADMIN_TOKEN]];

  beforeAll(async () => {
    g = await startTestGateway({ env: await dialect.databaseEnv() });
    const gql = g.gql;
    g.gql = async (query, variables, token) => {
      const res = await gql(query, variables, token);
      answers.push(JSON.stringify(res));
      return res;
    };
  });
  afterAll(async () => {
    await g?.stop({ removeDatabase: true });
  });

  describe('GraphQL answers', () => {
    it('create answers say only whether each secret is set', async () => {
      const mtls = { caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey };
      const splunk = await createIntegration(g, {
        name: 'Secret-bearing Splunk',
        config: { splunk: { endpoint: 'https://splunk.example.com:8088/services/collector/event', token: S.splunkToken, tls: mtls } },
      });
      const sentinelDc = await createIntegration(g, {
        name: 'Secret-bearing Sentinel DC', config: { sentinel: { workspaceId: GUID, sharedKey: S.sharedKey } },
      });
      const sentinelLi = await createIntegration(g, {
        name: 'Secret-bearing Sentinel LI',
        config: {
          sentinel: {
            dceEndpoint: 'https://dce.eastus-1.ingest.monitor.azure.com', dcrImmutableId: `dcr-${'ab'.repeat(16)}`, streamName: 'Custom-SiemGate_CL',
            tenantId: TENANT_ID, clientId: GUID, clientSecret: S.clientSecret,
          },
        },
      });
      const webhook = await createIntegration(g, {
        name: 'Secret-bearing webhook',
        config: { webhook: { endpoint: 'https://siem.example.com/hook', secret: S.webhookSecret, headers: [{ name: 'Authorization', value: S.headerValue }], tls: mtls } },
      });
      const crowdstrike = await createIntegration(g, {
        name: 'Secret-bearing LogScale', config: { crowdstrike: { endpoint: 'https://cloud.community.humio.com/api/v1/ingest/hec', token: S.crowdstrikeToken } },
      });
      const arcsight = await createIntegration(g, {
        name: 'Secret-bearing ArcSight', config: { arcsight: { endpoint: 'https://arcsight.example.com/receiver/v1/events', token: S.arcsightToken } },
      });
      const cef = await createIntegration(g, { name: 'Secret-bearing CEF', config: { cef: { endpoint: 'https://collector.example.com/cef', token: S.cefToken } } });
      const syslog = await createIntegration(g, {
        name: 'Secret-bearing syslog', config: { syslog: { host: 'syslog.example.com', protocol: 'TLS', tls: mtls } },
      });
      Object.assign(ids, {
        splunk: splunk.id, sentinelDc: sentinelDc.id, sentinelLi: sentinelLi.id, webhook: webhook.id, crowdstrike: crowdstrike.id,
        arcsight: arcsight.id, cef: cef.id, syslog: syslog.id,
      });

      expect(splunk.config).toMatchObject({ hasToken: true, tls: { hasClientKey: true, clientCert: pki.clientCert } });
      expect(sentinelDc.config).toMatchObject({ hasSharedKey: true, hasClientSecret: false });
      expect(sentinelLi.config).toMatchObject({ hasSharedKey: false, hasClientSecret: true });
      expect(webhook.config).toMatchObject({ hasSecret: true, headerNames: ['Authorization'], tls: { hasClientKey: true } });
      expect(crowdstrike.config.hasToken).toBe(true);
      expect(arcsight.config.hasToken).toBe(true);
      expect(cef.config.hasToken).toBe(true);
      expect(syslog.config.tls).toMatchObject({ hasClientKey: true });
      expect(secretsIn(answers.join('\n'))).toEqual([]);
    });

    it('list and read answers hold no secret, for admins and viewers alike', async () => {
      const viewer = dataOf(await g.gql('mutation { createApiKey(input: { name: "viewer", role: VIEWER }) { token } }')).createApiKey.token;
      apiTokens.push(['created viewer token', viewer]);
      const from = answers.length;
      await listIntegrations(g);
      await listIntegrations(g, {}, viewer);
      for (const id of Object.values(ids)) {
        await getIntegration(g, id);
        await getIntegration(g, id, viewer);
      }
      expect(answers.length - from).toBe(2 + 2 * Object.keys(ids).length);
      expect(secretsIn(answers.slice(from).join('\n'))).toEqual([]);
    });

    it('update answers hold no secret, also when secrets are rotated', async () => {
      const from = answers.length;
      await updateIntegration(g, ids.splunk!, { config: { splunk: { token: S.splunkTokenRotated } } });
      await updateIntegration(g, ids.webhook!, { config: { webhook: { secret: S.webhookSecretRotated, headers: [{ name: 'Authorization', value: S.headerValueRotated }] } } });
      await updateIntegration(g, ids.sentinelLi!, { name: 'Renamed Sentinel LI' });
      await updateIntegration(g, ids.syslog!, { config: { syslog: { tls: { rejectUnauthorized: false } } } });
      expect(secretsIn(answers.slice(from).join('\n'))).toEqual([]);
    });

    it('delete answers hold no secret', async () => {
      const from = answers.length;
      expect(dataOf(await g.gql(DELETE_INTEGRATION, { id: ids.arcsight })).deleteSiemIntegration).toBe(ids.arcsight);
      expect(secretsIn(answers.slice(from).join('\n'))).toEqual([]);
    });

    it('the schema has no output field that could carry a secret', async () => {
      const res = dataOf(await g.gql(`{ __schema { types { name kind fields { name } } } }`));
      const outputs = res.__schema.types.filter((t: { kind: string; name: string }) => t.kind === 'OBJECT' && !t.name.startsWith('__'));
      const offending = outputs.flatMap((t: { name: string; fields: { name: string }[] }) =>
        t.fields
          .filter((f) => /^(token|sharedKey|secret|clientSecret|clientKey|password|privateKey|headers|headerValues)$/i.test(f.name))
          .filter((f) => !(t.name === 'CreatedApiKey' && f.name === 'token')) // the one documented exception: a new API key's token, shown once
          .map((f) => `${t.name}.${f.name}`),
      );
      expect(offending).toEqual([]);
    });
  });

  describe('the audit log', () => {
    it('records each set secret of a creation as [REDACTED]', async () => {
      const created = await auditEntries(g, { action: 'siem.integration.created' });
      const byTarget = (id: string) => created.find((e) => e.targetId === id)!.changes.after.config;
      expect(byTarget(ids.splunk!)).toMatchObject({ token: '[REDACTED]', tls: { clientKey: '[REDACTED]', clientCert: pki.clientCert } });
      expect(byTarget(ids.sentinelDc!)).toMatchObject({ sharedKey: '[REDACTED]', workspaceId: GUID });
      expect(byTarget(ids.sentinelLi!)).toMatchObject({ clientSecret: '[REDACTED]', clientId: GUID });
      expect(byTarget(ids.webhook!)).toMatchObject({ secret: '[REDACTED]', headers: '[REDACTED]', tls: { clientKey: '[REDACTED]' } });
      expect(byTarget(ids.crowdstrike!)).toMatchObject({ token: '[REDACTED]' });
      expect(byTarget(ids.cef!)).toMatchObject({ token: '[REDACTED]' });
      expect(byTarget(ids.syslog!)).toMatchObject({ tls: { clientKey: '[REDACTED]' } });
    });

    it('shows a rotated secret as changed, with before and after both [REDACTED]', async () => {
      const updated = await auditEntries(g, { action: 'siem.integration.updated' });
      const splunk = updated.find((e) => e.targetId === ids.splunk)!;
      expect(splunk.changes).toEqual({ changed: ['config.token'], before: { 'config.token': '[REDACTED]' }, after: { 'config.token': '[REDACTED]' } });
      const webhook = updated.find((e) => e.targetId === ids.webhook)!;
      expect([...webhook.changes.changed].sort()).toEqual(['config.headers', 'config.secret']);
      expect(webhook.changes.before).toEqual({ 'config.headers': '[REDACTED]', 'config.secret': '[REDACTED]' });
      expect(webhook.changes.after).toEqual({ 'config.headers': '[REDACTED]', 'config.secret': '[REDACTED]' });
    });

    it('does not list an untouched secret as changed', async () => {
      const updated = await auditEntries(g, { action: 'siem.integration.updated' });
      expect(updated.find((e) => e.targetId === ids.sentinelLi)!.changes.changed).toEqual(['name']);
      expect(updated.find((e) => e.targetId === ids.syslog)!.changes.changed).toEqual(['config.tls.rejectUnauthorized']);
    });

    it('records a deletion with the integration as it was, secrets [REDACTED]', async () => {
      const [deleted] = await auditEntries(g, { action: 'siem.integration.deleted' });
      expect(deleted).toMatchObject({ targetId: ids.arcsight, changes: { before: { name: 'Secret-bearing ArcSight', config: { token: '[REDACTED]' } } } });
    });

    it('names the acting key on every entry, and API key creation and revocation are audited without the token', async () => {
      const adminKeyId = dataOf(await g.gql('{ viewer { apiKeyId } }')).viewer.apiKeyId;
      const key = dataOf(await g.gql('mutation { createApiKey(input: { name: "to revoke", role: ADMIN }) { token apiKey { id } } }')).createApiKey;
      apiTokens.push(['created admin token', key.token]);
      await g.gql(`mutation { revokeApiKey(id: "${key.apiKey.id}") { id } }`);

      const all = await auditEntries(g);
      const actions = new Set(all.map((e) => e.action));
      for (const action of ['siem.integration.created', 'siem.integration.updated', 'siem.integration.deleted', 'api_key.created', 'api_key.revoked']) {
        expect(actions).toContain(action);
      }
      for (const e of all.filter((e) => e.action.startsWith('siem.'))) expect(e).toMatchObject({ actorKeyId: adminKeyId, actorName: expect.any(String), createdAt: expect.any(String) });
      expect(all.find((e) => e.action === 'api_key.created' && e.targetId === key.apiKey.id)).toMatchObject({ actorKeyId: adminKeyId, changes: { after: { name: 'to revoke', role: 'admin' } } });
      expect(all.find((e) => e.action === 'api_key.revoked' && e.targetId === key.apiKey.id)).toMatchObject({ actorKeyId: adminKeyId, targetType: 'ApiKey' });
      expect(secretsIn(JSON.stringify(all), apiTokens)).toEqual([]);
    });
  });

  describe('at rest', () => {
    it('the stored data (the SQLite file and its write-ahead log, or every PostgreSQL row) holds no stored secret and no API token in plaintext', async () => {
      const files = await storedData(g.env);
      const all = Buffer.concat(files.map((f) => f.bytes));
      // The search itself works: non-secret fields of the same rows are there in plaintext.
      expect(all.includes(Buffer.from('Secret-bearing Splunk'))).toBe(true);
      expect(all.includes(Buffer.from(pki.clientCert.split('\n')[1]!))).toBe(true);
      for (const f of files) expect({ file: f.name, secrets: secretsIn(f.bytes.toString('latin1'), apiTokens) }).toEqual({ file: f.name, secrets: [] });
    });

  });

  describe('connection-test messages and lastError when the SIEM echoes the credential back', () => {
    let echo: HttpReceiver;
    /** A hostile SIEM: refuses with 401 and quotes every credential it received in its error text. */
    const echoing = (req: ReceivedRequest) => {
      const form = new URLSearchParams(req.body.toString('utf8'));
      const quoted = [req.headers.authorization, req.headers['x-api-key'], form.get('client_secret')].filter(Boolean).join(' / ');
      return {
        status: 401,
        body: JSON.stringify({ text: `Invalid token: ${quoted}`, code: 4, error: 'invalid_client', error_description: `Invalid client secret provided: ${quoted}`, message: `Invalid credentials: ${quoted}` }),
      };
    };
    beforeAll(async () => {
      echo = await startHttpReceiver(echoing);
    });
    afterAll(async () => {
      await echo?.close();
    });

    it.each([
      ['SPLUNK', S.splunkToken, (url: string) => ({ splunk: { endpoint: `${url}/services/collector/event`, token: S.splunkToken } })],
      ['CROWDSTRIKE', S.crowdstrikeToken, (url: string) => ({ crowdstrike: { endpoint: `${url}/api/v1/ingest/hec`, token: S.crowdstrikeToken } })],
      ['ARCSIGHT', S.arcsightToken, (url: string) => ({ arcsight: { endpoint: `${url}/receiver/v1/events`, token: S.arcsightToken } })],
      ['CEF over HTTP', S.cefToken, (url: string) => ({ cef: { endpoint: `${url}/cef`, token: S.cefToken } })],
      ['WEBHOOK', S.headerValue, (url: string) => ({ webhook: { endpoint: `${url}/hook`, secret: S.webhookSecret, headers: [{ name: 'X-Api-Key', value: S.headerValue }] } })],
      [
        'SENTINEL (Logs Ingestion)', S.clientSecret,
        (url: string) => ({
          sentinel: {
            dceEndpoint: url, dcrImmutableId: `dcr-${'cd'.repeat(16)}`, streamName: 'Custom-SiemGate_CL', tenantId: TENANT_ID, clientId: GUID,
            clientSecret: S.clientSecret, authorityHost: url,
          },
        }),
      ],
    ])('%s: the failure names the SIEM\'s answer but never the credential', async (label, secret, config) => {
      const created = await createIntegration(g, { name: `Echo ${label}`, config: config(echo.url) });
      const sent = echo.requests.length;
      const result = await testIntegration(g, created.id);
      // The hostile SIEM did receive the credential, so it really could echo it…
      expect(echo.requests.length).toBeGreaterThan(sent);
      expect(echo.requests.slice(sent).some((r) => (r.headers.authorization ?? '').includes(secret) || r.headers['x-api-key'] === secret || r.body.toString().includes(encodeURIComponent(secret)))).toBe(true);
      // …and the gateway reported the refusal…
      expect(result.success).toBe(false);
      expect(result.message).toMatch(/^Connection test failed: .*401/);
      // …without repeating the credential anywhere.
      const after = await getIntegration(g, created.id);
      expect(after.lastError).toEqual(expect.any(String));
      expect(secretsIn(JSON.stringify(result))).toEqual([]);
      expect(secretsIn(String(after.lastError))).toEqual([]);
    });
  });

  describe('at rest, at the end', () => {
    it('after connection tests recorded their errors and the gateway stopped (log checkpointed into the file), the database still holds no secret', async () => {
      await g.stop();
      const files = await storedData(g.env);
      expect(Buffer.concat(files.map((f) => f.bytes)).includes(Buffer.from('Secret-bearing Splunk'))).toBe(true);
      for (const f of files) expect({ file: f.name, secrets: secretsIn(f.bytes.toString('latin1'), apiTokens) }).toEqual({ file: f.name, secrets: [] });
    });
  });
});
