import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { secretValues } from '../../src/destinations/destination-config.js';
import type { DestinationConfig } from '../../src/destinations/types.js';
import { MIN_SECRET_FRAGMENT, REDACTED, createSecretScrubber, scrubAndShorten, shorten } from '../../src/secrets/scrub-secrets.js';

/**
 * The scrubber, as a SIEM attacks it: it echoes a credential raw, JSON-escaped (`\uXXXX` of some or
 * all characters, JSON inside JSON), URL-encoded, HTML-escaped or base64'd (standard or URL-safe,
 * at any byte alignment inside a longer base64 text), and the text is cut anywhere (by the SIEM, by
 * a size cap). Whatever is left must not hold MIN_SECRET_FRAGMENT (4) consecutive characters of the
 * secret, in any of those encodings.
 */

/** One piece of an encoded secret: its text, and whether it carries secret content (a character, or a base64 digit of secret bits only). */
interface Piece {
  text: string;
  secret: boolean;
}

/** Characters of text around the echo: none of them occurs in a secret or in any encoding of one. */
const SURROUND = '·—,:()<>|«»~^`';
/** Characters of secrets: letters, digits, punctuation that encodings escape, a space, non-ASCII and a non-BMP character. */
const SECRET_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', ...' -_.!*$&\'"\\/=+?@', 'é', '€', '😀'];

const hex = (n: number, width: number, upper: boolean) => {
  const h = n.toString(16).padStart(width, '0');
  return upper ? h.toUpperCase() : h;
};
const codePoints = (s: string) => [...s];
const unitEscapes = (cp: string, upper: boolean) => cp.split('').map((u) => `\\u${hex(u.charCodeAt(0), 4, upper)}`).join('');
const percent = (cp: string, upper: boolean) => [...Buffer.from(cp, 'utf8')].map((b) => `%${hex(b, 2, upper)}`).join('');

