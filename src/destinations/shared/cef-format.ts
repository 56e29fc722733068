import type { SecurityEvent, Severity } from '../../events/security-event.js';
import { controlsAsText, SyslogSeverity } from './syslog-format.js';

/**
 * ArcSight Common Event Format (CEF) version 0:
 * `CEF:0|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension`.
 *
 * Escaping, per the ArcSight CEF implementation standard:
 * - header fields: `\` → `\\`, `|` → `\|`. A header field may not span lines; siemgate replaces every line end
 *   (CRLF, CR or LF) with one space, a lossy but safe choice (the spec defines no newline escape for the header).
 * - extension values: `\` → `\\`, `=` → `\=`, CR → `\r`, LF → `\n`. `|` and spaces need no escaping there.
 * - extension keys are fixed identifiers and are never escaped.
 * - every other C0 control character (U+0000–U+001F except TAB, and CR/LF where the rules above handle them) and DEL
 *   (U+007F) becomes the six-character text `\u001b` (lowercase hex) before the escaping above, which then doubles its
 *   backslash: the line carries `\\u001b`, which a CEF parser reads back as the text `\u001b`. The CEF specification has no
 *   escape for control characters, so siemgate keeps them visible (an ESC in a prompt is evidence) instead of removing
 *   them, and never lets one reach a terminal, log viewer or syslog relay raw.
 * So a CEF line never contains a raw CR, LF or other control character except TAB, and is always exactly one line.
 */

/** The CEF format version written in the `CEF:` prefix. */
export const CEF_VERSION = 0;

/** Device Vendor / Device Product defaults of the generic CEF and ArcSight destinations (product documentation). */
export const CEF_DEFAULT_VENDOR = 'RAXE';
export const CEF_DEFAULT_PRODUCT = 'ThreatDetection';

/** CEF header severity (0..10) per product severity, from the product documentation's mapping. */
export const cefSeverity: Readonly<Record<Severity, number>> = {
  NONE: 0,
  LOW: 3,
  MEDIUM: 5,
  HIGH: 7,
  CRITICAL: 10,
};

/** Syslog severity per product severity, from the product documentation's mapping (informational … critical). */
export const syslogSeverity: Readonly<Record<Severity, SyslogSeverity>> = {
  NONE: SyslogSeverity.INFORMATIONAL,
  LOW: SyslogSeverity.NOTICE,
  MEDIUM: SyslogSeverity.WARNING,
  HIGH: SyslogSeverity.ERROR,
  CRITICAL: SyslogSeverity.CRITICAL,
};

/** Labels of the custom fields, as the product documentation names them. */
export const CEF_LABELS = {
  cs1: 'PromptHash',
  cs2: 'RuleIDs',
  cs3: 'ThreatFamilies',
  cs4: 'SourceIp',
  cs5: 'MsspId',
  cs6: 'CustomerId',
  cn1: 'PromptLength',
  cn2: 'DetectionCount',
  cn3: 'ScanDurationMs',
} as const;

/** The three header fields that identify the sending product. */
export interface CefHeader {
  /** e.g. `RAXE`. */
  deviceVendor: string;
  /** e.g. `ThreatDetection`. */
  deviceProduct: string;
  /** e.g. `0.10.0`. */
  deviceVersion: string;
}

/** Optional additions to the extension. */
export interface CefFormatOptions {
  /** Written as `dvchost` (the host that reports the event). @default omitted */
  deviceHostName?: string;
}

/**
 * Escapes a CEF header field: line ends (CRLF, CR, LF) become one space each, other control characters the text
 * `\u001b` ({@link controlsAsText}), then `\` → `\\` and `|` → `\|`.
 *
 * @example
 * ```ts
 * escapeCefHeader('a|b\\c\nd'); // "a\\|b\\\\c d"
 * escapeCefHeader('\u001b[2J');   // "\\\\u001b[2J"
 * ```
 */
export function escapeCefHeader(value: string): string {
  return controlsAsText(value.replace(/\r\n|[\r\n]/g, ' ')).replace(/[\\|]/g, (ch) => `\\${ch}`);
}

/**
 * Escapes a CEF extension value: other control characters become the text `\u001b` ({@link controlsAsText}), then
 * `\` → `\\`, `=` → `\=`, CR → `\r`, LF → `\n` (the two-character texts).
 *
 * @example
 * ```ts
 * escapeCefExtension('a=b\\c\r\n'); // "a\\=b\\\\c\\r\\n"
 * escapeCefExtension('\u001b');       // "\\\\u001b"
 * ```
 */
export function escapeCefExtension(value: string): string {
  return controlsAsText(value).replace(/[\\=\r\n]/g, (ch) => {
    switch (ch) {
      case '\r':
        return '\\r';
      case '\n':
        return '\\n';
      default:
        return `\\${ch}`;
    }
  });
}

/** One extension field before escaping: a fixed key and its value. */
export type CefExtensionField = readonly [key: string, value: string];

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

/** CEF `cn*` fields are Longs: finite numbers are rounded to an integer, anything else is left out. */
function cefLong(value: number | undefined): string | undefined {
  if (value === undefined || !Number.isFinite(value)) return undefined;
  return String(Math.round(value));
}

