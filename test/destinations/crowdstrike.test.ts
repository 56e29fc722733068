import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createCrowdStrikeAdapter } from '../../src/destinations/crowdstrike/adapter.js';
import type { CrowdStrikeConfig, SiemAdapter } from '../../src/destinations/types.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { startHttpReceiver, type HttpReceiver, type ReceivedRequest } from '../support/http-receiver.js';

const TOKEN = 'ingest-token-SECRET';
const egress = new EgressPolicy({ allow: ['127.0.0.1/32'] });
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

/** LogScale's HEC payload: "a series of whitespace delimited JSON objects". Parsed independently of the adapter. */
function splitWhitespaceDelimitedJson(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}') {
      if (--depth === 0) out.push(JSON.parse(text.slice(start, i + 1)) as Record<string, unknown>);
    } else if (depth === 0 && !/\s/.test(c)) throw new Error(`unexpected ${c} at ${i}`);
  }
  return out;
}

/** A LogScale HEC ingest endpoint: Bearer ingest token, HEC-style answers. */
async function startLogScale(): Promise<HttpReceiver> {
  const r = await startHttpReceiver((req: ReceivedRequest) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      return { status: 401, body: JSON.stringify({ text: 'The token is not valid', code: 4 }) };
    }
    if (!req.url.startsWith('/api/v1/ingest/hec')) return { status: 404, body: 'Not Found' };
    return { status: 200, body: JSON.stringify({ text: 'Success', code: 0 }) };
  });
  cleanups.push(() => r.close());
  return r;
}

function adapter(config: Partial<CrowdStrikeConfig> & { endpoint: string }): SiemAdapter<unknown> {
  const a = createCrowdStrikeAdapter({ type: 'CROWDSTRIKE', token: TOKEN, ...config }, { egress, hostname: 'gateway-01' });
  cleanups.push(() => a.close());
  return a as SiemAdapter<unknown>;
}

const event: SecurityEvent = {
  id: '6f1c2f0e-4a7b-4e53-9c35-0f3e1f2a9b10',
  time: new Date(1706619000123),
  type: 'scan',
  name: 'Prompt Injection Detected',
  severity: 'HIGH',
  customerId: 'cust_beta',
  agentId: 'agent_7',
  threatDetected: true,
  ruleIds: ['pi-001'],
  promptHash: 'sha256:abc',
};

describe('CrowdStrike LogScale HEC', () => {
  it('sends repository as index and parser as sourcetype, with the Bearer ingest token', async () => {
    const ls = await startLogScale();
    const a = adapter({ endpoint: `${ls.url}/api/v1/ingest/hec`, repository: 'security', parser: 'raxe' });
    const result = await a.send([a.transform(event), a.transform({ ...event, id: 'second' })]);
    expect(result).toMatchObject({ kind: 'success', ok: true, status: 200, recordCount: 2 });

    const req = ls.requests[0];
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/v1/ingest/hec');
    expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const text = req.body.toString('utf8');
    expect(text).toContain('"time":1706619000.123');
    const objects = splitWhitespaceDelimitedJson(text);
    expect(objects).toHaveLength(2);
    expect(objects[0]).toMatchObject({
      time: 1706619000.123,
      host: 'gateway-01',
      source: 'siemgate',
      sourcetype: 'raxe',
      index: 'security',
    });
    expect(objects[0].event).toMatchObject({
      id: event.id,
      event_type: 'scan',
      severity: 'high',
      customer_id: 'cust_beta',
      agent_id: 'agent_7',
      threat_detected: true,
      rule_ids: ['pi-001'],
      prompt_hash: 'sha256:abc',
    });
    expect((objects[1].event as { id: string }).id).toBe('second');
  });

  it('leaves index and sourcetype to the ingest token when repository and parser are unset', async () => {
    const ls = await startLogScale();
    const a = adapter({ endpoint: `${ls.url}/api/v1/ingest/hec` });
    await a.send([a.transform(event)]);
    const [o] = splitWhitespaceDelimitedJson(ls.requests[0].body.toString('utf8'));
    expect('index' in o).toBe(false);
    expect('sourcetype' in o).toBe(false);
    expect(Object.keys(o)).toEqual(['time', 'host', 'source', 'event']);
  });

  it('gzips when asked', async () => {
    const ls = await startLogScale();
    const a = adapter({ endpoint: `${ls.url}/api/v1/ingest/hec`, gzip: true });
    expect((await a.send([a.transform(event)])).ok).toBe(true);
    expect(ls.requests[0].headers['content-encoding']).toBe('gzip');
    const [o] = splitWhitespaceDelimitedJson(gunzipSync(ls.requests[0].body).toString('utf8'));
    expect((o.event as { id: string }).id).toBe(event.id);
  });

  it('a wrong token → auth; the connection test says so without the token', async () => {
    const ls = await startLogScale();
    const a = createCrowdStrikeAdapter({ type: 'CROWDSTRIKE', endpoint: `${ls.url}/api/v1/ingest/hec`, token: 'bad-SECRET' }, { egress });
    cleanups.push(() => a.close());
    const result = await a.send([a.transform(event)]);
    expect(result).toMatchObject({ kind: 'auth', status: 401, message: 'HTTP 401: The token is not valid (code 4)' });
    const test = await a.test();
    expect(test).toMatchObject({ success: false, message: 'Connection test failed: HTTP 401: The token is not valid (code 4)' });
    expect(JSON.stringify([result, test])).not.toContain('SECRET');
  });

  it('a wrong path → rejected; the right one passes the connection test', async () => {
    const ls = await startLogScale();
    const wrong = adapter({ endpoint: `${ls.url}/api/v1/ingest/humio-structured` });
    expect(await wrong.send([wrong.transform(event)])).toMatchObject({ kind: 'rejected', status: 404, message: 'HTTP 404: Not Found' });
    const right = await adapter({ endpoint: `${ls.url}/api/v1/ingest/hec` }).test();
    expect(right).toMatchObject({ success: true, message: 'Test event sent successfully', httpStatus: 200 });
  });

  it('is refused by the egress policy like any destination', async () => {
    const ls = await startLogScale();
    const a = createCrowdStrikeAdapter(
      { type: 'CROWDSTRIKE', endpoint: `${ls.url}/api/v1/ingest/hec`, token: TOKEN },
      { egress: new EgressPolicy() },
    );
    cleanups.push(() => a.close());
    const result = await a.send([a.transform(event)]);
    expect(result.kind).toBe('network');
    expect(result.message).toBe(`could not connect to 127.0.0.1:${ls.port}`);
    expect(ls.requests).toHaveLength(0);
  });
});
