import { toSnakeCaseEvent, type StoredEvent } from '../../events/stored-event.js';
import type { SecurityEvent } from '../../events/security-event.js';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  classifyAnswer,
  classifyError,
  HttpDestination,
  HttpStatus,
  type HttpAnswer,
} from './http-destination.js';
import type { DeliveryResult } from '../types.js';

/**
 * HEC status codes from Splunk's "Troubleshoot HTTP Event Collector" table (the `code` in HEC's JSON answer).
 * The HTTP status that comes with each is noted alongside.
 */
export const HecCode = {
  SUCCESS: 0, // 200
  TOKEN_DISABLED: 1, // 403
  TOKEN_REQUIRED: 2, // 401
  INVALID_AUTHORIZATION: 3, // 401
  INVALID_TOKEN: 4, // 403
  NO_DATA: 5, // 400
  INVALID_DATA_FORMAT: 6, // 400
  INCORRECT_INDEX: 7, // 400
  INTERNAL_SERVER_ERROR: 8, // 500
  SERVER_BUSY: 9, // 503
  DATA_CHANNEL_MISSING: 10, // 400
  INVALID_DATA_CHANNEL: 11, // 400
  EVENT_FIELD_REQUIRED: 12, // 400
  EVENT_FIELD_BLANK: 13, // 400
  ACK_DISABLED: 14, // 400
  INDEXED_FIELDS_ERROR: 15, // 400
  QUERY_STRING_AUTH_DISABLED: 16, // 400
  HEALTHY: 17, // 200
  UNHEALTHY_QUEUES_FULL: 18, // 503
  UNHEALTHY_ACK_UNAVAILABLE: 19, // 503
  UNHEALTHY_QUEUES_FULL_ACK_UNAVAILABLE: 20, // 503
} as const;

const AUTH_CODES = new Set<number>([
  HecCode.TOKEN_DISABLED,
  HecCode.TOKEN_REQUIRED,
  HecCode.INVALID_AUTHORIZATION,
  HecCode.INVALID_TOKEN,
]);
const REJECTED_CODES = new Set<number>([
  HecCode.NO_DATA,
  HecCode.INVALID_DATA_FORMAT,
  HecCode.INCORRECT_INDEX,
  HecCode.DATA_CHANNEL_MISSING,
  HecCode.INVALID_DATA_CHANNEL,
  HecCode.EVENT_FIELD_REQUIRED,
  HecCode.EVENT_FIELD_BLANK,
  HecCode.ACK_DISABLED,
  HecCode.INDEXED_FIELDS_ERROR,
  HecCode.QUERY_STRING_AUTH_DISABLED,
]);
const SERVER_CODES = new Set<number>([
  HecCode.INTERNAL_SERVER_ERROR,
  HecCode.SERVER_BUSY,
  HecCode.UNHEALTHY_QUEUES_FULL,
  HecCode.UNHEALTHY_ACK_UNAVAILABLE,
  HecCode.UNHEALTHY_QUEUES_FULL_ACK_UNAVAILABLE,
]);

/** Header carrying the HEC channel (a GUID) that indexer acknowledgement is tracked per. */
export const HEC_CHANNEL_HEADER = 'X-Splunk-Request-Channel';
/** HEC REST path prefix; the ack endpoint is `<prefix>/ack`. */
export const HEC_COLLECTOR_PATH = '/services/collector';
/** Ack endpoint path below the collector prefix. */
export const HEC_ACK_PATH = '/services/collector/ack';
/**
 * Largest uncompressed body per request. HEC's `max_content_length` can be as low as 1 MB (Splunk Cloud),
 * so larger batches are split into several requests.
 */
export const HEC_MAX_BODY_BYTES = 1_000_000;
/** First wait before polling the ack endpoint; doubles up to {@link HEC_ACK_POLL_MAX_MS}. */
export const HEC_ACK_POLL_INITIAL_MS = 100;
export const HEC_ACK_POLL_MAX_MS = 2_000;
const MS_PER_SECOND = 1000;
/** @default sourcetype when the config leaves it empty */
export const DEFAULT_SOURCETYPE = '_json';

