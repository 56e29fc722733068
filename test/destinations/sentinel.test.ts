import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSentinelAdapter } from '../../src/destinations/sentinel/adapter.js';
import { buildSentinelSignature } from '../../src/destinations/sentinel/signature.js';
import type { SentinelDataCollectorConfig, SentinelLogsIngestionConfig, SiemAdapter } from '../../src/destinations/types.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { closeAfterEach, startHttpReceiver, type HttpReceiver, type ReceivedRequest } from '../support/http-receiver.js';

const WORKSPACE_ID = '0f3c1c6e-5a52-4b7c-9a39-2f4b8c7d9e10';
const SHARED_KEY = randomBytes(64).toString('base64');
const WRONG_KEY = randomBytes(64).toString('base64');
const RFC_1123 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

const egress = new EgressPolicy({ allow: ['127.0.0.1/32'] });
const track = closeAfterEach({ parallel: true });
// Registered after closeAfterEach, so (vitest runs after-hooks as a stack) real timers are back before anything closes.
afterEach(() => {
  vi.useRealTimers();
});

function scanEvent(overrides: Partial<SecurityEvent> = {}): SecurityEvent {
  return {
    id: randomUUID(),
    time: new Date('2026-01-30T10:30:00.000Z'),
    type: 'scan',
    name: 'Prompt Injection Detected',
    severity: 'CRITICAL',
    outcome: 'blocked',
    customerId: 'cust_acme',
    msspId: 'mssp_partner',
    installationId: 'inst_abc123',
    agentId: 'agent_prod_001',
    userEmail: 'zoë@example.com',
    sourceIp: '203.0.113.7',
    threatDetected: true,
    ruleIds: ['pi-001', 'pi-003'],
    families: ['PI'],
    promptHash: 'sha256:abc123',
    promptLength: 512,
    detectionCount: 2,
    scanDurationMs: 12.5,
    data: { note: 'naïve → ünïcödé 🚨', nested: { a: 1 } },
    ...overrides,
  };
}

/**
 * The Data Collector API's SharedKey check, written from Microsoft's documentation with node:crypto:
 * StringToSign = VERB\nContent-Length\nContent-Type\nx-ms-date:<date>\n/api/logs, HMAC-SHA256 with the base64-decoded key.
 */
function azureSharedKey(workspaceId: string, key: string, req: ReceivedRequest): string {
  const stringToSign = `POST\n${req.body.length}\napplication/json\nx-ms-date:${String(req.headers['x-ms-date'])}\n/api/logs`;
  const signature = createHmac('sha256', Buffer.from(key, 'base64')).update(stringToSign, 'utf8').digest('base64');
  return `SharedKey ${workspaceId}:${signature}`;
}

/** A Data Collector stand-in that accepts only requests signed with SHARED_KEY. */
async function startDataCollector(): Promise<HttpReceiver> {
  return track(
    await startHttpReceiver((req) => {
      if (req.headers.authorization !== azureSharedKey(WORKSPACE_ID, SHARED_KEY, req)) {
        return {
          status: 403,
          body: JSON.stringify({ Error: 'InvalidAuthorization', Message: 'An invalid scheme was specified in the Authorization header' }),
        };
      }
      return { status: 200, body: '' };
    }),
  );
}

function dataCollectorConfig(endpoint: string, overrides: Partial<SentinelDataCollectorConfig> = {}): SentinelDataCollectorConfig {
  return { type: 'SENTINEL', api: 'DATA_COLLECTOR', workspaceId: WORKSPACE_ID, sharedKey: SHARED_KEY, logType: 'ARXSecAudit', endpoint, ...overrides };
}

