import {
  INGEST_LATENCY_CALLS,
  INGEST_LATENCY_WARMUP,
  LIST_INTEGRATIONS,
  LIST_QUERY_CALLS,
  LIST_QUERY_WARMUP,
  LIST_SETUP_CONCURRENCY,
  RUNS,
} from '../config.js';
import { makeEvents } from '../events.js';
import type { GatewayClient } from '../gateway-client.js';
import { forEachConcurrently, median, summarizeLatencies, type LatencySummary } from '../measure.js';

/** A latency figure: each run's p50/p99 and the medians over the runs. */
export interface LatencyResult {
  runs: LatencySummary[];
  median: { p50Ms: number; p99Ms: number };
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

function latencyResult(runs: LatencySummary[]): LatencyResult {
  return { runs, median: { p50Ms: median(runs.map((r) => r.p50Ms)), p99Ms: median(runs.map((r) => r.p99Ms)) } };
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
  const runs: LatencySummary[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const summary = summarizeLatencies(await timeSequential(INGEST_LATENCY_CALLS, ingestOne));
    runs.push(summary);
    log(`  ingestEvents run ${run}/${RUNS}: p50 ${summary.p50Ms.toFixed(2)} ms, p99 ${summary.p99Ms.toFixed(2)} ms`);
  }
  return latencyResult(runs);
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
  const runs: LatencySummary[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const summary = summarizeLatencies(await timeSequential(LIST_QUERY_CALLS, list));
    runs.push(summary);
    log(`  siemIntegrations run ${run}/${RUNS}: p50 ${summary.p50Ms.toFixed(2)} ms, p99 ${summary.p99Ms.toFixed(2)} ms`);
  }
  return latencyResult(runs);
}
