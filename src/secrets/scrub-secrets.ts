/**
 * Removing credentials from text that leaves the delivery path (SIEM error texts, `lastError`, dead
 * letters, delivery attempts, connection-test results, logs). A leaf module: destinations, delivery,
 * the store and the logger may all import it.
 *
 * What counts as a secret is decided elsewhere, once (the destination config's secret fields, see
 * `secretValues` in destinations/destination-config.ts); this module only removes given values.
 */

/** What replaces a secret in anything shown to people. */
export const REDACTED = '[REDACTED]';

/**
 * The shortest piece of a secret that is removed. A secret shorter than this is not scrubbed at all
 * (it would match ordinary words); any run of at least this many consecutive characters of a secret
 * (or of one of its base64 forms), in any encoding below, is removed, wherever it stands: a SIEM or a
 * size cap that cut an echoed credential cannot leave its first or last characters behind.
 */
export const MIN_SECRET_FRAGMENT = 4;

/** Error texts shown to people are shortened to this many characters (after scrubbing). */
export const MAX_ERROR_TEXT_CHARS = 200;

/** Removes secrets from text. Build one per set of secrets and reuse it: building it costs more than using it. */
export interface SecretScrubber {
  /** `text` with every secret (in every encoding handled, whole or in part) replaced by `[REDACTED]`. */
  scrub(text: string): string;
}

/** Authorization schemes whose name is not secret: `Bearer abc…` is scrubbed as `abc…`, so "Bearer" stays readable. */
const AUTH_SCHEME = /^(?:bearer|basic|token|splunk|apikey|api-key|sharedkey|key|digest|hmac|sso-key|ssws)\s+(\S.*)$/i;
const PEM_ARMOR = /^-----(?:BEGIN|END) [^-]+-----$/;
const PEM_HEADER = /^[A-Za-z-]+:\s/;

/**
 * The strings whose fragments are removed for one secret value: the credential itself (without an
 * auth scheme name or PEM armor) and its base64 encodings (standard and URL-safe) at the three byte
 * alignments it can have inside a longer base64 text (e.g. `Authorization: Basic` of `user:secret`,
 * or a SIEM that base64-encodes the request it quotes), each trimmed to the characters that depend on
 * the secret alone.
 */
