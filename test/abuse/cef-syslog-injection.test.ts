import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStreamReceiver, startUdpReceiver, type SyslogReceiver } from '../support/syslog-receivers.js';
import { postEvents, sleep } from '../support/fault-kit.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { parseCef, parseRfc3164Message, parseRfc5424, SpecViolation, type CefRecord } from '../support/spec-parsers.js';

/**
 * CEF and syslog injection: events whose fields carry pipes, backslashes, `=`, CR/LF, forged `CEF:0|` headers, forged
 * syslog PRIs (`<13>`), extension keys (`cs1=forged`) and odd unicode are delivered through real SYSLOG and CEF
 * integrations (TCP with RFC 6587 octet counting, UDP, and CEF over HTTP) to real receivers. Every event must arrive
 * as exactly ONE frame/line, parse with strict spec parsers (test/support/spec-parsers.ts, not our formatter), and
 * give back every hostile value as data: extension values exactly, header fields exactly except that line ends
 * become a space (the documented, lossy header rule: CEF defines no newline escape in the header).
 */

const CUSTOMER = 'cust_injection';

/** Hostile values, each aimed at one way of splitting or forging a record. */
const HOSTILE = {
  pipes: 'evil|name|CEF:0|Fake|Hdr|1|x|y|10|src=6.6.6.6',
  backslashes: 'trailing backslash \\',
  escapes: 'already \\| escaped \\= and \\\\ and \\n not a newline',
  equals: 'a=b c=d cs1=forged cs1Label=Forged',
  crlf: 'line one\r\nCEF:0|Injected|Product|1|2|Injected event|10|src=6.6.6.6\r\nline three',
  lf: 'first\nsecond\n\n',
  cr: 'over\rwrite',
  fakePri: '<13>Jan  1 00:00:00 evilhost forged: CEF:0|Forged|x|1|1|forged|10|',
  fakePri5424: '<13>1 2026-01-01T00:00:00Z evilhost app - - - forged message',
  octetCount: '42 <13>1 - - - - - - smuggled frame',
  unicode: 'ünïcödé 🔥 \u2028 line-sep \u0085 nel \u200b zwsp \u202e rtl \ufeff bom',
  mixed: '|\\=\r\n=|\\',
  controls: 'esc \u001b[31mred\u001b[0m vt \u000b ff \u000c bel \u001b]0;title\u0007 bs \u0008 del \u007f tab \t',
} as const;

interface Expectation {
  id: string;
  /** Header fields after the documented line-end rule. */
  name: string;
  signatureId: string;
  /** Extension values, exactly. */
  ext: Record<string, string>;
}

/** Documented: control characters other than TAB (and CR/LF, escaped as \r/\n in values) and DEL become `\u001b`-style text. */
const controlText = (v: string) => v.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const headerForm = (v: string) => controlText(v.replace(/\r\n|[\r\n]/g, ' '));

/** One event per hostile value, with that value in header fields (name, first rule id) and in extension fields. */
function hostileEvents(): { events: Record<string, unknown>[]; expected: Map<string, Expectation> } {
  const events: Record<string, unknown>[] = [];
  const expected = new Map<string, Expectation>();
  for (const [label, value] of Object.entries(HOSTILE)) {
    const id = randomUUID();
    const event = {
      id,
      type: `injection.${label}`,
      severity: 'HIGH',
      customerId: CUSTOMER,
      name: value,
      ruleIds: [`rule ${value}`, 'second|rule'],
      families: [value, 'f=2'],
      installationId: `inst ${value}`,
      agentId: `agent ${value}`,
      promptHash: value,
      msspId: `mssp ${value}`,
      outcome: value.slice(0, 64),
      promptLength: 42,
      data: { message: `msg ${value}` },
    };
    events.push(event);
    expected.set(id, {
      id,
      name: headerForm(value),
      signatureId: headerForm(`rule ${value}`),
      ext: Object.fromEntries(
        Object.entries({
          externalId: id,
          src: `inst ${value}`,
          suser: `agent ${value}`,
          cs1: value,
          cs2: `rule ${value},second|rule`,
          cs3: `${value},f=2`,
          cs5: `mssp ${value}`,
          cs6: CUSTOMER,
          cn1: '42',
          outcome: value.slice(0, 64),
          msg: `msg ${value}`,
        }).map(([k, v]) => [k, controlText(v)]),
      ),
    });
  }
  return { events, expected };
}

