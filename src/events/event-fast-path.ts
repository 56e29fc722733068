import { isIP } from 'node:net';
import { SEVERITY_ORDER, type SecurityEvent, type Severity } from './security-event.js';

/**
 * The hand-written fast path of event validation: one pass over an event's fields that reads aliases, moves
 * unknown fields under `data` and checks every rule of the zod schema (`securityEventSchema` in
 * event-schema.ts), building the canonical event directly. It only ever *accepts*: for any event it is not
 * sure of (a rule broken, an odd shape, a value outside plain JSON) it answers `undefined` and the caller runs
 * the zod path, which then names every problem with its usual message. So an accepted event is exactly what
 * the zod path returns for it (same fields, same values, same key order), and an error is always zod's.
 * test/unit/event-fast-path.test.ts checks both against each other with fast-check properties.
 */

/** Why a number cannot be stored as sent, or null (event-schema.ts's `numberProblem`). */
type NumberProblem = (value: number, integerLiteral?: (value: number) => boolean) => string | null;

/** What the fast path must know of the schema; event-schema.ts passes its own values. */
export interface FastPathSpec {
  /** Canonical field names in the schema's order (the zod output's key order). */
  fields: readonly string[];
  /** snake_case alias → canonical field. */
  aliases: Readonly<Record<string, string>>;
  maxDataBytes: number;
  maxDataDepth: number;
  numberProblem: NumberProblem;
}

/** Validates one event, or answers `undefined` (let zod decide). Adds the fields moved to `data` to `moved.count`. */
export type FastEventParser = (
  raw: unknown,
  now: Date,
  integerLiteral: ((value: number) => boolean) | undefined,
  newId: () => string,
  moved: { count: number },
) => SecurityEvent | undefined;

/** Two values of one field sent twice (alias and canonical name) say the same: equal primitives, or arrays of equal primitives. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] || (a[i] !== null && typeof a[i] === 'object')) return false;
  return true;
}

const FAIL: unique symbol = Symbol('fail');
type Check = (v: unknown) => unknown;

// The schema's patterns, verbatim.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const TYPE = /^[A-Za-z0-9._:-]+$/;
const CUSTOMER_ID = /^[A-Za-z0-9._:@-]+$/;

const line = (max: number): Check => (v) => (typeof v === 'string' && v.length <= max && !v.includes('\0') ? v : FAIL);
const lines = (max: number, items: number): Check => {
  const item = line(max);
  return (v) => {
    if (!Array.isArray(v) || v.length > items) return FAIL;
    for (let i = 0; i < v.length; i++) if (item(v[i]) === FAIL) return FAIL;
    return v.slice();
  };
};
const count: Check = (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? v : FAIL);

function severity(v: unknown): unknown {
  if (typeof v !== 'string') return FAIL;
  switch (v) {
    case 'NONE': case 'LOW': case 'MEDIUM': case 'HIGH': case 'CRITICAL':
      return v;
  }
  const upper = v.trim().toUpperCase();
  return (SEVERITY_ORDER as readonly string[]).includes(upper) ? (upper as Severity) : FAIL;
}

const digit = (v: string, i: number) => v.charCodeAt(i) - 48;
const two = (v: string, i: number) => digit(v, i) * 10 + digit(v, i + 1);

/**
 * `new Date(v).getTime()` for a string that matched the schema's ISO-8601 pattern, computed directly for dates
 * and times in their ordinary ranges (`new Date` parses at some 300 ns; like it, a day past the month's end rolls
 * over, 02-30 is 03-02); any other string is left to `new Date`.
 * test/unit/event-fast-path.test.ts compares the two over every shape the pattern admits.
 */
