import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cefSeverity,
  escapeCefExtension,
  escapeCefHeader,
  formatCef,
  syslogSeverity,
} from '../../src/destinations/shared/cef-format.js';
import type { SecurityEvent, Severity } from '../../src/events/security-event.js';
import { parseCef } from '../support/spec-parsers.js';
import { securityEventArb } from '../support/fuzz.js';

const HEADER = { deviceVendor: 'RAXE', deviceProduct: 'ThreatDetection', deviceVersion: '0.10.0' };

/** The product documentation's example scan event (CEF example line of doc 002). */
function docEvent(): SecurityEvent {
  return {
    id: '0b5f3d8e-6a3c-4c1e-9b0a-2f6d1c9e7a11',
    time: new Date(1706619000000),
    type: 'scan',
    name: 'Prompt Injection Detected',
    severity: 'CRITICAL',
    installationId: 'inst_abc123',
    agentId: 'agent_prod_001',
    promptHash: 'sha256:abc123',
    ruleIds: ['pi-001', 'pi-003'],
    families: ['PI'],
  };
}

/** CEF header rule (spec: no multi-line header fields; siemgate's documented choice: each line end → one space). */
/** The documented rule for control characters other than TAB, CR and LF, and DEL: the text `\u` + 4 lowercase hex digits. */
function controlText(value: string): string {
  return value.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function expectedHeaderValue(value: string): string {
  return controlText(value.replace(/\r\n|\r|\n/g, ' '));
}

describe('formatCef: product documentation mapping', () => {
  it('starts exactly like the documentation example and carries the event id as externalId', () => {
    const line = formatCef(docEvent(), HEADER);
    expect(line).toBe(
      'CEF:0|RAXE|ThreatDetection|0.10.0|pi-001|Prompt Injection Detected|10|' +
        'rt=1706619000000 src=inst_abc123 suser=agent_prod_001 cs1=sha256:abc123 cs1Label=PromptHash ' +
        'cs2=pi-001,pi-003 cs2Label=RuleIDs cs3=PI cs3Label=ThreatFamilies ' +
        'externalId=0b5f3d8e-6a3c-4c1e-9b0a-2f6d1c9e7a11 cat=scan',
    );
  });

  it('maps every documented field with its label', () => {
    const event: SecurityEvent = {
      ...docEvent(),
      msspId: 'mssp_partner',
      customerId: 'cust_acme',
      promptLength: 512,
      detectionCount: 2,
      scanDurationMs: 12.6,
      outcome: 'blocked',
      families: ['PI', 'JB'],
    };
    const ext = parseCef(formatCef(event, HEADER, { deviceHostName: 'gw-01' })).extension;
    expect(Object.fromEntries(ext)).toEqual({
      rt: '1706619000000',
      src: 'inst_abc123',
      suser: 'agent_prod_001',
      cs1: 'sha256:abc123',
      cs1Label: 'PromptHash',
      cs2: 'pi-001,pi-003',
      cs2Label: 'RuleIDs',
      cs3: 'PI,JB',
      cs3Label: 'ThreatFamilies',
      cs5: 'mssp_partner',
      cs5Label: 'MsspId',
      cs6: 'cust_acme',
      cs6Label: 'CustomerId',
      cn1: '512',
      cn1Label: 'PromptLength',
      cn2: '2',
      cn2Label: 'DetectionCount',
      cn3: '13',
      cn3Label: 'ScanDurationMs',
      externalId: event.id,
      cat: 'scan',
      outcome: 'blocked',
      dvchost: 'gw-01',
    });
  });

  it.each<[Severity, string]>([
    ['NONE', '0'],
    ['LOW', '3'],
    ['MEDIUM', '5'],
    ['HIGH', '7'],
    ['CRITICAL', '10'],
  ])('severity %s → CEF %s', (severity, expected) => {
    expect(parseCef(formatCef({ ...docEvent(), severity }, HEADER)).severity).toBe(expected);
  });

  it('exports the documented severity tables', () => {
    expect(cefSeverity).toEqual({ NONE: 0, LOW: 3, MEDIUM: 5, HIGH: 7, CRITICAL: 10 });
    expect(syslogSeverity).toEqual({ NONE: 6, LOW: 5, MEDIUM: 4, HIGH: 3, CRITICAL: 2 });
  });

  it('uses the event type as signature id when there is no rule id', () => {
    const parsed = parseCef(formatCef({ ...docEvent(), ruleIds: [] }, HEADER));
    expect(parsed.signatureId).toBe('scan');
    expect(parsed.extension.has('cs2')).toBe(false);
    expect(parsed.extension.has('cs2Label')).toBe(false);
  });

  it('falls back to sourceIp for src and userEmail for suser, and keeps sourceIp when src holds the installation', () => {
    const base: SecurityEvent = { id: 'e1', time: new Date(0), type: 'agent.deployed', name: 'Agent Deployed', severity: 'MEDIUM' };
    const fallback = parseCef(formatCef({ ...base, sourceIp: '10.0.0.1', userEmail: 'a@b.example' }, HEADER)).extension;
    expect(fallback.get('src')).toBe('10.0.0.1');
    expect(fallback.get('suser')).toBe('a@b.example');
    expect(fallback.has('cs4')).toBe(false);

    const both = parseCef(formatCef({ ...base, sourceIp: '10.0.0.1', installationId: 'inst_1' }, HEADER)).extension;
    expect(both.get('src')).toBe('inst_1');
    expect(both.get('cs4')).toBe('10.0.0.1');
    expect(both.get('cs4Label')).toBe('SourceIp');
  });

  it('omits absent and empty fields together with their labels', () => {
    const line = formatCef(
      { id: 'e2', time: new Date(5), type: 't', name: 'n', severity: 'NONE', promptHash: '', families: [], promptLength: Number.NaN },
      HEADER,
    );
    expect(line).toBe('CEF:0|RAXE|ThreatDetection|0.10.0|t|n|0|rt=5 externalId=e2 cat=t');
    expect(line).not.toMatch(/cs\dLabel|cn\dLabel|=\s|=$/);
  });

  it('carries data.message as msg (the test event says what it is)', () => {
    const ext = parseCef(formatCef({ ...docEvent(), data: { message: 'Test event from siemgate. Safe to ignore.' } }, HEADER)).extension;
    expect(ext.get('msg')).toBe('Test event from siemgate. Safe to ignore.');
  });
});

describe('CEF escaping (ArcSight CEF implementation standard)', () => {
  it('escapes backslash and pipe in header fields, and turns line ends into spaces', () => {
    expect(escapeCefHeader('a|b')).toBe('a\\|b');
    expect(escapeCefHeader('C:\\dir')).toBe('C:\\\\dir');
    expect(escapeCefHeader('x=y')).toBe('x=y');
    expect(escapeCefHeader('l1\r\nl2\nl3\rl4')).toBe('l1 l2 l3 l4');
  });

  it('escapes backslash, equals and line ends in extension values but not pipes or spaces', () => {
    expect(escapeCefExtension('a=b')).toBe('a\\=b');
    expect(escapeCefExtension('C:\\dir')).toBe('C:\\\\dir');
    expect(escapeCefExtension('l1\r\nl2')).toBe('l1\\r\\nl2');
    expect(escapeCefExtension('a|b c')).toBe('a|b c');
    expect(escapeCefExtension('\\=')).toBe('\\\\\\=');
  });

  it('writes control characters other than TAB (and CR/LF in extensions) as \\u001b-style text, in the header too', () => {
    expect(escapeCefExtension('a\u001b[31mred\u0007\u0000\u000b\u000c\u007f\tb')).toBe('a\\\\u001b[31mred\\\\u0007\\\\u0000\\\\u000b\\\\u000c\\\\u007f\tb');
    expect(escapeCefHeader('x\u001b[2J\r\ny\u0008')).toBe('x\\\\u001b[2J y\\\\u0008');
    const line = formatCef({ ...docEvent(), name: 'n\u001b]0;pwned\u0007', data: { message: 'm\u001b[1m\u000b' } }, HEADER);
    expect(line).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f]/);
    const parsed = parseCef(line);
    expect(parsed.name).toBe('n\\u001b]0;pwned\\u0007');
    expect(parsed.extension.get('msg')).toBe('m\\u001b[1m\\u000b');
  });

  it('writes a hostile header and extension that a spec parser reads back', () => {
    const event: SecurityEvent = {
      id: 'id=1|2',
      time: new Date(1),
      type: 'type|with\\pipes',
      name: 'Name | with \\ and = and\r\nnewline',
      severity: 'HIGH',
      agentId: 'agent=1 cs1=forged',
      promptHash: 'ends with backslash \\',
      installationId: 'x\ny',
    };
    const line = formatCef(event, { deviceVendor: 'Ven|dor', deviceProduct: 'Pro\\duct', deviceVersion: '1\n2' });
    const parsed = parseCef(line);
    expect(parsed).toMatchObject({
      version: '0',
      deviceVendor: 'Ven|dor',
      deviceProduct: 'Pro\\duct',
      deviceVersion: '1 2',
      signatureId: 'type|with\\pipes',
      name: 'Name | with \\ and = and newline',
      severity: '7',
    });
    const ext = parsed.extension;
    expect(ext.get('suser')).toBe('agent=1 cs1=forged');
    expect(ext.get('cs1')).toBe('ends with backslash \\');
    expect(ext.get('src')).toBe('x\ny');
    expect(ext.get('externalId')).toBe('id=1|2');
  });

  it('keeps a 10 kB hostile value intact on one line', () => {
    const big = '|\\=\r\n é😀 key=value '.repeat(600);
    expect(big.length).toBeGreaterThan(10_000);
    const line = formatCef({ ...docEvent(), promptHash: big, name: big }, HEADER);
    expect(line.split(/\r|\n/)).toHaveLength(1);
    const parsed = parseCef(line);
    expect(parsed.extension.get('cs1')).toBe(big);
    expect(parsed.name).toBe(expectedHeaderValue(big));
  });
});

