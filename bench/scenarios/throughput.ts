import { postHecCeiling, writeSyslogCeiling } from '../ceilings.js';
import { BATCH_SIZE, CEILING_PASSES, DELIVERY_TIMEOUT_MS, INGEST_POSTERS, RUNS, SLOW_RUN_MS, WARMUP_EVENTS } from '../config.js';
import { makeEvents, ndjsonBuffers } from '../events.js';
import { GatewayClient } from '../gateway-client.js';
import { GatewayProcess } from '../gateway-process.js';
import { forEachConcurrently, median } from '../measure.js';
import { HEC_PATH, payloadsFor, THROUGHPUT_CUSTOMER, type ThroughputPayloads } from '../payloads.js';
import { SplunkLoggingPeer } from '../peers/splunk-logging.js';
import { SyslogNgProcess, type SyslogNgInstall } from '../peers/syslog-ng.js';
import { ReceiverProcess, type ReceiverKind } from '../receiver-process.js';
import type { ReceiverStats } from '../receiver-protocol.js';

const MS_PER_SECOND = 1000;

/** What a forwarder is in a comparison: the one measured against its target, the wire ceiling, or a peer. */
export type ForwarderRole = 'siemgate' | 'ceiling' | 'peer';

/** One timed pass of one forwarder: `events` delivered to the receiver, from its first byte in to the receiver's last acknowledgement. */
export interface ForwarderRun {
  /** Events the receiver counted (posted × integrations for a fan-out). */
  events: number;
  ms: number;
  eventsPerSec: number;
  /** CPU time of the forwarder's process(es) over the timed part (null for the ceiling: it runs in the bench). */
  forwarderCpuMs: number | null;
  /** CPU time of the receiver process over the timed part, and its share of one core. */
  receiverCpuMs: number;
  receiverCoreShare: number;
  /** Events the receiver parsed and checked strictly, and the sampled requests/frames that failed. */
  checked: number;
  invalid: number;
  firstInvalid: string | null;
  /** siemgate only: from the first post until every `POST /v1/events` was answered 202 (events committed). */
  ingestMs?: number;
  /** Peak RSS of the forwarder's process (VmHWM) at the end of the pass, when it has its own process. */
  peakRssBytes?: number;
  /** For the ceiling: each pass (the run's figure is their median). */
  passesMs?: number[];
}

/** A forwarder in a comparison. */
export interface Forwarder {
  name: string;
  role: ForwarderRole;
  /** One timed pass against `receiver` (already started); counters are reset by the caller. */
  run(receiver: ReceiverProcess, payloads: ThroughputPayloads): Promise<ForwarderRun>;
}

/** A comparison: forwarders run one after the other in each of {@link RUNS} runs, against one receiver. */
export interface ComparisonScenario {
  /** e.g. `hec-1`. */
  key: string;
  label: string;
  receiver: ReceiverKind;
  /** Integrations (siemgate) or streams (ceiling) routed the same events: delivered = events × this. */
  integrations: number;
  /** Events posted per run. */
  events: number;
  forwarders: Forwarder[];
  /** Peers left out, with the reason (e.g. syslog-ng not installed). */
  skipped: { name: string; reason: string }[];
}

/** One forwarder's runs and medians. */
export interface ForwarderResult {
  name: string;
  role: ForwarderRole;
  runs: ForwarderRun[];
  median: { eventsPerSec: number; forwarderCpuMs: number | null; receiverCoreShare: number; ingestEventsPerSec?: number };
}

export interface ComparisonResult {
  key: string;
  label: string;
  receiver: ReceiverKind;
  integrations: number;
  postedEvents: number;
  deliveredEvents: number;
  forwarders: ForwarderResult[];
  skipped: { name: string; reason: string }[];
  /** Deviations from the plan, e.g. a slow forwarder measured once. */
  notes: string[];
}

/** A {@link ForwarderRun} from the receiver's stats at the end of a pass that started at `startedAt`. */
function passResult(stats: ReceiverStats, startedAt: number, extra: Partial<ForwarderRun> = {}): ForwarderRun {
  const ms = stats.lastAt! - startedAt;
  return {
    events: stats.events,
    ms,
    eventsPerSec: (stats.events * MS_PER_SECOND) / ms,
    forwarderCpuMs: null,
    receiverCpuMs: stats.cpuMs,
    receiverCoreShare: stats.cpuMs / ms,
    checked: stats.checked,
    invalid: stats.invalid,
    firstInvalid: stats.firstInvalid,
    ...extra,
  };
}

/**
 * siemgate end to end: a fresh gateway (`node bin/siemgate.mjs serve`, extra `env` such as
 * `SIEMGATE_DB_SYNCHRONOUS`), `integrations` integrations of the customer (batchSize {@link BATCH_SIZE}),
 * {@link WARMUP_EVENTS} warm-up events delivered, then the events posted by {@link INGEST_POSTERS}
 * concurrent posters; timed from the first post to the receiver's last acknowledged event.
 */
