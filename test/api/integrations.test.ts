import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_LOG, DELETE_INTEGRATION, GET_INTEGRATION, TEST_INTEGRATION, UPDATE_INTEGRATION, auditEntries, createIntegration, dataOf, firstError,
  getIntegration, listIntegrations, startHecReceiver, storeSnapshot, testEventRequests, testIntegration, updateIntegration, withoutTracking,
} from '../support/api.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { tlsFixtures } from '../support/tls-fixtures.js';
import { forEachDialect } from '../support/dialects.js';

const HEC_TOKEN = 'hec-token-2b9f6c1e';
const WORKSPACE_ID = '2f0c5d7e-1b3a-4c5d-9e8f-0a1b2c3d4e5f';
const SHARED_KEY = Buffer.from('a-workspace-shared-key-of-32-byte').toString('base64');
const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT_ID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const DCR_ID = `dcr-${'0123456789abcdef'.repeat(2)}`;
const WEBHOOK_SECRET = 'webhook-hmac-secret-55c1';
const BATCHING_DEFAULTS = { batchSize: 100, flushIntervalSeconds: 10, retryCount: 3, timeoutSeconds: 30 };
const pki = tlsFixtures();
const tlsOut = (caCert: string | null, extra: Partial<{ clientCert: string | null; hasClientKey: boolean; rejectUnauthorized: boolean }> = {}) => ({
  caCert, clientCert: null, hasClientKey: false, rejectUnauthorized: true, ...extra,
});

