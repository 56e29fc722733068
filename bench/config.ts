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

/** Runs per figure; every reported figure is the median over these runs. */
export const RUNS = intFromEnv('BENCH_RUNS', 3);

/** Events posted to `POST /v1/events` per end-to-end throughput run. */
export const THROUGHPUT_EVENTS = intFromEnv('BENCH_EVENTS', 200_000);
/** Events posted per run of the 10-integration fan-out scenario (each is delivered 10 times). */
export const FANOUT_EVENTS = intFromEnv('BENCH_FANOUT_EVENTS', 200_000);
/** Events per `POST /v1/events` request (a multiple of {@link BATCH_SIZE}, so every delivery batch is full). */
export const INGEST_CHUNK_EVENTS = 5_000;
/** Concurrent posters (keep-alive connections) feeding `POST /v1/events`. */
export const INGEST_POSTERS = 4;
/** The integrations' `batchSize`, and the batch size of every ceiling. */
export const BATCH_SIZE = 1_000;
/** The integrations' `flushIntervalSeconds` (only matters for a partial last batch). */
export const FLUSH_INTERVAL_SECONDS = 1;
/** Ceiling passes per run; the run's ceiling is their median. */
export const CEILING_PASSES = 3;
/** Integrations in the fan-out throughput scenario. */
export const FANOUT_INTEGRATIONS = 10;
/** Events posted (and delivered) before each timed throughput run, to warm the JIT and open connections. */
export const WARMUP_EVENTS = 5_000;

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

/** Targets from issue 5. */
export const TARGETS = {
  /** End-to-end throughput as a share of the same-run raw ceiling. */
  throughputRatio: 0.5,
  /** Peak gateway RSS with {@link MEMORY_EVENTS} queued. */
  maxRssBytes: 300 * 1024 * 1024,
  /** p99 of the API queries. */
  queryP99Ms: 10,
  /** p99 from a status change to its receipt by a subscriber. */
  fanoutP99Ms: 100,
} as const;

/** Which scenarios to run (comma-separated `BENCH_ONLY`, e.g. `latency,memory`); all when unset. */
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
