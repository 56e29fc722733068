import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import {
  createSyslogTransport,
  MAX_UNACKNOWLEDGED_BYTES,
  SyslogErrorCode,
  SyslogTransportError,
  type SyslogTransport,
} from '../../src/net/syslog-transport.js';
import { createIntegrationId, integrationStatus, postEvents, waitFor } from '../support/fault-kit.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { tlsFixtures } from '../support/tls-fixtures.js';
import { startStreamReceiver, type ReceivedFrame, type StreamReceiver } from '../support/syslog-receivers.js';

/**
 * Issue 8, item 7: a syslog receiver that accepts the connection and never reads (a "blackhole": `socket.pause()` on
 * the server side, for TCP and TLS). siemgate used to count every batch the kernel took as delivered (megabytes), with
 * errorCount 0. Now a batch counts only when the receiving host's TCP acknowledged all but MAX_UNACKNOWLEDGED_BYTES of
 * the connection; otherwise it times out (timeoutSeconds), the connection is destroyed and the batch is sent again on
 * a fresh one. Once the receiver reads, everything arrives, in order; only the batch that timed out may arrive twice
 * (syslog has no acknowledgement: at least once, CEF externalId lets the SIEM deduplicate).
 *
 * "What the receiving host took" is read on the receiver's side from Linux `/proc/net/tcp` (rx_queue of its
 * connections), independently of the sender.
 */

const egress = new EgressPolicy({ allow: ['127.0.0.1/32'] });
const opened: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.close().catch(() => undefined)));
});

const PADDING = 'x'.repeat(1000);
const BATCH = 50;
/** Without the bound, the kernel takes about 4 MiB on Linux loopback before a write blocks: stop well beyond that. */
const GIVE_UP_BYTES = 16 * 1024 * 1024;
const onLinux = process.platform === 'linux';
const BIG_BATCH = 500;

/** Sequence numbers in frame order, per connection (1-based connection numbers in accept order). */
function perConnection(frames: ReceivedFrame[], seqOf: (text: string) => number | undefined): number[][] {
  const runs: number[][] = [];
  for (const frame of frames) {
    const seq = seqOf(frame.bytes.toString('utf8'));
    if (seq === undefined) continue;
    (runs[frame.connection - 1] ??= []).push(seq);
  }
  return runs.filter(Boolean);
}

/**
 * Every connection carries a gap-free ascending run, each run starts no later than one past what earlier connections
 * carried, and together they carry 0..total-1: in order, nothing lost. Returns how many frames were duplicates.
 */
function expectInOrderNothingLost(runs: number[][], total: number): number {
  let highest = -1;
  let frames = 0;
  for (const [c, run] of runs.entries()) {
    expect(run[0], `connection ${c + 1} starts after a gap`).toBeLessThanOrEqual(highest + 1);
    for (let i = 1; i < run.length; i++) expect(run[i], `connection ${c + 1}: frame ${i} out of order`).toBe(run[i - 1]! + 1);
    highest = Math.max(highest, run.at(-1)!);
    frames += run.length;
  }
  expect(highest).toBe(total - 1);
  return frames - total;
}

describe.each(['TCP', 'TLS'] as const)('syslog %s to a receiver that accepts and never reads', (protocol) => {
  it.runIf(onLinux)(
    'counts no more as delivered than the receiving host acknowledged, then times out; after the receiver reads, every message arrives in order',
    async () => {
      const pki = tlsFixtures();
      const rx = await startStreamReceiver(protocol === 'TLS' ? { key: pki.serverKey, cert: pki.serverCert } : undefined, { blackhole: true });
      opened.push(rx);
      const transport: SyslogTransport = createSyslogTransport({
        protocol, host: '127.0.0.1', port: rx.port, egress, timeoutMs: 500,
        ...(protocol === 'TLS' ? { tls: { caCert: pki.caCert, rejectUnauthorized: true } } : {}),
      });
      opened.push(transport);
      const batch = (from: number) => Array.from({ length: BATCH }, (_, i) => `<134>1 - gw - - - - seq=${from + i} ${PADDING}`);

      let next = 0;
      let deliveredBytes = 0;
      let failure: unknown;
      while (deliveredBytes < GIVE_UP_BYTES) {
        try {
          deliveredBytes += (await transport.send(batch(next))).bytes;
        } catch (err) {
          failure = err;
          break;
        }
        next += BATCH;
        // TLS adds record overhead on the wire, so the kernel holds at least the plaintext it acknowledged.
        expect(deliveredBytes, 'bytes counted as delivered beyond what the receiving host took').toBeLessThanOrEqual(
          rx.bytesReceived()! + MAX_UNACKNOWLEDGED_BYTES,
        );
      }
      expect(failure, `no send failed after ${deliveredBytes} bytes to a receiver that reads nothing`).toBeInstanceOf(SyslogTransportError);
      expect((failure as SyslogTransportError).code).toBe(SyslogErrorCode.TIMEOUT);
      expect((failure as SyslogTransportError).message).toMatch(/timed out after 500 ms sending to 127\.0\.0\.1:/);
      expect(rx.frames).toHaveLength(0);

      // The receiver starts reading: the failed batch goes out again on a fresh connection, then one more.
      rx.resume();
      await transport.send(batch(next));
      await transport.send(batch(next + BATCH));
      const total = next + 2 * BATCH;
      expect(rx.connections).toBe(2);
      const seqOf = (text: string) => Number(/ seq=(\d+) /.exec(text)?.[1]);
      await waitFor(() => new Set(rx.frames.map((f) => seqOf(f.bytes.toString('utf8')))).size === total, {
        timeoutMs: 20_000,
        message: () => `got ${rx.frames.length} frames of ${total}`,
      });
      expect(rx.errors).toEqual([]);
      const duplicates = expectInOrderNothingLost(perConnection(rx.frames, seqOf), total);
      expect(duplicates, 'only the batch that timed out may arrive twice').toBeLessThanOrEqual(BATCH);
    },
    60_000,
  );
});

