import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { watchIntegrations, type IntegrationStatus } from '../../examples/live-status.js';
import { dataOf, updateIntegration } from '../support/api.js';
import {
  HEC_BUSY, STATUS_FIELDS, STATUS_SUBSCRIPTION, connectWs, createSplunkIntegration, ingest, integrationStatus, makeEvent, startHecSink, waitFor,
  type HecSink, type WsClient,
} from '../support/delivery.js';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Issue 11, "Snapshots first": `siemIntegrationStatus` sends the current state of every integration it
 * covers (one message each, the shape of a change message, stats included), then changes — over graphql-ws
 * and SSE; a client that reconnects gets the snapshot again. Completing a subscription unsubscribes at once.
 */

let g: TestGateway;
let okSink: HecSink;
let busySink: HecSink;
let healthy: any;
let unknown: any;
let disabled: any;
const CREATE_KEY = 'mutation CreateKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { token } }';
let viewer: string;

beforeAll(async () => {
  [g, okSink, busySink] = await Promise.all([startTestGateway({ env: { SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '200' } }), startHecSink(), startHecSink(() => HEC_BUSY)]);
  viewer = dataOf(await g.gql(CREATE_KEY, { input: { name: 'dashboard', role: 'VIEWER' } })).createApiKey.token;
  healthy = await createSplunkIntegration(g, okSink, { name: 'delivers', customerId: 'cust_ok', batching: { batchSize: 1 } });
  unknown = await createSplunkIntegration(g, okSink, { name: 'never tried', customerId: 'cust_none' });
  disabled = await createSplunkIntegration(g, busySink, { name: 'failed, then disabled', customerId: 'cust_fail', batching: { batchSize: 1 } });

  const delivered = makeEvent({ customerId: 'cust_ok' });
  await ingest(g.url, [delivered, makeEvent({ customerId: 'cust_fail' }), makeEvent({ customerId: 'cust_fail' })]);
  await okSink.waitForIds([delivered.id]);
  await waitFor(async () => (await integrationStatus(g, disabled.id)).errorCount >= 3, { message: 'the busy SIEM never failed 3 times' });
  await updateIntegration(g, disabled.id, { enabled: false });
  // Paused: its figures stop moving once the attempt in flight (if any) has ended.
  let previous = '';
  await waitFor(async () => {
    const now = JSON.stringify(await Promise.all([healthy, unknown, disabled].map((i) => integrationStatus(g, i.id))));
    const stable = now === previous;
    previous = now;
    return stable;
  }, { intervalMs: 300, message: 'the integrations never settled' });
});
afterAll(async () => {
  await Promise.all([g?.stop({ removeDatabase: true }), okSink?.close(), busySink?.close()]);
});

const clients: WsClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});
function ws(token = viewer): WsClient {
  const c = connectWs(g.url, { token });
  clients.push(c);
  return c;
}

const all = () => [healthy, unknown, disabled].map((i) => i.id as string);
const current = () => Promise.all([healthy, unknown, disabled].map((i) => integrationStatus(g, i.id)));

describe('a new subscriber gets the current state first', () => {
  it('one message per integration, the same as a query answers (health, errors, stats), UNKNOWN and DISABLED included', async () => {
    const expected = await current();
    expect(expected.map((i) => i.health)).toEqual(['HEALTHY', 'UNKNOWN', 'DISABLED']);
    const sub = ws().subscribe(STATUS_SUBSCRIPTION, {}, 'siemIntegrationStatus');
    await waitFor(() => sub.values.length >= 3 || sub.error, { message: 'no snapshot' });
    expect(sub.error).toBeUndefined();
    const snapshot = sub.values.slice(0, 3);
    expect(snapshot.map((v) => v.id).sort()).toEqual(all().sort());
    for (const want of expected) expect(snapshot.find((v) => v.id === want.id)).toEqual(want);

    const failed = snapshot.find((v) => v.id === disabled.id);
    expect(failed).toMatchObject({ health: 'DISABLED', enabled: false });
    expect(failed.errorCount).toBeGreaterThanOrEqual(3);
    expect(failed.lastError).toMatch(/503|busy/i);
    expect(failed.stats.queued).toBe(2);
    expect(snapshot.find((v) => v.id === healthy.id).stats).toMatchObject({ delivered: 1, queued: 0 });
    expect(snapshot.find((v) => v.id === unknown.id)).toMatchObject({ health: 'UNKNOWN', errorCount: 0, lastError: null });
  });

  it('a change made while subscribing, and one after, come after the snapshot, and the last message is the latest state', async () => {
    for (let round = 1; round <= 4; round++) {
      const sub = ws().subscribe(STATUS_SUBSCRIPTION, {}, 'siemIntegrationStatus');
      // No wait: the rename races the subscription's start and its snapshot read.
      await updateIntegration(g, unknown.id, { name: `renamed while subscribing ${round}` });
      await sub.waitForValue((v) => v.id === unknown.id && v.name === `renamed while subscribing ${round}`);
      expect(sub.values.slice(0, 3).map((v) => v.id).sort(), 'the snapshot comes first, one message per integration').toEqual(all().sort());

      const before = sub.values.length;
      await updateIntegration(g, healthy.id, { name: `renamed after ${round}` });
      const after = await sub.waitForValue((v) => v.name === `renamed after ${round}`);
      expect(sub.values.indexOf(after)).toBeGreaterThanOrEqual(Math.max(before, 3));
      const last = (id: string) => sub.values.filter((v) => v.id === id).at(-1);
      for (const want of await current()) expect(last(want.id)).toEqual(want);
    }
  });

  it('a subscription by id gets that integration only, snapshot included', async () => {
    const sub = ws().subscribe(STATUS_SUBSCRIPTION, { id: disabled.id }, 'siemIntegrationStatus');
    const first = await sub.waitForValue(() => true);
    expect(first).toEqual(await integrationStatus(g, disabled.id));
    await updateIntegration(g, unknown.id, { name: 'not for this subscriber' });
    await updateIntegration(g, disabled.id, { name: 'disabled, renamed' });
    await sub.waitForValue((v) => v.name === 'disabled, renamed');
    expect(sub.values.every((v) => v.id === disabled.id)).toBe(true);
  });

  it('over SSE too: the snapshot first, and closing the stream unsubscribes', async () => {
    const abort = new AbortController();
    const response = await fetch(`${g.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${viewer}` },
      body: JSON.stringify({ query: `subscription { siemIntegrationStatus { ${STATUS_FIELDS} } }` }),
      signal: abort.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const values: any[] = [];
    const reading = (async () => {
      let buffer = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += Buffer.from(chunk).toString('utf8');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).join('');
          if (/^event: ?next/m.test(block) && data) values.push(JSON.parse(data).data?.siemIntegrationStatus);
        }
      }
    })().catch(() => undefined);
    await waitFor(() => values.length >= 3, { message: 'no snapshot over SSE' });
    expect(values.slice(0, 3).map((v) => v.id).sort()).toEqual(all().sort());
    for (const want of await current()) expect(values.find((v) => v.id === want.id)).toEqual(want);
    abort.abort();
    await reading;
    await waitFor(() => g.engine.status.size === 0, { message: () => `${g.engine.status.size} hub subscribers left after the SSE stream closed` });
  });
});

