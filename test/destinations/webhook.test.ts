import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { WebhookConfig } from '../../src/destinations/types.js';
import { createWebhookAdapter, signWebhookBody, WebhookConfigError } from '../../src/destinations/webhook/adapter.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { closeAfterEach, startHttpReceiver, type HttpReceiver, type ReceivedRequest } from '../support/http-receiver.js';

const SECRET = `hmac-${randomBytes(16).toString('hex')}`;
const egress = new EgressPolicy({ allow: ['127.0.0.1/32'] });
const track = closeAfterEach({ parallel: true });

function scanEvent(overrides: Partial<SecurityEvent> = {}): SecurityEvent {
  return {
    id: randomUUID(),
    time: new Date('2026-01-30T10:30:00.000Z'),
    type: 'agent.deployed',
    name: 'Agent Deployed',
    severity: 'MEDIUM',
    outcome: 'success',
    customerId: 'cust_acme',
    agentId: 'agent_prod_001',
    userEmail: 'zoë@example.com',
    threatDetected: false,
    ruleIds: ['pi-001'],
    data: { note: 'ünïcödé 🚨 "quoted" \\ back\nslash' },
    ...overrides,
  };
}

/**
 * The product documentation's receiver check, ported line by line from its Python:
 *   expected = "sha256=" + hmac.new(secret.encode(), payload_body, hashlib.sha256).hexdigest()
 *   return hmac.compare_digest(expected, signature_header)
 */