export function siemgate(name: string, integrations: number, env: Record<string, string>): Forwarder {
  return {
    name,
    role: 'siemgate',
    async run(receiver, payloads) {
      const gateway = await GatewayProcess.start({ label: `${name}-${integrations}`.replace(/[^\w-]+/g, '-'), env });
      const client = new GatewayClient(gateway.url);
      try {
        for (let i = 1; i <= integrations; i++) {
          const integration = `bench ${receiver.kind} #${i}`;
          if (receiver.kind === 'hec') await client.createSplunkIntegration({ name: integration, endpoint: `${receiver.url}${HEC_PATH}`, customerId: THROUGHPUT_CUSTOMER });
          else await client.createSyslogIntegration({ name: integration, port: receiver.port, customerId: THROUGHPUT_CUSTOMER });
        }
        await receiver.reset();
        await forEachConcurrently(payloads.warmup, INGEST_POSTERS, (body) => client.postEvents(body));
        await gateway.whileRunning(receiver.waitFor(WARMUP_EVENTS * integrations, DELIVERY_TIMEOUT_MS));
        await receiver.reset();

        const cpuBefore = gateway.cpuMs();
        const startedAt = performance.timeOrigin + performance.now();
        await forEachConcurrently(payloads.ingest, INGEST_POSTERS, (body) => client.postEvents(body));
        const ingestMs = performance.timeOrigin + performance.now() - startedAt;
        const stats = await gateway.whileRunning(receiver.waitFor(payloads.events * integrations, DELIVERY_TIMEOUT_MS));
        return passResult(stats, startedAt, { ingestMs, forwarderCpuMs: gateway.cpuMs() - cpuBefore, peakRssBytes: gateway.memory().peakRssBytes });
      } finally {
        await client.close();
        await gateway.stop();
      }
    },
  };
}

/**
 * The wire ceiling: the same events pre-serialised, sent straight to the receiver from the bench with
 * one stream per integration (HEC: undici, one request in flight per stream; syslog: one TCP socket
 * per stream). {@link CEILING_PASSES} passes (one lasts well under a second); the median pass counts.
 */
export function ceiling(streams: number): Forwarder {
  return {
    name: 'wire ceiling',
    role: 'ceiling',
    async run(receiver, payloads) {
      const passes: ForwarderRun[] = [];
      for (let pass = 0; pass < CEILING_PASSES; pass++) {
        await receiver.reset();
        const startedAt =
          receiver.kind === 'hec' ? await postHecCeiling(receiver.url, payloads.hec, streams) : await writeSyslogCeiling(receiver.port, payloads.syslog, streams);
        passes.push(passResult(await receiver.waitFor(payloads.events * streams, DELIVERY_TIMEOUT_MS), startedAt));
      }
      const byTime = [...passes].sort((a, b) => a.ms - b.ms);
      return { ...byTime[Math.floor(byTime.length / 2)]!, passesMs: passes.map((p) => p.ms) };
    },
  };
}

/** splunk-logging 0.11 in its own process, in memory, `maxBatchCount` {@link BATCH_SIZE}; {@link WARMUP_EVENTS} warm-up events first. */
export function splunkLogging(version: string): Forwarder {
  return {
    name: `splunk-logging ${version}`,
    role: 'peer',
    async run(receiver, payloads) {
      const peer = SplunkLoggingPeer.start();
      try {
        await receiver.reset();
        await peer.warmup(receiver.url, THROUGHPUT_CUSTOMER, WARMUP_EVENTS);
        await receiver.waitFor(WARMUP_EVENTS, DELIVERY_TIMEOUT_MS);
        await receiver.reset();
        const cpuBefore = peer.cpuMs();
        const startedAt = await peer.go(payloads.events);
        const stats = await receiver.waitFor(payloads.events, DELIVERY_TIMEOUT_MS);
        if (peer.errors.length > 0) throw new Error(`splunk-logging reported ${peer.errors.length} failed requests, first: ${peer.errors[0]}`);
        return passResult(stats, startedAt, { forwarderCpuMs: peer.cpuMs() - cpuBefore, peakRssBytes: peer.memory().peakRssBytes });
      } finally {
        await peer.stop();
      }
    },
  };
}

const warmupLines = new Map<number, Buffer[]>();

/**
 * syslog-ng (fresh process and disk buffer per run, see peers/syslog-ng.ts), fed the events as NDJSON
 * over TCP from the bench; {@link WARMUP_EVENTS} warm-up events delivered first.
 */
