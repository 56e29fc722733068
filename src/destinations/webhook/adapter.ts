import { createHash, createHmac } from 'node:crypto';
import { scrubSecrets } from '../../secrets/scrub-secrets.js';
import type { SecurityEvent } from '../../events/security-event.js';
import { headerNameRule, headerValueRule, RESERVED_HEADER_NAMES } from '../shared/config-rules.js';
import { classifyAnswer, classifyError, HttpDestination, runConnectionTest } from '../shared/http-destination.js';
import { resolveTimeoutMs } from '../../net/timeouts.js';
import type {
  AdapterOptions,
  ConnectionTestResult,
  DeliveryResult,
  SendOptions,
  SiemAdapter,
  WebhookConfig,
  WebhookSignatureScheme,
} from '../types.js';

/** Header names and formats of the two signature schemes. */
export const WebhookSignatureHeader = {
  /** ARX scheme (product documentation): `X-ARX-Signature: sha256=<hex HMAC-SHA256(secret, body)>`. */
  ARX: 'X-ARX-Signature',
  /** Prefix of the ARX header value. */
  ARX_PREFIX: 'sha256=',
  /** Standard Webhooks: unique message id, the same on every retry of the same batch. */
  STANDARD_ID: 'webhook-id',
  /** Standard Webhooks: integer unix seconds of this attempt. */
  STANDARD_TIMESTAMP: 'webhook-timestamp',
  /** Standard Webhooks: space-separated list of `v1,<base64 HMAC-SHA256>` signatures. */
  STANDARD_SIGNATURE: 'webhook-signature',
  /** Standard Webhooks signature identifier for symmetric HMAC-SHA256. */
  STANDARD_VERSION: 'v1',
  /** Standard Webhooks serialisation of a base64 symmetric secret. */
  STANDARD_SECRET_PREFIX: 'whsec_',
  /** Prefix of the webhook-id values siemgate generates. */
  STANDARD_ID_PREFIX: 'msg_',
} as const;

const JSON_CONTENT_TYPE = 'application/json';
const MS_PER_SECOND = 1000;
/** Characters of the base64url SHA-256 digest used in generated webhook ids (~160 bits). */
const MESSAGE_ID_HASH_CHARS = 27;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A webhook integration's configuration cannot be used (bad header, bad secret format). Never contains a secret. */
export class WebhookConfigError extends Error {
  readonly code = 'SIEMGATE_WEBHOOK_CONFIG_INVALID';
  constructor(detail: string) {
    super(`webhook configuration: ${detail}`);
    this.name = 'WebhookConfigError';
  }
}

/** One event as a webhook receives it: the canonical event in camelCase, `time` as ISO 8601, `id` included. */
export type WebhookRecord = Omit<SecurityEvent, 'time'> & { time: string };

/**
 * Maps a canonical event to the webhook record. Absent optional fields are left out.
 *
 * @example
 * ```ts
 * toWebhookRecord(event); // { id: '5f0c…', time: '2026-01-30T10:30:00.000Z', type: 'scan', … }
 * ```
 */
export function toWebhookRecord(event: SecurityEvent): WebhookRecord {
  const record: WebhookRecord = {
    id: event.id,
    time: event.time.toISOString(),
    type: event.type,
    name: event.name,
    severity: event.severity,
    outcome: event.outcome,
    customerId: event.customerId,
    msspId: event.msspId,
    installationId: event.installationId,
    agentId: event.agentId,
    userEmail: event.userEmail,
    sourceIp: event.sourceIp,
    threatDetected: event.threatDetected,
    ruleIds: event.ruleIds,
    families: event.families,
    promptHash: event.promptHash,
    promptLength: event.promptLength,
    detectionCount: event.detectionCount,
    scanDurationMs: event.scanDurationMs,
    data: event.data,
  };
  return record; // unset fields stay undefined: JSON.stringify leaves them out of the body
}

