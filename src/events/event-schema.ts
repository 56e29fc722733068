import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
// zod 4 (shipped inside zod 3.25 as `zod/v4`): this schema runs once per ingested event, and zod 4
// validates it several times faster than zod 3, with far less garbage.
import { z } from 'zod/v4';
import { createFastEventParser, sameValue } from './event-fast-path.js';
import { SEVERITY_ORDER, type SecurityEvent, type Severity } from './security-event.js';

/** Largest `data` object accepted per event, serialised. */
export const MAX_EVENT_DATA_BYTES = 32 * 1024;
/** Deepest nesting of objects and arrays accepted in `data`. */
export const MAX_EVENT_DATA_DEPTH = 32;

/**
 * Whether a JSON value nests deeper than `max` levels. Iterative, so a hostile value cannot exhaust the stack.
 *
 * @example
 * ```ts
 * nestsDeeperThan({ a: { b: {} } }, 2); // true
 * ```
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Tells whether a whole number beyond ±2^53−1 was written as an integer literal in the source text
 * (`12345678901234567890`: rounded by JSON.parse, refused) rather than as a float (`1.5e300`: kept as sent).
 * Without one (GraphQL variables: no source text), every such value is refused.
 */
export type IntegerLiteralCheck = (value: number) => boolean;

/** Why a number cannot be stored as sent, or null when it can. */
export function numberProblem(v: number, integerLiteral?: IntegerLiteralCheck): string | null {
  if (!Number.isFinite(v)) return 'number out of range (too large for a JSON number)';
  if (Number.isInteger(v) && !Number.isSafeInteger(v) && (integerLiteral === undefined || integerLiteral(v))) {
    return 'number out of range (whole numbers must be within ±9007199254740991, 2^53−1, to arrive exactly; send larger ones as strings)';
  }
  return null;
}

/**
 * The path (keys and indexes) of the first number in `value` that {@link numberProblem} refuses, with the
 * reason, or null. One iterative pass that only looks at numbers; the path is worked out (a second pass)
 * only when there is such a number.
 *
 * @example
 * ```ts
 * badNumberPath({ a: [1, Infinity] }); // { path: ['a', 1], message: 'number out of range (…)' }
 * ```
 */
export function badNumberPath(value: unknown, integerLiteral?: IntegerLiteralCheck): { path: (string | number)[]; message: string } | null {
  const stack: unknown[] = [value];
  let found = false;
  while (stack.length > 0 && !found) {
    const v = stack.pop();
    if (typeof v === 'number') found = !Number.isSafeInteger(v) && numberProblem(v, integerLiteral) !== null;
    else if (v !== null && typeof v === 'object') for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push(child);
  }
  if (!found) return null;
  const paths: [unknown, (string | number)[]][] = [[value, []]];
  while (paths.length > 0) {
    const [v, path] = paths.shift()!;
    if (typeof v === 'number') {
      const message = numberProblem(v, integerLiteral);
      if (message) return { path, message };
    } else if (v !== null && typeof v === 'object') {
      const entries = Array.isArray(v) ? [...v.entries()] : Object.entries(v);
      paths.unshift(...entries.map(([k, child]) => [child, [...path, k]] as [unknown, (string | number)[]]));
    }
  }
  return null;
}

/**
 * An {@link IntegerLiteralCheck} over JSON source text: the values of its integer literals beyond ±2^53−1.
 * The text is scanned once, and only when a check is first asked for (a rare, unsafe-looking value).
 */
export function integerLiteralsOf(text: string): IntegerLiteralCheck {
  let values: Set<number> | undefined;
  return (value) => {
    values ??= new Set([...text.matchAll(/(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/g)].map((m) => Number(m[0])));
    return values.has(value);
  };
}

/** One rule an ingested event broke; `path` names the event's index and field, e.g. `events[3].severity`. */
export interface EventIssue {
  path: string;
  message: string;
}

/** A batch of events was refused as a whole: nothing of it was stored. */
export class EventValidationError extends Error {
  readonly code = 'SIEMGATE_INVALID_EVENT';
  constructor(readonly issues: EventIssue[]) {
    super(issues.slice(0, 10).map((i) => `${i.path}: ${i.message}`).join('; ') + (issues.length > 10 ? `; and ${issues.length - 10} more` : ''));
    this.name = 'EventValidationError';
  }
}

const line = (max: number) => z.string().max(max, `must be at most ${max} characters`).refine((v) => !/[\0]/.test(v), 'must not contain NUL');
const count = z.number().int('must be a whole number').min(0, 'must not be negative').max(Number.MAX_SAFE_INTEGER);

const severity = z
  .string()
  .transform((v, ctx) => {
    const upper = v.trim().toUpperCase();
    if ((SEVERITY_ORDER as readonly string[]).includes(upper)) return upper as Severity;
    ctx.addIssue({ code: 'custom', message: `must be one of ${SEVERITY_ORDER.join(', ')}` });
    return z.NEVER;
  });

const time = z.union([z.string(), z.date()]).transform((v, ctx) => {
  const d = v instanceof Date ? v : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/.test(v) ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime())) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 date-time with a time zone, e.g. 2026-01-30T10:30:00Z' });
    return z.NEVER;
  }
  return d;
});

