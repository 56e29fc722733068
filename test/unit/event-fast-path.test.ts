import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EVENT_FIELD_ALIASES,
  EventValidationError,
  MAX_EVENT_DATA_BYTES,
  MAX_EVENT_DATA_DEPTH,
  fastSecurityEvent,
  integerLiteralsOf,
  parseSecurityEventBatch,
  securityEventSchema,
  validateEventBatch,
  type IntegerLiteralCheck,
} from '../../src/events/event-schema.js';
import { assembler, createFastEventParser, isoTimeValue } from '../../src/events/event-fast-path.js';
import { deepNest, eventList, garbage, shortOddString } from '../support/fuzz.js';

/**
 * Issue 9 item 4: the hand-written fast path of event validation accepts exactly what the zod schema accepts and
 * returns the same canonical events; everything else falls back to zod, so the errors are zod's. Each property
 * runs one batch through both (`validateEventBatch` with and without the fast path, same clock, same id source)
 * and wants the same outcome: the same events (deep-equal, and the same JSON, key order included) and the same
 * `movedToData`, or the same EventValidationError (issues and message).
 */

const NOW = new Date(Date.UTC(2026, 0, 30, 10, 30));

/** A big integer written as a JSON integer literal (rounded by JSON.parse), e.g. 12345678901234567890. */
class Literal {
  constructor(readonly digits: string) {}
}

