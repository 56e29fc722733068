/**
 * Every tunable figure of `npm run bench` in one place. Each can be overridden through the environment
 * (handy for a quick iteration: `BENCH_RUNS=1 BENCH_EVENTS=50000 npm run bench`), but the defaults are
 * the ones the published figures come from.
 */

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name}: expected a positive whole number, got ${JSON.stringify(raw)}`);
  return value;
}

/** Runs per throughput figure; every reported figure is the median over these runs. */
export const RUNS = intFromEnv('BENCH_RUNS', 3);

/**
 * Events per run of the head-to-head (siemgate, the wire ceiling, splunk-logging and syslog-ng, one
 * Splunk HEC destination each, the same receiver): issue 9's 100,000 events of ≈ 320 B.
 */
export const THROUGHPUT_EVENTS = intFromEnv('BENCH_EVENTS', 100_000);
/** Events per run of the syslog TCP scenario. */
export const SYSLOG_EVENTS = intFromEnv('BENCH_SYSLOG_EVENTS', 100_000);
/** Events posted per run of the 10-integration fan-out scenario (each is delivered 10 times). */
export const FANOUT_EVENTS = intFromEnv('BENCH_FANOUT_EVENTS', 50_000);
/** Events per `POST /v1/events` request (a multiple of {@link BATCH_SIZE}, so every delivery batch is full). */
export const INGEST_CHUNK_EVENTS = intFromEnv('BENCH_CHUNK_EVENTS', 500);
/** Concurrent posters (keep-alive connections) feeding `POST /v1/events`. */
export const INGEST_POSTERS = 4;
/** Events per HEC request for every forwarder (the integrations' `batchSize`, splunk-logging's `maxBatchCount`, syslog-ng's `batch-lines`), and per ceiling write. */
export const BATCH_SIZE = 500;
/** The integrations' `flushIntervalSeconds` (only matters for a partial last batch). */
export const FLUSH_INTERVAL_SECONDS = 1;
/** Ceiling passes per run; the run's ceiling is their median. */
export const CEILING_PASSES = 3;
/** Integrations in the fan-out throughput scenario. */
export const FANOUT_INTEGRATIONS = 10;
/** Events posted (and delivered) before each timed siemgate run, to warm the JIT and open connections. */
export const WARMUP_EVENTS = 5_000;
/**
 * The time budget: a forwarder whose first throughput run takes longer than this is measured once
 * instead of {@link RUNS} times (said in the output), so a slow build still finishes in minutes.
 */
export const SLOW_RUN_MS = intFromEnv('BENCH_SLOW_RUN_S', 15) * 1000;
/** Also run siemgate with `SIEMGATE_DB_SYNCHRONOUS=NORMAL` in the head-to-head (`BENCH_NORMAL=1`; off by default: time). */
export const RUN_NORMAL = process.env.BENCH_NORMAL === '1';
/** The syslog-ng binary (`SYSLOG_NG`); the peer row is skipped when it is not installed. */
export const SYSLOG_NG_BIN = process.env.SYSLOG_NG?.trim() || 'syslog-ng';

/** Sequential `ingestEvents` calls (one event each) per latency run, after {@link INGEST_LATENCY_WARMUP}. */
export const INGEST_LATENCY_CALLS = intFromEnv('BENCH_LATENCY_CALLS', 2_000);
/** Warm-up `ingestEvents` calls before the timed ones (JIT, connection, SQLite cache). */
export const INGEST_LATENCY_WARMUP = 500;
/** Integrations present for the `siemIntegrations` latency figure. */
export const LIST_INTEGRATIONS = 1_000;
/** Concurrent `createSiemIntegration` calls while setting them up. */
export const LIST_SETUP_CONCURRENCY = 4;
/** Sequential `siemIntegrations` queries per latency run, after {@link LIST_QUERY_WARMUP}. */
export const LIST_QUERY_CALLS = intFromEnv('BENCH_LIST_CALLS', 200);
/** Warm-up `siemIntegrations` queries before the timed ones. */
export const LIST_QUERY_WARMUP = 20;

/** graphql-ws subscribers to `siemIntegrationStatus` in the fan-out latency scenario. */
export const SUBSCRIBERS = 500;
/** Status changes (enabled toggles) per fan-out run; every one reaches every subscriber. */
export const STATUS_CHANGES = intFromEnv('BENCH_STATUS_CHANGES', 20);
/** Pause between two status changes, so one wave has settled before the next. */
export const STATUS_CHANGE_GAP_MS = 50;

/** Events queued while the destination is down in the memory scenario (one run: see the report). */
export const MEMORY_EVENTS = intFromEnv('BENCH_MEMORY_EVENTS', 1_000_000);
/**
 * Events per `POST /v1/events` request in the memory scenario: as in the throughput scenarios (requests
 * of 5,000 were reset by the gateway's body deadline, which includes the wait for the organisation's turn, on a loaded machine).
 */
export const MEMORY_CHUNK_EVENTS = INGEST_CHUNK_EVENTS;
/** The memory scenario stops posting after this long (time budget) and says how many events it queued. */
export const MEMORY_BUDGET_MS = intFromEnv('BENCH_MEMORY_BUDGET_S', 150) * 1000;
/** How often the gateway's /proc/<pid>/status is sampled. */
export const RSS_SAMPLE_MS = 100;
/** Idle time after the last post before the RSS "at rest" (backlog queued, no load) is read. */
export const MEMORY_SETTLE_MS = 3_000;
/** Resolution of the RSS timeline kept in results.json. */
export const RSS_TIMELINE_STEP_MS = 1_000;

/** Longest wait for a receiver to see every event of one run before the bench gives up. */
export const DELIVERY_TIMEOUT_MS = 180_000;
/** Longest wait for the gateway child to print its "listening" line. */
export const GATEWAY_START_TIMEOUT_MS = 30_000;
/** Grace period after SIGTERM before the gateway child is killed. */
export const GATEWAY_STOP_TIMEOUT_MS = 15_000;

/** Admin token the gateway children are bootstrapped with (loopback only, thrown away with the temp dir). */
export const ADMIN_TOKEN = 'sg_bench_admin_token_0123456789abcdef';
/** Fixed secret key for the children, so no key file warning is printed. */
export const SECRET_KEY = Buffer.alloc(32, 11).toString('base64');

const MIB = 1024 * 1024;

/** Targets from issue 9 (each printed beside its figure). */
export const TARGETS = {
  /** End to end, one HEC destination, `synchronous=FULL`. */
  e2eEventsPerSec: 100_000,
  /** …and at least this multiple of each peer (syslog-ng, splunk-logging) in the same run. */
  e2eVersusPeers: 1.0,
  /** Fan-out to {@link FANOUT_INTEGRATIONS} integrations, deliveries per second. */
  fanoutDeliveriesPerSec: 300_000,
  /** Syslog TCP end to end. */
  syslogEventsPerSec: 100_000,
  /** Issue 13: an event ingested on one replica wakes the worker that owns its integration on another within this. */
  wakeUpP99Ms: 100,
  /** Peak gateway RSS with {@link MEMORY_EVENTS} queued behind a dead SIEM. */
  peakRssBytes: 150 * MIB,
  /** RSS of a started gateway at rest. */
  idleRssBytes: 100 * MIB,
  /** `siemIntegrations` with {@link LIST_INTEGRATIONS} integrations and the dashboard fields, p99. */
  listP99Ms: 10,
  /** `ingestEvents` with one event, p99. */
  ingestP99Ms: 5,
  /** Status change to {@link SUBSCRIBERS} graphql-ws subscribers, p99. */
  statusFanoutP99Ms: 50,
} as const;

/**
 * Which scenarios to run (comma-separated `BENCH_ONLY`): `throughput` (= `hec-1,hec-10,syslog-1`),
 * `hec-1` (the head-to-head with the peers), `hec-10`, `syslog-1`, `latency`, `memory`; all when unset.
 */
export const ONLY = new Set((process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean));
/** When set, every gateway child runs with `--cpu-prof` and writes its profile into this directory. */
export const CPU_PROF_DIR = process.env.BENCH_CPU_PROF?.trim() || undefined;

/**
 * Extra environment for every gateway child, as a JSON object (`BENCH_GATEWAY_ENV='{"NODE_OPTIONS":"--max-semi-space-size=64"}'`),
 * to try a setting before changing code. Recorded in results.json; the published figures use none.
 */
export const GATEWAY_EXTRA_ENV: Record<string, string> = (() => {
  const raw = process.env.BENCH_GATEWAY_ENV?.trim();
  if (!raw) return {};
  const parsed = JSON.parse(raw) as unknown;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
    throw new Error('BENCH_GATEWAY_ENV: expected a JSON object of strings');
  }
  return parsed as Record<string, string>;
})();
