import { INGEST_POSTERS, MEMORY_BUDGET_MS, MEMORY_CHUNK_EVENTS, MEMORY_EVENTS, MEMORY_SETTLE_MS, RSS_SAMPLE_MS, RSS_TIMELINE_STEP_MS } from '../config.js';
import { makeEvents } from '../events.js';
import { GatewayClient } from '../gateway-client.js';
import { GatewayProcess, sampleRss, type RssSample } from '../gateway-process.js';
import { forEachConcurrently, sleep } from '../measure.js';
import { HEC_PATH } from '../payloads.js';
import { ReceiverProcess } from '../receiver-process.js';

const CUSTOMER = 'cust_memory';
const MS_PER_SECOND = 1000;
/** Points of the backlog at which the RSS is reported (share of {@link MEMORY_EVENTS} posted). */
const MILESTONES = [0, 0.25, 0.5, 0.75, 1] as const;

/** RSS when a share of the backlog had been posted. */
export interface RssMilestone {
  queuedShare: number;
  rssBytes: number;
}

/** The memory scenario's figures (one run). */
export interface MemoryResult {
  /** Events accepted (202) into the backlog: {@link MEMORY_EVENTS}, unless the time budget stopped the posting. */
  events: number;
  /** The backlog the scenario aimed for ({@link MEMORY_EVENTS}). */
  plannedEvents: number;
  /** Peak RSS of the gateway process over its whole life (VmHWM). */
  peakRssBytes: number;
  /** RSS of the started gateway with its integration, {@link MEMORY_SETTLE_MS} idle, before any event: the idle RSS. */
  baselineRssBytes: number;
  /** Highest sampled RSS while the backlog grew. */
  maxSampledRssBytes: number;
  /** RSS {@link MEMORY_SETTLE_MS} after the last post: the whole backlog queued, no load. */
  restingRssBytes: number;
  /** RSS over time while posting, one sample per {@link RSS_TIMELINE_STEP_MS}. */
  rssTimeline: RssSample[];
  milestones: RssMilestone[];
  /** `stats.queued` of the integration once everything was posted. */
  queued: number;
  /** Requests the receiver refused (503) meanwhile: the gateway kept retrying. */
  refusedAttempts: number;
  dbBytes: number;
  walBytes: number;
  ingestMs: number;
  ingestEventsPerSec: number;
}

/**
 * One Splunk integration whose receiver answers 503 (code 9) to everything; after {@link MEMORY_SETTLE_MS}
 * idle (the idle RSS), {@link MEMORY_EVENTS} events are posted in requests of {@link MEMORY_CHUNK_EVENTS}
 * (generated chunk by chunk, so the bench itself stays small; the posting stops at
 * {@link MEMORY_BUDGET_MS}, the time budget, and says so) while the gateway's RSS is
 * sampled every {@link RSS_SAMPLE_MS} ms. The backlog must end up in the database, not in memory:
 * the result carries the RSS curve, the queue length and the database size.
 */
export async function measureMemoryWhileDown(log: (line: string) => void): Promise<MemoryResult> {
  const receiver = await ReceiverProcess.start('hec');
  const gateway = await GatewayProcess.start({ label: 'memory' });
  const client = new GatewayClient(gateway.url);
  try {
    await receiver.setMode('unavailable');
    const { id } = await client.createSplunkIntegration({ name: 'down', endpoint: `${receiver.url}${HEC_PATH}`, customerId: CUSTOMER });
    await sleep(MEMORY_SETTLE_MS);
    const baselineRssBytes = gateway.memory().rssBytes;
    log(`  memory: idle RSS ${(baselineRssBytes / 2 ** 20).toFixed(0)} MiB`);
    const chunks = Math.ceil(MEMORY_EVENTS / MEMORY_CHUNK_EVENTS);
    const milestoneChunks = MILESTONES.map((share) => Math.round(share * chunks));
    const milestones: RssMilestone[] = [{ queuedShare: 0, rssBytes: baselineRssBytes }];
    let posted = 0;
    let accepted = 0;

    const sampler = sampleRss(gateway.pid, RSS_SAMPLE_MS);
    const started = performance.now();
    let samples: RssSample[];
    try {
      const posting = forEachConcurrently(Array.from({ length: chunks }, (_, i) => i), INGEST_POSTERS, async (i) => {
        if (performance.now() - started > MEMORY_BUDGET_MS) return;
        const count = Math.min(MEMORY_CHUNK_EVENTS, MEMORY_EVENTS - i * MEMORY_CHUNK_EVENTS);
        await client.postEvents(JSON.stringify(makeEvents(count, CUSTOMER)));
        accepted += count;
        posted++;
        const milestone = milestoneChunks.indexOf(posted);
        if (milestone > 0) {
          milestones.push({ queuedShare: MILESTONES[milestone]!, rssBytes: gateway.memory().rssBytes });
          log(`  memory: ${Math.round(MILESTONES[milestone]! * 100)}% posted, gateway RSS ${(gateway.memory().rssBytes / 2 ** 20).toFixed(0)} MiB`);
        }
      });
      // A crash of the gateway ends the scenario with its exit and stderr, not a bare ECONNRESET.
      await gateway.whileRunning(posting).catch((error: Error) => {
        throw gateway.child.exitCode !== null || gateway.child.signalCode !== null ? error : new Error(`${error.message}; gateway log: ${gateway.stderr.slice(-2000)}`);
      });
    } finally {
      samples = sampler.stop();
    }
    const ingestMs = performance.now() - started;
    if (accepted < MEMORY_EVENTS) log(`  memory: stopped at ${accepted.toLocaleString('en-US')} events after ${MEMORY_BUDGET_MS / MS_PER_SECOND} s (time budget)`);
    await sleep(MEMORY_SETTLE_MS);
    const restingRssBytes = gateway.memory().rssBytes;
    const queued = await client.queued(id);
    const { refused } = await receiver.stats();
    const size = gateway.databaseSize();
    return {
      events: accepted,
      plannedEvents: MEMORY_EVENTS,
      peakRssBytes: gateway.memory().peakRssBytes,
      baselineRssBytes,
      maxSampledRssBytes: Math.max(...samples.map((s) => s.rssBytes)),
      restingRssBytes,
      rssTimeline: samples.filter((s, i) => i === 0 || Math.floor(s.atMs / RSS_TIMELINE_STEP_MS) > Math.floor(samples[i - 1]!.atMs / RSS_TIMELINE_STEP_MS)),
      milestones,
      queued,
      refusedAttempts: refused,
      dbBytes: size.dbBytes,
      walBytes: size.walBytes,
      ingestMs,
      ingestEventsPerSec: (accepted * MS_PER_SECOND) / ingestMs,
    };
  } finally {
    await client.close();
    await gateway.stop();
    await receiver.stop();
  }
}