/** Inputs of {@link signWebhookBody}. */
export interface WebhookSignInput {
  scheme: WebhookSignatureScheme;
  /** HMAC secret. ARX: its UTF-8 bytes. Standard Webhooks: base64 after `whsec_`, else its UTF-8 bytes. */
  secret: string;
  /** The exact body bytes that are sent (a string is taken as UTF-8). */
  body: string | Buffer;
  /** Standard Webhooks `webhook-id`; must not contain `.`. Required for `STANDARD_WEBHOOKS`. */
  messageId?: string;
  /** Standard Webhooks `webhook-timestamp` in unix seconds. @default the current time */
  timestamp?: number;
}

/**
 * The HMAC key for a Standard Webhooks secret: base64-decoded after a `whsec_` prefix, otherwise the secret's UTF-8 bytes
 * (receivers using the reference library then pass `{ format: 'raw' }`). Throws {@link WebhookConfigError} for a
 * `whsec_` secret that is not base64, without echoing it.
 *
 * @example
 * ```ts
 * standardWebhooksKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'); // 24 key bytes
 * ```
 */
export function standardWebhooksKey(secret: string): Buffer {
  if (!secret.startsWith(WebhookSignatureHeader.STANDARD_SECRET_PREFIX)) return Buffer.from(secret, 'utf8');
  const encoded = secret.slice(WebhookSignatureHeader.STANDARD_SECRET_PREFIX.length);
  if (encoded.length === 0 || !STRICT_BASE64.test(encoded)) {
    throw new WebhookConfigError('a secret starting with whsec_ must continue with base64 (Standard Webhooks format)');
  }
  return Buffer.from(encoded, 'base64');
}

/**
 * Computes the signature headers for one webhook body.
 *
 * - `ARX`: `{ 'X-ARX-Signature': 'sha256=<hex HMAC-SHA256(secret, body)>' }`, which the product documentation's Python
 *   `verify_signature` accepts unchanged.
 * - `STANDARD_WEBHOOKS`: `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`.
 *
 * @example
 * ```ts
 * const body = JSON.stringify(records);
 * const headers = signWebhookBody({ scheme: 'ARX', secret, body });
 * // { 'X-ARX-Signature': 'sha256=3b1f…' }
 * ```
 */
export function signWebhookBody(input: WebhookSignInput): Record<string, string> {
  const body = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body;
  if (input.scheme === 'ARX') {
    const hex = createHmac('sha256', Buffer.from(input.secret, 'utf8')).update(body).digest('hex');
    return { [WebhookSignatureHeader.ARX]: `${WebhookSignatureHeader.ARX_PREFIX}${hex}` };
  }
  const messageId = input.messageId;
  if (!messageId || messageId.includes('.')) {
    throw new TypeError('Standard Webhooks signing needs a messageId without "."');
  }
  const timestamp = input.timestamp ?? Math.floor(Date.now() / MS_PER_SECOND);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new TypeError('timestamp must be whole unix seconds');
  const signature = createHmac('sha256', standardWebhooksKey(input.secret))
    .update(`${messageId}.${timestamp}.`, 'utf8')
    .update(body)
    .digest('base64');
  return {
    [WebhookSignatureHeader.STANDARD_ID]: messageId,
    [WebhookSignatureHeader.STANDARD_TIMESTAMP]: String(timestamp),
    [WebhookSignatureHeader.STANDARD_SIGNATURE]: `${WebhookSignatureHeader.STANDARD_VERSION},${signature}`,
  };
}

/**
 * A Standard Webhooks message id for a batch: `msg_` + base64url SHA-256 of the records' event ids. The same batch
 * retried gets the same id (the spec's idempotency key); different batches get different ids.
 *
 * @example
 * ```ts
 * batchMessageId(['5f0c…', '9a1d…']); // 'msg_Xw3…'
 * ```
 */
export function batchMessageId(eventIds: readonly string[]): string {
  const digest = createHash('sha256').update(eventIds.join('\n'), 'utf8').digest('base64url');
  return `${WebhookSignatureHeader.STANDARD_ID_PREFIX}${digest.slice(0, MESSAGE_ID_HASH_CHARS)}`;
}