describe('buildSentinelSignature', () => {
  it('matches an HMAC-SHA256 of the documented string-to-sign, computed independently', () => {
    const date = 'Mon, 04 Apr 2016 08:00:00 GMT';
    const expected = createHmac('sha256', Buffer.from(SHARED_KEY, 'base64'))
      .update('POST\n1024\napplication/json\nx-ms-date:Mon, 04 Apr 2016 08:00:00 GMT\n/api/logs', 'utf8')
      .digest('base64');
    expect(buildSentinelSignature({ workspaceId: WORKSPACE_ID, sharedKey: SHARED_KEY, date, contentLength: 1024 })).toBe(
      `SharedKey ${WORKSPACE_ID}:${expected}`,
    );
    // A different length or date changes the signature.
    expect(buildSentinelSignature({ workspaceId: WORKSPACE_ID, sharedKey: SHARED_KEY, date, contentLength: 1025 })).not.toBe(
      `SharedKey ${WORKSPACE_ID}:${expected}`,
    );
  });

  it('refuses a key that is not base64 without echoing it', () => {
    const bad = 'not base64 at all!';
    expect(() => buildSentinelSignature({ workspaceId: WORKSPACE_ID, sharedKey: bad, date: new Date(), contentLength: 1 })).toThrow(
      /not valid base64/,
    );
    try {
      buildSentinelSignature({ workspaceId: WORKSPACE_ID, sharedKey: bad, date: new Date(), contentLength: 1 });
    } catch (err) {
      expect((err as Error).message).not.toContain(bad);
      expect((err as { code: string }).code).toBe('SIEMGATE_SENTINEL_SHARED_KEY_INVALID');
    }
  });
});

