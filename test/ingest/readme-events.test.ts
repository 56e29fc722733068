import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventFieldRows, renderEventFieldTable } from '../../src/events/event-fields.js';
import { EVENT_FIELD_ALIASES, securityEventSchema } from '../../src/events/event-schema.js';
import { SEVERITY_ORDER } from '../../src/events/security-event.js';

/**
 * Issue 11: the README's table of event fields is generated from the validation schema and cannot drift:
 * the block in the README is exactly the rendered table, and the rules only the notes state (not the schema's
 * JSON Schema) are checked against the schema's behaviour.
 */

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README "Events" table', () => {
  it('is exactly the table rendered from the schema', () => {
    const block = /<!-- event-fields:start[^>]*-->\n([\s\S]*?)\n<!-- event-fields:end -->/.exec(README);
    expect(block, 'README lacks the event-fields block').not.toBeNull();
    expect(block![1]).toBe(renderEventFieldTable());
  });

  it('lists every schema field once, with its aliases', () => {
    const rows = eventFieldRows();
    expect(rows.map((r) => r.name).sort()).toEqual(Object.keys(securityEventSchema.shape).sort());
    expect(rows.flatMap((r) => r.aliases).sort()).toEqual(Object.keys(EVENT_FIELD_ALIASES).sort());
    expect(rows.filter((r) => r.required).map((r) => r.name)).toEqual(['type', 'severity']);
  });

  it('states only rules the schema enforces', () => {
    const base = { type: 'scan', severity: 'LOW' };
    const ok = (patch: Record<string, unknown>) => securityEventSchema.safeParse({ ...base, ...patch }).success;
    for (const row of eventFieldRows()) {
      const sample = row.type === 'array of string' ? ['a\0b'] : 'a\0b';
      if (row.rules.includes('no NUL')) expect(ok({ [row.name]: sample }), row.name).toBe(false);
      if (row.rules.includes('a UUID')) expect(ok({ [row.name]: 'not-a-uuid' }), row.name).toBe(false);
      if (row.rules.includes('IPv4 or IPv6')) expect([ok({ [row.name]: '10.0.0.1' }), ok({ [row.name]: '::1' }), ok({ [row.name]: '10.0.0.256' })]).toEqual([true, true, false]);
    }
    for (const s of SEVERITY_ORDER) expect(ok({ severity: ` ${s.toLowerCase()} ` })).toBe(true);
    expect(ok({ severity: 'EXTREME' })).toBe(false);
    expect(ok({ time: '2026-01-30T10:30:00Z' })).toBe(true);
    expect(ok({ time: '2026-01-30T10:30:00' })).toBe(false);
  });
});