function verifySignature(payloadBody: Buffer, signatureHeader: string | undefined, secret: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(payloadBody).digest('hex')}`);
  const given = Buffer.from(signatureHeader ?? '');
  // compare_digest returns False for different lengths; timingSafeEqual needs equal lengths.
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Standard Webhooks verification written from the spec (standardwebhooks.com): HMAC-SHA256 over "<id>.<timestamp>.<body>". */
function verifyStandardWebhook(req: { headers: ReceivedRequest['headers']; body: Buffer }, secret: string): boolean {
  const id = String(req.headers['webhook-id'] ?? '');
  const timestamp = String(req.headers['webhook-timestamp'] ?? '');
  const signatures = String(req.headers['webhook-signature'] ?? '').split(' ');
  if (!id || !/^\d+$/.test(timestamp)) return false;
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
  const expected = Buffer.from(
    createHmac('sha256', key).update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), req.body])).digest('base64'),
  );
  return signatures.some((entry) => {
    const [version, signature] = entry.split(',');
    const given = Buffer.from(signature ?? '');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** A receiver that answers 401 unless the ARX signature verifies with `secret`. */
async function startArxReceiver(secret: string): Promise<HttpReceiver> {
  return track(
    await startHttpReceiver((req) =>
      verifySignature(req.body, req.headers['x-arx-signature'] as string | undefined, secret)
        ? { status: 200, body: '{"ok":true}' }
        : { status: 401, body: '{"message":"signature mismatch"}' },
    ),
  );
}

function webhookConfig(endpoint: string, overrides: Partial<WebhookConfig> = {}): WebhookConfig {
  return { type: 'WEBHOOK', endpoint, secret: SECRET, signatureScheme: 'ARX', headers: [], ...overrides };
}

describe('webhook with the ARX signature', () => {
  it('posts a JSON array of camelCase records that the documented constant-time check accepts', async () => {
    const hook = await startArxReceiver(SECRET);
    const adapter = track(createWebhookAdapter(webhookConfig(`${hook.url}/api/events`), { egress }));
    const events = [scanEvent(), scanEvent({ severity: 'CRITICAL', outcome: undefined, data: undefined })];

    const result = await adapter.send(events.map((e) => adapter.transform(e)));

    expect(result).toMatchObject({ kind: 'success', ok: true, status: 200, recordCount: 2 });
    const req = hook.requests[0];
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/events');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-arx-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature(req.body, req.headers['x-arx-signature'] as string, SECRET)).toBe(true);
    expect(JSON.parse(req.body.toString('utf8'))).toEqual([
      {
        id: events[0].id,
        time: '2026-01-30T10:30:00.000Z',
        type: 'agent.deployed',
        name: 'Agent Deployed',
        severity: 'MEDIUM',
        outcome: 'success',
        customerId: 'cust_acme',
        agentId: 'agent_prod_001',
        userEmail: 'zoë@example.com',
        threatDetected: false,
        ruleIds: ['pi-001'],
        data: { note: 'ünïcödé 🚨 "quoted" \\ back\nslash' },
      },
      {
        id: events[1].id,
        time: '2026-01-30T10:30:00.000Z',
        type: 'agent.deployed',
        name: 'Agent Deployed',
        severity: 'CRITICAL',
        customerId: 'cust_acme',
        agentId: 'agent_prod_001',
        userEmail: 'zoë@example.com',
        threatDetected: false,
        ruleIds: ['pi-001'],
      },
    ]);
  });

  it('a tampered body or another secret fails the same check', async () => {
    const hook = await startArxReceiver(SECRET);
    const adapter = track(createWebhookAdapter(webhookConfig(hook.url), { egress }));
    await adapter.send([adapter.transform(scanEvent())]);
    const { body, headers } = hook.requests[0];
    const signature = headers['x-arx-signature'] as string;

    const tampered = Buffer.from(body);
    tampered[tampered.indexOf('MEDIUM')] = 'H'.charCodeAt(0);
    expect(verifySignature(body, signature, SECRET)).toBe(true);
    expect(verifySignature(tampered, signature, SECRET)).toBe(false);
    expect(verifySignature(body, signature, `${SECRET}x`)).toBe(false);
  });

  it('a receiver holding another secret refuses it: auth result without any secret in it', async () => {
    const hook = await startArxReceiver('the-receivers-other-secret');
    const adapter = track(createWebhookAdapter(webhookConfig(hook.url), { egress }));
    const result = await adapter.send([adapter.transform(scanEvent())]);
    expect(result).toMatchObject({ kind: 'auth', ok: false, status: 401, message: 'HTTP 401: signature mismatch' });
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it('sends the configured extra headers, and no signature without a secret', async () => {
    const hook = track(await startHttpReceiver());
    const adapter = track(
      createWebhookAdapter(
        webhookConfig(hook.url, {
          secret: undefined,
          headers: [
            { name: 'X-Custom-Header', value: 'custom-value' },
            { name: 'Authorization', value: 'Bearer receiver-token-123' },
          ],
        }),
        { egress },
      ),
    );
    expect((await adapter.send([adapter.transform(scanEvent())])).ok).toBe(true);
    const req = hook.requests[0];
    expect(req.headers['x-custom-header']).toBe('custom-value');
    expect(req.headers.authorization).toBe('Bearer receiver-token-123');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers).not.toHaveProperty('x-arx-signature');
    expect(req.headers).not.toHaveProperty('webhook-signature');
  });

  it('refuses extra headers that would replace Content-Type, Content-Length or a signature header', () => {
    for (const name of ['Content-Type', 'content-length', 'X-ARX-Signature', 'webhook-signature', 'Webhook-Id', 'Host']) {
      expect(() =>
        createWebhookAdapter(webhookConfig('http://127.0.0.1:1', { headers: [{ name, value: 'sneaky-value-123' }] }), { egress }),
      ).toThrow(WebhookConfigError);
    }
    for (const name of ['Bad Header', 'X-Ok:', 'Zeilen\numbruch']) {
      expect(() => createWebhookAdapter(webhookConfig('http://127.0.0.1:1', { headers: [{ name, value: 'v' }] }), { egress })).toThrow(
        /webhook configuration: header/,
      );
    }
    try {
      createWebhookAdapter(webhookConfig('http://127.0.0.1:1', { headers: [{ name: 'X-Api-Key', value: 'line\r\nbreak-secret' }] }), { egress });
      expect.unreachable();
    } catch (err) {
      expect((err as { code: string }).code).toBe('SIEMGATE_WEBHOOK_CONFIG_INVALID');
      expect((err as Error).message).not.toContain('break-secret');
    }
  });

  it('never puts the secret or header values into a result, even when the receiver echoes them', async () => {
    const apiKey = `key-${randomBytes(12).toString('hex')}`;
    const hook = track(
      await startHttpReceiver((req) => ({
        status: 400,
        body: JSON.stringify({ message: `bad request: got key ${String(req.headers['x-api-key'])} and secret ${SECRET}` }),
      })),
    );
    const adapter = track(createWebhookAdapter(webhookConfig(hook.url, { headers: [{ name: 'X-Api-Key', value: apiKey }] }), { egress }));
    const result = await adapter.send([adapter.transform(scanEvent())]);
    expect(result).toMatchObject({ kind: 'rejected', status: 400 });
    expect(result.message).toContain('[REDACTED]');
    expect(result.message).not.toContain(apiKey);
    expect(result.message).not.toContain(SECRET);
    const tested = await adapter.test();
    expect(tested.success).toBe(false);
    expect(JSON.stringify(tested)).not.toContain(apiKey);
    expect(JSON.stringify(tested)).not.toContain(SECRET);
  });

  it('with gzip, the signature covers the decompressed JSON', async () => {
    const hook = track(await startHttpReceiver());
    const adapter = track(createWebhookAdapter(webhookConfig(hook.url, { gzip: true }), { egress }));
    expect((await adapter.send([adapter.transform(scanEvent())])).ok).toBe(true);
    const req = hook.requests[0];
    expect(req.headers['content-encoding']).toBe('gzip');
    const json = gunzipSync(req.body);
    expect(verifySignature(json, req.headers['x-arx-signature'] as string, SECRET)).toBe(true);
    expect(JSON.parse(json.toString('utf8'))).toHaveLength(1);
  });

  it('connection test: success message from the product documentation', async () => {
    const hook = await startArxReceiver(SECRET);
    const adapter = track(createWebhookAdapter(webhookConfig(hook.url), { egress }));
    const result = await adapter.test();
    expect(result).toMatchObject({ success: true, message: 'Test event sent successfully', httpStatus: 200 });
    expect(JSON.parse(hook.requests[0].body.toString('utf8'))[0]).toMatchObject({ type: 'siemgate.test', severity: 'NONE' });
  });

  it('goes through the egress policy', async () => {
    const hook = track(await startHttpReceiver());
    const adapter = track(createWebhookAdapter(webhookConfig(hook.url), { egress: new EgressPolicy() }));
    const result = await adapter.send([adapter.transform(scanEvent())]);
    expect(result.kind).toBe('network');
    expect(result.message).toBe(`could not connect to 127.0.0.1:${hook.port}`);
    expect(hook.requests).toHaveLength(0);
  });
});

describe('webhook with Standard Webhooks signatures', () => {
  const whsec = `whsec_${randomBytes(32).toString('base64')}`;

  async function startStandardReceiver(secret: string): Promise<HttpReceiver> {
    return track(
      await startHttpReceiver((req) => (verifyStandardWebhook(req, secret) ? { status: 204 } : { status: 401, body: '{"message":"bad signature"}' })),
    );
  }

  it('sends webhook-id, webhook-timestamp and a v1 signature that verifies independently', async () => {
    const hook = await startStandardReceiver(whsec);
    const adapter = track(createWebhookAdapter(webhookConfig(hook.url, { secret: whsec, signatureScheme: 'STANDARD_WEBHOOKS' }), { egress }));
    const records = [adapter.transform(scanEvent()), adapter.transform(scanEvent())];

    expect(await adapter.send(records)).toMatchObject({ kind: 'success', ok: true, status: 204 });

    const req = hook.requests[0];
    expect(req.headers['webhook-id']).toMatch(/^msg_[A-Za-z0-9_-]+$/);
    expect(req.headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(req.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(req.headers).not.toHaveProperty('x-arx-signature');
    expect(verifyStandardWebhook(req, whsec)).toBe(true);

    const tampered = Buffer.from(req.body);
    tampered[1] = '['.charCodeAt(0);
    expect(verifyStandardWebhook({ headers: req.headers, body: tampered }, whsec)).toBe(false);
    expect(verifyStandardWebhook({ headers: { ...req.headers, 'webhook-timestamp': '1' }, body: req.body }, whsec)).toBe(false);
    expect(verifyStandardWebhook({ headers: { ...req.headers, 'webhook-id': 'msg_other' }, body: req.body }, whsec)).toBe(false);
  });

  it('keeps the webhook-id for a retried batch and changes it for another batch', async () => {
    const hook = await startStandardReceiver(whsec);
    const adapter = track(createWebhookAdapter(webhookConfig(hook.url, { secret: whsec, signatureScheme: 'STANDARD_WEBHOOKS' }), { egress }));
    const batch = [adapter.transform(scanEvent())];
    await adapter.send(batch);
    await adapter.send(batch);
    await adapter.send([adapter.transform(scanEvent())]);
    const ids = hook.requests.map((r) => r.headers['webhook-id']);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  it('uses the UTF-8 bytes of a secret without the whsec_ prefix', async () => {
    const hook = await startStandardReceiver(SECRET);
    const adapter = track(createWebhookAdapter(webhookConfig(hook.url, { signatureScheme: 'STANDARD_WEBHOOKS' }), { egress }));
    expect((await adapter.send([adapter.transform(scanEvent())])).ok).toBe(true);
  });

  it('refuses a whsec_ secret that is not base64, without echoing it', () => {
    const broken = 'whsec_this is not base64!';
    try {
      createWebhookAdapter(webhookConfig('http://127.0.0.1:1', { secret: broken, signatureScheme: 'STANDARD_WEBHOOKS' }), { egress });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(WebhookConfigError);
      expect((err as Error).message).not.toContain('this is not base64');
    }
  });
});

describe('signWebhookBody', () => {
  it('matches independently computed values for both schemes', () => {
    const body = '[{"id":"1","name":"ü"}]';
    expect(signWebhookBody({ scheme: 'ARX', secret: 'k', body })).toEqual({
      'X-ARX-Signature': `sha256=${createHmac('sha256', 'k').update(Buffer.from(body, 'utf8')).digest('hex')}`,
    });
    const key = randomBytes(24);
    const headers = signWebhookBody({
      scheme: 'STANDARD_WEBHOOKS',
      secret: `whsec_${key.toString('base64')}`,
      body,
      messageId: 'msg_abc',
      timestamp: 1674087231,
    });
    expect(headers).toEqual({
      'webhook-id': 'msg_abc',
      'webhook-timestamp': '1674087231',
      'webhook-signature': `v1,${createHmac('sha256', key).update(`msg_abc.1674087231.${body}`, 'utf8').digest('base64')}`,
    });
    expect(() => signWebhookBody({ scheme: 'STANDARD_WEBHOOKS', secret: 'k', body, messageId: 'a.b' })).toThrow(TypeError);
  });
});
