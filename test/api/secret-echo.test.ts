import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegration, databaseFiles, getIntegration, testIntegration } from '../support/api.js';
import { ATTEMPTS_SUBSCRIPTION, connectWs, deadLetters, ingest, makeEvent, waitFor, type Subscription, type WsClient } from '../support/delivery.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startHttpReceiver, type HttpReceiver, type ReceivedRequest } from '../support/http-receiver.js';

/**
 * The attack of issue 8 (item 4), end to end: a hostile SIEM quotes the credential it received, JSON-escaped
 * (`\u004C…`), URL-encoded (`%4C…`) or base64'd, placed so that it straddles the 200-character cut of the error
 * text. Nothing of the LogScale token or of the webhook header value, whole or any 4 consecutive characters, in
 * any of those encodings, may appear in testSiemIntegration's message and steps, lastError, deadLetters.error,
 * the deliveryAttempts stream, or the bytes of the database file and its write-ahead log.
 */

const LOGSCALE_TOKEN = 'LSTK-9q4a1f8d2c6e7b3xw5';
const HEADER_VALUE = 'whk-hdr-5c8e1a7d3f9b2e6a';
const QUOTE_MARK = ' quoted ';
const ENCODINGS = ['json', 'url', 'base64'] as const;
type Encoding = (typeof ENCODINGS)[number];
/**
 * Filler before the quote, per encoding, so that the encoded secret runs across character 200 of the SIEM's error
 * text (as the gateway reads it: JSON escapes decoded), with several characters of the secret before the cut:
 * 6 characters JSON-escaped, 4 URL-encoded, 9 bytes base64'd (after the 30 digits of "authorization: Bearer ").
 */
const FILLER: Record<Encoding, string> = { json: '~'.repeat(199 - 6 - 8), url: '~'.repeat(199 - 12 - 8), base64: '~'.repeat(199 - 12 - 8 - 30) };

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0').toUpperCase();
/** How the hostile SIEM writes the credential inside its JSON answer (the answer body is built by hand, so `\u` escapes stay escapes). */
const ENCODE: Record<Encoding, (secret: string) => string> = {
  json: (s) => [...s].map((c) => `\\u${hex(c.charCodeAt(0), 4)}`).join(''),
  url: (s) => [...Buffer.from(s)].map((b) => `%${hex(b, 2)}`).join(''),
  base64: (s) => Buffer.from(`authorization: Bearer ${s}`).toString('base64'),
};

/**
 * Every 4-character window of the secret, as it would read in each encoding (raw; `\uXXXX` in both cases;
 * `%XX` in both cases; the base64 digits that depend on the secret alone, at the 3 byte alignments, standard
 * and URL-safe).
 */
