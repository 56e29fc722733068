/**
 * The receivers' strict checks, applied to a sample (see receiver-protocol.ts): a HEC request body is
 * parsed envelope by envelope and every envelope and its event checked; a syslog frame is checked
 * against RFC 5424 and CEF. Counting itself never parses (see `countHecEnvelopes`).
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
/** `"event":` as bytes. Outside a string it can only be a key (a quote inside a JSON string is escaped). */
const EVENT_KEY = Buffer.from('"event":');

/**
 * Envelopes in a HEC body, counted without parsing: occurrences of the `"event":` key (native
 * `indexOf`). Exact for envelopes whose events carry no nested `event` key, which the sampled strict
 * check confirms (it compares this count with the parsed one).
 */
export function countHecEnvelopes(body: Buffer): number {
  let count = 0;
  let at = body.indexOf(EVENT_KEY);
  while (at !== -1) {
    count++;
    at = body.indexOf(EVENT_KEY, at + EVENT_KEY.length);
  }
  return count;
}

/**
 * Splits a HEC body into its top-level JSON objects: newline-separated (the gateway, syslog-ng) or
 * back to back (splunk-logging joins them with nothing). Throws on anything else between objects.
 */
export function splitJsonObjects(body: Buffer): string[] {
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i]!;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (byte === QUOTE) {
      if (depth === 0) throw new Error(`HEC body: a string outside an envelope at byte ${i}`);
      inString = true;
    } else if (byte === OPEN) {
      if (depth++ === 0) start = i;
    } else if (byte === CLOSE) {
      if (--depth === 0) out.push(body.toString('utf8', start, i + 1));
      if (depth < 0) throw new Error(`HEC body: unbalanced } at byte ${i}`);
    } else if (depth === 0 && byte !== 0x0a && byte !== 0x0d && byte !== 0x20) {
      throw new Error(`HEC body: unexpected byte 0x${byte.toString(16)} between envelopes at ${i}`);
    }
  }
  if (depth !== 0 || inString) throw new Error('HEC body: truncated envelope');
  return out;
}