/** JSON text with integer literals written as sent (JSON.stringify cannot), keys in the given order (`__proto__` too). */
function toJson(v: unknown): string {
  if (v instanceof Literal) return v.digits;
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : toJson(x))).join(',')}]`;
  if (v instanceof Entries) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(',')}}`;
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    return `{${Object.keys(v).map((k) => `${JSON.stringify(k)}:${toJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** An object given as its entries (so `__proto__` and repeated names can be sent). */
class Entries {
  constructor(readonly entries: [string, unknown][]) {}
}

/** The value a producer's object becomes without JSON (GraphQL-like: Dates stay Dates; literals are plain numbers). */
function toValue(v: unknown): unknown {
  if (v instanceof Literal) return Number(v.digits);
  if (Array.isArray(v)) return v.map(toValue);
  if (v instanceof Entries) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v.entries) Object.defineProperty(o, k, { value: toValue(x), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}

type Outcome = { ok: true; events: unknown[]; json: string[]; movedToData: number } | { ok: false; message: string; issues: unknown[] };

function run(input: readonly unknown[], fastPath: boolean, integerLiteral?: IntegerLiteralCheck): Outcome {
  let n = 0;
  const newId = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  try {
    const { events, movedToData } = validateEventBatch(input, NOW, { fastPath, newId, integerLiteral });
    return { ok: true, events, json: events.map((e) => JSON.stringify(e)), movedToData };
  } catch (error) {
    if (!(error instanceof EventValidationError)) throw error;
    return { ok: false, message: error.message, issues: error.issues };
  }
}

/** Both paths on one batch, sent as JSON text (with its integer literals) and as values. */
function expectSameOutcome(batch: unknown[]): Outcome {
  const text = toJson(batch);
  const parsed = JSON.parse(text) as unknown[];
  const literal = integerLiteralsOf(text);
  const zod = run(parsed, false, literal);
  expect(run(parsed, true, literal)).toStrictEqual(zod);
  const values = batch.map(toValue);
  expect(run(values, true)).toStrictEqual(run(values, false));
  return zod;
}

// ---- arbitraries: each field's valid values, and the values just past its rules or of the wrong kind ----

/** Mostly valid (so that whole events often are), sometimes invalid. */
const field = (valid: fc.Arbitrary<unknown>, invalid: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 40, arbitrary: valid }, { weight: 2, arbitrary: invalid }, { weight: 1, arbitrary: garbage });

const text = (max: number) => fc.oneof(
  { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 24 }).filter((s) => !s.includes('\0')) },
  { weight: 1, arbitrary: fc.constantFrom('', ' padded ', 'x'.repeat(max), 'é'.repeat(max), '🔥'.repeat(max / 2), '\ud800', '\u2028') },
);
const tooLong = (max: number) => fc.constantFrom('x'.repeat(max + 1), '🔥'.repeat(max / 2 + 1), 'a\0b', '\0', 5, true, ['a']);
const line = (max: number) => field(fc.oneof({ weight: 8, arbitrary: text(max) }, { weight: 1, arbitrary: shortOddString.filter((v) => !v.includes('\0')) }), tooLong(max));
const list = field(
  fc.oneof(
    { weight: 6, arbitrary: fc.array(text(128), { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.constant(Array.from({ length: 256 }, (_, i) => `r${i}`)) },
  ),
  fc.constantFrom(Array.from({ length: 257 }, (_, i) => `r${i}`), ['a', 1], [null], [['a']], ['x'.repeat(129)], ['a\0'], 'pi-001', {}),
);
const count = field(
  fc.oneof(fc.nat(), fc.constantFrom(0, -0, 2 ** 53 - 1)),
  fc.constantFrom(-1, 1.5, 2 ** 53, 2 ** 53 + 2, 1e21, new Literal('12345678901234567890'), new Literal('9007199254740993'), new Literal('-9007199254740993'), '5', NaN, Infinity),
);
const token = (pattern: RegExp, extra: string) => field(
  fc.oneof({ weight: 6, arbitrary: fc.stringMatching(pattern).filter((s) => s.length <= 128) }, { weight: 1, arbitrary: fc.constant('x'.repeat(128)) }),
  fc.constantFrom('x'.repeat(129), '', 'a b', `a${extra}b`, 'a\nb', 'scan\n', 'é', 5),
);
const isoTime = fc.tuple(
  fc.date({ min: new Date(Date.UTC(1000, 0, 1)), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true }),
  fc.constantFrom('Z', '+00:00', '-05:30', '+0100', '+14:00', '-23:59'),
  fc.constantFrom(0, 1, 3, 9, 10, -1, -2),
).map(([d, zone, digits]) => {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  const base = digits === -2 ? iso.slice(0, 16) : iso.slice(0, 19);
  const fraction = digits > 0 ? `.${'1234567890'.slice(0, digits)}` : '';
  return `${base}${fraction}${digits === -1 ? '' : zone}`; // 10 digits or no zone: refused
});
const time = field(
  fc.oneof({ weight: 4, arbitrary: isoTime }, { weight: 1, arbitrary: fc.date({ noInvalidDate: true }) }),
  fc.oneof(
    fc.constantFrom('2026-02-30T10:30:00Z', '2026-13-01T00:00:00Z', '2026-01-30T25:00:00Z', '2026-01-30T10:30:00', '2026-01-30', 'yesterday', '+275760-09-13T00:00:00.000Z', 1_769_769_000_000),
    fc.date(), // invalid dates too (as values; JSON writes them as null or a string)
  ),
);
const uuid = field(
  fc.oneof(fc.uuid(), fc.uuid().map((u) => u.toUpperCase()), fc.constant('00000000-0000-0000-0000-000000000000')),
  fc.constantFrom('not-a-uuid', '0000000-0000-0000-0000-000000000000', 'g0000000-0000-0000-0000-000000000000', '{00000000-0000-0000-0000-000000000000}', ' 00000000-0000-0000-0000-000000000000', 7),
);
const severity = field(
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom('NONE', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL') }, { weight: 1, arbitrary: fc.constantFrom(' low ', 'high', 'Critical\n', '\tmedium', 'hıgh', 'nonE') }),
  fc.constantFrom('EXTREME', '', 'H IGH', 'ＨＩＧＨ', 4, true),
);
const ip = field(
  fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), fc.constantFrom('::ffff:10.0.0.1', 'fe80::1%eth0')),
  fc.constantFrom('10.0.0.256', ' 10.0.0.1', 'localhost', '', '1.2.3', 'fe80::1%', 167772161),
);
const scanDuration = field(
  fc.oneof(fc.double({ min: 0, max: 86_400_000, noNaN: true }), fc.constantFrom(0, -0, 86_400_000)),
  fc.constantFrom(86_400_001, -1, -Number.MIN_VALUE, new Literal('86400000000000000000'), '5', NaN, Infinity),
);

/** A JSON value for `data`: nested, sometimes near the depth and size limits, sometimes with awkward keys or numbers. */
const dataKey = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toJSON', 'hasOwnProperty', '0', '10', 'src_ip', 'host', 'model') },
);
const jsonValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.oneof(
      { weight: 8, arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })) },
      { weight: 1, arbitrary: fc.constantFrom(1e300, 2 ** 53 + 2, -0, new Literal('123456789012345678901')) },
    ),
    fc.string({ maxLength: 10 }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.array(fc.tuple(dataKey, tie('value')), { maxLength: 3 }).map((e) => new Entries(e)),
  ),
})).value;
const data = field(
  fc.oneof(
    { weight: 8, arbitrary: fc.array(fc.tuple(dataKey, jsonValue), { maxLength: 4 }).map((e) => new Entries(e)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        // Depth: `data` is level 0; an object or array at level 32 is too deep.
        new Entries([['d', deepNest(MAX_EVENT_DATA_DEPTH - 1, 1)]]),
        new Entries([['d', deepNest(MAX_EVENT_DATA_DEPTH - 1, {})]]),
        new Entries([['d', deepNest(MAX_EVENT_DATA_DEPTH - 1, [])]]),
        // Size: `{"s":"…"}` is the string's length + 8 bytes.
        new Entries([['s', 'x'.repeat(MAX_EVENT_DATA_BYTES - 8)]]),
        new Entries([['s', 'é'.repeat((MAX_EVENT_DATA_BYTES - 8) / 2)]]),
        new Entries([['s', '\u0001'.repeat((MAX_EVENT_DATA_BYTES - 8) / 6)]]),
        new Entries([['s', 'x'.repeat(6000)]]),
        new Entries([['a', Array.from({ length: 5000 }, (_, i) => i)]]),
        new Entries([]),
      ),
    },
  ),
  fc.constantFrom(
    new Entries([['d', deepNest(MAX_EVENT_DATA_DEPTH, 1)]]),
    new Entries([['d', deepNest(MAX_EVENT_DATA_DEPTH, {})]]),
    new Entries([['d', deepNest(MAX_EVENT_DATA_DEPTH + 5, 1)]]),
    new Entries([['s', 'x'.repeat(MAX_EVENT_DATA_BYTES - 7)]]),
    new Entries([['s', 'é'.repeat((MAX_EVENT_DATA_BYTES - 6) / 2)]]),
    new Entries([['s', '\u0001'.repeat((MAX_EVENT_DATA_BYTES - 2) / 6)]]),
    new Entries([['a', Array.from({ length: 6000 }, () => 1.5e-300)]]),
    new Entries([['__proto__', { x: 1 }]]),
    new Entries([['__proto__', 1]]),
    new Entries([['constructor', 'x']]),
    new Entries([['constructor', null]]),
    new Entries([['constructor', { prototype: {} }]]),
    [], 'text', 5, true, [1, 2],
  ),
);