let g: TestGateway;
let syslogTcp: SyslogReceiver;
let syslogUdp: SyslogReceiver;
let cefTcp: SyslogReceiver;
let cefUdp: SyslogReceiver;
let cefHttp: HttpReceiver;
let sent: ReturnType<typeof hostileEvents>;

beforeAll(async () => {
  [syslogTcp, syslogUdp, cefTcp, cefUdp, cefHttp] = await Promise.all([startStreamReceiver(), startUdpReceiver(), startStreamReceiver(), startUdpReceiver(), startHttpReceiver()]);
  g = await startTestGateway();
  const batching = { flushIntervalSeconds: 1, batchSize: 100 };
  for (const [name, config] of [
    ['syslog tcp rfc5424', { syslog: { host: '127.0.0.1', port: syslogTcp.port, protocol: 'TCP', format: 'RFC5424', facility: 'local4' } }],
    ['syslog udp rfc3164', { syslog: { host: '127.0.0.1', port: syslogUdp.port, protocol: 'UDP', format: 'RFC3164', facility: 'auth' } }],
    ['cef tcp', { cef: { transport: 'TCP', host: '127.0.0.1', port: cefTcp.port, facility: 'local7' } }],
    ['cef udp', { cef: { transport: 'UDP', host: '127.0.0.1', port: cefUdp.port } }],
    ['cef http', { cef: { transport: 'HTTP', endpoint: `${cefHttp.url}/cef`, token: 'cef-token' } }],
  ] as const) {
    const res = await g.gql('mutation($input: CreateSiemIntegrationInput!) { createSiemIntegration(input: $input) { id } }', { input: { name, customerId: CUSTOMER, config, batching } });
    expect(res.errors, `${name}: ${JSON.stringify(res.errors)}`).toBeUndefined();
  }
  sent = hostileEvents();
  // Half through the mutation, half through REST.
  const half = Math.ceil(sent.events.length / 2);
  const viaGql = await g.gql('mutation($events: [SecurityEventInput!]!) { ingestEvents(events: $events) { accepted } }', { events: sent.events.slice(0, half) });
  expect(viaGql.errors, JSON.stringify(viaGql.errors)).toBeUndefined();
  expect((await postEvents(g.url, sent.events.slice(half))).status).toBe(202);
  const n = sent.events.length;
  await Promise.all([syslogTcp.waitForFrames(n, 10_000), syslogUdp.waitForFrames(n, 10_000), cefTcp.waitForFrames(n, 10_000), cefUdp.waitForFrames(n, 10_000)]);
  await cefHttp.waitForRequests(1, 10_000);
  await sleep(500); // anything extra (a split record) would have arrived by now
});
afterAll(async () => {
  await g?.stop({ removeDatabase: true });
  await Promise.all([syslogTcp, syslogUdp, cefTcp, cefUdp, cefHttp].map((r) => r?.close()));
});

/** Checks one CEF record against what was sent; returns its event id. */
function checkRecord(cef: CefRecord, where: string): string {
  const id = cef.extension.get('externalId');
  const want = id ? sent.expected.get(id) : undefined;
  expect(want, `${where}: a record that is none of the sent events: ${JSON.stringify(cef).slice(0, 300)}`).toBeDefined();
  expect(cef.version).toBe('0');
  expect(cef.name, `${where}: name`).toBe(want!.name);
  expect(cef.signatureId, `${where}: signature id`).toBe(want!.signatureId);
  expect(cef.severity).toBe('7'); // HIGH
  for (const [k, v] of Object.entries(want!.ext)) expect(cef.extension.get(k), `${where}: extension ${k}`).toBe(v);
  return id!;
}

