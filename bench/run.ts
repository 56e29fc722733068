/**
 * `npm run bench`: siemgate's performance figures, measured on loopback.
 *
 * Starts the gateway (`node bin/siemgate.mjs serve`, a fresh SQLite database in a temp dir, default
 * durability: WAL + synchronous=FULL) and receivers in processes of their own, runs every scenario,
 * prints a table and writes bench/results.json. Every child is killed and every temp dir removed at the
 * end, on failure and on Ctrl-C.
 *
 * Environment knobs (defaults are the published figures): BENCH_RUNS, BENCH_EVENTS, BENCH_FANOUT_EVENTS,
 * BENCH_MEMORY_EVENTS, BENCH_LATENCY_CALLS, BENCH_LIST_CALLS, BENCH_STATUS_CHANGES,
 * BENCH_ONLY=throughput,latency,memory or single throughput scenarios hec-1,hec-10,syslog-1 (a partial
 * run writes bench/results-partial.json),
 * BENCH_CPU_PROF=<dir> (every gateway child runs with --cpu-prof; see bench/profile-summary.ts).
 */
import { fileURLToPath } from 'node:url';
import { cleanupNow, installCleanupHooks } from './cleanup.js';
import * as config from './config.js';
import { GatewayClient } from './gateway-client.js';
import { GatewayProcess } from './gateway-process.js';
import { HEC_PATH, payloadsFor } from './payloads.js';
import { ReceiverProcess } from './receiver-process.js';
import { buildRows, formatTable, machineFacts, sourceState, writeResults, type BenchResults } from './report.js';
import { createManyIntegrations, measureIngestLatency, measureListLatency } from './scenarios/api-latency.js';
import { measureMemoryWhileDown } from './scenarios/memory.js';
import { measureStatusFanout } from './scenarios/status-fanout.js';
import { runThroughputScenario, type ThroughputScenario } from './scenarios/throughput.js';

const RESULTS_PATH = fileURLToPath(new URL('./results.json', import.meta.url));
const PARTIAL_RESULTS_PATH = fileURLToPath(new URL('./results-partial.json', import.meta.url));

const THROUGHPUT_SCENARIOS: ThroughputScenario[] = [
  { key: 'hec-1', label: 'End-to-end, Splunk HEC, 1 integration', destination: 'hec', integrations: 1, events: config.THROUGHPUT_EVENTS },
  {
    key: `hec-${config.FANOUT_INTEGRATIONS}`,
    label: `End-to-end, Splunk HEC fan-out, ${config.FANOUT_INTEGRATIONS} integrations`,
    destination: 'hec',
    integrations: config.FANOUT_INTEGRATIONS,
    events: config.FANOUT_EVENTS,
  },
  { key: 'syslog-1', label: 'End-to-end, syslog TCP (RFC 5424 + CEF), 1 integration', destination: 'syslog', integrations: 1, events: config.THROUGHPUT_EVENTS },
];

/** A share of busy CPU above this before the bench starts is reported as a warning. */
const BUSY_CPU_SHARE = 0.1;

const benchStarted = performance.now();
function log(line: string): void {
  const elapsed = ((performance.now() - benchStarted) / 1000).toFixed(0).padStart(4);
  console.log(`[${elapsed}s] ${line}`);
}

const wanted = (section: string) => config.ONLY.size === 0 || config.ONLY.has(section);

async function latencySection(results: BenchResults): Promise<void> {
  const receiver = await ReceiverProcess.start('hec');
  const gateway = await GatewayProcess.start({ label: 'latency' });
  const client = new GatewayClient(gateway.url);
  try {
    const endpoint = `${receiver.url}${HEC_PATH}`;
    log('latency: ingestEvents with one event');
    results.ingestLatency = await measureIngestLatency(client, log);
    log(`latency: siemIntegrationStatus to ${config.SUBSCRIBERS} graphql-ws subscribers`);
    results.statusFanout = await measureStatusFanout(gateway.url, client, endpoint, log);
    log(`latency: creating ${config.LIST_INTEGRATIONS} integrations through the API`);
    await createManyIntegrations(client, endpoint);
    log(`latency: siemIntegrations with ${config.LIST_INTEGRATIONS} integrations`);
    results.listLatency = await measureListLatency(client, log);
  } finally {
    await client.close();
    await gateway.stop();
    await receiver.stop();
  }
}