function secretForms(value: string): string[] {
  const bases = new Set<string>();
  let credential = value;
  const scheme = AUTH_SCHEME.exec(value);
  if (scheme && scheme[1]!.length >= MIN_SECRET_FRAGMENT) credential = scheme[1]!;
  if (/-----BEGIN [^-]+-----/.test(credential)) {
    const body = credential
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !PEM_ARMOR.test(l) && !PEM_HEADER.test(l));
    if (body.length > 0) credential = body.join('\n');
    // Each line is a secret of its own too: a text may quote one line, or join the lines differently.
    for (const line of body) bases.add(line);
  }
  bases.add(credential);
  if (scheme && /^basic$/i.test(value.split(/\s/, 1)[0]!)) {
    // Basic credentials: the password inside base64("user:password") is a secret of its own.
    const decoded = Buffer.from(credential, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0 && decoded.length - colon - 1 >= MIN_SECRET_FRAGMENT) bases.add(decoded.slice(colon + 1));
  }
  const forms = new Set<string>(bases);
  for (const base of bases) {
    const bytes = Buffer.from(base, 'utf8');
    for (let align = 0; align < 3; align++) {
      const b64 = Buffer.concat([Buffer.alloc(align), bytes]).toString('base64');
      // Character i covers bits [6i, 6i + 6); the secret covers bits [8·align, 8·(align + n)).
      const from = Math.ceil((8 * align) / 6);
      const to = Math.floor((8 * (align + bytes.length)) / 6);
      const inner = b64.slice(from, to);
      forms.add(inner);
      forms.add(inner.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return [...forms].filter((f) => f.length >= MIN_SECRET_FRAGMENT);
}

/** A decoded reading of a text: one entry per UTF-16 code unit, with the span of the original text it came from. */
interface View {
  units: string[];
  starts: number[];
  ends: number[];
}

interface DecodeOptions {
  /** Read `+` as a space (form/query encoding) instead of a plus sign. */
  plusAsSpace: boolean;
  /**
   * `pairs`: one level of JSON/JS escaping (`\\` is a backslash, so `\\n` is a backslash and an n).
   * `collapse`: any depth of escaping (`\\\\u0041` of JSON inside JSON is an `A`).
   */
  backslashes: 'pairs' | 'collapse';
  /**
   * With `pairs`: read a backslash at the very start of the text as the second half of an escaped
   * backslash (`\\`) whose first half a cut removed, so the pairs after it line up as they did
   * before the cut.
   */
  cutPair?: boolean;
}

const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', "'": "'", '/': '/', '\\': '\\', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const HTML_NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const HEX = /^[0-9a-fA-F]+$/;
const INCOMPLETE_ESCAPE_AT_END = /^(?:\\+(?:u[0-9a-fA-F]{0,3}|x[0-9a-fA-F]?)?|%[0-9a-fA-F]?|&#?[xX]?[0-9a-fA-F]{0,6})$/;

/**
 * Reads `text` with every escape a SIEM may have applied to an echoed credential decoded: JSON and
 * JS string escapes (`\uXXXX` in either case, `\xHH`, `\n`, `\"`, `\/`…), URL percent-encoding of
 * UTF-8 (upper or lower hex; `+` as space when asked), and HTML character references.
 */
function decodeView(text: string, options: DecodeOptions): View {
  const view: View = { units: [], starts: [], ends: [] };
  const push = (decoded: string, start: number, end: number) => {
    for (const unit of decoded) {
      // A code point outside the BMP is two code units, both from the same span.
      for (let k = 0; k < unit.length; k++) {
        view.units.push(unit[k]!);
        view.starts.push(start);
        view.ends.push(end);
      }
    }
  };
  let i = 0;
  if (options.cutPair && text[0] === '\\') {
    push('\\', 0, 1);
    i = 1;
  }
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\') {
      let j = i;
      while (text[j] === '\\') j++;
      const run = j - i;
      if (options.backslashes === 'pairs') {
        // Each `\\` is one backslash; an odd one out starts an escape.
        for (let p = 0; p + 1 < run; p += 2) push('\\', i + p, i + p + 2);
        if (run % 2 === 0) {
          i = j;
          continue;
        }
        i = j - 1;
      }
      const escaped = readEscape(text, j);
      if (escaped) {
        push(escaped.decoded, i, escaped.end);
        i = escaped.end;
      } else {
        // Backslashes that escape nothing are themselves (one pass over the run: no rescanning).
        for (let p = i; p < j; p++) push('\\', p, p + 1);
        i = j;
      }
      continue;
    }
    if (c === '%' && isHexAt(text, i + 1, 2)) {
      i = readPercentRun(text, i, push);
      continue;
    }
    if (c === '&') {
      const entity = /^&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos));/.exec(text.slice(i, i + 12));
      if (entity) {
        const code = entity[1] !== undefined ? Number(entity[1]) : entity[2] !== undefined ? Number.parseInt(entity[2], 16) : undefined;
        const decoded = code === undefined ? HTML_NAMED[entity[3]!]! : code <= 0x10ffff ? String.fromCodePoint(code) : undefined;
        if (decoded !== undefined) {
          push(decoded, i, i + entity[0].length);
          i += entity[0].length;
          continue;
        }
      }
    }
    push(c === '+' && options.plusAsSpace ? ' ' : c, i, i + 1);
    i += 1;
  }
  return view;
}

function isHexAt(text: string, at: number, length: number): boolean {
  return at + length <= text.length && HEX.test(text.slice(at, at + length));
}

/** The escape whose letter is at `at` (just after its backslashes), or undefined. */
function readEscape(text: string, at: number): { decoded: string; end: number } | undefined {
  const letter = text[at];
  if (letter === undefined) return undefined;
  if (letter === 'u' && isHexAt(text, at + 1, 4)) return { decoded: String.fromCharCode(Number.parseInt(text.slice(at + 1, at + 5), 16)), end: at + 5 };
  if (letter === 'x' && isHexAt(text, at + 1, 2)) return { decoded: String.fromCharCode(Number.parseInt(text.slice(at + 1, at + 3), 16)), end: at + 3 };
  const simple = SIMPLE_ESCAPES[letter];
  return simple === undefined ? undefined : { decoded: simple, end: at + 1 };
}

