/**
 * `npm run bench`: siemgate's performance figures beside issue 9's targets, and beside the forwarders
 * users would pick instead, measured in the same run against the same receiver.
 *
 * Throughput (medians of BENCH_RUNS runs; in each run every forwarder in turn, same receiver process):
 * - `hec-1`, the head-to-head, one Splunk HEC destination, batches of 500: the wire ceiling (undici
 *   posting pre-serialised batches), splunk-logging (Splunk's Node library, in memory), syslog-ng
 *   (Debian, reliable disk buffer + http(); skipped with a note when not installed) and siemgate
 *   end to end with `SIEMGATE_DB_SYNCHRONOUS=FULL` (`BENCH_NORMAL=1` adds NORMAL);
 * - `hec-10`: siemgate fanning out to 10 HEC integrations, and the ceiling with 10 streams;
 * - `syslog-1`: siemgate to one syslog TCP integration (RFC 5424 + CEF), and a raw TCP ceiling.
 * Then API latencies (ingestEvents, siemIntegrations with 1,000 integrations, status fan-out to 500
 * graphql-ws subscribers) and memory (idle RSS; peak RSS with 1,000,000 events queued behind a dead SIEM).
 *
 * Every gateway is `node bin/siemgate.mjs serve` (whatever entry the bin picks) with a fresh SQLite
 * database in a temp dir; the bench talks to it only through its public interfaces (HTTP, GraphQL,
 * graphql-ws, environment settings). Receivers and peers run in processes of their own. Every child is
 * killed and every temp dir removed at the end, on failure and on Ctrl-C. Knobs: see config.ts and
 * bench/README.md.
 */
import { fileURLToPath } from 'node:url';
import { cleanupNow, installCleanupHooks } from './cleanup.js';
import * as config from './config.js';
import { GatewayClient } from './gateway-client.js';
import { GatewayProcess } from './gateway-process.js';
import { HEC_PATH, payloadsFor } from './payloads.js';
import { splunkLoggingVersion } from './peers/splunk-logging.js';
import { findSyslogNg } from './peers/syslog-ng.js';
import { ReceiverProcess } from './receiver-process.js';
import { buildRows, formatTable, machineFacts, sourceState, writeResults, type BenchResults } from './report.js';
import { createManyIntegrations, measureIngestLatency, measureListLatency } from './scenarios/api-latency.js';
import { measureMemoryWhileDown } from './scenarios/memory.js';
import { measureScaleOut, scaleOutUnavailable } from './scenarios/scale-out.js';
import { measureStatusFanout } from './scenarios/status-fanout.js';
import { ceiling, runComparison, siemgate, splunkLogging, syslogNg, type ComparisonScenario, type Forwarder } from './scenarios/throughput.js';

const RESULTS_PATH = fileURLToPath(new URL('./results.json', import.meta.url));
const PARTIAL_RESULTS_PATH = fileURLToPath(new URL('./results-partial.json', import.meta.url));
const FULL = { SIEMGATE_DB_SYNCHRONOUS: 'FULL' };
const NORMAL = { SIEMGATE_DB_SYNCHRONOUS: 'NORMAL' };
const INSTALL_SYSLOG_NG = 'apt-get install -y syslog-ng-core syslog-ng-mod-http';