describe('Sentinel HTTP Data Collector API', () => {
  it('sends a correctly signed PascalCase batch that the receiver verifies independently', async () => {
    const dc = await startDataCollector();
    const adapter = track(createSentinelAdapter(dataCollectorConfig(dc.url), { egress }));
    const events = [scanEvent(), scanEvent({ severity: 'LOW', ruleIds: undefined, data: undefined })];

    const result = await adapter.send(events.map((e) => adapter.transform(e)));

    expect(result).toMatchObject({ kind: 'success', ok: true, status: 200, recordCount: 2 });
    expect(dc.requests).toHaveLength(1);
    const req = dc.requests[0];
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/logs?api-version=2016-04-01');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['log-type']).toBe('ARXSecAudit');
    expect(req.headers['x-ms-date']).toMatch(RFC_1123);
    expect(req.headers['time-generated-field']).toBe('EventTime');
    // Content-Length is the UTF-8 byte length (the body holds multi-byte characters), and it is what was signed.
    expect(Number(req.headers['content-length'])).toBe(req.body.length);
    expect(req.body.length).toBeGreaterThan(req.body.toString('utf8').length);
    expect(req.headers.authorization).toBe(azureSharedKey(WORKSPACE_ID, SHARED_KEY, req));

    const body = JSON.parse(req.body.toString('utf8')) as Record<string, unknown>[];
    expect(body).toEqual([
      {
        EventTime: '2026-01-30T10:30:00.000Z',
        EventId: events[0].id,
        EventType: 'scan',
        EventName: 'Prompt Injection Detected',
        Severity: 'Critical',
        Outcome: 'blocked',
        ThreatDetected: true,
        RuleIds: ['pi-001', 'pi-003'],
        Families: ['PI'],
        PromptHash: 'sha256:abc123',
        PromptLength: 512,
        DetectionCount: 2,
        ScanDurationMs: 12.5,
        CustomerId: 'cust_acme',
        MsspId: 'mssp_partner',
        InstallationId: 'inst_abc123',
        AgentId: 'agent_prod_001',
        UserEmail: 'zoë@example.com',
        SourceIp: '203.0.113.7',
        Data: { note: 'naïve → ünïcödé 🚨', nested: { a: 1 } },
      },
      expect.objectContaining({ EventId: events[1].id, Severity: 'Low' }),
    ]);
    // The Data Collector API reserves TimeGenerated; the time travels in the field named by time-generated-field.
    for (const record of body) {
      expect(record).not.toHaveProperty('TimeGenerated');
      expect(Object.keys(record).every((k) => /^[A-Za-z0-9_]+$/.test(k) && /^[A-Z]/.test(k))).toBe(true);
    }
    expect(body[1]).not.toHaveProperty('RuleIds');
    expect(body[1]).not.toHaveProperty('Data');
  });

  it('is refused with a wrong shared key: auth, with Azure\'s error text and no key in the message', async () => {
    const dc = await startDataCollector();
    const adapter = track(createSentinelAdapter(dataCollectorConfig(dc.url, { sharedKey: WRONG_KEY }), { egress }));

    const result = await adapter.send([adapter.transform(scanEvent())]);

    expect(result).toMatchObject({ kind: 'auth', ok: false, status: 403 });
    expect(result.message).toContain('InvalidAuthorization: An invalid scheme was specified');
    expect(result.message).not.toContain(WRONG_KEY);
    expect(result.message).not.toContain(SHARED_KEY);
    expect(dc.requests).toHaveLength(1);
    expect(dc.requests[0].headers.authorization).not.toBe(azureSharedKey(WORKSPACE_ID, SHARED_KEY, dc.requests[0]));
  });

  it('appends /api/logs to a base endpoint but does not double a full one', async () => {
    const dc = await startDataCollector();
    const full = track(createSentinelAdapter(dataCollectorConfig(`${dc.url}/api/logs`), { egress }));
    expect((await full.send([full.transform(scanEvent())])).ok).toBe(true);
    const prefixed = track(createSentinelAdapter(dataCollectorConfig(`${dc.url}/proxy/`), { egress }));
    expect((await prefixed.send([prefixed.transform(scanEvent())])).ok).toBe(true);
    expect(dc.requests.map((r) => r.url)).toEqual(['/api/logs?api-version=2016-04-01', '/proxy/api/logs?api-version=2016-04-01']);
  });

  it('splits a batch over 30 MB into signed posts that each stay under the limit and together hold every record once', async () => {
    const dc = await startDataCollector();
    const adapter = track(createSentinelAdapter(dataCollectorConfig(dc.url), { egress }));
    const filler = 'x'.repeat(1_000_000);
    const events = Array.from({ length: 33 }, (_, i) => scanEvent({ data: { i, filler } }));

    const result = await adapter.send(events.map((e) => adapter.transform(e)));

    expect(result).toMatchObject({ kind: 'success', ok: true, recordCount: 33 });
    expect(dc.requests.length).toBe(2);
    const ids: string[] = [];
    for (const req of dc.requests) {
      expect(req.body.length).toBeLessThanOrEqual(30_000_000);
      expect(req.headers.authorization).toBe(azureSharedKey(WORKSPACE_ID, SHARED_KEY, req));
      ids.push(...(JSON.parse(req.body.toString('utf8')) as { EventId: string }[]).map((r) => r.EventId));
    }
    expect(ids).toEqual(events.map((e) => e.id));
  });

  it('reports a rejected payload with the Data Collector error code', async () => {
    const dc = track(
      await startHttpReceiver(() => ({
        status: 400,
        body: JSON.stringify({ Error: 'InvalidDataFormat', Message: 'Invalid JSON was submitted' }),
      })),
    );
    const adapter = track(createSentinelAdapter(dataCollectorConfig(dc.url), { egress }));
    const result = await adapter.send([adapter.transform(scanEvent())]);
    expect(result).toMatchObject({ kind: 'rejected', ok: false, status: 400, message: 'HTTP 400: InvalidDataFormat: Invalid JSON was submitted' });
  });

  it('goes through the egress policy: loopback is refused unless allowed', async () => {
    const dc = await startDataCollector();
    const adapter = track(createSentinelAdapter(dataCollectorConfig(dc.url), { egress: new EgressPolicy() }));
    const result = await adapter.send([adapter.transform(scanEvent())]);
    expect(result).toMatchObject({ kind: 'network', ok: false });
    expect(result.message).toContain('could not connect to 127.0.0.1:');
    expect(dc.requests).toHaveLength(0);
  });

  it('connection test: success against the verifying receiver, failure with a wrong key', async () => {
    const dc = await startDataCollector();
    const good = track(createSentinelAdapter(dataCollectorConfig(dc.url), { egress }));
    const ok = await good.test();
    expect(ok).toMatchObject({ success: true, message: 'Test event sent successfully', httpStatus: 200 });
    const testRecord = JSON.parse(dc.requests[0].body.toString('utf8'))[0];
    expect(testRecord).toMatchObject({ EventType: 'siemgate.test', Severity: 'Informational' });

    const bad = track(createSentinelAdapter(dataCollectorConfig(dc.url, { sharedKey: WRONG_KEY }), { egress }));
    const failed = await bad.test();
    expect(failed.success).toBe(false);
    expect(failed.httpStatus).toBe(403);
    expect(failed.message).toMatch(/^Connection test failed: HTTP 403: InvalidAuthorization/);
    expect(JSON.stringify(failed)).not.toContain(WRONG_KEY);
  });

  it('rejects unusable settings at creation without echoing the key', () => {
    expect(() => createSentinelAdapter(dataCollectorConfig('http://127.0.0.1:1', { logType: 'bad-type!' }), { egress })).toThrow(/logType/);
    const secretish = 'secret value ###';
    try {
      createSentinelAdapter(dataCollectorConfig('http://127.0.0.1:1', { sharedKey: secretish }), { egress });
      expect.unreachable();
    } catch (err) {
      expect((err as { code: string }).code).toBe('SIEMGATE_SENTINEL_CONFIG_INVALID');
      expect((err as Error).message).not.toContain(secretish);
    }
  });
});

