import type { SyslogFormat } from '../types.js';

/**
 * Syslog message headers: RFC 5424 (the default) and the older BSD format of RFC 3164.
 *
 * Both produce one message as a string without any transport framing; the transport
 * (`src/net/syslog-transport.ts`) adds RFC 6587 octet counting for TCP/TLS or sends one datagram per message.
 */

/** Syslog severities, RFC 5424 §6.2.1 table 2. */
export const SyslogSeverity = {
  EMERGENCY: 0,
  ALERT: 1,
  CRITICAL: 2,
  ERROR: 3,
  WARNING: 4,
  NOTICE: 5,
  INFORMATIONAL: 6,
  DEBUG: 7,
} as const;
export type SyslogSeverity = (typeof SyslogSeverity)[keyof typeof SyslogSeverity];

/**
 * Syslog facility codes, RFC 5424 §6.2.1 table 1, under the names that syslog.h / rsyslog use.
 * 13 ("log audit") is `security`, 14 ("log alert") is `console`, 15 (the second clock daemon) is `solaris_cron`,
 * matching the names the configuration schema stores.
 */
export const SYSLOG_FACILITIES = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  ntp: 12,
  security: 13,
  console: 14,
  solaris_cron: 15,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;
export type SyslogFacilityName = keyof typeof SYSLOG_FACILITIES;

/** Other spellings accepted by {@link parseFacility}: RFC 5424's descriptions and common variants. */
const FACILITY_ALIASES: Readonly<Record<string, number>> = {
  kernel: SYSLOG_FACILITIES.kern,
  audit: SYSLOG_FACILITIES.security,
  alert: SYSLOG_FACILITIES.console,
  clock: SYSLOG_FACILITIES.solaris_cron,
  'solaris-cron': SYSLOG_FACILITIES.solaris_cron,
};

/** Lowest and highest facility code (RFC 5424 §6.2.1). */
export const MIN_FACILITY = SYSLOG_FACILITIES.kern;
export const MAX_FACILITY = SYSLOG_FACILITIES.local7;
/** PRI = facility × 8 + severity (RFC 5424 §6.2.1, RFC 3164 §4.1.1). */
export const SEVERITIES_PER_FACILITY = 8;

/** RFC 5424 §6.2: a field without a value. */
export const NILVALUE = '-';
/** RFC 5424 §6.2.2: VERSION of this header format. */
export const RFC5424_VERSION = 1;
/** RFC 5424 §6.2.4–6.2.7 maximum lengths (in PRINTUSASCII characters). */
export const RFC5424_MAX_LENGTH = {
  HOSTNAME: 255,
  APP_NAME: 48,
  PROCID: 128,
  MSGID: 32,
} as const;
/** RFC 3164 §4.1.3: the TAG is at most 32 alphanumeric characters. */
export const RFC3164_MAX_TAG_LENGTH = 32;
/** RFC 5424 §6.1 PRINTUSASCII is %d33-126. */
const PRINTUSASCII_MIN = 33;
const PRINTUSASCII_MAX = 126;
/** RFC 5424 §6.2.3 limits TIMESTAMP years to four digits. */
const MAX_FOUR_DIGIT_YEAR = 9999;
/** RFC 3164 §4.1.2 month abbreviations. */
const RFC3164_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
/** Substituted for characters a header field may not carry. */
const REPLACEMENT_CHAR = '_';
/** Used for an RFC 3164 TAG that is empty after cleaning. */
export const DEFAULT_APP_NAME = 'siemgate';

/**
 * Thrown for a facility that is neither a known name nor a code 0..23.
 *
 * @example
 * ```ts
 * try { parseFacility('local9'); } catch (err) { if (err instanceof InvalidSyslogFacilityError) console.warn(err.message); }
 * ```
 */
export class InvalidSyslogFacilityError extends Error {
  readonly code = 'SIEMGATE_SYSLOG_FACILITY_INVALID';
  constructor(readonly value: unknown) {
    super(`invalid syslog facility ${JSON.stringify(value)}: expected a name (kern, user, …, local0…local7) or a code 0..23`);
    this.name = 'InvalidSyslogFacilityError';
  }
}

/**
 * Thrown for a facility or severity outside its range when computing a PRI.
 *
 * @example
 * ```ts
 * syslogPri(24, 0); // throws InvalidSyslogPriorityError
 * ```
 */
export class InvalidSyslogPriorityError extends Error {
  readonly code = 'SIEMGATE_SYSLOG_PRIORITY_INVALID';
  constructor(detail: string) {
    super(`invalid syslog priority: ${detail}`);
    this.name = 'InvalidSyslogPriorityError';
  }
}

/**
 * Turns a facility name (`local0`, case-insensitive, surrounding blanks ignored; also the aliases `audit`, `alert`,
 * `clock`, `kernel`) or a code (`16` as number or digits, 0..23) into its numeric code.
 * The product documentation writes the default as "16 (local0)": both spellings work.
 *
 * @throws {@link InvalidSyslogFacilityError} for anything else.
 * @example
 * ```ts
 * parseFacility('local0'); // 16
 * parseFacility('16');     // 16
 * parseFacility(4);        // 4 (auth)
 * ```
 */