/** One create input per type and variant, with the config the API must show for it (defaults applied, no secrets). */
function catalog(hecUrl: string) {
  return [
    {
      label: 'SPLUNK (HEC)',
      input: { name: 'Production Splunk', config: { splunk: { endpoint: `${hecUrl}/services/collector/event`, token: HEC_TOKEN, index: 'security', source: 'raxe' } } },
      type: 'SPLUNK',
      config: {
        __typename: 'SplunkConfig', endpoint: `${hecUrl}/services/collector/event`, hasToken: true, index: 'security', source: 'raxe',
        sourcetype: '_json', host: null, indexerAck: false, gzip: false, timeoutSeconds: null, tls: null,
      },
    },
    {
      label: 'SENTINEL (HTTP Data Collector API)',
      input: { name: 'Azure Sentinel', config: { sentinel: { workspaceId: WORKSPACE_ID, sharedKey: SHARED_KEY } } },
      type: 'SENTINEL',
      config: {
        __typename: 'SentinelConfig', api: 'DATA_COLLECTOR', workspaceId: WORKSPACE_ID, hasSharedKey: true, logType: 'ARXSecAudit', endpoint: null,
        dceEndpoint: null, dcrImmutableId: null, streamName: null, tenantId: null, clientId: null, hasClientSecret: false, authorityHost: null,
        gzip: false, timeoutSeconds: null, tls: null,
      },
    },
    {
      label: 'SENTINEL (Logs Ingestion API)',
      input: {
        name: 'Sentinel via DCR',
        config: {
          sentinel: {
            dceEndpoint: 'https://siem-dce-x1y2.eastus-1.ingest.monitor.azure.com', dcrImmutableId: DCR_ID, streamName: 'Custom-SiemGate_CL',
            tenantId: TENANT_ID, clientId: CLIENT_ID, clientSecret: 'entra-client-secret-0a9b',
          },
        },
      },
      type: 'SENTINEL',
      config: {
        __typename: 'SentinelConfig', api: 'LOGS_INGESTION', workspaceId: null, hasSharedKey: false, logType: null, endpoint: null,
        dceEndpoint: 'https://siem-dce-x1y2.eastus-1.ingest.monitor.azure.com', dcrImmutableId: DCR_ID, streamName: 'Custom-SiemGate_CL',
        tenantId: TENANT_ID, clientId: CLIENT_ID, hasClientSecret: true, authorityHost: 'https://login.microsoftonline.com',
        gzip: false, timeoutSeconds: null, tls: null,
      },
    },
    {
      label: 'SYSLOG with only a host (port 514, TCP, local0, RFC 5424)',
      input: { name: 'Syslog CEF', config: { syslog: { host: 'syslog.example.com' } } },
      type: 'SYSLOG',
      config: { __typename: 'SyslogConfig', host: 'syslog.example.com', port: 514, protocol: 'TCP', facility: 'local0', format: 'RFC5424', timeoutSeconds: null, tls: null },
    },
    {
      label: 'SYSLOG over TLS (port 6514)',
      input: { name: 'Syslog TLS', config: { syslog: { host: 'syslog.example.com', protocol: 'TLS', tls: { caCert: pki.caCert } } } },
      type: 'SYSLOG',
      config: {
        __typename: 'SyslogConfig', host: 'syslog.example.com', port: 6514, protocol: 'TLS', facility: 'local0', format: 'RFC5424', timeoutSeconds: null,
        tls: tlsOut(pki.caCert),
      },
    },
    {
      label: 'SYSLOG over UDP, RFC 3164, facility auth',
      input: { name: 'Syslog UDP', config: { syslog: { host: '10.1.2.3', port: 1514, protocol: 'UDP', facility: 'auth', format: 'RFC3164' } } },
      type: 'SYSLOG',
      config: { __typename: 'SyslogConfig', host: '10.1.2.3', port: 1514, protocol: 'UDP', facility: 'auth', format: 'RFC3164', timeoutSeconds: null, tls: null },
    },
    {
      label: 'WEBHOOK with a secret and extra headers',
      input: {
        name: 'Custom SIEM Webhook',
        config: {
          webhook: {
            endpoint: 'https://siem.example.com/api/events', secret: WEBHOOK_SECRET,
            headers: [{ name: 'X-Custom-Header', value: 'custom-value' }, { name: 'Authorization', value: 'Bearer hdr-credential-1' }],
          },
        },
      },
      type: 'WEBHOOK',
      config: {
        __typename: 'WebhookConfig', endpoint: 'https://siem.example.com/api/events', hasSecret: true, signatureScheme: 'ARX',
        headerNames: ['X-Custom-Header', 'Authorization'], gzip: false, timeoutSeconds: null, tls: null,
      },
    },
    {
      label: 'CROWDSTRIKE (Falcon LogScale)',
      input: {
        name: 'LogScale',
        config: { crowdstrike: { endpoint: 'https://cloud.community.humio.com/api/v1/ingest/hec', token: 'logscale-ingest-token', repository: 'security', parser: 'raxe' } },
      },
      type: 'CROWDSTRIKE',
      config: {
        __typename: 'CrowdStrikeConfig', endpoint: 'https://cloud.community.humio.com/api/v1/ingest/hec', hasToken: true, repository: 'security', parser: 'raxe',
        gzip: false, timeoutSeconds: null, tls: null,
      },
    },
    {
      label: 'ARCSIGHT (SmartConnector, default vendor and product)',
      input: { name: 'ArcSight', config: { arcsight: { endpoint: 'https://arcsight.example.com/receiver/v1/events', token: 'connector-token', smartConnectorId: 'sc-001' } } },
      type: 'ARCSIGHT',
      config: {
        __typename: 'ArcSightConfig', endpoint: 'https://arcsight.example.com/receiver/v1/events', hasToken: true, smartConnectorId: 'sc-001',
        deviceVendor: 'RAXE', deviceProduct: 'ThreatDetection', gzip: false, timeoutSeconds: null, tls: null,
      },
    },
    {
      label: 'CEF over HTTP (the default transport)',
      input: { name: 'CEF HTTP', config: { cef: { endpoint: 'https://collector.example.com/cef', token: 'cef-bearer-token' } } },
      type: 'CEF',
      config: {
        __typename: 'CefConfig', transport: 'HTTP', endpoint: 'https://collector.example.com/cef', hasToken: true, host: null, port: null, facility: 'local0',
        deviceVendor: 'RAXE', deviceProduct: 'ThreatDetection', gzip: false, timeoutSeconds: null, tls: null,
      },
    },
    {
      label: 'CEF over syslog UDP (port 514)',
      input: { name: 'CEF UDP', config: { cef: { transport: 'UDP', host: 'siem.example.com' } } },
      type: 'CEF',
      config: {
        __typename: 'CefConfig', transport: 'UDP', endpoint: null, hasToken: false, host: 'siem.example.com', port: 514, facility: 'local0',
        deviceVendor: 'RAXE', deviceProduct: 'ThreatDetection', gzip: false, timeoutSeconds: null, tls: null,
      },
    },
    {
      label: 'CEF over syslog TCP (port 6514)',
      input: { name: 'CEF TCP', config: { cef: { transport: 'TCP', host: 'siem.example.com', facility: 'local3' } } },
      type: 'CEF',
      config: {
        __typename: 'CefConfig', transport: 'TCP', endpoint: null, hasToken: false, host: 'siem.example.com', port: 6514, facility: 'local3',
        deviceVendor: 'RAXE', deviceProduct: 'ThreatDetection', gzip: false, timeoutSeconds: null, tls: null,
      },
    },
    {
      label: 'CEF over syslog TLS with a CA',
      input: { name: 'CEF TLS', config: { cef: { transport: 'TLS', host: 'siem.example.com', port: 7514, tls: { caCert: pki.caCert } } } },
      type: 'CEF',
      config: {
        __typename: 'CefConfig', transport: 'TLS', endpoint: null, hasToken: false, host: 'siem.example.com', port: 7514, facility: 'local0',
        deviceVendor: 'RAXE', deviceProduct: 'ThreatDetection', gzip: false, timeoutSeconds: null, tls: tlsOut(pki.caCert),
      },
    },
  ];
}