function validateHeaders(headers: WebhookConfig['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  headers.forEach((h, i) => {
    const name = headerNameRule.safeParse(h.name);
    if (!name.success) {
      const shown = /^[\x21-\x7e]{1,128}$/.test(h.name) ? JSON.stringify(h.name) : `#${i + 1}`;
      throw new WebhookConfigError(`header ${shown} ${name.error.issues[0]?.message ?? 'is not allowed'}`);
    }
    const key = h.name.toLowerCase();
    if (RESERVED_HEADER_NAMES.has(key)) throw new WebhookConfigError(`header ${h.name} is set by the gateway and cannot be overridden`);
    if (seen.has(key)) throw new WebhookConfigError(`header ${h.name} is given twice`);
    seen.add(key);
    const value = headerValueRule.safeParse(h.value);
    if (!value.success) throw new WebhookConfigError(`the value of header ${h.name} ${value.error.issues[0]?.message ?? 'is not allowed'}`);
    out[h.name] = h.value;
  });
  return out;
}

/**
 * Creates the generic webhook adapter: POSTs a JSON array of {@link WebhookRecord}s to `config.endpoint` with the
 * configured extra headers, signed with `X-ARX-Signature` (ARX) or the Standard Webhooks headers when a secret is set.
 *
 * The signature covers the JSON body bytes as produced; with `gzip` on, it covers the uncompressed JSON (what the
 * receiver has after decoding `Content-Encoding: gzip`). Extra headers may not replace Content-Type, Content-Length,
 * Content-Encoding, Host or the signature headers: such a config throws {@link WebhookConfigError}, as does a
 * malformed `whsec_` secret.
 *
 * @example
 * ```ts
 * const webhook = createWebhookAdapter(
 *   { type: 'WEBHOOK', endpoint: 'https://siem.example.com/api/events', secret, signatureScheme: 'ARX', headers: [] },
 *   { egress: EgressPolicy.fromEnv(process.env) },
 * );
 * const result = await webhook.send(events.map((e) => webhook.transform(e)));
 * await webhook.close();
 * ```
 */
export function createWebhookAdapter(config: WebhookConfig, options: AdapterOptions): SiemAdapter<WebhookRecord> {
  const extraHeaders = validateHeaders(config.headers ?? []);
  const scheme: WebhookSignatureScheme = config.signatureScheme ?? 'ARX';
  const secret = config.secret && config.secret.length > 0 ? config.secret : undefined;
  if (secret && scheme === 'STANDARD_WEBHOOKS') standardWebhooksKey(secret);
  const secrets = [...(secret ? [secret] : []), ...Object.values(extraHeaders)];
  const timeoutMs = resolveTimeoutMs(config.timeoutSeconds, options);
  const http = new HttpDestination({ egress: options.egress, tls: config.tls, timeoutMs, secrets });

  const adapter: SiemAdapter<WebhookRecord> = {
    type: 'WEBHOOK',
    transform: toWebhookRecord,
    async send(records: WebhookRecord[], sendOptions?: SendOptions): Promise<DeliveryResult> {
      const started = performance.now();
      if (records.length === 0) {
        return { kind: 'success', ok: true, message: 'nothing to send', latencyMs: 0, recordCount: 0 };
      }
      try {
        const body = Buffer.from(JSON.stringify(records), 'utf8');
        const signature = secret
          ? signWebhookBody({ scheme, secret, body, messageId: batchMessageId(records.map((r) => r.id)) })
          : {};
        const answer = await http.request({
          url: config.endpoint,
          headers: { ...extraHeaders, 'Content-Type': JSON_CONTENT_TYPE, ...signature },
          body,
          gzip: config.gzip ?? false,
          signal: sendOptions?.signal,
        });
        const result = classifyAnswer(answer, records.length);
        return { ...result, message: scrubSecrets(result.message, secrets), latencyMs: Math.round(performance.now() - started) };
      } catch (err) {
        const result = classifyError(err, performance.now() - started, records.length);
        return { ...result, message: scrubSecrets(result.message, secrets) };
      }
    },
    test(): Promise<ConnectionTestResult> {
      return runConnectionTest(adapter);
    },
    close(): Promise<void> {
      return http.close();
    },
  };
  return adapter;
}
