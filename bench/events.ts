import { randomUUID } from 'node:crypto';
import { hecBodies } from '../src/destinations/shared/hec.js';
import { createSplunkAdapter } from '../src/destinations/splunk/adapter.js';
import { createSyslogAdapter } from '../src/destinations/syslog/adapter.js';
import { deserializeEvent, parseSecurityEvents, serializeEvent } from '../src/events/event-schema.js';
import type { SecurityEvent } from '../src/events/security-event.js';
import { EgressPolicy } from '../src/net/egress-policy.js';
import { frameOctetCounting } from '../src/net/syslog-transport.js';

/** A producer's event, as posted to `POST /v1/events` (id and time set, so every form below is the same event). */
export type ProducerEvent = Record<string, unknown> & { id: string };

const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
const BASE_TIME_MS = Date.UTC(2026, 0, 30, 10, 0, 0);
const LOOPBACK_EGRESS = new EgressPolicy({ allow: ['127.0.0.1/32'] });
/** The syslog adapter needs a port; nothing in a message depends on it and nothing is sent. */
const SYSLOG_PLACEHOLDER_PORT = 514;

/**
 * `count` realistic scan events (≈ 600 bytes of JSON each) of one customer.
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
      name: 'Prompt Injection Detected',
      severity: SEVERITIES[i % SEVERITIES.length],
      outcome: i % 3 === 0 ? 'blocked' : 'allowed',
      customerId,
      msspId: 'mssp_bench',
      installationId: `inst_${i % 97}`,
      agentId: `agent-${i % 1013}`,
      userEmail: `user${i % 211}@example.com`,
      sourceIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      threatDetected: i % 3 === 0,
      ruleIds: ['pi-001', 'pi-007'],
      families: ['prompt_injection'],
      promptHash: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      promptLength: 100 + (i % 900),
      detectionCount: 1 + (i % 3),
      scanDurationMs: 1.5 + (i % 40) / 10,
      data: { model: 'gpt-4o', channel: 'api' },
    });
  }
  return events;
}

/**
 * Request bodies for `POST /v1/events`: JSON arrays of `chunk` events each.
 */
export function ingestBodies(events: readonly ProducerEvent[], chunk: number): string[] {
  const bodies: string[] = [];
  for (let i = 0; i < events.length; i += chunk) bodies.push(JSON.stringify(events.slice(i, i + chunk)));
  return bodies;
}

/** The events exactly as the gateway delivers them: validated, stored, read back (the slow, exact path). */
function asDeliveredExactly(events: readonly ProducerEvent[]): SecurityEvent[] {
  return parseSecurityEvents(events).map((e) => deserializeEvent(serializeEvent(e)));
}

/**
 * The same, fast: {@link makeEvents} sets every field to a valid, canonical value, so validation only
 * turns `time` into a Date. {@link assertSameRecords} checks this against the exact path on a sample.
 */
function asDelivered(events: readonly ProducerEvent[]): SecurityEvent[] {
  return events.map((e) => ({ ...e, time: new Date(e.time as string) }) as unknown as SecurityEvent);
}

/** Rows compared between the fast and the exact path. */
const CHECKED_SAMPLE = 1_000;

/** Throws unless the fast path yields exactly the records the gateway's own path does. */
function assertSameRecords<R>(events: readonly ProducerEvent[], transform: (e: SecurityEvent) => R, encode: (records: R[]) => string): void {
  const sample = events.slice(0, CHECKED_SAMPLE);
  const exact = encode(asDeliveredExactly(sample).map(transform));
  const fast = encode(asDelivered(sample).map(transform));
  if (exact !== fast) throw new Error('bench events: the fast payload path differs from the gateway\'s validate/store/read path');
}

/**
 * The HEC request bodies the gateway would send for these events with `batchSize`: the Splunk adapter's
 * own `transform` and `hecBodies` (same envelopes, host, sourcetype, newline-separated, 1 MB split).
 */
export async function hecRequestBodies(events: readonly ProducerEvent[], batchSize: number, endpoint: string): Promise<string[]> {
  const adapter = createSplunkAdapter({ type: 'SPLUNK', endpoint, token: 'bench-hec-token', sourcetype: '_json' }, { egress: LOOPBACK_EGRESS });
  try {
    const transform = (e: SecurityEvent) => adapter.transform(e);
    const encode = (records: object[]) => hecBodies(records).map((b) => b.body).join('\n');
    assertSameRecords(events, transform, encode);
    const records = asDelivered(events).map(transform);
    const bodies: string[] = [];
    for (let i = 0; i < records.length; i += batchSize) {
      for (const { body } of hecBodies(records.slice(i, i + batchSize))) bodies.push(body);
    }
    return bodies;
  } finally {
    await adapter.close();
  }
}

/**
 * The bytes the gateway would write to a syslog TCP socket for these events, one buffer per batch of
 * `batchSize`: the syslog adapter's own RFC 5424 + CEF `transform`, octet-counted frames (RFC 6587).
 */
export async function syslogBatches(events: readonly ProducerEvent[], batchSize: number): Promise<Buffer[]> {
  const adapter = createSyslogAdapter(
    { type: 'SYSLOG', host: '127.0.0.1', port: SYSLOG_PLACEHOLDER_PORT, protocol: 'TCP', facility: 'local0', format: 'RFC5424' },
    { egress: LOOPBACK_EGRESS },
  );
  try {
    const transform = (e: SecurityEvent) => adapter.transform(e);
    assertSameRecords(events, transform, (records) => records.join('\n'));
    const frames = asDelivered(events).map((e) => frameOctetCounting(transform(e)));
    const batches: Buffer[] = [];
    for (let i = 0; i < frames.length; i += batchSize) batches.push(Buffer.concat(frames.slice(i, i + batchSize)));
    return batches;
  } finally {
    await adapter.close();
  }
}
