import {
  INGEST_LATENCY_CALLS,
  INGEST_LATENCY_WARMUP,
  LIST_INTEGRATIONS,
  LIST_QUERY_CALLS,
  LIST_QUERY_WARMUP,
  LIST_SETUP_CONCURRENCY,
  RUNS,
  SLOW_RUN_MS,
} from '../config.js';
import { makeEvents } from '../events.js';
import type { GatewayClient } from '../gateway-client.js';
import { forEachConcurrently, median, summarizeLatencies, type LatencySummary } from '../measure.js';

/** A latency figure: each run's p50/p99 and the medians over the runs. */
export interface LatencyResult {
  runs: LatencySummary[];
  median: { p50Ms: number; p99Ms: number };
  /** Deviations from the plan (a slow first run measured once: the time budget). */
  notes: string[];
}

const INGEST_ONE = /* GraphQL */ `
  mutation IngestOne($events: [SecurityEventInput!]!) { ingestEvents(events: $events) { accepted ids } }
`;

/**
 * What an operator's dashboard asks for: every integration with its health, error tracking, batching,
 * destination and live stats.
 */
export const LIST_INTEGRATIONS_QUERY = /* GraphQL */ `
  query Integrations {
    siemIntegrations {
      id name type enabled customerId health errorCount lastError lastErrorAt lastEventAt updatedAt
      batching { batchSize flushIntervalSeconds }
      config { __typename ... on SplunkConfig { endpoint hasToken sourcetype } }
      stats { delivered queued deadLettered successRate }
    }
  }
`;

/** Times `calls` sequential invocations of `call`, in milliseconds each. */
async function timeSequential(calls: number, call: (i: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await call(i);
    samples.push(performance.now() - started);
  }
  return samples;
}

/**
 * {@link RUNS} runs of `calls` sequential calls each, summarised; one run only when the first takes
 * longer than {@link SLOW_RUN_MS} (the bench's time budget; noted in the result).
 */
async function latencyRuns(label: string, calls: number, call: (i: number) => Promise<unknown>, log: (line: string) => void): Promise<LatencyResult> {
  const runs: LatencySummary[] = [];
  const notes: string[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const started = performance.now();
    const summary = summarizeLatencies(await timeSequential(calls, call));
    runs.push(summary);
    log(`  ${label} run ${run}/${RUNS}: p50 ${summary.p50Ms.toFixed(2)} ms, p99 ${summary.p99Ms.toFixed(2)} ms`);
    const tookMs = performance.now() - started;
    if (run === 1 && RUNS > 1 && tookMs > SLOW_RUN_MS) {
      notes.push(`${label}: 1 run instead of ${RUNS} (it took ${(tookMs / 1000).toFixed(0)} s > ${SLOW_RUN_MS / 1000} s, the bench's time budget)`);
      log(`  ${notes.at(-1)}`);
      break;
    }
  }
  return { runs, notes, median: { p50Ms: median(runs.map((r) => r.p50Ms)), p99Ms: median(runs.map((r) => r.p99Ms)) } };
}

/**
 * `ingestEvents` with one event, {@link INGEST_LATENCY_CALLS} sequential calls per run after
 * {@link INGEST_LATENCY_WARMUP} warm-up calls; round trip as the client sees it (committed with fsync).
 */
export async function measureIngestLatency(client: GatewayClient, log: (line: string) => void): Promise<LatencyResult> {
  const events = makeEvents(INGEST_LATENCY_WARMUP + RUNS * INGEST_LATENCY_CALLS, 'cust_latency');
  let next = 0;
  const ingestOne = () => client.gql(INGEST_ONE, { events: [events[next++]] });
  await timeSequential(INGEST_LATENCY_WARMUP, ingestOne);
  return latencyRuns('ingestEvents', INGEST_LATENCY_CALLS, ingestOne, log);
}

/**
 * Creates {@link LIST_INTEGRATIONS} Splunk integrations through the API (one customer each, as an MSSP
 * has them), all enabled and delivering to `endpoint`.
 */
export async function createManyIntegrations(client: GatewayClient, endpoint: string): Promise<void> {
  const indexes = Array.from({ length: LIST_INTEGRATIONS }, (_, i) => i);
  await forEachConcurrently(indexes, LIST_SETUP_CONCURRENCY, async (i) => {
    await client.createSplunkIntegration({ name: `customer ${i} splunk`, endpoint, customerId: `cust_${String(i).padStart(4, '0')}` });
  });
}

/**
 * The `siemIntegrations` query ({@link LIST_INTEGRATIONS_QUERY} unless another is given) with
 * {@link LIST_INTEGRATIONS} integrations present, {@link LIST_QUERY_CALLS} sequential calls per run after a warm-up.
 */
export async function measureListLatency(client: GatewayClient, log: (line: string) => void, query = LIST_INTEGRATIONS_QUERY): Promise<LatencyResult> {
  const list = async () => {
    const data = await client.gql<{ siemIntegrations: unknown[] }>(query);
    if (data.siemIntegrations.length < LIST_INTEGRATIONS) throw new Error(`siemIntegrations returned ${data.siemIntegrations.length} integrations`);
  };
  await timeSequential(LIST_QUERY_WARMUP, list);
  return latencyRuns('siemIntegrations', LIST_QUERY_CALLS, list, log);
}