export function syslogNg(install: SyslogNgInstall): Forwarder {
  return {
    name: `syslog-ng ${install.version}`,
    role: 'peer',
    async run(receiver, payloads) {
      const peer = await SyslogNgProcess.start(install, `${receiver.url}${HEC_PATH}`);
      try {
        let warmup = warmupLines.get(WARMUP_EVENTS);
        if (!warmup) warmupLines.set(WARMUP_EVENTS, (warmup = ndjsonBuffers(makeEvents(WARMUP_EVENTS, THROUGHPUT_CUSTOMER), BATCH_SIZE)));
        await receiver.reset();
        await peer.feed(warmup);
        await receiver.waitFor(WARMUP_EVENTS, DELIVERY_TIMEOUT_MS);
        await receiver.reset();
        const cpuBefore = peer.cpuMs();
        const startedAt = await peer.feed(payloads.ndjson);
        const stats = await receiver.waitFor(payloads.events, DELIVERY_TIMEOUT_MS).catch((error: Error) => {
          throw new Error(`${error.message}; syslog-ng said: ${peer.output.slice(-1500)}`);
        });
        return passResult(stats, startedAt, { forwarderCpuMs: peer.cpuMs() - cpuBefore, peakRssBytes: peer.memory().peakRssBytes });
      } finally {
        await peer.stop();
      }
    },
  };
}

/**
 * Runs a comparison {@link RUNS} times: in each run every forwarder in turn, against the same receiver
 * process (so they meet the same receiver, the same machine state and the same events). A forwarder
 * whose first run takes longer than {@link SLOW_RUN_MS} is measured once (noted in the result and the table).
 */
export async function runComparison(scenario: ComparisonScenario, log: (line: string) => void): Promise<ComparisonResult> {
  const payloads = await payloadsFor(scenario.events);
  const receiver = await ReceiverProcess.start(scenario.receiver);
  const runs = new Map<Forwarder, ForwarderRun[]>(scenario.forwarders.map((f) => [f, []]));
  const notes: string[] = [];
  /** Forwarders whose first run was slower than {@link SLOW_RUN_MS}: measured once (the bench's time budget). */
  const once = new Set<Forwarder>();
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const forwarder of scenario.forwarders) {
        if (once.has(forwarder)) continue;
        const result = await forwarder.run(receiver, payloads);
        runs.get(forwarder)!.push(result);
        const cpu = result.forwarderCpuMs === null ? '' : `, its CPU ${(result.forwarderCpuMs / MS_PER_SECOND).toFixed(2)} s`;
        const ingest = result.ingestMs ? ` (ingest ${Math.round((payloads.events * MS_PER_SECOND) / result.ingestMs).toLocaleString('en-US')} ev/s)` : '';
        const invalid = result.invalid > 0 ? `, ${result.invalid} INVALID: ${result.firstInvalid}` : '';
        log(
          `  ${scenario.key} run ${run}/${RUNS} ${forwarder.name}: ${Math.round(result.eventsPerSec).toLocaleString('en-US')} ev/s${ingest}${cpu}, ` +
            `receiver ${Math.round(result.receiverCoreShare * 100)}% of a core, ${result.checked} checked${invalid}`,
        );
        if (run === 1 && RUNS > 1 && result.ms > SLOW_RUN_MS) {
          once.add(forwarder);
          const note = `${forwarder.name}: 1 run instead of ${RUNS} (it took ${(result.ms / MS_PER_SECOND).toFixed(0)} s > ${SLOW_RUN_MS / MS_PER_SECOND} s, the bench's time budget); ratios from run 1`;
          notes.push(note);
          log(`  ${note}`);
        }
      }
    }
  } finally {
    await receiver.stop();
  }
  return {
    key: scenario.key,
    label: scenario.label,
    receiver: scenario.receiver,
    integrations: scenario.integrations,
    postedEvents: scenario.events,
    deliveredEvents: scenario.events * scenario.integrations,
    skipped: scenario.skipped,
    notes,
    forwarders: scenario.forwarders.map((forwarder) => {
      const list = runs.get(forwarder)!;
      const cpu = list.map((r) => r.forwarderCpuMs).filter((c): c is number => c !== null);
      const ingest = list.map((r) => r.ingestMs).filter((m): m is number => m !== undefined);
      return {
        name: forwarder.name,
        role: forwarder.role,
        runs: list,
        median: {
          eventsPerSec: median(list.map((r) => r.eventsPerSec)),
          forwarderCpuMs: cpu.length > 0 ? median(cpu) : null,
          receiverCoreShare: median(list.map((r) => r.receiverCoreShare)),
          ...(ingest.length > 0 ? { ingestEventsPerSec: median(ingest.map((ms) => (scenario.events * MS_PER_SECOND) / ms)) } : {}),
        },
      };
    }),
  };
}

/** The median over runs of `a`'s events/s ÷ `b`'s in the same run (the runs both have). */
export function medianRatio(a: ForwarderResult, b: ForwarderResult): number {
  const shared = Math.min(a.runs.length, b.runs.length);
  return median(a.runs.slice(0, shared).map((run, i) => run.eventsPerSec / b.runs[i]!.eventsPerSec));
}