export function isoTimeValue(v: string): number {
  const year = digit(v, 0) * 1000 + two(v, 1) * 10 + digit(v, 3);
  const month = two(v, 5);
  const day = two(v, 8);
  const hour = two(v, 11);
  const minute = two(v, 14);
  let second = 0;
  let ms = 0;
  let i = 16;
  if (v.charCodeAt(i) === 58 /* : */) {
    second = two(v, 17);
    i = 19;
    if (v.charCodeAt(i) === 46 /* . */) {
      const start = ++i;
      while (i < v.length && v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57) i++;
      // Milliseconds: the first three digits (more are cut off, as `new Date` does).
      const end = Math.min(i, start + 3);
      for (let k = start; k < end; k++) ms = ms * 10 + digit(v, k);
      for (let k = end - start; k < 3; k++) ms *= 10;
    }
  }
  let offset = 0;
  let offsetHours = 0;
  let offsetMinutes = 0;
  if (v.charCodeAt(i) !== 90 /* Z */) {
    offsetHours = two(v, i + 1);
    offsetMinutes = two(v, v.charCodeAt(i + 3) === 58 ? i + 4 : i + 3);
    offset = (v.charCodeAt(i) === 45 /* - */ ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  const ordinary = year >= 100 && month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 23 && offsetMinutes <= 59;
  return ordinary ? Date.UTC(year, month - 1, day, hour, minute, second, ms) - offset : new Date(v).getTime();
}

function time(v: unknown): unknown {
  if (typeof v === 'string') {
    if (!ISO_TIME.test(v)) return FAIL;
    const t = isoTimeValue(v);
    return Number.isNaN(t) ? FAIL : new Date(t);
  }
  // zod's `z.date()`: the same instance, when valid.
  return v instanceof Date && !Number.isNaN(v.getTime()) ? v : FAIL;
}

/** zod's `z.guid()` pattern (8-4-4-4-12 hex digits), without a regular expression. */
function isGuid(v: string): boolean {
  if (v.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = v.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45 /* - */) return false;
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}

/** One check per schema field except `data`, with the schema's rules. */
const CHECKS: Readonly<Record<string, Check>> = {
  id: (v) => (typeof v === 'string' && isGuid(v) ? v : FAIL),
  time,
  type: (v) => (typeof v === 'string' && v.length <= 128 && TYPE.test(v) ? v : FAIL),
  name: line(512),
  severity,
  outcome: line(64),
  customerId: (v) => (typeof v === 'string' && v.length <= 128 && CUSTOMER_ID.test(v) ? v : FAIL),
  msspId: line(128),
  installationId: line(256),
  agentId: line(256),
  userEmail: line(320),
  sourceIp: (v) => (typeof v === 'string' && isIP(v) !== 0 ? v : FAIL),
  threatDetected: (v) => (typeof v === 'boolean' ? v : FAIL),
  ruleIds: lines(128, 256),
  families: lines(128, 256),
  promptHash: line(256),
  promptLength: count,
  detectionCount: count,
  scanDurationMs: (v) => (typeof v === 'number' && v >= 0 && v <= 86_400_000 ? v : FAIL),
};

/** Objects the fast path reads as JSON objects: plain, from JSON.parse or GraphQL (null prototype). */
function isPlainJsonObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Makes the event object from checked values (`undefined`: absent), fields in the schema's order. Compiled once
 * from the field list into one named store per field (`if (values[0] !== undefined) out["id"] = values[0]; …`):
 * several times faster than stores under computed names, and every event gets the same hidden class. Where
 * code generation is disallowed (`--disallow-code-generation-from-strings`), or with `compiled: false`, a loop
 * does the same.
 */
export function assembler(fields: readonly string[], { compiled = true } = {}): (values: unknown[]) => Record<string, unknown> {
  if (compiled) {
    try {
      const body = fields.map((f, i) => `if (values[${i}] !== undefined) out[${JSON.stringify(f)}] = values[${i}];`).join('\n');
      return new Function('values', `const out = {};\n${body}\nreturn out;`) as (values: unknown[]) => Record<string, unknown>;
    } catch {
      // no code generation here: the loop below
    }
  }
  return (values) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) if (values[i] !== undefined) out[fields[i]!] = values[i];
    return out;
  };
}

/**
 * Builds the fast path for a schema. Throws when the schema has a field the fast path has no check for (or
 * the other way round), so a field added to the schema alone cannot be let through unchecked.
 */
