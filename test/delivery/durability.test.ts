import { afterEach, describe, expect, it } from 'vitest';
import { createIntegration } from '../support/api.js';
import { ADMIN_TOKEN, exited, gatewayEnv, gql, spawnServe, tempDir, type TestGateway } from '../support/gateway.js';
import { HEC_SUCCESS, ingest, integrationStatus, makeEvents, startHecSink, waitFor, type HecSink, type TestEvent } from '../support/delivery.js';

/**
 * Issue 4, "Shutdown and crash": after `kill -9` a restart resumes from the outbox — at-least-once,
 * nothing lost, duplicates bounded to the batches that were in flight; SIGTERM stops intake, finishes or
 * hands back in-flight batches within a deadline, and exits 0. The gateway runs as the real binary
 * (`siemgate serve`) in a child process; the SIEM is a real HEC receiver on loopback.
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function serveEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return gatewayEnv(dir, { SIEMGATE_EGRESS_ALLOW: '127.0.0.0/8', SIEMGATE_RETRY_BASE_MS: '20', SIEMGATE_RETRY_MAX_MS: '200', ...extra });
}

async function serve(env: NodeJS.ProcessEnv) {
  const server = await spawnServe(env);
  cleanups.push(() => {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  });
  // Just enough of a TestGateway for the API helpers: GraphQL over HTTP against the child.
  const api = { url: server.url, gql: (q: string, v?: Record<string, unknown>, t?: string | null) => gql(`${server.url}/graphql`, q, v, t) } as unknown as TestGateway;
  return { ...server, api };
}


/**
 * A slow-ish SIEM: answers each request after `delayMs`. `holdNext()` makes it keep the next request
 * unanswered until `release()`, so a test can act while a batch is certainly in flight.
 */
async function slowSink(delayMs: number) {
  let holding = false;
  let held: { resolve: () => void } | undefined;
  let heldRequest: unknown;
  const sink: HecSink = await startHecSink(async (req) => {
    if (holding && !held) {
      holding = false;
      heldRequest = req;
      await new Promise<void>((resolve) => (held = { resolve }));
      return HEC_SUCCESS;
    }
    await new Promise((r) => setTimeout(r, delayMs));
    return HEC_SUCCESS;
  });
  cleanups.push(() => {
    held?.resolve();
    return sink.close();
  });
  return {
    sink,
    holdNext: () => (holding = true),
    /** Resolves once a request is being held. */
    held: () => waitFor(() => heldRequest !== undefined, { message: 'no request reached the SIEM to be held' }),
    release: () => held?.resolve(),
  };
}

async function ingestInChunks(url: string, events: TestEvent[], chunk: number): Promise<void> {
  for (let i = 0; i < events.length; i += chunk) await ingest(url, events.slice(i, i + chunk));
}

/** How many records the SIEM accepted more than once, and whether it holds every id. */
function tally(sink: HecSink, events: TestEvent[]) {
  const accepted = sink.acceptedIds();
  const unique = new Set(accepted);
  return { duplicates: accepted.length - unique.size, missing: events.filter((e) => !unique.has(e.id)).length };
}