function expectExactlyOnce(ids: string[], where: string) {
  expect(ids.length, `${where}: ${ids.length} records for ${sent.events.length} events`).toBe(sent.events.length);
  expect(new Set(ids).size, `${where}: an event arrived twice`).toBe(sent.events.length);
  for (const e of sent.events) expect(ids, where).toContain(e.id);
}

describe('CEF and syslog injection', () => {
  it.each([
    ['SYSLOG over TCP (RFC 5424, octet counting)', () => syslogTcp, parseRfc5424, 20],
    ['SYSLOG over UDP (RFC 3164)', () => syslogUdp, parseRfc3164Message, 4],
    ['CEF over TCP (octet counting)', () => cefTcp, parseRfc5424, 23],
    ['CEF over UDP', () => cefUdp, parseRfc5424, undefined],
  ] as const)('%s: one frame per event, each one record with every hostile value intact', (where, receiver, parseSyslog, facility) => {
    const rx = receiver();
    expect(rx.errors, `${where}: framing errors`).toEqual([]);
    const ids: string[] = [];
    for (const frame of rx.frames) {
      const text = frame.bytes.toString('utf8');
      expect(frame.bytes.includes(0x0a) || frame.bytes.includes(0x0d), `${where}: raw CR/LF in a frame: ${JSON.stringify(text.slice(0, 200))}`).toBe(false);
      expect([...frame.bytes].filter((b) => (b < 0x20 && b !== 0x09) || b === 0x7f), `${where}: raw control bytes in a frame`).toEqual([]);
      let cef: CefRecord;
      try {
        // For RFC 3164 the default (parseRfc5424) would throw; each receiver gets the format it was configured with.
        const syslog = (parseSyslog as (t: string) => ReturnType<typeof parseRfc5424>)(text);
        if (facility !== undefined) expect(syslog.facility, `${where}: facility`).toBe(facility);
        expect(syslog.severity, `${where}: syslog severity of a HIGH event`).toBe(3);
        cef = parseCef(syslog.msg);
      } catch (err) {
        if (err instanceof SpecViolation) throw new Error(`${where}: ${err.message}\nframe: ${JSON.stringify(text)}`);
        throw err;
      }
      ids.push(checkRecord(cef, where));
    }
    expectExactlyOnce(ids, where);
  });

  it('CEF over HTTP: one line per event, each one record with every hostile value intact', () => {
    const lines: string[] = [];
    for (const req of cefHttp.requests) {
      expect(req.headers.authorization).toBe('Bearer cef-token');
      const body = req.body.toString('utf8');
      expect(body.endsWith('\n'), 'the body ends with a line end').toBe(true);
      // A line is one record: split on LF only, and nothing may hide a CR.
      for (const line of body.slice(0, -1).split('\n')) {
        expect(line.includes('\r'), `raw CR in a line: ${JSON.stringify(line.slice(0, 200))}`).toBe(false);
        expect(/[\x00-\x08\x0b-\x1f\x7f]/.test(line), `raw control character in a line: ${JSON.stringify(line.slice(0, 200))}`).toBe(false);
        lines.push(line);
      }
    }
    const ids = lines.map((line) => {
      try {
        return checkRecord(parseCef(line), 'CEF over HTTP');
      } catch (err) {
        if (err instanceof SpecViolation) throw new Error(`CEF over HTTP: ${err.message}\nline: ${JSON.stringify(line)}`);
        throw err;
      }
    });
    expectExactlyOnce(ids, 'CEF over HTTP');
  });

  it('a receiver that splits on line ends (non-transparent framing) would still see one record per event', () => {
    for (const rx of [syslogTcp, cefTcp]) {
      const all = rx.frames.map((f) => f.bytes.toString('utf8')).join('\n');
      const records = all.split(/\r\n|\n|\r/).filter(Boolean);
      expect(records).toHaveLength(sent.events.length);
      // …and in each of them exactly one CEF header, at the start of the MSG: forged ones stay escaped or inside values.
      for (const r of records) expect((r.match(/(?:^|\s)CEF:0\|/g) ?? []).length, r.slice(0, 200)).toBeGreaterThanOrEqual(1);
    }
  });
});