describe('syslog delivery worker to a receiver that accepts and never reads', () => {
  let g: TestGateway | undefined;
  let rx: StreamReceiver | undefined;
  afterEach(async () => {
    await g?.stop({ removeDatabase: true });
    await rx?.close();
  });

  it.runIf(onLinux)(
    'the integration ends up FAILING with timeouts instead of counting events as delivered; after the receiver reads, every event arrives in order',
    async () => {
      rx = await startStreamReceiver(undefined, { blackhole: true });
      g = await startTestGateway({ env: { SIEMGATE_RETRY_BASE_MS: '50', SIEMGATE_RETRY_MAX_MS: '300' } });
      const customerId = 'cust_blackhole';
      const id = await createIntegrationId(g, {
        name: 'blackholed syslog',
        customerId,
        config: { syslog: { host: '127.0.0.1', port: rx.port, protocol: 'TCP', timeoutSeconds: 1 } },
        batching: { batchSize: BIG_BATCH, flushIntervalSeconds: 1, retryCount: 1 },
      });
      // Batches of ~550 kB: more than a fresh connection to the receiving host takes (its socket buffer, ~100-200 kB on
      // Linux loopback), far less than the sender's kernel would buffer (~4 MiB). ~1.6 MB in all.
      const events = Array.from({ length: 1_500 }, (_, i) => ({
        id: randomUUID(), type: 'blackhole.test', severity: 'LOW', customerId, name: `event ${i}`, data: { message: PADDING },
      }));
      expect((await postEvents(g.url, events)).status).toBe(202);

      let last: unknown;
      const failing = await waitFor(async () => {
        const s = await integrationStatus(g!, id);
        last = s;
        return s.health === 'FAILING' ? s : null;
      }, { timeoutMs: 30_000, message: () => `never FAILING: ${JSON.stringify(last)}` });
      expect(failing.errorCount).toBeGreaterThanOrEqual(3);
      expect(failing.lastError).toMatch(/timed out after 1000 ms sending to 127\.0\.0\.1:/);
      expect(failing.stats.queued).toBeGreaterThan(0);
      expect(failing.stats.delivered).toBeLessThan(events.length);
      // Every delivered event is a frame of more than PADDING.length bytes, all of which the receiving host must hold.
      const held = rx.bytesReceived()!;
      expect(failing.stats.delivered * PADDING.length).toBeLessThanOrEqual(held + MAX_UNACKNOWLEDGED_BYTES * rx.connections);
      expect(rx.frames).toHaveLength(0);

      rx.resume();
      const index = new Map<string, number>(events.map((e, i) => [e.id, i]));
      const seqOf = (text: string) => index.get(/externalId=([0-9a-f-]{36})/.exec(text)?.[1] ?? '');
      await waitFor(() => new Set(rx!.frames.map((f) => seqOf(f.bytes.toString('utf8')))).size >= events.length, {
        timeoutMs: 30_000,
        message: () => `got ${rx!.frames.length} frames of ${events.length}`,
      });
      const healed = await waitFor(async () => {
        const s = await integrationStatus(g!, id);
        return s.errorCount === 0 && s.stats.queued === 0 ? s : null;
      }, { timeoutMs: 30_000, message: 'integration never healed' });
      expect(healed.health).toBe('HEALTHY');
      expect(healed.stats.delivered).toBe(events.length);
      expect(rx.errors).toEqual([]);
      expect(rx.connections).toBeGreaterThan(1);
      const duplicates = expectInOrderNothingLost(perConnection(rx.frames, seqOf), events.length);
      // Each timed-out attempt may leave part of its batch in the old connection's kernel buffer.
      expect(duplicates).toBeLessThanOrEqual(BIG_BATCH * (rx.connections - 1));
    },
    90_000,
  );
});