// ---------------------------------------------------------------- Logs Ingestion

const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT_ID = '5e1f3c9a-1b2c-4d5e-8f90-a1b2c3d4e5f6';
const CLIENT_SECRET = `cs~${randomBytes(24).toString('base64url')}`;
const DCR_ID = 'dcr-0123456789abcdef0123456789abcdef';
const STREAM = 'Custom-SiemGate_CL';

interface Entra {
  receiver: HttpReceiver;
  /** Tokens issued so far; only the ones in `valid` are accepted by the DCE. */
  issued: string[];
  valid: Set<string>;
  expiresIn: number;
}

/** A local Entra ID token endpoint: checks the client-credentials form and issues numbered tokens. */
async function startEntra(): Promise<Entra> {
  const entra: Entra = { receiver: undefined as unknown as HttpReceiver, issued: [], valid: new Set(), expiresIn: 3599 };
  entra.receiver = track(
    await startHttpReceiver((req) => {
      const form = new URLSearchParams(req.body.toString('utf8'));
      const wellFormed =
        req.method === 'POST' &&
        req.url === `/${TENANT_ID}/oauth2/v2.0/token` &&
        String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded') &&
        form.get('grant_type') === 'client_credentials' &&
        form.get('scope') === 'https://monitor.azure.com//.default' &&
        form.get('client_id') === CLIENT_ID;
      if (!wellFormed) return { status: 400, body: JSON.stringify({ error: 'invalid_request', error_description: 'AADSTS900144: malformed request' }) };
      if (form.get('client_secret') !== CLIENT_SECRET) {
        return {
          status: 401,
          body: JSON.stringify({
            error: 'invalid_client',
            error_description:
              'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.\r\nTrace ID: 1\r\nCorrelation ID: 2',
            error_codes: [7000215],
          }),
        };
      }
      const token = `eyJ${entra.issued.length + 1}.${randomBytes(8).toString('hex')}`;
      entra.issued.push(token);
      entra.valid.add(token);
      return { status: 200, body: JSON.stringify({ token_type: 'Bearer', expires_in: entra.expiresIn, ext_expires_in: entra.expiresIn, access_token: token }) };
    }),
  );
  return entra;
}