/**
 * One HEC event envelope (Splunk's "Format events for HTTP Event Collector").
 * `time` is epoch seconds with millisecond precision, e.g. `1706619000.123`.
 */
export interface SplunkHecEvent {
  time: number;
  host: string;
  source?: string;
  sourcetype?: string;
  index?: string;
  /** The canonical event in snake_case, including `id`. */
  event: Record<string, unknown>;
}

/** HEC's JSON answer. */
interface HecAnswerBody {
  text?: string;
  code?: number;
  ackId?: number;
  'invalid-event-number'?: number;
}

/** The canonical event as the `event` object of a HEC envelope (the stored form of an event; see `toStoredLine`). */
export { toSnakeCaseEvent };

/** A HEC envelope: an object, or already serialised (framed around a stored line by {@link hecEnvelope}). */
export type HecRecord = object | string;

/** The envelope fields a destination fixes; unset ones are omitted. */
export interface HecEnvelopeFields {
  host: string;
  source?: string;
  sourcetype?: string;
  index?: string;
}

/**
 * Both ways a destination builds its HEC envelopes `{time, host, source?, sourcetype?, index?, event}` from the same
 * fields: `transform` from an event (tests, connection tests), and `fromStored`, which frames a stored line without
 * parsing it, byte for byte what `JSON.stringify(transform(event))` gives (same keys, same order), since the stored
 * line is the envelope's `event` object serialised (see `toStoredLine`).
 *
 * @example
 * ```ts
 * const hec = hecEnvelope({ host: 'gw', sourcetype: '_json' });
 * hec.fromStored({ line: '{"id":"…"}', timeMs: 1706619000123 }); // '{"time":1706619000.123,"host":"gw","sourcetype":"_json","event":{"id":"…"}}'
 * ```
 */
export function hecEnvelope(fields: HecEnvelopeFields): { transform(event: SecurityEvent): SplunkHecEvent; fromStored(stored: StoredEvent): string } {
  const set = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== '')) as HecEnvelopeFields;
  // JSON.stringify keeps insertion order: time first, the fields as given, event last.
  const middle = JSON.stringify(set).slice(1, -1);
  const between = middle === '' ? ',"event":' : `,${middle},"event":`;
  return {
    transform: (event) => ({ time: hecTime(event.time), ...set, event: toSnakeCaseEvent(event) }),
    fromStored: (stored) => `{"time":${Math.round(stored.timeMs) / MS_PER_SECOND}${between}${stored.line}}`,
  };
}

/** Epoch seconds with millisecond precision (`1706619000.123`). @example `hecTime(new Date(1706619000123)) // 1706619000.123` */
export function hecTime(time: Date): number {
  return Math.round(time.getTime()) / MS_PER_SECOND;
}

/**
 * Serializes records as HEC's batch body: JSON objects one after another (newline-separated, which both Splunk
 * and LogScale accept), split into bodies of at most {@link HEC_MAX_BODY_BYTES} bytes. A single larger record gets a body of its own.
 *
 * @example
 * ```ts
 * const [body] = hecBodies(records); // '{"time":…,"event":{…}}\n{"time":…}'
 * ```
 */
export function hecBodies(records: readonly HecRecord[], maxBytes: number = HEC_MAX_BODY_BYTES): { body: string; count: number }[] {
  const out: { body: string; count: number }[] = [];
  let parts: string[] = [];
  let size = 0;
  for (const record of records) {
    const json = typeof record === 'string' ? record : JSON.stringify(record);
    const bytes = Buffer.byteLength(json, 'utf8') + 1;
    if (parts.length > 0 && size + bytes > maxBytes) {
      out.push({ body: parts.join('\n'), count: parts.length });
      parts = [];
      size = 0;
    }
    parts.push(json);
    size += bytes;
  }
  if (parts.length > 0) out.push({ body: parts.join('\n'), count: parts.length });
  return out;
}

function parseHecBody(answer: HttpAnswer): HecAnswerBody | undefined {
  try {
    const parsed: unknown = JSON.parse(answer.body);
    return parsed && typeof parsed === 'object' ? (parsed as HecAnswerBody) : undefined;
  } catch {
    return undefined;
  }
}