/** Decodes a run of `%HH` escapes starting at `start` as UTF-8 (a byte that is not part of valid UTF-8 reads as Latin-1). */
function readPercentRun(text: string, start: number, push: (decoded: string, start: number, end: number) => void): number {
  const bytes: { value: number; start: number }[] = [];
  let i = start;
  while (text[i] === '%' && isHexAt(text, i + 1, 2)) {
    bytes.push({ value: Number.parseInt(text.slice(i + 1, i + 3), 16), start: i });
    i += 3;
  }
  let k = 0;
  while (k < bytes.length) {
    const lead = bytes[k]!.value;
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead < 0xe0 ? 2 : lead >= 0xe0 && lead < 0xf0 ? 3 : lead >= 0xf0 && lead < 0xf5 ? 4 : 0;
    const sequence = bytes.slice(k, k + length);
    const valid = length > 0 && sequence.length === length && sequence.slice(1).every((b) => (b.value & 0xc0) === 0x80);
    const decoded = valid ? Buffer.from(sequence.map((b) => b.value)).toString('utf8') : '';
    if (valid && !decoded.includes('\ufffd')) {
      const end = k + length < bytes.length ? bytes[k + length]!.start : i;
      push(decoded, bytes[k]!.start, end);
      k += length;
    } else {
      push(String.fromCharCode(lead), bytes[k]!.start, bytes[k]!.start + 3);
      k += 1;
    }
  }
  return i;
}

function rawView(text: string): View {
  const units = [...Array(text.length).keys()];
  return { units: text.split(''), starts: units, ends: units.map((u) => u + 1) };
}

/** The fragments of a set of secrets: every run of {@link MIN_SECRET_FRAGMENT} characters of every form, and which begin or end a form. */
interface Fragments {
  all: Set<string>;
  /** First {@link MIN_SECRET_FRAGMENT} characters of a form. */
  heads: Set<string>;
  /** Last {@link MIN_SECRET_FRAGMENT} characters of a form. */
  tails: Set<string>;
}

/**
 * Builds a scrubber for these secret values (undefined and empty ones are ignored; values shorter
 * than {@link MIN_SECRET_FRAGMENT} characters cannot be told apart from ordinary text and are not
 * scrubbed).
 *
 * Looked for in the raw text and in every decoded reading of it (see `decodeView`): runs of
 * consecutive pieces (of {@link MIN_SECRET_FRAGMENT} characters) of a secret or of one of its base64
 * forms. A run is removed when it holds the beginning or the end of a form (so the whole secret, and
 * every prefix or suffix of at least {@link MIN_SECRET_FRAGMENT} characters a cut left behind,
 * wherever it stands), or when it touches a truncation point: the start or end of the text, or an
 * ellipsis (`…`, `...`) a SIEM put where it cut. Other runs, inside ordinary text, are words that a
 * secret happens to contain ("connect" in "my-connector-key") and stay. Neighbouring removals become
 * one `[REDACTED]`. Scrub first, shorten after ({@link scrubAndShorten}).
 *
 * @example
 * ```ts
 * const scrubber = createSecretScrubber(['LOGSCALE-ingest-4a1f8d2c6e']);
 * scrubber.scrub('{"message":"bad token \\u004cOGSCALE-ingest-4a1f"}'); // '{"message":"bad token [REDACTED]"}'
 * ```
 */
export function createSecretScrubber(secrets: Iterable<string | undefined | null>): SecretScrubber {
  const fragments: Fragments = { all: new Set(), heads: new Set(), tails: new Set() };
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_FRAGMENT) continue;
    for (const form of secretForms(secret)) {
      for (let k = 0; k + MIN_SECRET_FRAGMENT <= form.length; k++) fragments.all.add(form.slice(k, k + MIN_SECRET_FRAGMENT));
      fragments.heads.add(form.slice(0, MIN_SECRET_FRAGMENT));
      fragments.tails.add(form.slice(-MIN_SECRET_FRAGMENT));
    }
  }
  if (fragments.all.size === 0) return { scrub: (text) => text };
  return {
    scrub(text: string): string {
      if (text.length < MIN_SECRET_FRAGMENT) return text;
      const spans: [number, number][] = [];
      const views = [rawView(text)];
      if (/[\\%&]/.test(text)) {
        views.push(decodeView(text, { plusAsSpace: false, backslashes: 'pairs' }));
        if (text.includes('\\')) views.push(decodeView(text, { plusAsSpace: false, backslashes: 'collapse' }));
        // A text cut inside an escaped backslash starts with its second half: the pairs after it shift by one.
        if (text[0] === '\\') views.push(decodeView(text, { plusAsSpace: false, backslashes: 'pairs', cutPair: true }));
      }
      if (text.includes('+')) views.push(decodeView(text, { plusAsSpace: true, backslashes: 'pairs' }));
      for (const view of views) collectSpans(view, fragments, spans);
      if (spans.length === 0) return text;
      return replaceSpans(text, spans);
    },
  };
}