describe('kill -9', () => {
  it('loses nothing: after a restart the SIEM holds every ingested id, duplicates bounded by the batch in flight', async () => {
    const BATCH = 100;
    const env = serveEnv();
    const { sink, holdNext, held, release } = await slowSink(15);
    const first = await serve(env);
    const integration = await createIntegration(first.api, {
      name: 'Durable Splunk',
      customerId: 'cust_durable',
      batching: { batchSize: BATCH, flushIntervalSeconds: 1 },
      config: { splunk: { endpoint: sink.endpoint, token: 'hec-token-durable' } },
    });

    // 5,000 events in chunks of 500, each acknowledged with 202 (committed) before the next is sent.
    // Delivery is under way after the first chunk; from then on the SIEM holds the next batch unanswered.
    const events = makeEvents(5000, () => ({ customerId: 'cust_durable' }));
    await ingestInChunks(first.url, events.slice(0, 500), 500);
    await waitFor(() => sink.acceptedIds().length >= BATCH, { message: 'delivery never started' });
    holdNext();
    await ingestInChunks(first.url, events.slice(500), 500);

    // Kill while a batch is certainly in flight (the SIEM has it, the gateway has no answer yet)
    // and thousands of acknowledged events are still waiting in the outbox.
    await held();
    const deliveredBeforeKill = new Set(sink.acceptedIds()).size;
    expect(deliveredBeforeKill).toBeGreaterThan(0);
    expect(events.length - deliveredBeforeKill).toBeGreaterThanOrEqual(2000);
    first.child.kill('SIGKILL');
    expect((await exited(first.child)).signal).toBe('SIGKILL');
    release();

    // Restart on the same database: delivery resumes from the outbox.
    const second = await serve(env);
    await sink.waitForIds(events.map((e) => e.id), 60_000);
    const { duplicates, missing } = tally(sink, events);
    expect(missing).toBe(0);
    expect(duplicates, 'records delivered more than once').toBeLessThanOrEqual(2 * BATCH);
    // Every record carries the event id, so the SIEM can deduplicate; and the queue is empty.
    expect(sink.accepted().every((r) => typeof r.event.id === 'string')).toBe(true);
    const st = await waitFor(async () => {
      const s = await integrationStatus(second.api, integration.id);
      return s.stats.queued === 0 ? s : null;
    });
    expect(st.stats.deadLettered).toBe(0);
    second.child.kill('SIGTERM');
    expect((await exited(second.child)).code).toBe(0);
  }, 90_000);

  it('keeps every event it acknowledged even when killed in the middle of ingestion', async () => {
    const env = serveEnv();
    const { sink } = await slowSink(5);
    const first = await serve(env);
    await createIntegration(first.api, {
      name: 'Durable Splunk',
      customerId: 'cust_mid',
      batching: { batchSize: 100, flushIntervalSeconds: 1 },
      config: { splunk: { endpoint: sink.endpoint, token: 'hec-token-durable' } },
    });

    const acknowledged: TestEvent[] = [];
    const chunks = Array.from({ length: 10 }, () => makeEvents(300, () => ({ customerId: 'cust_mid' })));
    // Four chunks in, the gateway dies while more requests are on their way.
    for (const chunk of chunks.slice(0, 4)) {
      await ingest(first.url, chunk);
      acknowledged.push(...chunk);
    }
    const rest = chunks.slice(4).map(async (chunk) => {
      const response = await fetch(`${first.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify(chunk),
      }).catch(() => null);
      if (response?.status === 202) acknowledged.push(...chunk);
    });
    first.child.kill('SIGKILL');
    await Promise.all(rest);
    await exited(first.child);

    await serve(env);
    await sink.waitForIds(acknowledged.map((e) => e.id), 60_000);
    const { duplicates } = tally(sink, acknowledged);
    expect(duplicates).toBeLessThanOrEqual(200);
  }, 90_000);
});

describe('SIGTERM', () => {
  it('finishes the batch in flight, exits 0, and a restart delivers the rest without sending anything twice', async () => {
    const env = serveEnv({ SIEMGATE_SHUTDOWN_TIMEOUT_MS: '10000' });
    const { sink, holdNext, held, release } = await slowSink(15);
    const first = await serve(env);
    await createIntegration(first.api, {
      name: 'Drained Splunk',
      customerId: 'cust_term',
      batching: { batchSize: 50, flushIntervalSeconds: 1 },
      config: { splunk: { endpoint: sink.endpoint, token: 'hec-token-term' } },
    });
    const events = makeEvents(2000, () => ({ customerId: 'cust_term' }));
    await ingestInChunks(first.url, events.slice(0, 500), 500);
    await waitFor(() => sink.acceptedIds().length >= 50, { message: 'delivery never started' });
    holdNext();
    await ingestInChunks(first.url, events.slice(500), 500);
    await held();
    first.child.kill('SIGTERM');
    // The SIEM answers the batch in flight while the gateway drains, well within its deadline.
    setTimeout(release, 300);
    expect(await exited(first.child)).toEqual({ code: 0, signal: null });
    expect(new Set(sink.acceptedIds()).size).toBeLessThan(events.length);

    await serve(env);
    await sink.waitForIds(events.map((e) => e.id), 60_000);
    const { duplicates, missing } = tally(sink, events);
    expect(missing).toBe(0);
    expect(duplicates, 'the finished batch was committed before exit, so nothing is sent twice').toBe(0);
  }, 90_000);

  it('hands back a batch the SIEM never answers once SIEMGATE_SHUTDOWN_TIMEOUT_MS passes, exits 0, and a restart delivers it', async () => {
    const env = serveEnv({ SIEMGATE_SHUTDOWN_TIMEOUT_MS: '1000' });
    const { sink, holdNext, held, release } = await slowSink(15);
    const first = await serve(env);
    await createIntegration(first.api, {
      name: 'Stuck Splunk',
      customerId: 'cust_stuck',
      batching: { batchSize: 50, flushIntervalSeconds: 1 },
      config: { splunk: { endpoint: sink.endpoint, token: 'hec-token-stuck' } },
    });
    const events = makeEvents(1000, () => ({ customerId: 'cust_stuck' }));
    holdNext();
    await ingestInChunks(first.url, events, 500);
    await held();
    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toEqual({ code: 0, signal: null });
    release();

    await serve(env);
    await sink.waitForIds(events.map((e) => e.id), 60_000);
    const { duplicates, missing } = tally(sink, events);
    expect(missing).toBe(0);
    expect(duplicates).toBeLessThanOrEqual(2 * 50);
  }, 90_000);
});
