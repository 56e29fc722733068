/**
 * The bench's events and every form they travel in, built from public formats only (the gateway's
 * `POST /v1/events` JSON, Splunk HEC envelopes, RFC 5424 + CEF over RFC 6587 octet counting): the bench
 * imports nothing from src/, so it keeps working while the gateway's internals change.
 */
import { randomUUID } from 'node:crypto';

/** A producer's event, as posted to `POST /v1/events` (id and time set, so every form below is the same event). */
export type ProducerEvent = {
  id: string;
  time: string;
  type: string;
  name: string;
  severity: string;
  customerId: string;
  agentId: string;
  sourceIp: string;
  threatDetected: boolean;
  ruleIds: string[];
  promptHash: string;
  promptLength: number;
  data: { model: string };
};

const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
const CEF_SEVERITY: Record<string, number> = { LOW: 3, MEDIUM: 5, HIGH: 7, CRITICAL: 10 };
const BASE_TIME_MS = Date.UTC(2026, 0, 30, 10, 0, 0);
const MS_PER_SECOND = 1000;
/** `host` of the HEC envelopes the peers and the ceiling send (the gateway sends its own host name). */
export const BENCH_HOST = 'siemgate-bench';
/** HEC token every forwarder is configured with; the receiver checks the `Authorization` header. */
export const HEC_TOKEN = 'bench-hec-token';

/**
 * `count` scan events (≈ 330 bytes of JSON each; issue 9 specifies ≈ 320) of one customer.
 *
 * @example
 * ```ts
 * const events = makeEvents(5_000, 'cust_bench');
 * ```
 */
export function makeEvents(count: number, customerId: string): ProducerEvent[] {
  const events: ProducerEvent[] = [];
  for (let i = 0; i < count; i++) {
    events.push({
      id: randomUUID(),
      time: new Date(BASE_TIME_MS + i).toISOString(),
      type: 'scan',
      name: 'Prompt Injection',
      severity: SEVERITIES[i % SEVERITIES.length]!,
      customerId,
      agentId: `agent-${i % 1013}`,
      sourceIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      threatDetected: i % 3 === 0,
      ruleIds: [`pi-00${1 + (i % 9)}`],
      promptHash: `sha256:${((i * 2654435761) >>> 0).toString(16).padStart(8, '0')}`,
      promptLength: 100 + (i % 900),
      data: { model: 'gpt-4o' },
    });
  }
  return events;
}

/** Request bodies for `POST /v1/events`: JSON arrays of `chunk` events each. */
export function ingestBodies(events: readonly ProducerEvent[], chunk: number): string[] {
  const bodies: string[] = [];
  for (let i = 0; i < events.length; i += chunk) bodies.push(JSON.stringify(events.slice(i, i + chunk)));
  return bodies;
}

/**
 * The event as the `event` object of a HEC envelope, in the shape the gateway's Splunk destination
 * documents (snake_case keys, lower-case severity, `event_type`, `timestamp`). The peers and the ceiling
 * carry exactly this object, so every forwarder moves the same bytes per event.
 */
export function hecEvent(e: ProducerEvent): Record<string, unknown> {
  return {
    id: e.id,
    event_type: e.type,
    name: e.name,
    severity: e.severity.toLowerCase(),
    timestamp: e.time,
    customer_id: e.customerId,
    agent_id: e.agentId,
    source_ip: e.sourceIp,
    threat_detected: e.threatDetected,
    rule_ids: e.ruleIds,
    prompt_hash: e.promptHash,
    prompt_length: e.promptLength,
    data: e.data,
  };
}

/** One HEC envelope (`time` in epoch seconds with ms, `host`, `sourcetype`, `event`), serialised. */
export function hecEnvelope(e: ProducerEvent): string {
  const time = Date.parse(e.time) / MS_PER_SECOND;
  return JSON.stringify({ time, host: BENCH_HOST, sourcetype: '_json', event: hecEvent(e) });
}

/** HEC batch bodies of `batchSize` newline-separated envelopes each: what the wire ceiling posts. */
export function hecBatchBodies(events: readonly ProducerEvent[], batchSize: number): string[] {
  const bodies: string[] = [];
  for (let i = 0; i < events.length; i += batchSize) bodies.push(events.slice(i, i + batchSize).map(hecEnvelope).join('\n'));
  return bodies;
}

/**
 * The events as newline-delimited JSON (the HEC `event` objects, one per line), in buffers of
 * `linesPerBuffer` lines: what the bench writes to syslog-ng's TCP source.
 */
export function ndjsonBuffers(events: readonly ProducerEvent[], linesPerBuffer: number): Buffer[] {
  const buffers: Buffer[] = [];
  for (let i = 0; i < events.length; i += linesPerBuffer) {
    const lines = events.slice(i, i + linesPerBuffer).map((e) => `${JSON.stringify(hecEvent(e))}\n`);
    buffers.push(Buffer.from(lines.join('')));
  }
  return buffers;
}

/** CEF escaping of an extension value (RFC-less but ArcSight's rules: backslash, equals, newlines). */
function cefValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r?\n/g, '\\n');
}

/**
 * One RFC 5424 message with a CEF payload, shaped like the gateway's syslog destination writes it
 * (same header fields, same CEF extension keys), for the raw TCP ceiling. Only its size matters there;
 * the receiver checks the gateway's own frames against RFC 5424 and CEF.
 */
export function syslogMessage(e: ProducerEvent): string {
  const severity = CEF_SEVERITY[e.severity] ?? 5;
  const extension = [
    `rt=${Date.parse(e.time)}`,
    `suser=${cefValue(e.agentId)}`,
    `cs1=${cefValue(e.promptHash)} cs1Label=PromptHash`,
    `cs2=${cefValue(e.ruleIds.join(','))} cs2Label=RuleIDs`,
    `cs6=${cefValue(e.customerId)} cs6Label=CustomerId`,
    `cn1=${e.promptLength} cn1Label=PromptLength`,
    `externalId=${e.id}`,
    `cat=${e.type}`,
    `src=${e.sourceIp}`,
    `dvchost=${BENCH_HOST}`,
  ].join(' ');
  return `<133>1 ${e.time} ${BENCH_HOST} siemgate - ${e.type} - CEF:0|ARXsec|ARX|1.0|${e.ruleIds[0]}|${e.name}|${severity}|${extension}`;
}

/** Octet-counted frames (RFC 6587: `MSG-LEN SP SYSLOG-MSG`), `batchSize` per buffer: what the TCP ceiling writes. */
export function syslogBatches(events: readonly ProducerEvent[], batchSize: number): Buffer[] {
  const batches: Buffer[] = [];
  for (let i = 0; i < events.length; i += batchSize) {
    const frames = events.slice(i, i + batchSize).map((e) => {
      const message = Buffer.from(syslogMessage(e));
      return Buffer.concat([Buffer.from(`${message.length} `), message]);
    });
    batches.push(Buffer.concat(frames));
  }
  return batches;
}