const FIELD_VALUES: Record<string, fc.Arbitrary<unknown>> = {
  id: uuid,
  time,
  type: token(/^[A-Za-z0-9._:-]+$/, '@'),
  name: line(512),
  severity,
  outcome: line(64),
  customerId: token(/^[A-Za-z0-9._:@-]+$/, '/'),
  msspId: line(128),
  installationId: line(256),
  agentId: line(256),
  userEmail: line(320),
  sourceIp: ip,
  threatDetected: field(fc.boolean(), fc.constantFrom('true', 0, 1)),
  ruleIds: list,
  families: list,
  promptHash: line(256),
  promptLength: count,
  detectionCount: count,
  scanDurationMs: scanDuration,
  data,
};
const ALIASES = EVENT_FIELD_ALIASES as Record<string, string>;
const UNKNOWN_FIELDS = ['host', 'src_ip', 'model', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '0', '42', 'Type', 'dataX', 's', 'd'];

/** One field as sent: its canonical name or an alias, and a value for it (or null, or garbage). */
const sentField = (canonical: string): fc.Arbitrary<[string, unknown]> => {
  const names = [canonical, ...Object.keys(ALIASES).filter((a) => ALIASES[a] === canonical)];
  return fc.tuple(
    fc.constantFrom(...names),
    fc.oneof({ weight: 12, arbitrary: FIELD_VALUES[canonical]! }, { weight: 1, arbitrary: fc.constant(null) }),
  );
};

