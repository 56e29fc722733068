import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, gatewayEnv, gql, spawnServe, tempDir } from '../support/gateway.js';
import { sleep, startIdReceiver, startProducers, waitFor, type IdReceiver } from '../support/fault-kit.js';

/**
 * Fault: `kill -9` of the real binary (`siemgate serve`) while producers post events and two integrations deliver
 * them, then a restart on the same database. Every event whose POST was acknowledged (202) must reach both SIEMs;
 * duplicates may only come from batches that were in flight at the kill (at most one batch per integration).
 */

const BATCH_SIZE = 100;
const CHUNK = 200;
const PRODUCERS = 4;

const { dir, cleanup } = tempDir();
const env = gatewayEnv(dir, { SIEMGATE_EGRESS_ALLOW: '127.0.0.1/32', SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '200' });
const children: ChildProcess[] = [];
const receivers: IdReceiver[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(receivers.map((r) => r.close()));
  cleanup();
});


describe('kill -9 under load, then a restart', () => {
  it('delivers every acknowledged event to every SIEM, with duplicates bounded by the batches in flight', async () => {
    // Two SIEMs, a little slow to answer so that batches are in flight most of the time.
    const webhook = await startIdReceiver({ responder: () => ({ status: 200, delayMs: 15 }) });
    const hec = await startIdReceiver({ responder: () => ({ status: 200, delayMs: 15, body: '{"text":"Success","code":0}' }) });
    receivers.push(webhook, hec);

    const first = await spawnServe(env);
    children.push(first.child);
    const create = 'mutation($input: CreateSiemIntegrationInput!) { createSiemIntegration(input: $input) { id } }';
    const batching = { batchSize: BATCH_SIZE, flushIntervalSeconds: 1, retryCount: 3, timeoutSeconds: 5 };
    for (const input of [
      { name: 'webhook', config: { webhook: { endpoint: `${webhook.url}/hook` } }, batching },
      { name: 'splunk', config: { splunk: { endpoint: `${hec.url}/services/collector/event`, token: 'hec-token' } }, batching },
    ]) {
      const res = await gql(`${first.url}/graphql`, create, { input });
      expect(res.errors).toBeUndefined();
    }

    // Producers post chunks until the kill; only 202-acknowledged chunks count as ingested.
    const load = startProducers([first.url], { producers: PRODUCERS, chunk: CHUNK });

    // Kill once both SIEMs are receiving and a few thousand events are acknowledged, mid-flight.
    await waitFor(() => webhook.batches.length >= 3 && hec.batches.length >= 3 && load.acknowledged.size >= 3_000, {
      timeoutMs: 15_000,
      message: () => `load to build up (acknowledged ${load.acknowledged.size}, webhook batches ${webhook.batches.length}, hec batches ${hec.batches.length})`,
    });
    const deliveredAtKill = { webhook: webhook.delivered.size, hec: hec.delivered.size };
    first.child.kill('SIGKILL');
    expect((await exited(first.child)).signal).toBe('SIGKILL');
    await load.stop();
    const ingested = load.acknowledged;
    console.log(`[fault] kill -9: ${ingested.size} events acknowledged in ${load.chunks()} chunks, ${load.unanswered.size} posted without an answer; delivered at the kill: webhook ${deliveredAtKill.webhook}, splunk ${deliveredAtKill.hec}`);
    expect(deliveredAtKill.webhook).toBeLessThan(ingested.size); // the kill really happened under load

    // Restart on the same database; delivery resumes from the durable cursors.
    const second = await spawnServe(env);
    children.push(second.child);
    for (const [name, rx] of [['webhook', webhook], ['splunk', hec]] as const) {
      await waitFor(() => rx.missing(ingested).length === 0, {
        timeoutMs: 20_000,
        message: () => `${name}: every acknowledged event after the restart (missing ${rx.missing(ingested).length})`,
      });
    }
    // Let anything still queued drain, so that the duplicate count is final.
    await waitFor(async () => {
      const res = await gql(`${second.url}/graphql`, '{ deliveryStats { queued } }');
      return res.data?.deliveryStats.queued === 0;
    }, { timeoutMs: 10_000, message: 'queues to drain' });
    await sleep(200);

    for (const [name, rx] of [['webhook', webhook], ['splunk', hec]] as const) {
      const received = new Set(rx.delivered.keys());
      const extra = [...received].filter((id) => !ingested.has(id));
      const unknown = extra.filter((id) => !load.unanswered.has(id));
      const duplicates = rx.duplicates();
      const duplicatedIds = [...rx.delivered.values()].filter((n) => n > 1).length;
      console.log(`[fault] kill -9 ${name}: ${ingested.size} acknowledged, ${rx.missing(ingested).length} missing, ${received.size} distinct received (${extra.length} from unanswered posts that had committed), ${duplicates} duplicate deliveries of ${duplicatedIds} ids, ${rx.batches.length} requests`);
      expect(rx.missing(ingested)).toEqual([]);
      expect(unknown).toEqual([]); // nothing arrives that no producer sent
      expect(duplicates).toBeLessThanOrEqual(BATCH_SIZE);
      expect([...rx.delivered.values()].every((n) => n <= 2)).toBe(true);
    }

    // The restarted server still shuts down cleanly.
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toEqual({ code: 0, signal: null });
  }, 60_000);
});