/** The canonical event as producers send it (JSON). `id` and `time` may be left out: the gateway fills them in. */
export const securityEventSchema = z
  .object({
    id: z.guid('must be a UUID').optional(),
    time: time.optional(),
    type: z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters').regex(/^[A-Za-z0-9._:-]+$/, 'may contain only letters, digits and . _ : -'),
    name: line(512).optional(),
    severity,
    outcome: line(64).optional(),
    customerId: z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters').regex(/^[A-Za-z0-9._:@-]+$/, 'may contain only letters, digits and . _ : @ -').optional(),
    msspId: line(128).optional(),
    installationId: line(256).optional(),
    agentId: line(256).optional(),
    userEmail: line(320).optional(),
    sourceIp: z.string().refine((v) => isIP(v) !== 0, 'must be an IPv4 or IPv6 address').optional(),
    threatDetected: z.boolean().optional(),
    ruleIds: z.array(line(128)).max(256, 'at most 256 rule ids').optional(),
    families: z.array(line(128)).max(256, 'at most 256 families').optional(),
    promptHash: line(256).optional(),
    promptLength: count.optional(),
    detectionCount: count.optional(),
    scanDurationMs: z.number().min(0, 'must not be negative').max(86_400_000, 'must be at most 86400000').optional(),
    data: z
      .record(z.string(), z.unknown())
      .superRefine((v, ctx) => {
        if (nestsDeeperThan(v, MAX_EVENT_DATA_DEPTH)) ctx.addIssue({ code: 'custom', message: `must not nest deeper than ${MAX_EVENT_DATA_DEPTH} levels` });
        else if (Buffer.byteLength(JSON.stringify(v)) > MAX_EVENT_DATA_BYTES) ctx.addIssue({ code: 'custom', message: `must serialise to at most ${MAX_EVENT_DATA_BYTES} bytes` });
      })
      .optional(),
  })
  .strict();

/**
 * snake_case names the product documentation's producers send (its Splunk event and CEF field mapping:
 * `event_type`, `customer_id`, `rule_ids`, `prompt_hash`, `threat_detected`, `timestamp`, …), and the
 * canonical field each stands for: the snake_case form of every camelCase field, `event_type` for `type`
 * (Sentinel's `EventType`) and `timestamp` for `time` (the CEF mapping's source of `rt`). An alias follows
 * exactly the rules of its canonical field.
 */
export const EVENT_FIELD_ALIASES: Readonly<Record<string, keyof typeof securityEventSchema.shape>> = Object.freeze({
  timestamp: 'time',
  event_type: 'type',
  customer_id: 'customerId',
  mssp_id: 'msspId',
  installation_id: 'installationId',
  agent_id: 'agentId',
  user_email: 'userEmail',
  source_ip: 'sourceIp',
  threat_detected: 'threatDetected',
  rule_ids: 'ruleIds',
  prompt_hash: 'promptHash',
  prompt_length: 'promptLength',
  detection_count: 'detectionCount',
  scan_duration_ms: 'scanDurationMs',
});

const CANONICAL_FIELDS = new Set<string>(Object.keys(securityEventSchema.shape));
const ALIASES = new Map<string, string>(Object.entries(EVENT_FIELD_ALIASES));

