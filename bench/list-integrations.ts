/**
 * The `siemIntegrations` latency figure alone (issue 9, target p99 < 10 ms), for profiling it without the
 * whole bench: a gateway child (`node bin/siemgate.mjs serve`, as in `npm run bench`) with 1,000 Splunk
 * integrations created through the API, then `BENCH_RUNS` runs of `BENCH_LIST_CALLS` sequential dashboard
 * queries (the bench's own query, {@link LIST_INTEGRATIONS_QUERY}), each run's p50/p99 and their medians.
 *
 * Usage:
 * ```sh
 * node --import tsx bench/list-integrations.ts                  # the bench's dashboard query
 * LIST_QUERY=full node --import tsx bench/list-integrations.ts  # every stats field and more config fields
 * BENCH_CPU_PROF=/tmp/prof node --import tsx bench/list-integrations.ts
 * node --import tsx bench/profile-summary.ts /tmp/prof/gateway-list/CPU.*.cpuprofile 30
 * ```
 */
import { readFileSync } from 'node:fs';
import { cleanupNow, installCleanupHooks } from './cleanup.js';
import { LIST_INTEGRATIONS, LIST_QUERY_CALLS, LIST_QUERY_WARMUP, RUNS } from './config.js';
import { GatewayClient } from './gateway-client.js';
import { GatewayProcess } from './gateway-process.js';
import { HEC_PATH } from './payloads.js';
import { ReceiverProcess } from './receiver-process.js';
import { sleep } from './measure.js';
import { createManyIntegrations, measureListLatency } from './scenarios/api-latency.js';

/** How long the gateway's CPU use is sampled with no request, before the queries. */
const IDLE_SAMPLE_MS = 5_000;

/** A wider dashboard: every stats field, the last error, more config. */
const FULL_QUERY = /* GraphQL */ `
  query IntegrationsFull {
    siemIntegrations {
      id name type enabled customerId health errorCount lastError lastErrorAt lastEventAt createdAt updatedAt
      batching { batchSize flushIntervalSeconds retryCount timeoutSeconds }
      filter { minSeverity eventTypes }
      config { __typename ... on SplunkConfig { endpoint hasToken index source sourcetype host indexerAck gzip timeoutSeconds tls { hasClientKey } } }
      stats { delivered failedAttempts queued deadLettered successRate p50LatencyMs p95LatencyMs }
    }
  }
`;

/** CPU time (user + system) a process has used, in ms, from /proc/<pid>/stat (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // After the command name: state is field 3, utime field 14, stime field 15 (1-based, as in proc(5)).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function main(): Promise<void> {
  installCleanupHooks();
  const query = process.env.LIST_QUERY === 'full' ? FULL_QUERY : undefined;
  const log = (line: string) => console.log(line);
  const receiver = await ReceiverProcess.start('hec');
  const gateway = await GatewayProcess.start({ label: 'list' });
  const client = new GatewayClient(gateway.url);
  try {
    log(`creating ${LIST_INTEGRATIONS} integrations through the API`);
    await createManyIntegrations(client, `${receiver.url}${HEC_PATH}`);
    // What the gateway spends with no request (its delivery workers' timers), to tell it apart from the queries' cost.
    const idleStarted = performance.now();
    const idleCpu = cpuMs(gateway.child.pid!);
    await sleep(IDLE_SAMPLE_MS);
    const idleShare = (cpuMs(gateway.child.pid!) - idleCpu) / (performance.now() - idleStarted);
    log(`gateway CPU while idle: ${(idleShare * 1000).toFixed(0)} ms/s`);
    log(`siemIntegrations (${query ? 'full' : 'dashboard'} query), ${RUNS} runs of ${LIST_QUERY_CALLS} calls`);
    // On the monotonic clock of V8's CPU profiles (µs), to cut the creation of the integrations out of a profile.
    const monotonicUs = () => process.hrtime.bigint() / 1000n;
    const startedUs = monotonicUs();
    const cpuBefore = cpuMs(gateway.child.pid!);
    const queriesStarted = performance.now();
    const result = await measureListLatency(client, log, query);
    const background = idleShare * (performance.now() - queriesStarted);
    const cpuPerQuery = (cpuMs(gateway.child.pid!) - cpuBefore - background) / (RUNS * LIST_QUERY_CALLS + LIST_QUERY_WARMUP);
    log(`queries ran from ${startedUs} to ${monotonicUs()} µs (monotonic clock)`);
    // Wall-clock latency depends on what else runs on the cores; the gateway's CPU time per query does much less.
    log(`gateway CPU per query: ${cpuPerQuery.toFixed(2)} ms (idle use taken off)`);
    log(`median: p50 ${result.median.p50Ms.toFixed(2)} ms, p99 ${result.median.p99Ms.toFixed(2)} ms (target p99 < 10 ms)`);
  } finally {
    await client.close();
    await gateway.stop();
    await receiver.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    cleanupNow();
    process.exit(1);
  },
);