/** A local data collection endpoint that accepts only bearer tokens the Entra stand-in considers valid. */
async function startDce(entra: Entra): Promise<HttpReceiver> {
  return track(
    await startHttpReceiver((req) => {
      const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
      if (!bearer || !entra.valid.has(bearer)) {
        return { status: 401, body: JSON.stringify({ error: { code: 'InvalidToken', message: 'The access token is invalid or expired.' } }) };
      }
      if (req.url !== `/dataCollectionRules/${DCR_ID}/streams/${STREAM}?api-version=2023-01-01`) {
        return { status: 404, body: JSON.stringify({ error: { code: 'NotFound', message: 'no such stream' } }) };
      }
      if (req.body.length > 1_000_000) return { status: 413, body: JSON.stringify({ error: { code: 'ContentLengthLimitExceeded', message: 'too big' } }) };
      return { status: 204 };
    }),
  );
}

function logsIngestionConfig(dce: HttpReceiver, entra: Entra, overrides: Partial<SentinelLogsIngestionConfig> = {}): SentinelLogsIngestionConfig {
  return {
    type: 'SENTINEL',
    api: 'LOGS_INGESTION',
    dceEndpoint: dce.url,
    dcrImmutableId: DCR_ID,
    streamName: STREAM,
    tenantId: TENANT_ID,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    authorityHost: entra.receiver.url,
    ...overrides,
  };
}

async function sendOne(adapter: SiemAdapter, event = scanEvent()) {
  return adapter.send([adapter.transform(event)]);
}