/** HEC's own text, e.g. `Invalid token (code 4)` or `Invalid data format (code 6, event 3)`. */
function describeHec(answer: HttpAnswer): string | undefined {
  const hec = parseHecBody(answer);
  if (!hec || typeof hec.text !== 'string') {
    const body = answer.body.trim();
    return body !== '' && !body.startsWith('<') ? body : undefined;
  }
  const details = [typeof hec.code === 'number' ? `code ${hec.code}` : undefined];
  if (typeof hec['invalid-event-number'] === 'number') details.push(`event ${hec['invalid-event-number']}`);
  const suffix = details.filter(Boolean).join(', ');
  return suffix ? `${hec.text} (${suffix})` : hec.text;
}

/**
 * Classifies a HEC (Splunk or LogScale) answer: the HTTP status via {@link classifyAnswer}, refined by HEC's `code`
 * (1–4 auth; 5–7 and 10–16 rejected; 8, 9, 18–20 server, or throttled when Retry-After is present).
 *
 * @example
 * ```ts
 * classifyHecAnswer({ status: 403, headers: {}, body: '{"text":"Invalid token","code":4}', latencyMs: 3 }, 10).kind; // 'auth'
 * ```
 */
export function classifyHecAnswer(answer: HttpAnswer, recordCount: number): DeliveryResult {
  const base = classifyAnswer(answer, recordCount, describeHec);
  const code = parseHecBody(answer)?.code;
  if (typeof code !== 'number' || code === HecCode.SUCCESS || code === HecCode.HEALTHY) return base;
  const failed = { ...base, ok: false, message: base.ok ? `HTTP ${answer.status}: ${describeHec(answer)}` : base.message };
  if (AUTH_CODES.has(code)) return { ...failed, kind: 'auth' };
  if (REJECTED_CODES.has(code)) return { ...failed, kind: 'rejected' };
  if (SERVER_CODES.has(code)) return { ...failed, kind: base.kind === 'throttled' ? 'throttled' : 'server' };
  return base.ok ? { ...failed, kind: 'rejected' } : base;
}

/** Options of {@link sendHecBatch}. */
export interface HecSendOptions {
  http: HttpDestination;
  url: string;
  /** Complete Authorization header value (a secret). */
  authorization: string;
  gzip: boolean;
  timeoutMs: number;
  /** Sent as `X-Splunk-Request-Channel` when set; required for indexer acknowledgement. */
  channel?: string;
  /** Wait for indexer acknowledgement through `ackUrl`. */
  ackUrl?: string;
  signal?: AbortSignal;
}

/**
 * Sends HEC envelopes (split by size), and with `ackUrl` waits until every request's `ackId` is acknowledged.
 * Never throws.
 *
 * @example
 * ```ts
 * const result = await sendHecBatch(records, { http, url, authorization: `Splunk ${token}`, gzip: false, timeoutMs: 30_000 });
 * ```
 */
export async function sendHecBatch(records: readonly HecRecord[], options: HecSendOptions): Promise<DeliveryResult> {
  const started = performance.now();
  const total = records.length;
  const elapsed = () => Math.round(performance.now() - started);
  if (total === 0) return { kind: 'success', ok: true, message: 'nothing to send', latencyMs: 0, recordCount: 0 };

  const headers: Record<string, string> = {
    authorization: options.authorization,
    'content-type': 'application/json',
  };
  if (options.channel) headers[HEC_CHANNEL_HEADER.toLowerCase()] = options.channel;

  const ackIds: number[] = [];
  let sent = 0;
  let lastStatus: number | undefined;
  for (const { body, count } of hecBodies(records)) {
    let answer: HttpAnswer;
    try {
      answer = await options.http.request({ url: options.url, headers, body, gzip: options.gzip, signal: options.signal });
    } catch (err) {
      return partial(classifyError(err, elapsed(), total), sent, total);
    }
    lastStatus = answer.status;
    const result = classifyHecAnswer(answer, total);
    if (!result.ok) return partial({ ...result, latencyMs: elapsed() }, sent, total);
    const ackId = parseHecBody(answer)?.ackId;
    if (options.ackUrl && typeof ackId === 'number') ackIds.push(ackId);
    sent += count;
  }

  const statusText = lastStatus !== undefined ? ` (HTTP ${lastStatus})` : '';
  if (!options.ackUrl) {
    return { kind: 'success', ok: true, status: lastStatus, message: `delivered ${total} record(s)${statusText}`, latencyMs: elapsed(), recordCount: total };
  }
  if (ackIds.length === 0) {
    return {
      kind: 'success',
      ok: true,
      status: lastStatus,
      message: `delivered ${total} record(s)${statusText}; no ackId returned, indexer acknowledgement is not enabled on this token`,
      latencyMs: elapsed(),
      recordCount: total,
    };
  }
  const acked = await waitForAcks(ackIds, { ...options, ackUrl: options.ackUrl, headers });
  if (acked !== true) return { ...acked, latencyMs: elapsed(), recordCount: total };
  return {
    kind: 'success',
    ok: true,
    status: lastStatus,
    message: `delivered and indexed ${total} record(s)${statusText}`,
    latencyMs: elapsed(),
    recordCount: total,
  };
}

