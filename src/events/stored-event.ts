import { severityRank } from './event-schema.js';
import type { SecurityEvent, Severity } from './security-event.js';

/** One event's routing facts as the log stores them beside its line: `[id, customerId | null, severityRank, type, timeMs]`. */
export type EventFacts = [id: string, customerId: string | null, severityRank: number, type: string, timeMs: number];

/** An event as the log holds it: its stored line and its own time (epoch ms), kept beside it. */
export interface StoredEvent {
  line: string;
  timeMs: number;
}

/**
 * The one serialised form of an event, written once at ingest and stored in the log: the canonical event with
 * snake_case keys, severity lower-case, `event_type` for the type, `timestamp` as ISO-8601, unset fields omitted.
 * It is byte for byte the `event` object of a Splunk HEC or LogScale envelope (as in the product
 * documentation's example), so those destinations frame stored bytes without parsing them again.
 *
 * @example
 * ```ts
 * toStoredLine(event); // '{"id":"…","event_type":"scan","name":"…","severity":"critical","timestamp":"2026-…Z","threat_detected":true}'
 * fromStoredLine(toStoredLine(event)); // deep-equals event
 * ```
 */
export function toStoredLine(event: SecurityEvent): string {
  return JSON.stringify(toSnakeCaseEvent(event));
}

/**
 * Events as the log stores them: each one's {@link toStoredLine stored line} and its {@link EventFacts}, in order.
 * Done once per event, at ingest (on the preparing worker thread) or at an in-process append.
 *
 * @example
 * ```ts
 * const { lines, facts } = toStoredEvents(events); // lines.join('\n') and facts go into one log segment
 * ```
 */
export function toStoredEvents(events: readonly SecurityEvent[]): { lines: string[]; facts: EventFacts[] } {
  const lines = new Array<string>(events.length);
  const facts = new Array<EventFacts>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    lines[i] = toStoredLine(e);
    facts[i] = [e.id, e.customerId ?? null, severityRank(e.severity), e.type, e.time.getTime()];
  }
  return { lines, facts };
}

/** The inverse of {@link toStoredLine}: the canonical event back from its stored line. */
export function fromStoredLine(line: string): SecurityEvent {
  const o = JSON.parse(line) as Record<string, unknown>;
  const event: SecurityEvent = {
    id: o.id as string,
    time: new Date(o.timestamp as string),
    type: o.event_type as string,
    name: o.name as string,
    severity: (o.severity as string).toUpperCase() as Severity,
  };
  for (const [key, field] of OPTIONAL_FIELDS) {
    const value = o[key];
    if (value !== undefined) (event as unknown as Record<string, unknown>)[field] = value;
  }
  return event;
}

/** snake_case key → SecurityEvent field, in the order the stored line writes them. */
const OPTIONAL_FIELDS: readonly (readonly [string, keyof SecurityEvent])[] = [
  ['outcome', 'outcome'],
  ['customer_id', 'customerId'],
  ['mssp_id', 'msspId'],
  ['installation_id', 'installationId'],
  ['agent_id', 'agentId'],
  ['user_email', 'userEmail'],
  ['source_ip', 'sourceIp'],
  ['threat_detected', 'threatDetected'],
  ['rule_ids', 'ruleIds'],
  ['families', 'families'],
  ['prompt_hash', 'promptHash'],
  ['prompt_length', 'promptLength'],
  ['detection_count', 'detectionCount'],
  ['scan_duration_ms', 'scanDurationMs'],
  ['data', 'data'],
];

/**
 * The canonical event as an object with snake_case keys (see {@link toStoredLine}).
 *
 * @example
 * ```ts
 * toSnakeCaseEvent(event); // { id: '…', event_type: 'scan', name: '…', severity: 'critical', threat_detected: true, rule_ids: ['pi-001'], … }
 * ```
 */
export function toSnakeCaseEvent(event: SecurityEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: event.id,
    event_type: event.type,
    name: event.name,
    severity: event.severity.toLowerCase(),
    timestamp: event.time.toISOString(),
  };
  const source = event as unknown as Record<string, unknown>;
  for (const [key, field] of OPTIONAL_FIELDS) {
    const value = source[field];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