describe('completing a subscription', () => {
  it('removes its hub subscriber at once, not at the next message (20 subscribe/complete on one socket)', async () => {
    const client = ws();
    for (let i = 0; i < 20; i++) {
      const sub = client.subscribe(STATUS_SUBSCRIPTION, { id: i % 2 ? unknown.id : undefined }, 'siemIntegrationStatus');
      await sub.waitForValue(() => true); // live on the server: its snapshot arrived
      expect(g.engine.status.size).toBeGreaterThanOrEqual(1);
      sub.unsubscribe(); // graphql-ws `complete`
    }
    // Nothing is published meanwhile: without an unsubscribe on `return()`, all 20 would stay.
    await waitFor(() => g.engine.status.size === 0, { message: () => `${g.engine.status.size} hub subscribers left after completing` });
  });
});

describe('the README client', () => {
  it('is the code the README shows', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const code = readFileSync(new URL('../../examples/live-status.ts', import.meta.url), 'utf8');
    expect(readme).toContain('```ts\n' + code.trimEnd() + '\n```');
  });

  it('reconnects after the gateway restarts (same port, same database) and resyncs from the snapshot', async () => {
    let first: TestGateway | undefined = await startTestGateway();
    let second: TestGateway | undefined;
    const received: IntegrationStatus[] = [];
    let watcher: ReturnType<typeof watchIntegrations> | undefined;
    try {
      const a = dataOf(await first.gql('mutation { createSiemIntegration(input: { name: "restart a", enabled: false, config: { webhook: { endpoint: "https://hooks.invalid/a" } } }) { id } }')).createSiemIntegration.id;
      const b = dataOf(await first.gql('mutation { createSiemIntegration(input: { name: "restart b", config: { webhook: { endpoint: "https://hooks.invalid/b" } } }) { id } }')).createSiemIntegration.id;
      watcher = watchIntegrations(`${first.url.replace(/^http/, 'ws')}/graphql`, ADMIN_TOKEN, (status) => received.push(status));
      await waitFor(() => watcher!.integrations.size === 2, { message: 'no snapshot before the restart' });
      expect([...watcher.integrations.values()].map((i) => i.health).sort()).toEqual(['DISABLED', 'UNKNOWN']);

      await first.stop();
      const { dir, port } = first;
      first = undefined;
      const before = received.length;
      second = await startTestGateway({ dir, env: { PORT: String(port) } });
      expect(second.port).toBe(port);
      await second.gql('mutation($id: ID!) { updateSiemIntegration(id: $id, input: { name: "restart b, renamed" }) { id } }', { id: b });

      // After reconnecting: both integrations again (the snapshot), including the one that did not change.
      await waitFor(() => received.slice(before).some((s) => s.id === a) && watcher!.integrations.get(b)?.name === 'restart b, renamed', {
        message: () => `no resync after the restart: ${JSON.stringify(received.slice(before))}`,
      });
      expect(watcher.integrations.get(a)).toMatchObject({ name: 'restart a', health: 'DISABLED' });
    } finally {
      await watcher?.close();
      await first?.stop({ removeDatabase: true });
      await second?.stop({ removeDatabase: true });
    }
  });
});