describe('Sentinel Logs Ingestion API', () => {
  it('fetches a client-credentials token once, sends it as Bearer, and posts a JSON array of PascalCase records', async () => {
    const entra = await startEntra();
    const dce = await startDce(entra);
    const adapter = track(createSentinelAdapter(logsIngestionConfig(dce, entra), { egress }));
    const event = scanEvent();

    for (let i = 0; i < 3; i++) {
      expect(await sendOne(adapter, i === 0 ? event : scanEvent())).toMatchObject({ kind: 'success', ok: true, status: 204 });
    }

    expect(entra.receiver.requests).toHaveLength(1);
    const form = new URLSearchParams(entra.receiver.requests[0].body.toString('utf8'));
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'client_credentials',
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      scope: 'https://monitor.azure.com//.default',
    });
    expect(dce.requests).toHaveLength(3);
    for (const req of dce.requests) {
      expect(req.method).toBe('POST');
      expect(req.url).toBe(`/dataCollectionRules/${DCR_ID}/streams/${STREAM}?api-version=2023-01-01`);
      expect(req.headers.authorization).toBe(`Bearer ${entra.issued[0]}`);
      expect(req.headers['content-type']).toBe('application/json');
    }
    const body = JSON.parse(dce.requests[0].body.toString('utf8'));
    expect(Array.isArray(body)).toBe(true);
    expect(body[0]).toMatchObject({
      TimeGenerated: '2026-01-30T10:30:00.000Z',
      EventId: event.id,
      EventType: 'scan',
      Severity: 'Critical',
      ThreatDetected: true,
      RuleIds: ['pi-001', 'pi-003'],
      PromptHash: 'sha256:abc123',
      CustomerId: 'cust_acme',
    });
  });

  it('splits a batch over 1 MB into requests under 1 MB that together hold every record exactly once', async () => {
    const entra = await startEntra();
    const dce = await startDce(entra);
    const adapter = track(createSentinelAdapter(logsIngestionConfig(dce, entra), { egress }));
    const events = Array.from({ length: 40 }, (_, i) => scanEvent({ data: { i, filler: 'é'.repeat(40_000 + i * 97) } }));

    const result = await adapter.send(events.map((e) => adapter.transform(e)));

    expect(result).toMatchObject({ kind: 'success', ok: true, recordCount: 40 });
    expect(dce.requests.length).toBeGreaterThan(3);
    const ids: string[] = [];
    for (const req of dce.requests) {
      expect(req.body.length).toBeLessThan(1_000_000);
      expect(Number(req.headers['content-length'])).toBe(req.body.length);
      ids.push(...(JSON.parse(req.body.toString('utf8')) as { EventId: string }[]).map((r) => r.EventId));
    }
    expect(ids).toEqual(events.map((e) => e.id));
    expect(new Set(ids).size).toBe(40);
    expect(entra.receiver.requests).toHaveLength(1);
  });

  it('rejects a single record over 1 MB before sending anything', async () => {
    const entra = await startEntra();
    const dce = await startDce(entra);
    const adapter = track(createSentinelAdapter(logsIngestionConfig(dce, entra), { egress }));
    const big = scanEvent({ data: { filler: 'x'.repeat(1_000_001) } });
    const result = await adapter.send([adapter.transform(scanEvent()), adapter.transform(big)]);
    expect(result).toMatchObject({ kind: 'rejected', ok: false, recordCount: 2 });
    expect(result.message).toContain(big.id);
    expect(dce.requests).toHaveLength(0);
  });

  it('refreshes the token once when the DCE answers 401, then succeeds', async () => {
    const entra = await startEntra();
    const dce = await startDce(entra);
    const adapter = track(createSentinelAdapter(logsIngestionConfig(dce, entra), { egress }));
    expect((await sendOne(adapter)).ok).toBe(true);

    entra.valid.clear(); // the DCE no longer accepts the cached token
    const result = await sendOne(adapter);

    expect(result).toMatchObject({ kind: 'success', ok: true });
    expect(entra.receiver.requests).toHaveLength(2);
    expect(dce.requests.map((r) => r.headers.authorization)).toEqual([
      `Bearer ${entra.issued[0]}`,
      `Bearer ${entra.issued[0]}`,
      `Bearer ${entra.issued[1]}`,
    ]);
  });

  it('gives up after one refresh when the DCE keeps answering 401, and reports Azure\'s error', async () => {
    const entra = await startEntra();
    const dce = track(
      await startHttpReceiver(() => ({
        status: 401,
        body: JSON.stringify({ error: { code: 'InvalidToken', message: 'The access token is invalid or expired.' } }),
      })),
    );
    const adapter = track(createSentinelAdapter(logsIngestionConfig(dce, entra), { egress }));
    const result = await sendOne(adapter);
    expect(result).toMatchObject({ kind: 'auth', ok: false, status: 401 });
    expect(result.message).toContain('InvalidToken: The access token is invalid or expired.');
    expect(result.message).not.toContain(entra.issued[1]);
    expect(entra.receiver.requests).toHaveLength(2);
    expect(dce.requests).toHaveLength(2);
  });

  it('keeps the token until 5 minutes before expires_in, then fetches a new one', async () => {
    const entra = await startEntra();
    entra.expiresIn = 3600;
    const dce = await startDce(entra);
    const adapter = track(createSentinelAdapter(logsIngestionConfig(dce, entra), { egress }));
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = new Date('2026-03-01T12:00:00Z').getTime();
    vi.setSystemTime(t0);

    expect((await sendOne(adapter)).ok).toBe(true);
    vi.setSystemTime(t0 + (3600 - 5 * 60 - 1) * 1000); // 1 s before the refresh point
    expect((await sendOne(adapter)).ok).toBe(true);
    expect(entra.receiver.requests).toHaveLength(1);

    vi.setSystemTime(t0 + (3600 - 5 * 60 + 1) * 1000); // 1 s after it
    expect((await sendOne(adapter)).ok).toBe(true);
    expect(entra.receiver.requests).toHaveLength(2);
    expect(dce.requests.at(-1)?.headers.authorization).toBe(`Bearer ${entra.issued[1]}`);
  });

  it('classifies a refused client secret as auth with the AADSTS code, never the secret', async () => {
    const entra = await startEntra();
    const dce = await startDce(entra);
    const wrongSecret = `cs~${randomBytes(24).toString('base64url')}`;
    const adapter = track(createSentinelAdapter(logsIngestionConfig(dce, entra, { clientSecret: wrongSecret }), { egress }));

    const result = await sendOne(adapter);

    expect(result).toMatchObject({ kind: 'auth', ok: false, status: 401 });
    expect(result.message).toContain('AADSTS7000215');
    expect(result.message).toContain('invalid_client');
    expect(result.message).not.toContain(wrongSecret);
    expect(result.message).not.toContain('Trace ID');
    expect(dce.requests).toHaveLength(0);

    const tested = await adapter.test();
    expect(tested.success).toBe(false);
    expect(tested.message).toMatch(/^Connection test failed: Entra ID token request failed: HTTP 401: invalid_client: AADSTS7000215/);
    expect(tested.steps).toEqual([{ name: 'token', ok: false, detail: expect.stringContaining('AADSTS7000215') }]);
    expect(JSON.stringify(tested)).not.toContain(wrongSecret);
  });

  it('connection test reports the token step, then connect, authenticate and deliver', async () => {
    const entra = await startEntra();
    const dce = await startDce(entra);
    const adapter = track(createSentinelAdapter(logsIngestionConfig(dce, entra), { egress }));
    const result = await adapter.test();
    expect(result).toMatchObject({ success: true, message: 'Test event sent successfully', httpStatus: 204 });
    expect(result.steps.map((s) => [s.name, s.ok])).toEqual([
      ['token', true],
      ['connect', true],
      ['authenticate', true],
      ['deliver', true],
    ]);
    expect(result.steps[0].detail).toMatch(/^access token acquired/);
    expect(JSON.stringify(result)).not.toContain(entra.issued[0]);
    expect(JSON.parse(dce.requests[0].body.toString('utf8'))[0]).toMatchObject({ EventType: 'siemgate.test' });
  });

  it('reports the DCE\'s own error JSON for a rejected stream', async () => {
    const entra = await startEntra();
    const dce = track(
      await startHttpReceiver(() => ({
        status: 400,
        body: JSON.stringify({ error: { code: 'InvalidStream', message: 'Stream Custom-SiemGate_CL is not defined in the DCR' } }),
      })),
    );
    const adapter = track(createSentinelAdapter(logsIngestionConfig(dce, entra), { egress }));
    const result = await sendOne(adapter);
    expect(result).toMatchObject({
      kind: 'rejected',
      status: 400,
      message: 'HTTP 400: InvalidStream: Stream Custom-SiemGate_CL is not defined in the DCR',
    });
  });

  it('stops waiting for a hanging token endpoint when the send is aborted', async () => {
    const entra = await startEntra();
    entra.receiver.respond(() => new Promise(() => {})); // never answers
    const dce = await startDce(entra);
    const adapter = track(createSentinelAdapter(logsIngestionConfig(dce, entra), { egress }));
    const controller = new AbortController();
    const pending = adapter.send([adapter.transform(scanEvent())], { signal: controller.signal });
    await entra.receiver.waitForRequests(1);
    controller.abort();
    const result = await pending;
    expect(result).toMatchObject({ kind: 'timeout', ok: false });
    expect(result.message).toMatch(/^Entra ID token request failed: request aborted/);
    expect(dce.requests).toHaveLength(0);
  });

  it('sends the token request through the egress policy too', async () => {
    const entra = await startEntra();
    const dce = await startDce(entra);
    // Only the DCE's host:port is allowed; the token endpoint (another loopback port) is not.
    const onlyDce = new EgressPolicy({ allow: [`127.0.0.1:${dce.port}`] });
    const adapter = track(createSentinelAdapter(logsIngestionConfig(dce, entra), { egress: onlyDce }));
    const result = await sendOne(adapter);
    expect(result).toMatchObject({ kind: 'network', ok: false });
    expect(result.message).toBe(`Entra ID token request failed: could not connect to 127.0.0.1:${entra.receiver.port}`);
    expect(entra.receiver.requests).toHaveLength(0);
    expect(dce.requests).toHaveLength(0);
  });
});