/** An ellipsis right after a run (a SIEM cut there). */
const CUT_AFTER = /^\s?(?:…|\.\.\.|\[truncated\]|\(truncated\))/i;
/** An ellipsis right before a run. */
const CUT_BEFORE = /(?:…|\.\.\.)\s?$/;

/** Adds the original spans of the runs of secret fragments in `view` that are to be removed. */
function collectSpans(view: View, fragments: Fragments, spans: [number, number][]): void {
  const { units, starts, ends } = view;
  const n = MIN_SECRET_FRAGMENT;
  let run: { first: number; last: number; anchored: boolean } | undefined;
  const close = () => {
    if (!run) return;
    const touchesCut =
      run.first === 0 ||
      run.last === units.length - 1 ||
      CUT_AFTER.test(units.slice(run.last + 1, run.last + 15).join('')) ||
      CUT_BEFORE.test(units.slice(Math.max(0, run.first - 4), run.first).join(''));
    if (run.anchored || touchesCut) spans.push([starts[run.first]!, ends[run.last]!]);
    run = undefined;
  };
  for (let k = 0; k + n <= units.length; k++) {
    let gram = units[k]!;
    for (let m = 1; m < n; m++) gram += units[k + m]!;
    if (!fragments.all.has(gram)) continue;
    const anchored = fragments.heads.has(gram) || fragments.tails.has(gram);
    if (run && k <= run.last + 1) {
      run.last = Math.max(run.last, k + n - 1);
      run.anchored ||= anchored;
      continue;
    }
    close();
    run = { first: k, last: k + n - 1, anchored };
  }
  close();
}

/** Replaces the (possibly overlapping) spans with `[REDACTED]`, one per group of touching spans. */
function replaceSpans(text: string, spans: [number, number][]): string {
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let out = '';
  let at = 0;
  let k = 0;
  while (k < spans.length) {
    const start = spans[k]![0];
    let end = spans[k]![1];
    k++;
    while (k < spans.length && spans[k]![0] <= end) end = Math.max(end, spans[k++]![1]);
    out += text.slice(at, start) + REDACTED;
    at = end;
  }
  // A cut inside an escape right after a removed secret leaves a fragment like `\u00` or `%4`: it goes too.
  if (at < text.length && INCOMPLETE_ESCAPE_AT_END.test(text.slice(at))) return out;
  return out + text.slice(at);
}

/**
 * One-off form of {@link createSecretScrubber}.
 *
 * @example
 * ```ts
 * scrubSecrets('Invalid token Splunk abc123', ['abc123']); // "Invalid token Splunk [REDACTED]"
 * ```
 */
export function scrubSecrets(text: string, secrets: Iterable<string | undefined | null>): string {
  return createSecretScrubber(secrets).scrub(text);
}

/**
 * The one truncation helper for error texts: one line, at most `max` characters (an ellipsis marks a
 * cut). Give it only scrubbed text ({@link scrubAndShorten}): a cut through an unscrubbed secret would
 * leave a piece too short to be recognised afterwards.
 *
 * @example
 * ```ts
 * shorten('a\nb'); // "a b"
 * ```
 */
export function shorten(text: string, max: number = MAX_ERROR_TEXT_CHARS): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/**
 * Scrubs, then shortens: what every error text goes through before it is stored, published or logged.
 *
 * @example
 * ```ts
 * scrubAndShorten(result.message, scrubber, 1000);
 * ```
 */
export function scrubAndShorten(text: string, scrubber: SecretScrubber, max: number = MAX_ERROR_TEXT_CHARS): string {
  return shorten(scrubber.scrub(text), max);
}

/**
 * An error as it may be logged: its type, code, message and stack (and its cause's), scrubbed.
 *
 * @example
 * ```ts
 * log.error({ err: scrubbedError(error, scrubber) }, 'delivery step failed');
 * ```
 */
export function scrubbedError(error: unknown, scrubber: SecretScrubber, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.constructor?.name ?? error.name,
    message: scrubber.scrub(error.message),
    ...(error.stack ? { stack: scrubber.scrub(error.stack) } : {}),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(error.cause !== undefined && depth < 3 ? { cause: scrubbedError(error.cause, scrubber, depth + 1) } : {}),
  };
}
