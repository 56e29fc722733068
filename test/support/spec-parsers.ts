/**
 * Strict parsers written from the specifications, one per wire format, for every test that reads what siemgate sent
 * (the destination tests, the abuse suite's injection tests). They share nothing with
 * src/ (not the formatter, not its constants): if siemgate's output and these disagree, one of them is wrong, and the
 * specification decides.
 *
 * - ArcSight "Implementing ArcSight Common Event Format (CEF)", rev. 25: `CEF:Version|Device Vendor|Device Product|
 *   Device Version|Device Event Class ID|Name|Severity|[Extension]`. Header: a pipe inside a field is `\|`, a
 *   backslash `\\`. Extension: space-separated `key=value`; inside values an equals sign is `\=`, a backslash `\\`,
 *   line feed / carriage return `\n` / `\r`; pipes need no escape there; a value may contain spaces.
 * - RFC 5424 §6 (SYSLOG-MSG ABNF) and RFC 3164 §4.1 (`<PRI>TIMESTAMP HOSTNAME TAG: CONTENT`).
 * - Splunk HTTP Event Collector, "Format events for HTTP Event Collector": a batch is event objects one after another,
 *   optionally separated by whitespace (no array, no commas).
 */

export class SpecViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecViolation';
  }
}

export interface CefRecord {
  /** The version after `CEF:`, e.g. `0`. */
  version: string;
  /** The six header fields after the version, unescaped. */
  deviceVendor: string;
  deviceProduct: string;
  deviceVersion: string;
  /** Device Event Class ID. */
  signatureId: string;
  name: string;
  /** As written: `0` to `10`. */
  severity: string;
  /** Extension pairs in order of appearance, values unescaped; a repeated key is a violation. */
  extension: Map<string, string>;
}

/** Extension keys are alphanumeric. */
const KEY_CHAR = /[A-Za-z0-9]/;

/**
 * Parses one CEF record (the whole text must be exactly one record, as a line of a file or the MSG of a syslog
 * frame). Throws {@link SpecViolation} on anything the standard does not allow: a raw CR or LF anywhere, a missing
 * header field, an escape other than the few allowed, a severity outside 0..10, an unescaped `=` inside a value, a
 * repeated extension key.
 */
export function parseCef(text: string): CefRecord {
  if (/[\r\n]/.test(text)) throw new SpecViolation('raw CR or LF inside a CEF record');
  const prefix = /^CEF:(\d+)\|/.exec(text);
  if (!prefix) throw new SpecViolation(`does not start with CEF:<version>|: ${JSON.stringify(text.slice(0, 40))}`);
  let pos = prefix[0].length;
  const fields: string[] = [];
  let field = '';
  while (fields.length < 6) {
    if (pos >= text.length) throw new SpecViolation(`header ends after ${fields.length + 1} fields`);
    const c = text[pos]!;
    if (c === '\\') {
      const n = text[pos + 1];
      if (n !== '|' && n !== '\\') throw new SpecViolation(`header escape \\${n ?? 'EOF'} is not allowed (only \\| and \\\\)`);
      field += n;
      pos += 2;
    } else if (c === '|') {
      fields.push(field);
      field = '';
      pos++;
    } else {
      field += c;
      pos++;
    }
  }
  const [deviceVendor, deviceProduct, deviceVersion, signatureId, name, severity] = fields as [string, string, string, string, string, string];
  if (!/^(?:\d|10)$/.test(severity)) throw new SpecViolation(`severity ${JSON.stringify(severity)} is not 0..10`);
  const extension = new Map<string, string>();
  for (const { key, value } of parseExtension(text.slice(pos))) {
    if (extension.has(key)) throw new SpecViolation(`extension key ${key} repeated`);
    extension.set(key, value);
  }
  return { version: prefix[1]!, deviceVendor, deviceProduct, deviceVersion, signatureId, name, severity, extension };
}

/** Splits `k1=v1 k2=v with spaces k3=v3` into pairs; an unescaped `=` always ends a key. */
function parseExtension(ext: string): { key: string; value: string }[] {
  if (ext === '') return [];
  // Find every unescaped '=': each one closes a key that starts after a space (or at the very beginning).
  const keyStarts: { key: string; start: number; valueStart: number }[] = [];
  for (let i = 0; i < ext.length; i++) {
    const c = ext[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (c !== '=') continue;
    let k = i;
    while (k > 0 && KEY_CHAR.test(ext[k - 1]!)) k--;
    if (k === i) throw new SpecViolation(`unescaped "=" without a key at ${i}: ${JSON.stringify(ext.slice(Math.max(0, i - 20), i + 20))}`);
    if (k > 0 && ext[k - 1] !== ' ') throw new SpecViolation(`unescaped "=" inside a value at ${i}: ${JSON.stringify(ext.slice(Math.max(0, k - 20), i + 20))}`);
    keyStarts.push({ key: ext.slice(k, i), start: k, valueStart: i + 1 });
  }
  if (keyStarts.length === 0 || keyStarts[0]!.start !== 0) throw new SpecViolation(`extension does not start with key=: ${JSON.stringify(ext.slice(0, 40))}`);
  return keyStarts.map((k, idx) => {
    const end = idx + 1 < keyStarts.length ? keyStarts[idx + 1]!.start - 1 : ext.length;
    return { key: k.key, value: unescapeValue(ext.slice(k.valueStart, end)) };
  });
}

function unescapeValue(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = raw[++i];
    if (n === '\\' || n === '=') out += n;
    else if (n === 'n') out += '\n';
    else if (n === 'r') out += '\r';
    else throw new SpecViolation(`extension escape \\${n ?? 'EOF'} is not allowed (only \\\\ \\= \\n \\r)`);
  }
  return out;
}