export function parseFacility(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= MIN_FACILITY && value <= MAX_FACILITY) return value;
    throw new InvalidSyslogFacilityError(value);
  }
  if (typeof value !== 'string') throw new InvalidSyslogFacilityError(value);
  const text = value.trim().toLowerCase();
  if (/^\d{1,2}$/.test(text)) return parseFacility(Number(text));
  if (Object.hasOwn(SYSLOG_FACILITIES, text)) return SYSLOG_FACILITIES[text as SyslogFacilityName];
  if (Object.hasOwn(FACILITY_ALIASES, text)) return FACILITY_ALIASES[text]!;
  throw new InvalidSyslogFacilityError(value);
}

/**
 * PRI value: facility × 8 + severity, range 0..191.
 *
 * @throws {@link InvalidSyslogPriorityError} for a facility outside 0..23 or a severity outside 0..7.
 * @example
 * ```ts
 * syslogPri(SYSLOG_FACILITIES.local0, SyslogSeverity.CRITICAL); // 130
 * ```
 */
export function syslogPri(facility: number, severity: number): number {
  if (!Number.isInteger(facility) || facility < MIN_FACILITY || facility > MAX_FACILITY) {
    throw new InvalidSyslogPriorityError(`facility ${facility} is not in ${MIN_FACILITY}..${MAX_FACILITY}`);
  }
  if (!Number.isInteger(severity) || severity < SyslogSeverity.EMERGENCY || severity > SyslogSeverity.DEBUG) {
    throw new InvalidSyslogPriorityError(`severity ${severity} is not in ${SyslogSeverity.EMERGENCY}..${SyslogSeverity.DEBUG}`);
  }
  return facility * SEVERITIES_PER_FACILITY + severity;
}

/**
 * Cleans a value for an RFC 5424 header field (HOSTNAME, APP-NAME, PROCID, MSGID): every character outside
 * PRINTUSASCII (%d33-126, so also spaces, control characters and non-ASCII) becomes `_`, the result is cut to
 * `maxLength`, and an empty value becomes the NILVALUE `-`.
 *
 * @example
 * ```ts
 * toPrintUsAscii('my host\n', 255); // "my_host_"
 * toPrintUsAscii('', 48);           // "-"
 * ```
 */
export function toPrintUsAscii(value: string | undefined, maxLength: number): string {
  if (value === undefined || value === '') return NILVALUE;
  let out = '';
  for (const ch of value) {
    if (out.length >= maxLength) break;
    const code = ch.codePointAt(0)!;
    out += code >= PRINTUSASCII_MIN && code <= PRINTUSASCII_MAX ? ch : REPLACEMENT_CHAR;
  }
  return out;
}

/** C0 controls except TAB, CR and LF, and DEL: written as `\u001b`-style text (CR and LF have their own rules). */
const CONTROL_CHARACTERS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;
const HEX = 16;
const UNICODE_ESCAPE_DIGITS = 4;

/**
 * Replaces every C0 control character except TAB, CR and LF, and DEL, with the text `\u` + four lowercase hex digits.
 * Applied to syslog MSGs and, before CEF escaping (which then escapes the backslash), to every CEF field.
 *
 * @example
 * ```ts
 * controlsAsText('a\u001b[31mb\u007f'); // "a\\u001b[31mb\\u007f"
 * ```
 */
export function controlsAsText(value: string): string {
  return value.replace(CONTROL_CHARACTERS, (ch) => `\\u${ch.charCodeAt(0).toString(HEX).padStart(UNICODE_ESCAPE_DIGITS, '0')}`);
}

/**
 * Replaces CR and LF in a syslog MSG with the two-character texts `\r` and `\n`, so that a message can never
 * become two events at a receiver that splits on line ends (RFC 6587 non-transparent framing, line-based UDP relays),
 * and every other control character except TAB (C0 and DEL) with `\u001b`-style text ({@link controlsAsText}), so
 * none reaches a receiver, its terminal or its log files raw. CEF lines never carry any of them (CEF escaping already
 * replaced them); this is the syslog layer's own guarantee for any other MSG.
 *
 * @example
 * ```ts
 * escapeSyslogNewlines('a\r\nb\u001b'); // "a\\r\\nb\\u001b"
 * ```
 */
export function escapeSyslogNewlines(message: string): string {
  return controlsAsText(message.replace(/[\r\n]/g, (ch) => (ch === '\r' ? '\\r' : '\\n')));
}