forEachDialect((dialect) => {
  let g: TestGateway;
  let hec: HttpReceiver;

  beforeAll(async () => {
    [g, hec] = await Promise.all([dialect.databaseEnv().then((env) => startTestGateway({ env })), startHecReceiver(HEC_TOKEN)]);
  });
  afterAll(async () => {
    await Promise.all([g?.stop({ removeDatabase: true }), hec?.close()]);
  });

  describe('creating an integration', () => {
    it.each(catalog('http://127.0.0.1:1').map((c) => [c.label, c] as const))('creates %s with the given fields and the documented defaults', async (_label, c) => {
      const created = await createIntegration(g, c.input);
      expect(created).toEqual({
        id: expect.any(String),
        type: c.type,
        name: c.input.name,
        enabled: true,
        customerId: null,
        errorCount: 0,
        lastError: null,
        lastErrorAt: null,
        lastEventAt: null,
        health: 'UNKNOWN',
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        batching: BATCHING_DEFAULTS,
        config: c.config,
      });
      expect(withoutTracking(await getIntegration(g, created.id))).toEqual(withoutTracking(created));
    });

    it('stores the given batching, enabled flag and customerId instead of the defaults', async () => {
      const created = await createIntegration(g, {
        name: 'Tuned',
        enabled: false,
        customerId: 'cust_acme',
        batching: { batchSize: 50, flushIntervalSeconds: 5, retryCount: 5, timeoutSeconds: 60 },
        config: { splunk: { endpoint: 'https://splunk.example.com:8088/services/collector/event', token: 't-1', sourcetype: 'raxe:scan' } },
      });
      expect(created).toMatchObject({
        enabled: false,
        health: 'DISABLED',
        customerId: 'cust_acme',
        batching: { batchSize: 50, flushIntervalSeconds: 5, retryCount: 5, timeoutSeconds: 60 },
        config: { sourcetype: 'raxe:scan' },
      });
    });

    it('fills in the batching defaults for the fields a partial batching input leaves out', async () => {
      const created = await createIntegration(g, {
        name: 'Partly tuned',
        batching: { batchSize: 10 },
        config: { syslog: { host: 'syslog.example.com' } },
      });
      expect(created.batching).toEqual({ ...BATCHING_DEFAULTS, batchSize: 10 });
    });

    it('writes a siem.integration.created audit entry naming the actor and the new integration', async () => {
      const created = await createIntegration(g, { name: 'Audited', config: { syslog: { host: 'audit.example.com' } } });
      const viewer = dataOf(await g.gql('{ viewer { apiKeyId } }')).viewer;
      const [entry] = await auditEntries(g, { action: 'siem.integration.created' });
      expect(entry).toMatchObject({
        action: 'siem.integration.created',
        actorKeyId: viewer.apiKeyId,
        actorName: 'bootstrap',
        targetType: 'SiemIntegration',
        targetId: created.id,
        changes: { after: { name: 'Audited', type: 'SYSLOG', enabled: true, config: { host: 'audit.example.com', port: 514 } } },
      });
    });
  });

  describe('listing integrations', () => {
    let acmeSplunk: any;
    let acmeSyslogDisabled: any;
    let betaWebhook: any;
    let globalSplunk: any;

    beforeAll(async () => {
      acmeSplunk = await createIntegration(g, {
        name: 'acme splunk', customerId: 'cust_list_acme', config: { splunk: { endpoint: 'https://a.example.com/services/collector/event', token: 't' } },
      });
      acmeSyslogDisabled = await createIntegration(g, {
        name: 'acme syslog', customerId: 'cust_list_acme', enabled: false, config: { syslog: { host: 'a.example.com' } },
      });
      betaWebhook = await createIntegration(g, { name: 'beta webhook', customerId: 'cust_list_beta', config: { webhook: { endpoint: 'https://b.example.com/hook' } } });
      globalSplunk = await createIntegration(g, { name: 'global splunk', config: { splunk: { endpoint: 'https://g.example.com/services/collector/event', token: 't' } } });
    });

    it('lists every integration of the organisation, oldest first', async () => {
      const all = await listIntegrations(g);
      const ids = all.map((i) => i.id);
      for (const i of [acmeSplunk, acmeSyslogDisabled, betaWebhook, globalSplunk]) expect(ids).toContain(i.id);
      const created = all.map((i) => Date.parse(i.createdAt));
      expect(created).toEqual([...created].sort((a, b) => a - b));
    });

    it('shows each integration in the list exactly as reading it by id does', async () => {
      const all = await listIntegrations(g);
      expect(withoutTracking(all.find((i) => i.id === betaWebhook.id))).toEqual(withoutTracking(await getIntegration(g, betaWebhook.id)));
    });

    it('filters by customerId', async () => {
      expect((await listIntegrations(g, { customerId: 'cust_list_acme' })).map((i) => i.id)).toEqual([acmeSplunk.id, acmeSyslogDisabled.id]);
      expect((await listIntegrations(g, { customerId: 'cust_list_beta' })).map((i) => i.id)).toEqual([betaWebhook.id]);
      expect(await listIntegrations(g, { customerId: 'cust_nobody' })).toEqual([]);
    });

    it('filters by type', async () => {
      const splunks = await listIntegrations(g, { type: 'SPLUNK' });
      expect(splunks.length).toBeGreaterThan(0);
      expect(splunks.every((i) => i.type === 'SPLUNK')).toBe(true);
      expect(splunks.map((i) => i.id)).toEqual(expect.arrayContaining([acmeSplunk.id, globalSplunk.id]));
      expect(splunks.map((i) => i.id)).not.toContain(betaWebhook.id);
    });

    it('filters by enabled', async () => {
      const disabled = await listIntegrations(g, { enabled: false });
      expect(disabled.every((i) => i.enabled === false)).toBe(true);
      expect(disabled.map((i) => i.id)).toContain(acmeSyslogDisabled.id);
      const enabled = await listIntegrations(g, { enabled: true });
      expect(enabled.every((i) => i.enabled === true)).toBe(true);
      expect(enabled.map((i) => i.id)).toEqual(expect.arrayContaining([acmeSplunk.id, betaWebhook.id, globalSplunk.id]));
      expect(enabled.map((i) => i.id)).not.toContain(acmeSyslogDisabled.id);
    });

    it('combines filters', async () => {
      expect((await listIntegrations(g, { customerId: 'cust_list_acme', type: 'SPLUNK' })).map((i) => i.id)).toEqual([acmeSplunk.id]);
      expect((await listIntegrations(g, { customerId: 'cust_list_acme', enabled: true })).map((i) => i.id)).toEqual([acmeSplunk.id]);
      expect(await listIntegrations(g, { customerId: 'cust_list_beta', type: 'SPLUNK' })).toEqual([]);
    });
  });

  describe('reading one integration', () => {
    it('answers NOT_FOUND for an id that does not exist', async () => {
      const res = await g.gql(GET_INTEGRATION, { id: '00000000-0000-4000-8000-000000000000' });
      expect(firstError(res).extensions?.code).toBe('NOT_FOUND');
    });
  });

  describe('partially updating an integration', () => {
    it('changes only the given config field and keeps everything else, the token included', async () => {
      const before = await createIntegration(g, {
        name: 'Splunk to patch',
        customerId: 'cust_patch',
        config: { splunk: { endpoint: `${hec.url}/services/collector/event`, token: HEC_TOKEN, index: 'main', source: 'raxe', host: 'gw-01' } },
      });
      const after = await updateIntegration(g, before.id, { config: { splunk: { index: 'security' } } });
      expect(withoutTracking(after)).toEqual(withoutTracking({ ...before, updatedAt: expect.any(String), config: { ...before.config, index: 'security' } }));
      expect(withoutTracking(await getIntegration(g, before.id))).toEqual(withoutTracking(after));

      // The omitted token is still the stored one: the SIEM accepts the connection test.
      const sent = hec.requests.length;
      const result = await testIntegration(g, before.id);
      expect(result).toMatchObject({ success: true, message: 'Test event sent successfully' });
      const tests = testEventRequests(hec, sent);
      expect(tests).toHaveLength(1);
      expect(tests[0]!.headers.authorization).toBe(`Splunk ${HEC_TOKEN}`);
    });

    it('changes only the name when only the name is given', async () => {
      const before = await createIntegration(g, { name: 'Old name', config: { syslog: { host: 'syslog.example.com', port: 1514 } } });
      const after = await updateIntegration(g, before.id, { name: 'New name' });
      expect(withoutTracking(after)).toEqual(withoutTracking({ ...before, name: 'New name', updatedAt: expect.any(String) }));
    });

    it('changes only the given batching field', async () => {
      const before = await createIntegration(g, { name: 'Batching', batching: { batchSize: 20, retryCount: 7 }, config: { syslog: { host: 'syslog.example.com' } } });
      const after = await updateIntegration(g, before.id, { batching: { flushIntervalSeconds: 60 } });
      expect(withoutTracking(after)).toEqual(withoutTracking({ ...before, updatedAt: expect.any(String), batching: { ...before.batching, flushIntervalSeconds: 60 } }));
    });

    it('disables and re-enables an integration; health shows DISABLED while disabled', async () => {
      // Customer-scoped, so that no delivered audit event changes its health behind the test's back.
      const before = await createIntegration(g, { name: 'Toggle', customerId: 'cust_toggle', config: { syslog: { host: 'syslog.example.com' } } });
      expect(await updateIntegration(g, before.id, { enabled: false })).toMatchObject({ enabled: false, health: 'DISABLED', config: before.config });
      expect(await updateIntegration(g, before.id, { enabled: true })).toMatchObject({ enabled: true, health: 'UNKNOWN', config: before.config });
    });

    it('sets a customerId, and an explicit null makes the integration global again', async () => {
      const before = await createIntegration(g, { name: 'Routing', config: { syslog: { host: 'syslog.example.com' } } });
      expect((await updateIntegration(g, before.id, { customerId: 'cust_routing' })).customerId).toBe('cust_routing');
      expect((await updateIntegration(g, before.id, { name: 'Routing 2' })).customerId).toBe('cust_routing');
      expect((await updateIntegration(g, before.id, { customerId: null })).customerId).toBeNull();
    });

    it('keeps a webhook\'s secret and headers when only the endpoint changes (the receiver verifies the signature)', async () => {
      const receiver = await startHttpReceiver(() => ({ status: 200, body: '{}' }));
      try {
        const created = await createIntegration(g, {
          name: 'Webhook to move',
          config: { webhook: { endpoint: `${receiver.url}/old`, secret: WEBHOOK_SECRET, headers: [{ name: 'X-Custom-Header', value: 'custom-value' }] } },
        });
        const moved = await updateIntegration(g, created.id, { config: { webhook: { endpoint: `${receiver.url}/new` } } });
        expect(moved.config).toEqual({ ...created.config, endpoint: `${receiver.url}/new` });

        expect(await testIntegration(g, created.id)).toMatchObject({ success: true });
        const req = testEventRequests(receiver).at(-1)!;
        expect(req.url).toBe('/new');
        expect(req.headers['x-custom-header']).toBe('custom-value');
        // The receiver-side check from the product documentation, unchanged.
        const expected = `sha256=${createHmac('sha256', Buffer.from(WEBHOOK_SECRET)).update(req.body).digest('hex')}`;
        const got = String(req.headers['x-arx-signature'] ?? '');
        expect(got.length).toBe(expected.length);
        expect(timingSafeEqual(Buffer.from(expected), Buffer.from(got))).toBe(true);
      } finally {
        await receiver.close();
      }
    });

    it('replaces a webhook\'s headers as a whole when headers are given', async () => {
      const created = await createIntegration(g, {
        name: 'Webhook headers',
        config: { webhook: { endpoint: 'https://siem.example.com/hook', headers: [{ name: 'X-A', value: '1' }, { name: 'X-B', value: '2' }] } },
      });
      const updated = await updateIntegration(g, created.id, { config: { webhook: { headers: [{ name: 'X-C', value: '3' }] } } });
      expect(updated.config.headerNames).toEqual(['X-C']);
      expect(updated.config.hasSecret).toBe(false);
    });

    it('merges tls field by field: changing one TLS setting keeps the CA, client certificate and client key', async () => {
      const created = await createIntegration(g, {
        name: 'mTLS Splunk',
        config: {
          splunk: {
            endpoint: 'https://splunk.example.com:8088/services/collector/event', token: 't',
            tls: { caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey },
          },
        },
      });
      expect(created.config.tls).toEqual(tlsOut(pki.caCert, { clientCert: pki.clientCert, hasClientKey: true }));
      const updated = await updateIntegration(g, created.id, { config: { splunk: { tls: { rejectUnauthorized: false } } } });
      expect(updated.config.tls).toEqual(tlsOut(pki.caCert, { clientCert: pki.clientCert, hasClientKey: true, rejectUnauthorized: false }));
      expect(updated.config.hasToken).toBe(true);
    });

    it('keeps a Sentinel shared key when only the log type changes', async () => {
      const created = await createIntegration(g, { name: 'Sentinel patch', config: { sentinel: { workspaceId: WORKSPACE_ID, sharedKey: SHARED_KEY } } });
      const updated = await updateIntegration(g, created.id, { config: { sentinel: { logType: 'RaxeEvents' } } });
      expect(updated.config).toEqual({ ...created.config, logType: 'RaxeEvents' });
    });

    it('switches a Sentinel integration to the Logs Ingestion API, dropping the Data Collector fields and the shared key', async () => {
      const created = await createIntegration(g, { name: 'Sentinel switch', config: { sentinel: { workspaceId: WORKSPACE_ID, sharedKey: SHARED_KEY, logType: 'RaxeEvents' } } });
      const li = {
        dceEndpoint: 'https://siem-dce.eastus-1.ingest.monitor.azure.com', dcrImmutableId: DCR_ID, streamName: 'Custom-SiemGate_CL',
        tenantId: TENANT_ID, clientId: CLIENT_ID, clientSecret: 'entra-client-secret-77',
      };
      const updated = await updateIntegration(g, created.id, { config: { sentinel: li } });
      const { clientSecret: _secret, ...shown } = li;
      expect(updated.config).toEqual({
        ...created.config, ...shown, api: 'LOGS_INGESTION', workspaceId: null, hasSharedKey: false, logType: null, hasClientSecret: true,
        authorityHost: 'https://login.microsoftonline.com',
      });
    });

    it('switches CEF from HTTP to syslog UDP, dropping the endpoint and the token', async () => {
      const created = await createIntegration(g, { name: 'CEF switch', config: { cef: { endpoint: 'https://collector.example.com/cef', token: 'cef-token' } } });
      const updated = await updateIntegration(g, created.id, { config: { cef: { transport: 'UDP', host: 'siem.example.com' } } });
      expect(updated.config).toEqual({ ...created.config, transport: 'UDP', host: 'siem.example.com', port: 514, endpoint: null, hasToken: false });
    });

    it('moves a syslog integration on the default port to 6514 when it switches to TLS, but keeps a port the admin chose', async () => {
      const onDefault = await createIntegration(g, { name: 'Syslog to TLS', config: { syslog: { host: 'syslog.example.com' } } });
      expect((await updateIntegration(g, onDefault.id, { config: { syslog: { protocol: 'TLS' } } })).config).toMatchObject({ protocol: 'TLS', port: 6514 });
      const onChosen = await createIntegration(g, { name: 'Syslog to TLS, own port', config: { syslog: { host: 'syslog.example.com', port: 1514 } } });
      expect((await updateIntegration(g, onChosen.id, { config: { syslog: { protocol: 'TLS' } } })).config).toMatchObject({ protocol: 'TLS', port: 1514 });
    });

    it('rotates a token: the new token is used, and the update is audited with the token redacted', async () => {
      const created = await createIntegration(g, { name: 'Rotate', config: { splunk: { endpoint: `${hec.url}/services/collector/event`, token: 'old-token-1' } } });
      expect(await testIntegration(g, created.id)).toMatchObject({ success: false, httpStatus: 403 });
      await updateIntegration(g, created.id, { config: { splunk: { token: HEC_TOKEN } } });
      expect(await testIntegration(g, created.id)).toMatchObject({ success: true });
      expect(testEventRequests(hec).at(-1)!.headers.authorization).toBe(`Splunk ${HEC_TOKEN}`);

      const [entry] = await auditEntries(g, { action: 'siem.integration.updated' });
      expect(entry).toMatchObject({ targetId: created.id, changes: { changed: ['config.token'], before: { 'config.token': '[REDACTED]' }, after: { 'config.token': '[REDACTED]' } } });
    });

    it('writes a siem.integration.updated audit entry with before and after of the changed fields only', async () => {
      const created = await createIntegration(g, { name: 'Audit update', config: { syslog: { host: 'syslog.example.com' } } });
      await updateIntegration(g, created.id, { name: 'Audit update 2', config: { syslog: { port: 1514 } } });
      const [entry] = await auditEntries(g, { action: 'siem.integration.updated' });
      expect(entry.targetId).toBe(created.id);
      expect([...entry.changes.changed].sort()).toEqual(['config.port', 'name']);
      expect(entry.changes.before).toEqual({ name: 'Audit update', 'config.port': 514 });
      expect(entry.changes.after).toEqual({ name: 'Audit update 2', 'config.port': 1514 });
    });

    it('refuses to change the type (BAD_USER_INPUT) and changes nothing', async () => {
      const created = await createIntegration(g, { name: 'Typed', config: { splunk: { endpoint: 'https://s.example.com/services/collector/event', token: 't' } } });
      const before = await storeSnapshot(g);
      const res = await g.gql(UPDATE_INTEGRATION, { id: created.id, input: { name: 'Retyped', config: { syslog: { host: 'syslog.example.com' } } } });
      const error = firstError(res);
      expect(error.extensions?.code).toBe('BAD_USER_INPUT');
      expect(error.message).toMatch(/input\.config\.syslog/);
      expect(error.message).toMatch(/type/i);
      expect(await storeSnapshot(g)).toEqual(before);
    });

    it('answers NOT_FOUND for an id that does not exist', async () => {
      const res = await g.gql(UPDATE_INTEGRATION, { id: '00000000-0000-4000-8000-000000000000', input: { name: 'x' } });
      expect(firstError(res).extensions?.code).toBe('NOT_FOUND');
    });
  });

  describe('deleting an integration', () => {
    it('returns the deleted id; afterwards reading, updating, testing and deleting it answer NOT_FOUND', async () => {
      const created = await createIntegration(g, { name: 'Doomed', config: { syslog: { host: 'syslog.example.com' } } });
      expect(dataOf(await g.gql(DELETE_INTEGRATION, { id: created.id })).deleteSiemIntegration).toBe(created.id);

      expect(firstError(await g.gql(GET_INTEGRATION, { id: created.id })).extensions?.code).toBe('NOT_FOUND');
      expect(firstError(await g.gql(UPDATE_INTEGRATION, { id: created.id, input: { name: 'x' } })).extensions?.code).toBe('NOT_FOUND');
      expect(firstError(await g.gql(TEST_INTEGRATION, { id: created.id })).extensions?.code).toBe('NOT_FOUND');
      expect(firstError(await g.gql(DELETE_INTEGRATION, { id: created.id })).extensions?.code).toBe('NOT_FOUND');
      expect((await listIntegrations(g)).map((i) => i.id)).not.toContain(created.id);
    });

    it('writes a siem.integration.deleted audit entry with the integration as it was', async () => {
      const created = await createIntegration(g, { name: 'Doomed 2', config: { syslog: { host: 'gone.example.com' } } });
      await g.gql(DELETE_INTEGRATION, { id: created.id });
      const [entry] = await auditEntries(g, { action: 'siem.integration.deleted' });
      expect(entry).toMatchObject({ targetId: created.id, targetType: 'SiemIntegration', changes: { before: { name: 'Doomed 2', config: { host: 'gone.example.com' } } } });
    });
  });

  describe('the audit log', () => {
    it('pages through every entry, newest first, without gaps or repeats', async () => {
      const all = await auditEntries(g);
      expect(all.length).toBeGreaterThan(5);
      const paged = [];
      let after: string | undefined;
      for (let page = 0; page < 100; page++) {
        const res = dataOf(await g.gql(AUDIT_LOG, { first: 4, after })).auditLog;
        paged.push(...res.edges.map((e: { node: unknown }) => e.node));
        if (!res.pageInfo.hasNextPage) break;
        after = res.pageInfo.endCursor;
      }
      expect(paged).toEqual(all);
      const times = all.map((e) => Date.parse(e.createdAt));
      expect(times).toEqual([...times].sort((a, b) => b - a));
    });

    it('filters by action', async () => {
      const deleted = await auditEntries(g, { action: 'siem.integration.deleted' });
      expect(deleted.length).toBeGreaterThan(0);
      expect(deleted.every((e) => e.action === 'siem.integration.deleted')).toBe(true);
    });
  });

  describe('after a restart', () => {
    it('shows every integration, the audit log and the API keys exactly as before, and stored secrets still work', async () => {
      const env = await dialect.databaseEnv();
      const first = await startTestGateway({ env });
      let second: TestGateway | undefined;
      try {
        const items = catalog(hec.url);
        const created = [];
        for (const c of items) created.push(await createIntegration(first, c.input));
        const splunk = created[0];
        const failing = await createIntegration(first, { name: 'Broken', customerId: 'cust_r', config: { splunk: { endpoint: 'http://127.0.0.1:1/services/collector/event', token: 'x' } } });
        expect((await testIntegration(first, failing.id)).success).toBe(false);
        await updateIntegration(first, created[3].id, { name: 'Syslog renamed', batching: { batchSize: 7 } });
        const deleted = await createIntegration(first, { name: 'Deleted', config: { syslog: { host: 'syslog.example.com' } } });
        await first.gql(DELETE_INTEGRATION, { id: deleted.id });

        const integrationsBefore = await listIntegrations(first);
        const auditBefore = await auditEntries(first);
        const keysBefore = dataOf(await first.gql('{ apiKeys { id name role tokenPrefix createdAt revokedAt } }')).apiKeys;
        expect(integrationsBefore).toHaveLength(items.length + 1);
        // Customer-scoped, so no delivered audit event touches its error tracking: only the test did.
        const failingBefore = integrationsBefore.find((i) => i.id === failing.id);
        expect(failingBefore).toMatchObject({ errorCount: 1, health: 'DEGRADED', lastError: expect.any(String), lastErrorAt: expect.any(String) });

        await first.stop();
        second = await startTestGateway({ dir: first.dir, env });

        const integrationsAfter = await listIntegrations(second);
        expect(integrationsAfter.map(withoutTracking)).toEqual(integrationsBefore.map(withoutTracking));
        expect(integrationsAfter.find((i) => i.id === failing.id)).toEqual(failingBefore);
        expect(await auditEntries(second)).toEqual(auditBefore);
        expect(dataOf(await second.gql('{ apiKeys { id name role tokenPrefix createdAt revokedAt } }')).apiKeys).toEqual(keysBefore);
        expect(firstError(await second.gql(GET_INTEGRATION, { id: deleted.id })).extensions?.code).toBe('NOT_FOUND');

        const sent = hec.requests.length;
        expect(await testIntegration(second, splunk.id)).toMatchObject({ success: true, message: 'Test event sent successfully' });
        const tests = testEventRequests(hec, sent);
        expect(tests).toHaveLength(1);
        expect(tests[0]!.headers.authorization).toBe(`Splunk ${HEC_TOKEN}`);
      } finally {
        if (second) await second.stop({ removeDatabase: true });
        else await first.stop({ removeDatabase: true });
      }
    });
  });
});