describe('formatCef properties', () => {
  const hostilePiece = fc.oneof(
    fc.constantFrom('|', '\\', '=', '\r', '\n', '\r\n', ' ', '\\=', '\\n', '=\\', 'cs1=', ' k=v', 'é', '漢', '😀', '\u2028', '\t', '\0'),
    fc.string({ unit: 'binary', maxLength: 6 }),
  );
  const hostile = fc.array(hostilePiece, { maxLength: 25 }).map((parts) => parts.join(''));
  const huge = fc
    .array(hostilePiece, { minLength: 1, maxLength: 10 })
    .map((parts) => parts.join('') || '|')
    .map((s) => s.repeat(Math.ceil(10_240 / s.length)));
  const value = fc.oneof({ weight: 9, arbitrary: hostile }, { weight: 1, arbitrary: huge });

  const eventArb = securityEventArb(value);

  const headerArb = fc.record({ deviceVendor: value, deviceProduct: value, deviceVersion: value });

  it('is exactly one line, and a spec parser recovers every original value', () => {
    fc.assert(
      fc.property(eventArb, headerArb, (event, header) => {
        const line = formatCef(event, header);

        expect(line.includes('\n') || line.includes('\r')).toBe(false);
        const parsed = parseCef(line);

        const firstRule = (event.ruleIds ?? []).find((r) => r !== '');
        expect(parsed.version).toBe('0');
        expect(parsed.deviceVendor).toBe(expectedHeaderValue(header.deviceVendor));
        expect(parsed.deviceProduct).toBe(expectedHeaderValue(header.deviceProduct));
        expect(parsed.deviceVersion).toBe(expectedHeaderValue(header.deviceVersion));
        expect(parsed.signatureId).toBe(expectedHeaderValue(firstRule ?? event.type));
        expect(parsed.name).toBe(expectedHeaderValue(event.name));
        expect(parsed.severity).toBe(String({ NONE: 0, LOW: 3, MEDIUM: 5, HIGH: 7, CRITICAL: 10 }[event.severity]));

        const present = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
        const list = (v: string[] | undefined) => present((v ?? []).filter((x) => x !== '').join(','));
        const src = present(event.installationId) ?? present(event.sourceIp);
        const expected: Record<string, string | undefined> = {
          rt: String(event.time.getTime()),
          src,
          suser: present(event.agentId) ?? present(event.userEmail),
          cs1: present(event.promptHash),
          cs2: list(event.ruleIds),
          cs3: list(event.families),
          cs4: src !== undefined && src !== present(event.sourceIp) ? present(event.sourceIp) : undefined,
          cs5: present(event.msspId),
          cs6: present(event.customerId),
          externalId: present(event.id),
          cat: present(event.type),
          outcome: present(event.outcome),
          msg: present(event.data?.message as string | undefined),
        };
        const labels: Record<string, string> = {
          cs1: 'PromptHash', cs2: 'RuleIDs', cs3: 'ThreatFamilies', cs4: 'SourceIp', cs5: 'MsspId', cs6: 'CustomerId',
        };
        const want = new Map<string, string>();
        for (const [k, v] of Object.entries(expected)) {
          if (v === undefined) continue;
          want.set(k, controlText(v));
          if (labels[k]) want.set(`${k}Label`, labels[k]);
        }
        expect(parsed.extension).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });
});