const ENVELOPE_KEYS = new Set(['time', 'host', 'source', 'sourcetype', 'index', 'fields', 'event']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const SEVERITIES = new Set(['info', 'low', 'medium', 'high', 'critical']);
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** 2020-01-01 and 2100-01-01 in epoch seconds: a HEC `time` outside is a unit error. */
const MIN_EPOCH_S = 1_577_836_800;
const MAX_EPOCH_S = 4_102_444_800;

/** Reads the first present key (the gateway may name a field in snake_case or camelCase). */
function field(event: Record<string, unknown>, ...names: string[]): unknown {
  for (const name of names) if (event[name] !== undefined) return event[name];
  return undefined;
}

/** Throws unless `value` is one HEC envelope carrying one of the bench's events of `customerPrefix…`. */
export function checkHecEnvelope(value: unknown, customerPrefix: string): void {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('envelope is not an object');
  const envelope = value as Record<string, unknown>;
  for (const key of Object.keys(envelope)) if (!ENVELOPE_KEYS.has(key)) throw new Error(`envelope has an unknown key "${key}"`);
  // HEC takes `time` as a number or a numeric string (splunk-logging sends a string).
  const time = typeof envelope.time === 'string' ? Number(envelope.time) : envelope.time;
  if (typeof time !== 'number' || !Number.isFinite(time) || time < MIN_EPOCH_S || time > MAX_EPOCH_S) {
    throw new Error(`envelope time ${JSON.stringify(envelope.time)} is not epoch seconds`);
  }
  for (const key of ['host', 'source', 'sourcetype', 'index'] as const) {
    if (envelope[key] !== undefined && (typeof envelope[key] !== 'string' || envelope[key] === '')) throw new Error(`envelope ${key} is not a non-empty string`);
  }
  const event = envelope.event;
  if (!event || typeof event !== 'object' || Array.isArray(event)) throw new Error('envelope event is not an object');
  const e = event as Record<string, unknown>;
  if (typeof e.id !== 'string' || !UUID.test(e.id)) throw new Error(`event id ${JSON.stringify(e.id)} is not a UUID`);
  if (field(e, 'event_type', 'type') !== 'scan') throw new Error(`event ${e.id}: type is not "scan"`);
  if (e.name !== 'Prompt Injection') throw new Error(`event ${e.id}: unexpected name ${JSON.stringify(e.name)}`);
  const severity = field(e, 'severity');
  if (typeof severity !== 'string' || !SEVERITIES.has(severity.toLowerCase())) throw new Error(`event ${e.id}: severity ${JSON.stringify(severity)}`);
  const timestamp = field(e, 'timestamp', 'time');
  if (typeof timestamp !== 'string' || !ISO_TIME.test(timestamp) || Number.isNaN(Date.parse(timestamp))) {
    throw new Error(`event ${e.id}: timestamp ${JSON.stringify(timestamp)} is not ISO 8601`);
  }
  const customer = field(e, 'customer_id', 'customerId');
  if (typeof customer !== 'string' || !customer.startsWith(customerPrefix)) throw new Error(`event ${e.id}: customer ${JSON.stringify(customer)}`);
  const ruleIds = field(e, 'rule_ids', 'ruleIds');
  if (!Array.isArray(ruleIds) || ruleIds.some((r) => typeof r !== 'string')) throw new Error(`event ${e.id}: rule ids are not strings`);
  if (typeof field(e, 'threat_detected', 'threatDetected') !== 'boolean') throw new Error(`event ${e.id}: threat_detected is not a boolean`);
  if (typeof field(e, 'prompt_length', 'promptLength') !== 'number') throw new Error(`event ${e.id}: prompt_length is not a number`);
}

/**
 * Parses a HEC body strictly and checks every envelope; `counted` is what `countHecEnvelopes` said.
 * Returns the number of envelopes checked; throws on the first problem.
 */
export function checkHecBody(body: Buffer, counted: number, customerPrefix: string): number {
  const objects = splitJsonObjects(body);
  if (objects.length !== counted) throw new Error(`HEC body: counted ${counted} envelopes by scanning, parsed ${objects.length}`);
  for (const text of objects) checkHecEnvelope(JSON.parse(text), customerPrefix);
  return objects.length;
}

const RFC5424 = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) ?([\s\S]*)$/;
/** A CEF header pipe: one not escaped by a backslash. */
const CEF_PIPE = /(?<!\\)\|/;
const CEF_HEADER_FIELDS = 8;
const MAX_PRI = 191;
const MAX_CEF_SEVERITY = 10;

/** Throws unless `message` is one RFC 5424 message with a CEF:0 payload carrying a UUID `externalId`. */
export function checkSyslogMessage(message: string): void {
  const match = RFC5424.exec(message);
  if (!match) throw new Error(`not an RFC 5424 message: ${JSON.stringify(message.slice(0, 120))}`);
  const [, pri, timestamp, hostname, appName, , , , msg] = match;
  if (Number(pri) > MAX_PRI) throw new Error(`PRI ${pri} out of range`);
  if (!ISO_TIME.test(timestamp!) || Number.isNaN(Date.parse(timestamp!))) throw new Error(`timestamp ${timestamp} is not RFC 3339`);
  if (hostname === '-' || appName === '-') throw new Error('HOSTNAME or APP-NAME missing');
  const cef = msg!.replace(/^\uFEFF/, '');
  if (!cef.startsWith('CEF:0|')) throw new Error(`payload is not CEF:0: ${JSON.stringify(cef.slice(0, 60))}`);
  const parts = cef.split(CEF_PIPE);
  if (parts.length < CEF_HEADER_FIELDS) throw new Error(`CEF header has ${parts.length - 1} pipes, expected 7`);
  const severity = parts[6]!;
  if (!/^\d+$/.test(severity) || Number(severity) > MAX_CEF_SEVERITY) {
    if (!['Low', 'Medium', 'High', 'Very-High', 'Unknown'].includes(severity)) throw new Error(`CEF severity ${JSON.stringify(severity)}`);
  }
  const extension = parts.slice(CEF_HEADER_FIELDS - 1).join('|');
  const id = /(?:^| )externalId=(\S+)/.exec(extension)?.[1];
  if (!id || !UUID.test(id)) throw new Error(`CEF extension has no UUID externalId: ${JSON.stringify(extension.slice(0, 120))}`);
}