/** An event: `type` and `severity` mostly present, any other fields, aliases, repeats and unknown fields, in any order. */
const event: fc.Arbitrary<unknown> = fc.tuple(
  fc.option(sentField('type'), { freq: 12, nil: undefined }),
  fc.option(sentField('severity'), { freq: 12, nil: undefined }),
  fc.subarray(Object.keys(FIELD_VALUES).filter((f) => f !== 'type' && f !== 'severity')).chain((fields) => fc.tuple(...fields.map(sentField))),
  fc.array(fc.tuple(fc.constantFrom(...UNKNOWN_FIELDS), fc.oneof(jsonValue, fc.constant(null))), { maxLength: 2 }),
  // The same field twice (alias and canonical, or repeated): sometimes with the same value.
  fc.array(fc.constantFrom(...Object.keys(FIELD_VALUES)).chain(sentField), { maxLength: 1 }),
).chain(([type, sev, fields, unknown, repeats]) => {
  const entries = [type, sev, ...fields].filter((e) => e !== undefined) as [string, unknown][];
  const again = entries.slice(0, 2).map(([name, value]) => {
    const canonical = ALIASES[name] ?? name;
    const alias = Object.keys(ALIASES).find((a) => ALIASES[a] === canonical);
    return [name === canonical && alias ? alias : canonical, value] as [string, unknown];
  });
  return fc.shuffledSubarray([...entries, ...unknown, ...repeats, ...again], { minLength: entries.length }).map((e) => new Entries(e));
});

const batch = fc.array(fc.oneof({ weight: 12, arbitrary: event }, { weight: 1, arbitrary: garbage }), { minLength: 1, maxLength: 4 });