/** Sets an own property even for names like `__proto__` (a moved field is data, never a prototype). */
function defineField(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** What {@link parseSecurityEventBatch} returns. */
export interface ParsedEventBatch {
  events: SecurityEvent[];
  /** Unknown top-level fields kept under `data`, over the whole batch. */
  movedToData: number;
}

/**
 * Validates a batch of producer events, all or nothing, and returns canonical events (ids and times
 * filled in where missing). Nulls count as absent. Numbers JSON cannot carry are refused (see {@link numberProblem}).
 *
 * In the same pass over each event's fields (no copy beyond the one validation makes anyway):
 * - snake_case aliases ({@link EVENT_FIELD_ALIASES}) are read as their canonical field; an alias and its
 *   canonical name with different values are refused, naming both;
 * - unknown top-level fields are kept under `data` (counted in `movedToData`); one that `data` already has
 *   is refused, naming both (nothing is overwritten);
 * - issues name fields as the client sent them (`events[0].customer_id`).
 *
 * @throws EventValidationError naming each bad event by index and field.
 * @example
 * ```ts
 * const { events, movedToData } = parseSecurityEventBatch([{ event_type: 'scan', severity: 'HIGH', src_ip: '10.0.0.1' }]);
 * events[0].type; // 'scan'
 * events[0].data; // { src_ip: '10.0.0.1' }
 * movedToData; // 1
 * ```
 */
export function parseSecurityEventBatch(input: readonly unknown[], now: Date = new Date(), options: { integerLiteral?: IntegerLiteralCheck } = {}): ParsedEventBatch {
  return validateEventBatch(input, now, { integerLiteral: options.integerLiteral, fastPath: true, newId: randomUUID });
}

/**
 * The fast path (see event-fast-path.ts): built from the schema's own field list and aliases, it checks the
 * same rules by hand and accepts only what the zod path accepts, producing the same event; anything else goes
 * to the zod path, so every error message is the zod path's.
 */
export const fastSecurityEvent = createFastEventParser({
  fields: Object.keys(securityEventSchema.shape),
  aliases: EVENT_FIELD_ALIASES,
  maxDataBytes: MAX_EVENT_DATA_BYTES,
  maxDataDepth: MAX_EVENT_DATA_DEPTH,
  numberProblem,
});

/** Options of {@link validateEventBatch}. */
export interface ValidateEventBatchOptions {
  integerLiteral?: IntegerLiteralCheck;
  /** Try the hand-written fast path first (false: zod only, for the equivalence tests and the bench). */
  fastPath: boolean;
  /** New ids for events sent without one. */
  newId: () => string;
}

/**
 * {@link parseSecurityEventBatch} with its machinery exposed: with or without the fast path, and with a
 * chosen id generator (so the two paths can be compared event for event).
 *
 * @throws EventValidationError naming each bad event by index and field.
 */
export function validateEventBatch(input: readonly unknown[], now: Date, options: ValidateEventBatchOptions): ParsedEventBatch {
  const issues: EventIssue[] = [];
  const events: SecurityEvent[] = [];
  const moved = { count: 0 };
  const { integerLiteral, newId } = options;
  // forEach, as before: it skips the holes of a sparse array.
  input.forEach((raw, index) => {
    const event = options.fastPath ? fastSecurityEvent(raw, now, integerLiteral, newId, moved) : undefined;
    if (event !== undefined) events.push(event);
    else zodEvent(raw, index, now, options, issues, events, moved);
  });
  if (issues.length > 0) throw new EventValidationError(issues);
  return { events, movedToData: moved.count };
}

/** The zod path for one event: pushes the canonical event to `events`, or its issues to `issues`. */
function zodEvent(
  raw: unknown,
  index: number,
  now: Date,
  options: ValidateEventBatchOptions,
  issues: EventIssue[],
  events: SecurityEvent[],
  moved: { count: number },
): void {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    issues.push({ path: `events[${index}]`, message: 'must be a JSON object' });
    return;
  }
  const source = raw as Record<string, unknown>;
  const cleaned: Record<string, unknown> = {};
  /** Canonical field → the alias it was sent as (only when an alias was used). */
  let sentAs: Map<string, string> | undefined;
  /** Unknown top-level fields, to keep under `data`. */
  let extra: string[] | undefined;
  let ok = true;
  for (const field of Object.keys(source)) {
    const v = source[field];
    if (v === null || v === undefined) continue;
    // JSON.parse turns 1e400 into Infinity (stored as null) and rounds integers beyond 2^53−1: refused, not altered.
    if (typeof v === 'number' && !Number.isSafeInteger(v)) {
      const problem = numberProblem(v, options.integerLiteral);
      if (problem) {
        issues.push({ path: `events[${index}].${field}`, message: problem });
        ok = false;
        continue;
      }
    }
    let canonical = field;
    if (!CANONICAL_FIELDS.has(field)) {
      const target = ALIASES.get(field);
      if (target === undefined) {
        (extra ??= []).push(field);
        continue;
      }
      canonical = target;
      (sentAs ??= new Map()).set(target, field);
    }
    if (canonical in cleaned) {
      // Both the alias and the canonical name (in either order).
      if (!sameValue(cleaned[canonical], v)) {
        const other = canonical === field ? sentAs!.get(canonical)! : canonical;
        issues.push({ path: `events[${index}].${field}`, message: `conflicts with ${other}, which has a different value; send one of them` });
        ok = false;
      }
      continue;
    }
    cleaned[canonical] = v;
  }
  if (extra) {
    const given = cleaned.data;
    if (given === undefined || (typeof given === 'object' && !Array.isArray(given))) {
      const data: Record<string, unknown> = given === undefined ? {} : { ...(given as Record<string, unknown>) };
      for (const field of extra) {
        if (field === '__proto__') {
          // Validation would drop it from `data` (it names the prototype): refused rather than lost.
          issues.push({ path: `events[${index}].${field}`, message: 'is not an event field and cannot be kept under data under this name; rename it' });
          ok = false;
        } else if (given !== undefined && Object.hasOwn(given as object, field)) {
          issues.push({ path: `events[${index}].${field}`, message: `is not an event field, so it belongs under data, but data.${field} is given too; send it once` });
          ok = false;
        } else defineField(data, field, source[field]);
      }
      cleaned.data = data;
    }
    // Otherwise `data` itself is refused below.
  }
  if (!ok) return;
  // zod's record check reads `data.constructor.prototype` and throws on `{"constructor": null}`; refused as it
  // refuses every other own `constructor` (a stand-in with the same outcome, so other fields are still checked).
  if (cleaned.data !== null && typeof cleaned.data === 'object' && (cleaned.data as { constructor?: unknown }).constructor === null) cleaned.data = { constructor: 0 };
  const result = securityEventSchema.safeParse(cleaned);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const [first, ...rest] = issue.path.map(String);
      const field = first === undefined ? '' : `.${[sentAs?.get(first) ?? first, ...rest].join('.')}`;
      const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
      issues.push({ path: `events[${index}]${field}`, message });
    }
    return;
  }
  const v = result.data;
  const bad = v.data ? badNumberPath(v.data, options.integerLiteral) : null;
  if (bad) {
    // A field moved from the top level is named where the client sent it.
    const wasMoved = extra !== undefined && extra.includes(String(bad.path[0]));
    issues.push({ path: `events[${index}].${wasMoved ? '' : 'data.'}${bad.path.join('.')}`, message: bad.message });
    return;
  }
  if (extra) moved.count += extra.length;
  events.push({ ...v, id: v.id?.toLowerCase() ?? options.newId(), time: v.time ?? now, name: v.name ?? v.type } as SecurityEvent);
}