/** The three throughput comparisons, with the peers that are installed. */
async function throughputScenarios(): Promise<ComparisonScenario[]> {
  const peers: Forwarder[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const splunkLoggingInstalled = splunkLoggingVersion();
  if (splunkLoggingInstalled) peers.push(splunkLogging(splunkLoggingInstalled));
  else skipped.push({ name: 'splunk-logging', reason: 'not installed: npm ci installs it (devDependency)' });
  const found = await findSyslogNg();
  if ('install' in found) peers.push(syslogNg(found.install));
  else skipped.push({ name: 'syslog-ng', reason: `${found.missing}; install it with \`${INSTALL_SYSLOG_NG}\`` });
  return [
    {
      key: 'hec-1',
      label: 'End to end, one Splunk HEC destination, batches of 500',
      receiver: 'hec',
      integrations: 1,
      events: config.THROUGHPUT_EVENTS,
      forwarders: [
        ceiling(1),
        ...peers,
        siemgate('siemgate, synchronous=FULL', 1, FULL),
        ...(config.RUN_NORMAL ? [siemgate('siemgate, synchronous=NORMAL', 1, NORMAL)] : []),
      ],
      skipped,
    },
    {
      key: `hec-${config.FANOUT_INTEGRATIONS}`,
      label: `Fan-out to ${config.FANOUT_INTEGRATIONS} Splunk HEC integrations`,
      receiver: 'hec',
      integrations: config.FANOUT_INTEGRATIONS,
      events: config.FANOUT_EVENTS,
      forwarders: [ceiling(config.FANOUT_INTEGRATIONS), siemgate('siemgate, synchronous=FULL', config.FANOUT_INTEGRATIONS, FULL)],
      skipped: [],
    },
    {
      key: 'syslog-1',
      label: 'End to end, syslog TCP (RFC 5424 + CEF, octet counting)',
      receiver: 'syslog',
      integrations: 1,
      events: config.SYSLOG_EVENTS,
      forwarders: [ceiling(1), siemgate('siemgate, synchronous=FULL', 1, FULL)],
      skipped: [],
    },
  ];
}

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
      syslogEvents: config.SYSLOG_EVENTS,
      fanoutEvents: config.FANOUT_EVENTS,
      fanoutIntegrations: config.FANOUT_INTEGRATIONS,
      ingestChunkEvents: config.INGEST_CHUNK_EVENTS,
      ingestPosters: config.INGEST_POSTERS,
      batchSize: config.BATCH_SIZE,
      flushIntervalSeconds: config.FLUSH_INTERVAL_SECONDS,
      warmupEvents: config.WARMUP_EVENTS,
      ceilingStreams: 'one per integration (the gateway keeps one batch in flight per integration)',
      receiverCheck: 'counts every event by scanning bytes; parses and checks strictly >= 1% of the events (whole sampled requests/frames)',
      peers: {
        splunkLogging: 'own process, in memory, maxBatchCount 500, eventFormatter returns the event as is',
        syslogNg: 'foreground child, network() TCP source (flags(no-parse), flow-control), http() batch-lines(500), disk-buffer(reliable(yes))',
      },
      ceilingPasses: config.CEILING_PASSES,
      durability: 'SQLite WAL, SIEMGATE_DB_SYNCHRONOUS=FULL (set explicitly; also the default)',
      ingestLatencyCalls: config.INGEST_LATENCY_CALLS,
      listIntegrations: config.LIST_INTEGRATIONS,
      listQueryCalls: config.LIST_QUERY_CALLS,
      subscribers: config.SUBSCRIBERS,
      statusChangesPerRun: config.STATUS_CHANGES,
      memoryEvents: config.MEMORY_EVENTS,
      memoryChunkEvents: config.MEMORY_CHUNK_EVENTS,
      memoryBudgetMs: config.MEMORY_BUDGET_MS,
      slowRunMs: config.SLOW_RUN_MS,
      memoryRuns: 1,
      cpuProfileDir: config.CPU_PROF_DIR ?? null,
      gatewayExtraEnv: config.GATEWAY_EXTRA_ENV,
    },
    throughput: [],
    rows: [],
    wallTimeMs: 0,
  };

  const scenarios = (await throughputScenarios()).filter((s) => wanted('throughput') || config.ONLY.has(s.key));
  for (const s of scenarios.flatMap((s) => s.skipped)) log(`throughput: ${s.name} skipped: ${s.reason}`);
  if (scenarios.length > 0) {
    log('throughput: generating and serialising the events (ingest bodies, HEC batches, syslog frames, NDJSON)');
    for (const scenario of scenarios) {
      const payloads = await payloadsFor(scenario.events);
      log(`  ${scenario.key}: ${payloads.events.toLocaleString('en-US')} events of ${payloads.eventBytes} B (as posted)`);
    }
    for (const scenario of scenarios) {
      log(`throughput: ${scenario.label} (${scenario.forwarders.map((f) => f.name).join(', ')})`);
      results.throughput.push(await runComparison(scenario, log));
    }
  }
  if (wanted('latency')) await latencySection(results);
  if (wanted('scale')) {
    const unavailable = await scaleOutUnavailable();
    if (unavailable) log(`scale-out: skipped: ${unavailable}`);
    else {
      log('scale-out: 1 and 3 replicas on PostgreSQL + Redis, and PostgreSQL alone');
      results.scaleOut = await measureScaleOut(log);
    }
  }
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
      `Throughput: medians of ${config.RUNS} runs, ratios are medians of same-run ratios (fan-out and syslog rows: ÷ the peers' head-to-head medians); latency: medians of ${config.RUNS} runs' p50/p99; memory: 1 run. Wall time ${(results.wallTimeMs / 1000).toFixed(0)} s. Written to ${path}`,
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