async function main(): Promise<void> {
  installCleanupHooks();
  const machine = await machineFacts();
  log(`siemgate bench on ${machine.cores} cores (${machine.cpuModel}), ${(machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${machine.node}`);
  if (machine.cpuBusyAtStart !== null && machine.cpuBusyAtStart > BUSY_CPU_SHARE) {
    log(`warning: ${Math.round(machine.cpuBusyAtStart * 100)}% of the CPU was busy before the bench started; other processes share the cores and the figures will be lower`);
  }
  const results: BenchResults = {
    machine,
    source: { atStart: sourceState() },
    settings: {
      runs: config.RUNS,
      throughputEvents: config.THROUGHPUT_EVENTS,
      fanoutEvents: config.FANOUT_EVENTS,
      fanoutIntegrations: config.FANOUT_INTEGRATIONS,
      ingestChunkEvents: config.INGEST_CHUNK_EVENTS,
      ingestPosters: config.INGEST_POSTERS,
      batchSize: config.BATCH_SIZE,
      flushIntervalSeconds: config.FLUSH_INTERVAL_SECONDS,
      warmupEvents: config.WARMUP_EVENTS,
      ceilingStreams: 'one per integration (the gateway keeps one batch in flight per integration)',
      ceilingPasses: config.CEILING_PASSES,
      durability: 'SQLite WAL, synchronous=FULL (gateway defaults)',
      ingestLatencyCalls: config.INGEST_LATENCY_CALLS,
      listIntegrations: config.LIST_INTEGRATIONS,
      listQueryCalls: config.LIST_QUERY_CALLS,
      subscribers: config.SUBSCRIBERS,
      statusChangesPerRun: config.STATUS_CHANGES,
      memoryEvents: config.MEMORY_EVENTS,
      memoryRuns: 1,
      cpuProfileDir: config.CPU_PROF_DIR ?? null,
      gatewayExtraEnv: config.GATEWAY_EXTRA_ENV,
    },
    throughput: [],
    rows: [],
    wallTimeMs: 0,
  };

  const throughputScenarios = THROUGHPUT_SCENARIOS.filter((s) => wanted('throughput') || config.ONLY.has(s.key));
  if (throughputScenarios.length > 0) {
    log('throughput: generating and serialising the events (ingest bodies, HEC batches, syslog frames)');
    for (const scenario of throughputScenarios) await payloadsFor(scenario.events);
    for (const scenario of throughputScenarios) {
      log(`throughput: ${scenario.label}`);
      results.throughput.push(await runThroughputScenario(scenario, log));
    }
  }
  if (wanted('latency')) await latencySection(results);
  if (wanted('memory')) {
    log(`memory: ${config.MEMORY_EVENTS.toLocaleString('en-US')} events queued while the destination answers 503`);
    results.memory = await measureMemoryWhileDown(log);
  }

  results.source.atEnd = sourceState();
  const { atStart, atEnd } = results.source;
  if (atStart.commit !== atEnd.commit || atStart.dirty || atEnd.dirty) {
    log(`warning: the code changed or was uncommitted during the run (${atStart.commit}${atStart.dirty ? '+dirty' : ''} → ${atEnd.commit}${atEnd.dirty ? '+dirty' : ''})`);
  }
  results.rows = buildRows(results);
  results.wallTimeMs = Math.round(performance.now() - benchStarted);
  const path = config.ONLY.size === 0 ? RESULTS_PATH : PARTIAL_RESULTS_PATH;
  writeResults(path, results);
  console.log(`\n${formatTable(results.rows)}\n`);
  console.log(
    `Machine: ${machine.cores} cores, ${(machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${machine.node}, ${machine.date}, commit ${atEnd.commit}. ` +
      `Medians of ${config.RUNS} runs (memory: 1 run). Wall time ${(results.wallTimeMs / 1000).toFixed(0)} s. Written to ${path}`,
  );
}

main().then(
  () => {
    cleanupNow();
    process.exit(0);
  },
  (error: unknown) => {
    console.error('bench failed:', error);
    cleanupNow();
    process.exit(1);
  },
);