export function createFastEventParser(spec: FastPathSpec): FastEventParser {
  const { fields, maxDataBytes, maxDataDepth, numberProblem } = spec;
  const checked = fields.filter((f) => f !== 'data');
  const missing = [...checked.filter((f) => !(f in CHECKS)), ...Object.keys(CHECKS).filter((f) => !checked.includes(f))];
  if (missing.length > 0 || !fields.includes('data')) throw new Error(`event fast path out of step with the schema: ${missing.join(', ') || 'data'}`);

  const slotOf = new Map<string, number>();
  fields.forEach((f, i) => slotOf.set(f, i));
  for (const [alias, canonical] of Object.entries(spec.aliases)) slotOf.set(alias, slotOf.get(canonical)!);
  const checks: (Check | undefined)[] = fields.map((f) => CHECKS[f]);
  const dataSlot = fields.indexOf('data');
  const n = fields.length;
  const assemble = assembler(fields);

  let integerLiteral: ((value: number) => boolean) | undefined;
  /**
   * What the zod path checks of `data` after validation, over one value: nesting (as `nestsDeeperThan`),
   * numbers (as `badNumberPath`), and only plain JSON values. Returns an upper bound of the value's
   * serialised UTF-8 size, or -1 to let zod decide.
   */
  const walk = (v: unknown, depth: number): number => {
    switch (typeof v) {
      case 'string':
        // At most 6 bytes per UTF-16 unit (`\u001f`, a lone surrogate escaped), and the quotes.
        return v.length * 6 + 2;
      case 'boolean':
        return 5;
      case 'number':
        if (!Number.isSafeInteger(v) && numberProblem(v, integerLiteral) !== null) return -1;
        return 24; // the longest a double prints
      case 'object': {
        if (v === null) return 4;
        if (depth >= maxDataDepth) return -1;
        let size = 2;
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            const s = walk(v[i], depth + 1);
            if (s < 0) return -1;
            size += s + 1;
          }
          return size;
        }
        if (!isPlainJsonObject(v)) return -1;
        for (const key of Object.keys(v)) {
          const s = walk((v as Record<string, unknown>)[key], depth + 1);
          if (s < 0) return -1;
          size += key.length * 6 + 4 + s;
        }
        return size;
      }
      default:
        return -1; // undefined (an array hole), functions, symbols, bigints: zod decides
    }
  };

  /** The `data` zod would return: a copy of the given object with the moved fields, or FAIL. */
  const buildData = (given: unknown, source: Record<string, unknown>, extra: string[] | undefined): unknown => {
    const data: Record<string, unknown> = {};
    if (given !== undefined) {
      if (typeof given !== 'object' || given === null || Array.isArray(given) || !isPlainJsonObject(given)) return FAIL;
      const keys = Object.keys(given);
      // Symbols and hidden properties (never in JSON) go to zod, as do keys zod's record treats specially.
      if (Reflect.ownKeys(given).length !== keys.length || Object.hasOwn(given, '__proto__') || Object.hasOwn(given, 'constructor')) return FAIL;
      for (const key of keys) data[key] = (given as Record<string, unknown>)[key];
    }
    if (extra !== undefined) {
      for (const field of extra) {
        if (field === '__proto__' || field === 'constructor' || Object.hasOwn(data, field)) return FAIL;
        data[field] = source[field];
      }
    }
    let size = 2;
    for (const key in data) {
      const s = walk(data[key], 1);
      if (s < 0) return FAIL;
      size += key.length * 6 + 4 + s;
    }
    if (size > maxDataBytes && Buffer.byteLength(JSON.stringify(data)) > maxDataBytes) return FAIL;
    return data;
  };

  return function fastEvent(raw, now, literal, newId, moved) {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
    const source = raw as Record<string, unknown>;
    integerLiteral = literal;
    const values: unknown[] = new Array(n);
    let extra: string[] | undefined;
    for (const field of Object.keys(source)) {
      const v = source[field];
      if (v === null || v === undefined) continue;
      if (typeof v === 'number' && !Number.isSafeInteger(v) && numberProblem(v, literal) !== null) return undefined;
      const slot = slotOf.get(field);
      if (slot === undefined) {
        (extra ??= []).push(field);
        continue;
      }
      const seen = values[slot];
      if (seen === undefined) values[slot] = v;
      else if (!sameValue(seen, v)) return undefined;
    }
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (i === dataSlot) {
        if (v === undefined && extra === undefined) continue;
        if ((values[i] = buildData(v, source, extra)) === FAIL) return undefined;
      } else if (v !== undefined && (values[i] = checks[i]!(v)) === FAIL) return undefined;
    }
    const out = assemble(values);
    if (out.type === undefined || out.severity === undefined) return undefined;
    // As the zod path's `{ ...v, id, time, name }`: present fields keep their place, defaults are appended.
    out.id = out.id === undefined ? newId() : (out.id as string).toLowerCase();
    out.time ??= now;
    out.name ??= out.type;
    if (extra !== undefined) moved.count += extra.length;
    return out as unknown as SecurityEvent;
  };
}