/**
 * {@link parseSecurityEventBatch}, the events only.
 *
 * @throws EventValidationError naming each bad event by index and field.
 * @example
 * ```ts
 * const events = parseSecurityEvents([{ type: 'scan', severity: 'HIGH', customerId: 'cust_acme' }]);
 * events[0].id; // a new UUID
 * ```
 */
export function parseSecurityEvents(input: readonly unknown[], now: Date = new Date(), options: { integerLiteral?: IntegerLiteralCheck } = {}): SecurityEvent[] {
  return parseSecurityEventBatch(input, now, options).events;
}

/**
 * The stored JSON form of an event (dates as ISO-8601).
 *
 * @example
 * ```ts
 * const json = serializeEvent(event);
 * deserializeEvent(json).time instanceof Date; // true
 * ```
 */
export function serializeEvent(event: SecurityEvent): string {
  return JSON.stringify(event);
}

/** The inverse of {@link serializeEvent}. */
export function deserializeEvent(json: string): SecurityEvent {
  const parsed = JSON.parse(json) as SecurityEvent & { time: string };
  return { ...parsed, time: new Date(parsed.time) };
}

/** Severity as the integer stored for `minSeverity` filters (NONE 0 … CRITICAL 4). */
export function severityRank(severity: Severity): number {
  return SEVERITY_ORDER.indexOf(severity);
}