describe('event validation fast path', () => {
  it('gives what the zod path gives for any batch: the same events and movedToData, or the same errors', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(batch, (b) => {
        if (expectSameOutcome(b).ok) accepted++;
        else refused++;
      }),
      { numRuns: 500 },
    );
    // Both kinds of outcome were compared, many times (else the property says little): about 9% are accepted.
    expect(accepted).toBeGreaterThan(15);
    expect(refused).toBeGreaterThan(300);
  });

  it('gives what the zod path gives for one event at a time (most of them valid)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(event, (e) => {
        if (expectSameOutcome([e]).ok) accepted++;
      }),
      { numRuns: 600 },
    );
    // About 30% are valid: both outcomes, many times.
    expect(accepted).toBeGreaterThan(80);
    expect(accepted).toBeLessThan(520);
  });

  it('gives what the zod path gives for the abuse suite’s hostile event lists', () => {
    fc.assert(
      fc.property(eventList, (list) => {
        const input = Array.isArray(list) ? list : [list];
        expect(run(input, true)).toStrictEqual(run(input, false));
      }),
      { numRuns: 400 },
    );
  });

  it('decides every typical valid event itself, without zod', () => {
    const typical = fc.record({
      id: fc.option(fc.uuid(), { nil: undefined }),
      time: fc.option(isoTime, { nil: undefined }),
      type: fc.stringMatching(/^[a-z][a-z._-]{0,30}$/),
      name: fc.option(fc.string({ maxLength: 60 }).filter((s) => !s.includes('\0')), { nil: undefined }),
      severity: fc.constantFrom('NONE', 'LOW', 'medium', ' High ', 'CRITICAL'),
      customerId: fc.option(fc.stringMatching(/^[a-z0-9_]{1,20}$/), { nil: undefined }),
      agent_id: fc.option(fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\0')), { nil: undefined }),
      sourceIp: fc.option(fc.oneof(fc.ipV4(), fc.ipV6()), { nil: undefined }),
      threat_detected: fc.option(fc.boolean(), { nil: undefined }),
      ruleIds: fc.option(fc.array(fc.stringMatching(/^[a-z0-9-]{1,10}$/), { maxLength: 4 }), { nil: undefined }),
      promptLength: fc.option(fc.nat(), { nil: undefined }),
      scanDurationMs: fc.option(fc.double({ min: 0, max: 86_400_000, noNaN: true }), { nil: undefined }),
      data: fc.option(fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__' && k !== 'constructor'), fc.jsonValue({ maxDepth: 3 })), { nil: undefined }),
      host: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    }).map((e) => JSON.parse(JSON.stringify(e)) as Record<string, unknown>); // as the endpoint sees it
    fc.assert(
      fc.property(typical, (e) => {
        fc.pre(run([e], false).ok); // e.g. not a number the zod path refuses in data
        const fast = fastSecurityEvent(e, NOW, undefined, () => 'new-id', { count: 0 });
        expect(fast).toBeDefined();
        expect(fast).toStrictEqual(validateEventBatch([e], NOW, { fastPath: false, newId: () => 'new-id' }).events[0]);
      }),
      { numRuns: 400 },
    );
  });

  it('reads every time the ISO-8601 pattern admits as `new Date` does', () => {
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    const part = (max: number, usual: number) => fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: usual }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: max }) });
    const iso = fc.record({
      year: fc.oneof(fc.integer({ min: 1900, max: 2100 }), fc.integer({ min: 0, max: 9999 })),
      month: part(99, 13),
      day: part(99, 32),
      hour: part(99, 24),
      minute: part(99, 60),
      second: fc.option(part(99, 60), { nil: undefined }),
      fraction: fc.option(fc.stringMatching(/^\d{1,9}$/), { nil: undefined }),
      zone: fc.oneof(fc.constant('Z'), fc.tuple(fc.constantFrom('+', '-'), part(99, 24), part(99, 60), fc.constantFrom(':', '')).map(([sign, h, m, colon]) => `${sign}${pad(h, 2)}${colon}${pad(m, 2)}`)),
    }).map(({ year, month, day, hour, minute, second, fraction, zone }) =>
      `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}${second === undefined ? '' : `:${pad(second, 2)}${fraction === undefined ? '' : `.${fraction}`}`}${zone}`);
    fc.assert(fc.property(iso, (text) => {
      expect(isoTimeValue(text)).toBe(new Date(text).getTime());
    }), { numRuns: 5_000 });
  });

  it('keeps its examples: defaults, lower-cased ids, aliases, moved fields', () => {
    const { events, movedToData } = parseSecurityEventBatch(
      [{ id: 'AAAAAAAA-0000-4000-8000-000000000001', event_type: 'scan', severity: ' high ', src_ip: '10.0.0.1', data: { model: 'm' }, customer_id: 'cust_acme' }],
      NOW,
    );
    expect(events).toStrictEqual([{ id: 'aaaaaaaa-0000-4000-8000-000000000001', type: 'scan', severity: 'HIGH', customerId: 'cust_acme', data: { model: 'm', src_ip: '10.0.0.1' }, time: NOW, name: 'scan' }]);
    expect(Object.keys(events[0]!)).toEqual(['id', 'type', 'severity', 'customerId', 'data', 'time', 'name']);
    expect(movedToData).toBe(1);
  });

  it('refuses data with an own `constructor` of null as it refuses any other (zod threw a TypeError on it)', () => {
    for (const value of [null, 'x']) {
      const input = JSON.parse(`[{"type":"scan","severity":"LOW","data":{"constructor":${JSON.stringify(value)}},"sourceIp":"x"}]`) as unknown[];
      const issues = (() => {
        try {
          parseSecurityEventBatch(input, NOW);
          return 'accepted';
        } catch (error) {
          if (error instanceof EventValidationError) return error.issues;
          throw error;
        }
      })();
      expect(issues).toEqual([
        { path: 'events[0].sourceIp', message: 'must be an IPv4 or IPv6 address' },
        { path: 'events[0].data', message: 'Invalid input: expected record, received object' },
      ]);
    }
  });

  it('assembles events alike, compiled or not (where code generation is disallowed)', () => {
    const fields = Object.keys(securityEventSchema.shape);
    const values = fc.array(fc.oneof(fc.constant(undefined), fc.string(), fc.integer()), { minLength: fields.length, maxLength: fields.length });
    fc.assert(fc.property(values, (v) => {
      const compiled = assembler(fields)(v);
      const loop = assembler(fields, { compiled: false })(v);
      expect(JSON.stringify(compiled)).toBe(JSON.stringify(loop));
      expect(compiled).toStrictEqual(loop);
    }));
  });

  it('refuses to be built for a schema it has no rule for', () => {
    const fields = Object.keys(securityEventSchema.shape);
    const spec = { aliases: {}, maxDataBytes: MAX_EVENT_DATA_BYTES, maxDataDepth: MAX_EVENT_DATA_DEPTH, numberProblem: () => null };
    expect(() => createFastEventParser({ ...spec, fields: [...fields, 'newField'] })).toThrow(/out of step with the schema: newField/);
    expect(() => createFastEventParser({ ...spec, fields: fields.filter((f) => f !== 'outcome') })).toThrow(/out of step with the schema: outcome/);
    expect(() => createFastEventParser({ ...spec, fields })).not.toThrow();
  });
});