function fragments(secret: string, size = 4): string[] {
  const out = new Set<string>();
  for (let i = 0; i + size <= secret.length; i++) {
    const w = secret.slice(i, i + size);
    out.add(w);
    for (const f of [ENCODE.json(w), ENCODE.url(w)]) {
      out.add(f);
      out.add(f.toLowerCase());
    }
  }
  const bytes = Buffer.from(secret);
  for (let align = 0; align < 3; align++) {
    const b64 = Buffer.concat([Buffer.alloc(align), bytes]).toString('base64');
    const inner = b64.slice(Math.ceil((8 * align) / 6), Math.floor((8 * (align + bytes.length)) / 6));
    for (const form of [inner, inner.replace(/\+/g, '-').replace(/\//g, '_')]) {
      for (let i = 0; i + size <= form.length; i++) out.add(form.slice(i, i + size));
    }
  }
  return [...out];
}

const SECRETS: [string, string][] = [
  ['LogScale token', LOGSCALE_TOKEN],
  ['webhook header value', HEADER_VALUE],
];
/** Which fragments of which secret occur in `text` (none, we hope). */
function leaks(text: string, size = 4): string[] {
  return SECRETS.flatMap(([name, secret]) => fragments(secret, size).filter((f) => text.includes(f)).map((f) => `${name}: ${f}`));
}

/** The hostile SIEM: answers every request 400 and quotes the credential in the encoding its path names. */
function hostile(req: ReceivedRequest) {
  const encoding = req.url.split('/')[1] as Encoding;
  const credential = req.url.includes('/hec') ? (req.headers.authorization ?? '').replace(/^Bearer /, '') : String(req.headers['x-api-key'] ?? '');
  const quote = `${FILLER[encoding]}${QUOTE_MARK}${ENCODE[encoding](credential)} was not accepted`;
  // LogScale answers HEC-style (code 6: invalid data format); the webhook receiver with a plain JSON error.
  return { status: 400, body: req.url.includes('/hec') ? `{"text":"${quote}","code":6}` : `{"message":"${quote}"}` };
}

let g: TestGateway;
let siem: HttpReceiver;
let ws: WsClient;
let attempts: Subscription;
const ids: Record<string, string> = {};

beforeAll(async () => {
  [g, siem] = await Promise.all([startTestGateway({ env: { SIEMGATE_RETRY_BASE_MS: '20' } }), startHttpReceiver(hostile)]);
  ws = connectWs(g.url);
  attempts = ws.subscribe(ATTEMPTS_SUBSCRIPTION, {}, 'deliveryAttempts');
  for (const encoding of ENCODINGS) {
    const logscale = await createIntegration(g, {
      name: `LogScale echoing ${encoding}`,
      batching: { flushIntervalSeconds: 1 },
      config: { crowdstrike: { endpoint: `${siem.url}/${encoding}/api/v1/ingest/hec`, token: LOGSCALE_TOKEN } },
    });
    const webhook = await createIntegration(g, {
      name: `Webhook echoing ${encoding}`,
      batching: { flushIntervalSeconds: 1 },
      config: { webhook: { endpoint: `${siem.url}/${encoding}/hook`, headers: [{ name: 'X-Api-Key', value: HEADER_VALUE }] } },
    });
    ids[`logscale ${encoding}`] = logscale.id;
    ids[`webhook ${encoding}`] = webhook.id;
  }
});
afterAll(async () => {
  await ws?.dispose();
  await g?.stop({ removeDatabase: true });
  await siem?.close();
});

describe('a SIEM that quotes the credential, encoded, across the 200-character cut', () => {
  it('really received the credentials and quoted them (the check below can see such a quote)', async () => {
    const reply = hostile({ method: 'POST', url: '/json/api/v1/ingest/hec', headers: { authorization: `Bearer ${LOGSCALE_TOKEN}` }, body: Buffer.alloc(0) });
    expect(leaks(String(reply.body))).not.toEqual([]);
    expect(leaks(String(hostile({ method: 'POST', url: '/url/hook', headers: { 'x-api-key': HEADER_VALUE }, body: Buffer.alloc(0) }).body))).not.toEqual([]);
    expect(leaks(String(hostile({ method: 'POST', url: '/base64/hook', headers: { 'x-api-key': HEADER_VALUE }, body: Buffer.alloc(0) }).body))).not.toEqual([]);
  });

  it.each(Object.keys({ 'logscale json': 1, 'logscale url': 1, 'logscale base64': 1, 'webhook json': 1, 'webhook url': 1, 'webhook base64': 1 }))(
    '%s: testSiemIntegration reports the refusal, its message and steps hold nothing of the credential',
    async (name) => {
      const sent = siem.requests.length;
      const result = await testIntegration(g, ids[name]!);
      const request = siem.requests.slice(sent).at(-1)!;
      expect(request.headers.authorization === `Bearer ${LOGSCALE_TOKEN}` || request.headers['x-api-key'] === HEADER_VALUE).toBe(true);
      expect(result.success).toBe(false);
      expect(result.message).toContain('HTTP 400');
      expect(result.message).toContain(QUOTE_MARK.trim());
      expect(leaks(JSON.stringify(result))).toEqual([]);
      const after = await getIntegration(g, ids[name]!);
      expect(after.lastError).toContain(QUOTE_MARK.trim());
      expect(leaks(after.lastError)).toEqual([]);
    },
  );

  it('delivery: lastError, deadLetters.error and every deliveryAttempts message hold nothing of the credentials', async () => {
    await ingest(g.url, [makeEvent()]);
    for (const [name, id] of Object.entries(ids)) {
      const [letter] = await waitFor(async () => {
        const letters = await deadLetters(g, id);
        return letters.length > 0 ? letters : undefined;
      }, { message: `${name}: no dead letter` });
      expect(letter.httpStatus).toBe(400);
      expect(letter.error).toContain(QUOTE_MARK.trim());
      expect({ name, leaks: leaks(letter.error) }).toEqual({ name, leaks: [] });
      const integration = await getIntegration(g, id);
      expect({ name, leaks: leaks(String(integration.lastError)) }).toEqual({ name, leaks: [] });
      await attempts.waitForValue((a: any) => a.integrationId === id && !a.success);
    }
    const failed = attempts.values.filter((a: any) => !a.success);
    expect(failed.length).toBeGreaterThanOrEqual(Object.keys(ids).length);
    for (const attempt of failed) expect(attempt.error).toContain(QUOTE_MARK.trim());
    expect(leaks(JSON.stringify(attempts.results.map((r) => r.data?.deliveryAttempts?.error ?? r)))).toEqual([]);
  });

  it('the database file and its write-ahead log hold nothing of the credentials after the errors were stored', async () => {
    await g.stop();
    const bytes = Buffer.concat(databaseFiles(g).map((f) => f.bytes));
    const text = bytes.toString('latin1');
    // The errors are there (the search looks in the right place)…
    const quoted = [...text.matchAll(new RegExp(`${QUOTE_MARK}(.{0,40})`, 'g'))].map((m) => m[1]!);
    expect(quoted.length).toBeGreaterThan(0);
    // …and what follows each quote mark is not the credential, in any encoding, not even 4 characters of it;
    expect(quoted.flatMap((q) => leaks(q))).toEqual([]);
    // anywhere else in the files, no 6 consecutive characters of it either (shorter windows would match random bytes).
    expect(leaks(text, 6)).toEqual([]);
  });
});