/** Encodings a SIEM may apply; `flags` are random choices (which characters to escape, hex case…). */
const ENCODINGS: Record<string, (secret: string, flags: boolean[], pad: { before: number[]; after: number[] }) => Piece[]> = {
  raw: (s) => codePoints(s).map((text) => ({ text, secret: true })),
  'JSON, every character \\u-escaped': (s, f) => codePoints(s).map((cp, i) => ({ text: unitEscapes(cp, f[i % f.length]!), secret: true })),
  'JSON, some characters \\u-escaped': (s, f) =>
    codePoints(s).map((cp, i) => {
      const escapeIt = f[i % f.length]!;
      const short: Record<string, string> = { '"': '\\"', '\\': '\\\\', '/': escapeIt ? '\\/' : '/' };
      return { text: short[cp] ?? (escapeIt ? unitEscapes(cp, f[(i + 1) % f.length]!) : cp), secret: true };
    }),
  'JSON inside JSON': (s, f) => codePoints(s).map((cp, i) => ({ text: unitEscapes(cp, f[i % f.length]!).replace(/\\/g, '\\\\'), secret: true })),
  'URL-encoded (form: + for space)': (s, f) =>
    codePoints(s).map((cp, i) => ({
      text: cp === ' ' ? (f[i % f.length] ? '+' : '%20') : /[A-Za-z0-9_.!*'~-]/.test(cp) && !f[i % f.length] ? cp : percent(cp, f[(i + 1) % f.length]!),
      secret: true,
    })),
  'HTML character references': (s, f) =>
    codePoints(s).map((cp, i) => ({ text: f[i % f.length] ? `&#x${cp.codePointAt(0)!.toString(16)};` : `&#${cp.codePointAt(0)};`, secret: true })),
  'base64 inside a longer text': (s, _f, pad) => base64Pieces(s, pad, false),
  'base64url inside a longer text': (s, _f, pad) => base64Pieces(s, pad, true),
  'base64, JSON-escaped (\\/)': (s, _f, pad) => base64Pieces(s, pad, false).map((p) => ({ ...p, text: p.text.replace(/\//g, '\\/') })),
  'base64, URL-encoded': (s, f, pad) =>
    base64Pieces(s, pad, false).map((p, i) => ({ ...p, text: p.text.replace(/[+/=]/g, (c) => percent(c, f[i % f.length]!)) })),
};

/** base64 of `before + secret + after`: each digit is a piece, secret when all its 6 bits come from the secret. */
function base64Pieces(secret: string, pad: { before: number[]; after: number[] }, urlSafe: boolean): Piece[] {
  const bytes = Buffer.concat([Buffer.from(pad.before), Buffer.from(secret, 'utf8'), Buffer.from(pad.after)]);
  let b64 = bytes.toString('base64');
  if (urlSafe) b64 = b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const from = pad.before.length * 8;
  const to = from + Buffer.byteLength(secret, 'utf8') * 8;
  return [...b64].map((text, i) => ({ text, secret: i * 6 >= from && i * 6 + 6 <= to }));
}

/** The longest streak of consecutive secret pieces lying whole inside `run` placed at `offset` of the encoded text. */
function secretStreak(pieces: Piece[], offset: number, length: number): number {
  let at = 0;
  let streak = 0;
  let best = 0;
  for (const piece of pieces) {
    const inside = at >= offset && at + piece.text.length <= offset + length;
    streak = inside && piece.secret ? streak + 1 : 0;
    best = Math.max(best, streak);
    at += piece.text.length;
  }
  return best;
}

/** What of the encoded secret survived in `out`: each run of non-surrounding text, with its longest secret streak. */
function leftovers(out: string, pieces: Piece[]): { run: string; streak: number }[] {
  const encoded = pieces.map((p) => p.text).join('');
  const found: { run: string; streak: number }[] = [];
  for (const segment of out.split(REDACTED)) {
    for (const run of segment.split(new RegExp(`[${SURROUND.replace(/[\^\]\\-]/g, '\\$&')}]+`, 'u'))) {
      if (run === '') continue;
      let streak = Number.POSITIVE_INFINITY; // a run that is not a piece of the encoded secret is a failure too
      for (let o = encoded.indexOf(run); o >= 0; o = encoded.indexOf(run, o + 1)) {
        streak = Number.isFinite(streak) ? Math.max(streak, secretStreak(pieces, o, run.length)) : secretStreak(pieces, o, run.length);
      }
      found.push({ run, streak });
    }
  }
  return found;
}

const secretArb = fc
  .array(fc.constantFrom(...SECRET_CHARS), { minLength: MIN_SECRET_FRAGMENT, maxLength: 32 })
  .map((chars) => chars.join(''))
  // A leading scheme word ("Bearer x") is not part of the secret (see secretForms); random secrets do not start with one.
  .filter((s) => !/^(bearer|basic|token|splunk|apikey|api-key|sharedkey|key|digest|hmac|sso-key|ssws)\s/i.test(s));
const surroundArb = fc.array(fc.constantFrom(...SURROUND), { maxLength: 30 }).map((c) => c.join(''));
const padArb = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 5 });

describe('scrubbing a secret echoed in any encoding, cut anywhere', () => {
  for (const [name, encode] of Object.entries(ENCODINGS)) {
    it(`${name}: no ${MIN_SECRET_FRAGMENT} consecutive characters of the secret survive, whatever the cut`, () => {
      fc.assert(
        fc.property(secretArb, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), padArb, padArb, surroundArb, surroundArb, (secret, flags, before, after, head, tail) => {
          const pieces = encode(secret, flags, { before, after });
          const scrubber = createSecretScrubber([secret]);
          const text = head + pieces.map((p) => p.text).join('') + tail;
          for (let cut = 0; cut <= text.length; cut++) {
            for (const part of [text.slice(0, cut), text.slice(cut)]) {
              const out = scrubber.scrub(part);
              for (const left of leftovers(out, pieces)) {
                if (left.streak >= MIN_SECRET_FRAGMENT) {
                  throw new Error(`secret ${JSON.stringify(secret)} left ${JSON.stringify(left.run)} in ${JSON.stringify(out)} (from ${JSON.stringify(part)})`);
                }
              }
              // Shortening comes after scrubbing: it only cuts the scrubbed text, so it cannot bring anything back.
              for (const max of [1, MIN_SECRET_FRAGMENT + 1, Math.max(1, out.length - 1)]) expect(scrubAndShorten(part, scrubber, max)).toBe(shorten(out, max));
            }
          }
        }),
        { numRuns: 60 },
      );
    });
  }

  it('the surrounding text survives untouched', () => {
    fc.assert(
      fc.property(secretArb, surroundArb, surroundArb, (secret, head, tail) => {
        const out = createSecretScrubber([secret]).scrub(`${head}${secret}${tail}`);
        expect(out).toBe(`${head}${REDACTED}${tail}`);
      }),
    );
  });
});

describe('the attack as reproduced, and ordinary text', () => {
  const token = 'LOGSCALE-ingest-4a1f8d2c6e';
  const jsonEscaped = [...token].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`).join('');
  const scrubber = createSecretScrubber([token, 'Bearer HEADER-credential-2e7c5f9a10']);

  it('a JSON-escaped token cut at the 200-character mark leaves nothing of it', () => {
    const body = `{"message":"${'x'.repeat(150)} token ${jsonEscaped}"}`;
    for (let cut = 150; cut <= body.length; cut++) {
      const out = scrubber.scrub(body.slice(0, cut));
      expect(out).not.toMatch(/LOGS|\\u004C\\u004F\\u0047\\u0053/i);
      expect(shorten(JSON.parse(`"${scrubber.scrub(body).slice(12, -2)}"`))).not.toContain('LOGS');
    }
  });

  it('a JSON-escaped secret cut between the two backslashes of an escaped backslash leaves nothing of it', () => {
    // `\AA\A` written as `\\` `\u0041` `A` `\\` `\u0041`, cut after the first backslash: the pairs shift by one.
    const secret = '\\AA\\A';
    const echoed = '\\\\\\u0041A\\\\\\u0041';
    expect(createSecretScrubber([secret]).scrub(echoed.slice(1))).toBe(REDACTED);
  });

  it('a header value is scrubbed without its scheme word, also base64d inside a Basic-like text', () => {
    expect(scrubber.scrub('refused header Bearer HEADER-credential-2e7c5f9a10')).toBe(`refused header Bearer ${REDACTED}`);
    const echoed = Buffer.from('authorization: Bearer HEADER-credential-2e7c5f9a10\r\n').toString('base64');
    expect(scrubber.scrub(`request was ${echoed}`)).not.toContain(Buffer.from('HEADER-credential').toString('base64').slice(0, 8));
  });

  it('the password inside a Basic credential is a secret of its own', () => {
    const basic = `Basic ${Buffer.from('svc-user:pw-9c2e71d4b0').toString('base64')}`;
    expect(createSecretScrubber([basic]).scrub('bad password pw-9c2e71d4b0 for svc-user')).toBe(`bad password ${REDACTED} for svc-user`);
  });

  it('of a PEM private key, the armor stays readable and the key lines go', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----';
    const out = createSecretScrubber([pem]).scrub('TLS: private key does not match: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC');
    expect(out).toBe(`TLS: private key does not match: ${REDACTED}`);
    expect(createSecretScrubber([pem]).scrub('line BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj is bad')).toBe(`line ${REDACTED} is bad`);
  });

  it('words a secret happens to contain stay when no piece of the secret\'s start or end is near them', () => {
    expect(createSecretScrubber(['x9-connector-4kq7']).scrub('Connection test failed: connector offline')).toBe('Connection test failed: connector offline');
  });

  it('a piece at the start or end of the text, or next to an ellipsis, goes', () => {
    const s = createSecretScrubber(['x9-connector-4kq7']);
    expect(s.scrub('token ends in ector-4kq7')).toBe(`token ends in ${REDACTED}`);
    expect(s.scrub('connector-4 was refused')).toBe(`${REDACTED} was refused`);
    expect(s.scrub('token "connect…" refused')).toBe(`token "${REDACTED}…" refused`);
    expect(s.scrub('x9-c')).toBe(REDACTED);
  });

  it('secrets shorter than the minimum fragment are not scrubbed (they would match ordinary words)', () => {
    expect(createSecretScrubber(['abc', undefined, null, '']).scrub('abc abcd')).toBe('abc abcd');
  });

  it('a hostile answer of 64 KiB of backslashes, escapes or percent signs is read in linear time', () => {
    for (const body of ['\\'.repeat(65536), '\\u0041'.repeat(10922), '%41'.repeat(21845), '&#65;'.repeat(13107), '+'.repeat(65536)]) {
      expect(scrubber.scrub(body)).toBe(body);
    }
  });
});

describe('what is secret comes from the destination config\'s secret fields', () => {
  it('every secret field of every type, header values but not header names', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';
    const configs: [DestinationConfig, string[]][] = [
      [{ type: 'SPLUNK', endpoint: 'https://s', token: 'tok-1', tls: { clientKey: key } } as DestinationConfig, ['tok-1', key]],
      [{ type: 'SENTINEL', api: 'DATA_COLLECTOR', workspaceId: 'w', sharedKey: 'c2hhcmVk' } as DestinationConfig, ['c2hhcmVk']],
      [{ type: 'SENTINEL', api: 'LOGS_INGESTION', clientSecret: 'cs-1', clientId: 'c', tenantId: 't' } as DestinationConfig, ['cs-1']],
      [{ type: 'WEBHOOK', endpoint: 'https://w', secret: 'hm-1', headers: [{ name: 'X-Api-Key', value: 'hv-1' }] } as DestinationConfig, ['hm-1', 'hv-1']],
      [{ type: 'CROWDSTRIKE', endpoint: 'https://c', token: 'ls-1' } as DestinationConfig, ['ls-1']],
      [{ type: 'ARCSIGHT', endpoint: 'https://a', token: 'as-1' } as DestinationConfig, ['as-1']],
      [{ type: 'CEF', transport: 'HTTP', endpoint: 'https://c', token: 'cf-1' } as DestinationConfig, ['cf-1']],
      [{ type: 'SYSLOG', host: 'h', tls: { clientKey: key } } as DestinationConfig, [key]],
    ];
    for (const [config, expected] of configs) expect(secretValues(config).sort()).toEqual([...expected].sort());
  });
});

describe('errors as they are logged', () => {
  it('message, stack and causes are scrubbed; type and code kept', async () => {
    const { scrubbedError } = await import('../../src/secrets/scrub-secrets.js');
    const cause = Object.assign(new Error('upstream said Qx7vK2mZ9wR4'), { code: 'EPROTO' });
    const error = new TypeError('bad header Qx7vK2mZ9wR4', { cause });
    const out = scrubbedError(error, createSecretScrubber(['Qx7vK2mZ9wR4']));
    expect(JSON.stringify(out)).not.toContain('Qx7v');
    expect(out).toMatchObject({ type: 'TypeError', message: `bad header ${REDACTED}`, cause: { code: 'EPROTO', message: `upstream said ${REDACTED}` } });
  });
});
