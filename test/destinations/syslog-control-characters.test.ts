import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCefAdapter } from '../../src/destinations/cef/adapter.js';
import { cefHttpBody } from '../../src/destinations/shared/cef-http.js';
import { formatCef } from '../../src/destinations/shared/cef-format.js';
import { createSyslogAdapter } from '../../src/destinations/syslog/adapter.js';
import { formatSyslog } from '../../src/destinations/shared/syslog-format.js';
import type { SiemAdapter } from '../../src/destinations/types.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { frameOctetCounting, truncateUtf8 } from '../../src/net/syslog-transport.js';
import { parseCef, parseRfc5424 } from '../support/spec-parsers.js';

import { securityEventArb } from '../support/fuzz.js';

/**
 * Issue 8, item 12 (control characters): ESC, VT, FF and every other C0 control except TAB, and DEL, used to pass raw
 * into CEF lines and syslog frames (terminal escape injection at whoever tails the SIEM's input, and line splitting at
 * relays). For arbitrary strings in every event field and header setting, no byte 0x00–0x08, 0x0A–0x1F or 0x7F may
 * appear in a CEF line, a syslog message, its RFC 6587 frame or UDP datagram; in a CEF HTTP body only the LF that ends
 * each line.
 */

const FORBIDDEN = /[\x00-\x08\x0a-\x1f\x7f]/;
const egress = new EgressPolicy({ allow: ['127.0.0.1/32'] });

/** Pieces that aim at control characters, mixed with arbitrary UTF-16 (lone surrogates included). */
const piece = fc.oneof(
  fc.constantFrom('\u001b[31m', '\u001b]0;title\u0007', '\u000b', '\u000c', '\u0000', '\u007f', '\u0008', '\r\n', '\t', '\\', '|', '=', '\\u001b'),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 8 }),
);
const text = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(''));
const optional = fc.option(text, { nil: undefined });

const eventArb = securityEventArb(text, { minTimeMs: -1e13, maxTimeMs: 1e13, maxList: 3 });
const settingsArb = fc.record({ hostname: text, appName: text, deviceVendor: text, deviceProduct: text, procId: optional });

function expectClean(bytes: Buffer, where: string) {
  const latin1 = bytes.toString('latin1');
  const at = latin1.search(FORBIDDEN);
  expect(at, `${where}: control byte 0x${bytes[at]?.toString(16)} at ${at}: ${JSON.stringify(latin1.slice(Math.max(0, at - 20), at + 20))}`).toBe(-1);
}

describe('no control character other than TAB reaches a CEF line or a syslog frame raw', () => {
  it('CEF lines, and CEF over HTTP bodies apart from the LF that ends each line', () => {
    fc.assert(
      fc.property(eventArb, settingsArb, (generated, settings) => {
        const event = generated;
        const line = formatCef(event, { deviceVendor: settings.deviceVendor, deviceProduct: settings.deviceProduct, deviceVersion: settings.appName }, { deviceHostName: settings.hostname });
        expectClean(Buffer.from(line, 'utf8'), 'CEF line');
        parseCef(line); // still one valid CEF record
        const body = Buffer.from(cefHttpBody([line, line]), 'utf8');
        expectClean(Buffer.from(body.toString('utf8').split('\n').join(''), 'utf8'), 'CEF HTTP body');
        expect(body.toString('utf8').split('\n')).toHaveLength(3);
      }),
      { numRuns: 300 },
    );
  });

  it('syslog messages in both formats (MSG, HOSTNAME, APP-NAME/TAG, PROCID, MSGID), their TCP frames and UDP datagrams', () => {
    fc.assert(
      fc.property(eventArb, settingsArb, text, fc.constantFrom('RFC5424', 'RFC3164') as fc.Arbitrary<'RFC5424' | 'RFC3164'>, (generated, settings, msg, format) => {
        const event = generated;
        // Any MSG, not only CEF: the syslog layer's own guarantee.
        const message = formatSyslog(format, {
          facility: 16, severity: 3, time: event.time, hostname: settings.hostname, appName: settings.appName,
          ...(settings.procId !== undefined ? { procId: settings.procId } : {}), msgId: event.type, message: msg,
        });
        expectClean(Buffer.from(message, 'utf8'), `${format} message`);
        if (format === 'RFC5424') parseRfc5424(message);
        expectClean(frameOctetCounting(message), 'octet-counted frame');
        expectClean(truncateUtf8(message, 480).bytes, 'UDP datagram');
      }),
      { numRuns: 300 },
    );
  });

  it('what the SYSLOG and CEF adapters hand to the transport, for arbitrary events and host names', () => {
    fc.assert(
      fc.property(eventArb, settingsArb, (generated, settings) => {
        const event = generated;
        const adapters: SiemAdapter<string>[] = [
          createSyslogAdapter({ type: 'SYSLOG', host: '127.0.0.1', port: 514, protocol: 'TCP', format: 'RFC5424', facility: 'local0' }, { egress, hostname: settings.hostname, appName: settings.appName }),
          createSyslogAdapter({ type: 'SYSLOG', host: '127.0.0.1', port: 514, protocol: 'UDP', format: 'RFC3164', facility: 'local0' }, { egress, hostname: settings.hostname, appName: settings.appName }),
          createCefAdapter({ type: 'CEF', transport: 'TCP', host: '127.0.0.1', facility: 'local0', deviceVendor: settings.deviceVendor, deviceProduct: settings.deviceProduct }, { egress, hostname: settings.hostname }),
        ];
        for (const adapter of adapters) {
          const record = adapter.transform(event);
          expectClean(frameOctetCounting(record), `${adapter.type} frame`);
          void adapter.close();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('keeps the values readable: a CEF parser reads the control characters back as \\u001b-style text', () => {
    const adapter = createSyslogAdapter({ type: 'SYSLOG', host: '127.0.0.1', port: 514, protocol: 'TCP', format: 'RFC5424', facility: 'local0' }, { egress, hostname: 'gw\u001b-1' });
    const event: SecurityEvent = {
      id: 'e1', time: new Date(0), type: 'scan', severity: 'HIGH', name: 'Clear \u001b[2J screen', agentId: 'a\u000bb\u000cc', data: { message: 'bell\u0007 del\u007f tab\t' },
    };
    const syslog = parseRfc5424(adapter.transform(event));
    expect(syslog.hostname).toBe('gw_-1');
    const cef = parseCef(syslog.msg);
    expect(cef.name).toBe('Clear \\u001b[2J screen');
    const ext = cef.extension;
    expect(ext.get('suser')).toBe('a\\u000bb\\u000cc');
    expect(ext.get('msg')).toBe('bell\\u0007 del\\u007f tab\t');
    expect(ext.get('dvchost')).toBe('gw\\u001b-1');
    void adapter.close();
  });
});