export interface SyslogMessage {
  pri: number;
  facility: number;
  severity: number;
  hostname: string;
  appName: string;
  /** The MSG / CONTENT part, without a leading BOM. */
  msg: string;
}

const PRINTUSASCII = /^[\x21-\x7e]+$/;

function parsePri(text: string): { pri: number; rest: string } {
  const m = /^<(0|[1-9]\d{0,2})>/.exec(text);
  if (!m) throw new SpecViolation(`no <PRI> at the start: ${JSON.stringify(text.slice(0, 20))}`);
  const pri = Number(m[1]);
  if (pri > 191) throw new SpecViolation(`PRI ${pri} > 191`);
  return { pri, rest: text.slice(m[0].length) };
}

/** An RFC 5424 message, every header field as written. */
export interface Rfc5424Message extends SyslogMessage {
  /** Always 1 (the only version RFC 5424 defines). */
  version: number;
  /** RFC 3339 with at most 6 fraction digits, or `-`. */
  timestamp: string;
  procId: string;
  msgId: string;
  /** `-` or the SD-ELEMENTs as written. */
  structuredData: string;
}

/** RFC 5424 §6: `<PRI>1 SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]`. */
export function parseRfc5424(text: string): Rfc5424Message {
  const { pri, rest } = parsePri(text);
  if (!rest.startsWith('1 ')) throw new SpecViolation('VERSION is not 1');
  const parts: string[] = [];
  let pos = 2;
  for (let i = 0; i < 5; i++) {
    const sp = rest.indexOf(' ', pos);
    if (sp < 0) throw new SpecViolation(`header ends early (field ${i + 2})`);
    parts.push(rest.slice(pos, sp));
    pos = sp + 1;
  }
  const [timestamp, hostname, appName, procId, msgId] = parts as [string, string, string, string, string];
  if (timestamp !== '-' && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/.test(timestamp)) throw new SpecViolation(`bad TIMESTAMP ${timestamp}`);
  for (const [name, v, max] of [['HOSTNAME', hostname, 255], ['APP-NAME', appName, 48], ['PROCID', procId, 128], ['MSGID', msgId, 32]] as const) {
    if (!PRINTUSASCII.test(v) || v.length > max) throw new SpecViolation(`bad ${name} ${JSON.stringify(v)}`);
  }
  let structuredData: string;
  let after: string;
  if (rest[pos] === '-') {
    structuredData = '-';
    after = rest.slice(pos + 1);
  } else if (rest[pos] === '[') {
    const m = /^(?:\[[^\]]*\])+/.exec(rest.slice(pos));
    if (!m) throw new SpecViolation('bad STRUCTURED-DATA');
    structuredData = m[0];
    after = rest.slice(pos + structuredData.length);
  } else throw new SpecViolation('no STRUCTURED-DATA');
  if (after !== '' && !after.startsWith(' ')) throw new SpecViolation('no SP between STRUCTURED-DATA and MSG');
  const msg = after.slice(1).replace(/^\uFEFF/, '');
  return { pri, facility: pri >> 3, severity: pri & 7, version: 1, timestamp, hostname, appName, procId, msgId, structuredData, msg };
}

const MONTHS = 'Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec';

/** RFC 3164 §4.1: `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: CONTENT` (TAG: up to 32 alphanumerics). */
export function parseRfc3164Message(text: string): SyslogMessage {
  const { pri, rest } = parsePri(text);
  const m = new RegExp(`^(?:${MONTHS}) [ 1-3]\\d \\d{2}:\\d{2}:\\d{2} ([\\x21-\\x7e]+) ([A-Za-z0-9]{1,32})(\\[[^\\]]*\\])?: `).exec(rest);
  if (!m) throw new SpecViolation(`not an RFC 3164 header: ${JSON.stringify(rest.slice(0, 60))}`);
  return { pri, facility: pri >> 3, severity: pri & 7, hostname: m[1]!, appName: m[2]!, msg: rest.slice(m[0].length) };
}

/**
 * Splits a HEC batch body the way HEC reads it: JSON objects one after another, whitespace between them allowed,
 * without assuming a separator (a brace counter that skips over string literals). Throws {@link SpecViolation} on
 * anything else between the objects, or a truncated body.
 */
export function parseHecBatch(text: string): any[] {
  const out: any[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
    } else if (depth === 0 && !/\s/.test(c)) {
      throw new SpecViolation(`unexpected ${JSON.stringify(c)} at ${i} between HEC events`);
    }
  }
  if (depth !== 0 || inString) throw new SpecViolation('truncated HEC batch');
  return out;
}
