import { z } from 'zod/v4';
import { EVENT_FIELD_ALIASES, MAX_EVENT_DATA_BYTES, MAX_EVENT_DATA_DEPTH, securityEventSchema } from './event-schema.js';
import { SEVERITY_ORDER } from './security-event.js';

type EventField = keyof typeof securityEventSchema.shape;

/**
 * What the JSON Schema of {@link securityEventSchema} cannot say about a field (refinements, defaults,
 * meaning). Typed by the schema's own keys: a field added to the schema without a line here does not compile.
 */
const NOTES: Record<EventField, string> = {
  id: 'the idempotency key (stored once however often sent, case-insensitive); generated when absent',
  time: 'ISO-8601 date-time with a time zone, e.g. `2026-01-30T10:30:00Z`; now when absent',
  type: 'e.g. `scan`, `agent.deployed`; routing filters match it',
  name: 'no NUL; defaults to `type`',
  severity: `one of ${SEVERITY_ORDER.map((s) => `\`${s}\``).join(', ')} (any case, surrounding spaces ignored)`,
  outcome: 'no NUL; e.g. `success`, `failure`, `blocked`',
  customerId: 'routes the event to this customer\'s integrations (and the global ones)',
  msspId: 'no NUL',
  installationId: 'no NUL',
  agentId: 'no NUL',
  userEmail: 'no NUL',
  sourceIp: 'an IPv4 or IPv6 address',
  threatDetected: '',
  ruleIds: 'no NUL',
  families: 'no NUL',
  promptHash: 'no NUL; e.g. `sha256:…`',
  promptLength: '',
  detectionCount: '',
  scanDurationMs: '',
  data: `JSON object, at most ${MAX_EVENT_DATA_BYTES} bytes serialised and ${MAX_EVENT_DATA_DEPTH} levels deep; unknown top-level fields are kept here`,
};

interface JsonSchemaNode {
  type?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  items?: JsonSchemaNode;
}

/** One row of the README's event field table. */
export interface EventFieldRow {
  name: EventField;
  aliases: string[];
  type: string;
  required: boolean;
  rules: string;
}

function typeOf(field: EventField, node: JsonSchemaNode): string {
  if (field === 'time') return 'string (date-time)';
  if (node.type === 'array') return `array of ${node.items?.type ?? 'any'}`;
  return node.type ?? 'any';
}

function stringRules(node: JsonSchemaNode): string[] {
  const rules: string[] = [];
  if (node.format === 'uuid') rules.push('a UUID');
  else if (node.pattern) rules.push(`only \`${node.pattern.replace(/^\^\[(.*)\]\+\$$/, '$1')}\``);
  if ((node.minLength ?? 0) > 0) rules.push('not empty');
  if (node.maxLength !== undefined) rules.push(`at most ${node.maxLength} characters`);
  return rules;
}

function constraints(node: JsonSchemaNode): string[] {
  if (node.type === 'string') return stringRules(node);
  if (node.type === 'array') return [`at most ${node.maxItems} items`, ...stringRules(node.items ?? {}).map((r) => `each ${r}`)];
  if (node.type === 'integer' || node.type === 'number') {
    const whole = node.type === 'integer' ? 'whole number, ' : '';
    const max = node.maximum === Number.MAX_SAFE_INTEGER ? '2^53−1' : String(node.maximum);
    return [`${whole}${node.minimum} to ${max}`];
  }
  return [];
}

/**
 * The event fields with their aliases, types, whether required, and rules: derived from the validation
 * schema itself (JSON Schema of {@link securityEventSchema}, {@link EVENT_FIELD_ALIASES}), so the README's
 * table cannot drift from what the gateway enforces (a test compares them).
 *
 * @example
 * ```ts
 * eventFieldRows().find((r) => r.name === 'type'); // { aliases: ['event_type'], required: true, … }
 * ```
 */
export function eventFieldRows(): EventFieldRow[] {
  const schema = z.toJSONSchema(securityEventSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as {
    properties: Record<EventField, JsonSchemaNode>;
    required: EventField[];
  };
  return (Object.keys(securityEventSchema.shape) as EventField[]).map((name) => {
    const node = schema.properties[name];
    const rules = [...constraints(node), NOTES[name]].filter((r) => r.length > 0).join('; ');
    return {
      name,
      aliases: Object.entries(EVENT_FIELD_ALIASES).filter(([, canonical]) => canonical === name).map(([alias]) => alias),
      type: typeOf(name, node),
      required: schema.required.includes(name),
      rules,
    };
  });
}

/** {@link eventFieldRows} as the Markdown table in the README's "Events" section. */
export function renderEventFieldTable(): string {
  const cell = (s: string) => s.replaceAll('|', '\\|');
  return [
    '| Field | Aliases | Type | Required | Rules |',
    '|---|---|---|---|---|',
    ...eventFieldRows().map((r) =>
      `| \`${r.name}\` | ${r.aliases.map((a) => `\`${a}\``).join(', ') || '—'} | ${r.type} | ${r.required ? 'yes' : 'no'} | ${cell(r.rules) || '—'} |`,
    ),
  ].join('\n');
}