function joinList(values: string[] | undefined): string | undefined {
  const joined = (values ?? []).filter((v) => v !== '').join(',');
  return joined === '' ? undefined : joined;
}

/**
 * The CEF signature id: the first rule id, else the event type.
 *
 * @example
 * ```ts
 * cefSignatureId({ ...event, ruleIds: ['pi-001', 'pi-003'] }); // "pi-001"
 * ```
 */
export function cefSignatureId(event: SecurityEvent): string {
  const first = event.ruleIds?.find((id) => id !== '');
  return first ?? event.type;
}

/**
 * The extension fields of one event, unescaped, in output order. Absent or empty values are left out together with
 * their label. Mapping (product documentation, CEF field mapping):
 *
 * | key | value |
 * |---|---|
 * | `rt` | event time, ms since the epoch |
 * | `src` | installationId, else sourceIp. The documentation's example writes `src=inst_abc123`, so siemgate does too, although ArcSight types `src` as an IP address: strict parsers may drop a non-IP value. |
 * | `suser` | agentId, else userEmail |
 * | `cs1`/`cs1Label` | promptHash / `PromptHash` |
 * | `cs2`/`cs2Label` | ruleIds comma-joined / `RuleIDs` |
 * | `cs3`/`cs3Label` | families comma-joined / `ThreatFamilies` |
 * | `cs5`/`cs5Label` | msspId / `MsspId` |
 * | `cs6`/`cs6Label` | customerId / `CustomerId` |
 * | `cn1`/`cn1Label` | promptLength / `PromptLength` |
 * | `cn2`/`cn2Label` | detectionCount / `DetectionCount` |
 * | `cn3`/`cn3Label` | scanDurationMs (rounded) / `ScanDurationMs` |
 *
 * Beyond the documentation: `externalId` (the event id, the idempotency key), `cat` (the event type),
 * `outcome`, `cs4`/`cs4Label=SourceIp` (sourceIp when `src` already holds the installationId, so it is not lost),
 * `msg` (`data.message` when it is a string) and `dvchost` (with {@link CefFormatOptions.deviceHostName}).
 *
 * @example
 * ```ts
 * cefExtensionFields(event); // [['rt', '1706619000000'], ['src', 'inst_abc123'], ...]
 * ```
 */
export function cefExtensionFields(event: SecurityEvent, options: CefFormatOptions = {}): CefExtensionField[] {
  const fields: CefExtensionField[] = [];
  const add = (key: string, value: string | undefined, labelKey?: keyof typeof CEF_LABELS) => {
    if (!nonEmpty(value)) return;
    fields.push([key, value]);
    if (labelKey) fields.push([`${labelKey}Label`, CEF_LABELS[labelKey]]);
  };

  const time = event.time.getTime();
  add('rt', Number.isNaN(time) ? undefined : String(time));
  const src = nonEmpty(event.installationId) ? event.installationId : event.sourceIp;
  add('src', src);
  add('suser', nonEmpty(event.agentId) ? event.agentId : event.userEmail);
  add('cs1', event.promptHash, 'cs1');
  add('cs2', joinList(event.ruleIds), 'cs2');
  add('cs3', joinList(event.families), 'cs3');
  add('cs5', event.msspId, 'cs5');
  add('cs6', event.customerId, 'cs6');
  add('cn1', cefLong(event.promptLength), 'cn1');
  add('cn2', cefLong(event.detectionCount), 'cn2');
  add('cn3', cefLong(event.scanDurationMs), 'cn3');
  add('externalId', event.id);
  add('cat', event.type);
  add('outcome', event.outcome);
  if (src !== event.sourceIp) add('cs4', event.sourceIp, 'cs4');
  const message = event.data?.message;
  add('msg', typeof message === 'string' ? message : undefined);
  add('dvchost', options.deviceHostName);
  return fields;
}

/**
 * Formats one event as one CEF line (no trailing newline), exact to the ArcSight CEF specification.
 * Signature id: the first rule id, else the event type. Severity: {@link cefSeverity}. Extension: {@link cefExtensionFields}.
 *
 * @example
 * ```ts
 * formatCef(event, { deviceVendor: 'RAXE', deviceProduct: 'ThreatDetection', deviceVersion: '0.10.0' });
 * // "CEF:0|RAXE|ThreatDetection|0.10.0|pi-001|Prompt Injection Detected|10|rt=1706619000000 src=inst_abc123 ..."
 * ```
 */
export function formatCef(event: SecurityEvent, header: CefHeader, options: CefFormatOptions = {}): string {
  const head = [
    `CEF:${CEF_VERSION}`,
    escapeCefHeader(header.deviceVendor),
    escapeCefHeader(header.deviceProduct),
    escapeCefHeader(header.deviceVersion),
    escapeCefHeader(cefSignatureId(event)),
    escapeCefHeader(event.name),
    String(cefSeverity[event.severity] ?? cefSeverity.NONE),
  ].join('|');
  const extension = cefExtensionFields(event, options)
    .map(([key, value]) => `${key}=${escapeCefExtension(value)}`)
    .join(' ');
  return `${head}|${extension}`;
}