function partial(result: DeliveryResult, sent: number, total: number): DeliveryResult {
  if (sent === 0) return result;
  return { ...result, message: `${result.message} (after ${sent} of ${total} records were accepted)` };
}

/**
 * Polls HEC's ack endpoint (`POST /services/collector/ack`, body `{"acks":[ids]}`, answer `{"acks":{"<id>":true|false}}`)
 * until every id is true or the timeout passes. Returns true, or a failed DeliveryResult (`timeout` when not acknowledged in time).
 */
async function waitForAcks(
  ids: number[],
  options: HecSendOptions & { ackUrl: string; headers: Record<string, string> },
): Promise<true | DeliveryResult> {
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  const pending = new Set(ids);
  let delay = HEC_ACK_POLL_INITIAL_MS;
  let lastProblem = '';
  const headers = { ...options.headers };
  while (true) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) break;
    try {
      await sleep(Math.min(delay, remaining), undefined, { signal: options.signal });
    } catch {
      return { kind: 'timeout', ok: false, message: 'aborted while waiting for indexer acknowledgement', latencyMs: 0, recordCount: 0 };
    }
    delay = Math.min(delay * 2, HEC_ACK_POLL_MAX_MS);
    let answer: HttpAnswer;
    try {
      answer = await options.http.request({
        url: options.ackUrl,
        headers,
        body: JSON.stringify({ acks: [...pending] }),
        signal: options.signal,
      });
    } catch (err) {
      lastProblem = `; last poll: ${classifyError(err, 0, 0).message}`;
      if (options.signal?.aborted) break;
      continue;
    }
    if (answer.status < HttpStatus.OK_MIN || answer.status > HttpStatus.OK_MAX) {
      const failed = classifyHecAnswer(answer, 0);
      if (failed.kind === 'auth' || failed.kind === 'rejected') {
        return { ...failed, message: `indexer acknowledgement query failed: ${failed.message}` };
      }
      lastProblem = `; last poll: ${failed.message}`;
      continue;
    }
    const acks = (parseHecBody(answer) as { acks?: Record<string, unknown> } | undefined)?.acks;
    if (acks && typeof acks === 'object') {
      for (const id of [...pending]) if (acks[String(id)] === true) pending.delete(id);
    }
    if (pending.size === 0) return true;
  }
  const waited = Math.round(performance.now() - started);
  return {
    kind: 'timeout',
    ok: false,
    message: `indexer acknowledgement not received within ${waited} ms (ackId ${[...pending].join(', ')})${lastProblem}`,
    latencyMs: waited,
    recordCount: 0,
  };
}

/** `<origin><prefix>/services/collector/ack` for an event endpoint below `<prefix>/services/collector…`. */
export function hecAckUrl(endpoint: string): string {
  const url = new URL(endpoint);
  const at = url.pathname.indexOf(HEC_COLLECTOR_PATH);
  const prefix = at >= 0 ? url.pathname.slice(0, at) : '';
  return `${url.origin}${prefix}${HEC_ACK_PATH}`;
}