/** The fields of one syslog message. */
export interface SyslogMessageFields {
  /** Facility code 0..23, see {@link parseFacility}. */
  facility: number;
  /** Severity 0..7, see {@link SyslogSeverity}. */
  severity: number;
  /** When the event happened. An invalid date becomes the NILVALUE (RFC 5424) or the epoch (RFC 3164). */
  time: Date;
  /** HOSTNAME. Cleaned with {@link toPrintUsAscii}; empty means NILVALUE. */
  hostname: string;
  /** RFC 5424 APP-NAME (cut to 48) / RFC 3164 TAG (alphanumerics only, cut to 32). @default "siemgate" when empty (RFC 3164) */
  appName: string;
  /** RFC 5424 PROCID; RFC 3164 appends it as `TAG[procId]`. @default NILVALUE / omitted */
  procId?: string;
  /** RFC 5424 MSGID (cut to 32); not part of RFC 3164. @default NILVALUE */
  msgId?: string;
  /** The MSG, e.g. a CEF line. CR/LF are escaped by {@link escapeSyslogNewlines}. */
  message: string;
  /**
   * RFC 5424 §6.4: prefix the MSG with a UTF-8 byte order mark to declare it UTF-8 (MSG-UTF8). Off by default because
   * CEF parsers look for `CEF:0|` at the very start of the MSG; without the BOM the MSG is MSG-ANY (still UTF-8 bytes).
   * @default false
   */
  utf8Bom?: boolean;
}

const BOM = '\uFEFF';

/** RFC 5424 TIMESTAMP: RFC 3339 in UTC with milliseconds, or NILVALUE when the date cannot be written with a 4-digit year. */
function rfc5424Timestamp(time: Date): string {
  const ms = time.getTime();
  if (Number.isNaN(ms)) return NILVALUE;
  const year = time.getUTCFullYear();
  if (year < 0 || year > MAX_FOUR_DIGIT_YEAR) return NILVALUE;
  return time.toISOString();
}

/**
 * Formats an RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`
 * (no structured data; TIMESTAMP in UTC with milliseconds).
 *
 * @example
 * ```ts
 * formatRfc5424({ facility: 16, severity: 2, time: new Date('2026-01-30T10:30:00Z'), hostname: 'gw1',
 *   appName: 'siemgate', msgId: 'scan', message: 'CEF:0|...' });
 * // "<130>1 2026-01-30T10:30:00.000Z gw1 siemgate - scan - CEF:0|..."
 * ```
 */
export function formatRfc5424(fields: SyslogMessageFields): string {
  const pri = syslogPri(fields.facility, fields.severity);
  const header = [
    `<${pri}>${RFC5424_VERSION}`,
    rfc5424Timestamp(fields.time),
    toPrintUsAscii(fields.hostname, RFC5424_MAX_LENGTH.HOSTNAME),
    toPrintUsAscii(fields.appName, RFC5424_MAX_LENGTH.APP_NAME),
    toPrintUsAscii(fields.procId, RFC5424_MAX_LENGTH.PROCID),
    toPrintUsAscii(fields.msgId, RFC5424_MAX_LENGTH.MSGID),
    NILVALUE, // STRUCTURED-DATA
  ].join(' ');
  return `${header} ${fields.utf8Bom ? BOM : ''}${escapeSyslogNewlines(fields.message)}`;
}

/** RFC 3164 TIMESTAMP `Mmm dd hh:mm:ss` (day space-padded), in UTC because the format carries no zone. */
function rfc3164Timestamp(time: Date): string {
  const t = Number.isNaN(time.getTime()) ? new Date(0) : time;
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = String(t.getUTCDate()).padStart(2, ' ');
  return `${RFC3164_MONTHS[t.getUTCMonth()]} ${day} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
}

/**
 * Formats an RFC 3164 (BSD) message: `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG: MSG`, or `TAG[procId]: MSG` with a procId.
 * The timestamp is UTC (RFC 3164 has no zone and no year: receivers assume their own). The TAG keeps only
 * alphanumerics, since RFC 3164 §4.1.3 ends the TAG at the first other character.
 *
 * @example
 * ```ts
 * formatRfc3164({ facility: 16, severity: 6, time: new Date('2026-01-05T08:09:10Z'), hostname: 'gw1', appName: 'siemgate', message: 'CEF:0|...' });
 * // "<134>Jan  5 08:09:10 gw1 siemgate: CEF:0|..."
 * ```
 */
export function formatRfc3164(fields: SyslogMessageFields): string {
  const pri = syslogPri(fields.facility, fields.severity);
  const hostname = toPrintUsAscii(fields.hostname, RFC5424_MAX_LENGTH.HOSTNAME);
  const tag = fields.appName.replace(/[^A-Za-z0-9]/g, '').slice(0, RFC3164_MAX_TAG_LENGTH) || DEFAULT_APP_NAME;
  const procId = fields.procId ? `[${toPrintUsAscii(fields.procId, RFC5424_MAX_LENGTH.PROCID).replace(/[[\]]/g, REPLACEMENT_CHAR)}]` : '';
  return `<${pri}>${rfc3164Timestamp(fields.time)} ${hostname} ${tag}${procId}: ${escapeSyslogNewlines(fields.message)}`;
}

/**
 * Formats one message in the configured header format.
 *
 * @example
 * ```ts
 * const line = formatSyslog(config.format, { facility: parseFacility(config.facility), severity: 6, time, hostname, appName, message });
 * ```
 */
export function formatSyslog(format: SyslogFormat, fields: SyslogMessageFields): string {
  return format === 'RFC3164' ? formatRfc3164(fields) : formatRfc5424(fields);
}
