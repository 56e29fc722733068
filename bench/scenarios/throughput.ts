import { postHecCeiling, writeSyslogCeiling } from '../ceilings.js';
import { BATCH_SIZE, CEILING_PASSES, DELIVERY_TIMEOUT_MS, INGEST_CHUNK_EVENTS, INGEST_POSTERS, RUNS, WARMUP_EVENTS } from '../config.js';
import { GatewayClient } from '../gateway-client.js';
import { GatewayProcess } from '../gateway-process.js';
import { forEachConcurrently, median, wallClockMs } from '../measure.js';
import { HEC_PATH, payloadsFor, THROUGHPUT_CUSTOMER } from '../payloads.js';
import { ReceiverProcess, type ReceiverKind } from '../receiver-process.js';

const MS_PER_SECOND = 1000;

/** One end-to-end throughput scenario. */
export interface ThroughputScenario {
  /** e.g. `hec-1`. */
  key: string;
  label: string;
  destination: ReceiverKind;
  /** Integrations routed the same events (fan-out); delivered events are summed over them. */
  integrations: number;
  /** Events posted per run. */
  events: number;
}

/** One run: the gateway end to end, then the raw ceiling on the same receiver. */
export interface ThroughputRun {
  /** Events posted to the gateway. */
  postedEvents: number;
  /** Events delivered (posted × integrations). */
  deliveredEvents: number;
  /** From the first post to the receiver's last acknowledged event. */
  gatewayMs: number;
  gatewayEventsPerSec: number;
  /** From the first post until every `POST /v1/events` was answered 202 (events committed). */
  ingestMs: number;
  ingestEventsPerSec: number;
  /** Median of the ceiling passes of this run. */
  ceilingMs: number;
  /** Each ceiling pass (the same payload sent {@link CEILING_PASSES} times, right after the gateway run). */
  ceilingPassesMs: number[];
  ceilingEventsPerSec: number;
  /** Gateway events/s ÷ ceiling events/s of this run (the reported ratio is the median of these). */
  ratio: number;
  /** VmHWM of the gateway at the end of the run. */
  gatewayPeakRssBytes: number;
}

/** A scenario's runs and their medians. */
export interface ThroughputResult {
  scenario: ThroughputScenario;
  runs: ThroughputRun[];
  median: { gatewayEventsPerSec: number; ceilingEventsPerSec: number; ratio: number; ingestEventsPerSec: number };
}

/**
 * Runs one throughput scenario {@link RUNS} times. Each run starts a fresh gateway, creates the
 * integrations (batchSize {@link BATCH_SIZE}), warms up with {@link WARMUP_EVENTS} events, then posts
 * `scenario.events` events in chunks of {@link INGEST_CHUNK_EVENTS} from {@link INGEST_POSTERS}
 * concurrent posters and waits until the receiver has acknowledged all of them (× integrations). Then,
 * with the gateway stopped, the same events pre-serialised in the destination's format go straight to
 * the same receiver with one stream per integration, {@link CEILING_PASSES} times (a pass lasts well
 * under a second, so one alone is noisy): the median pass is the run's ceiling.
 */
export async function runThroughputScenario(scenario: ThroughputScenario, log: (line: string) => void): Promise<ThroughputResult> {
  const payloads = await payloadsFor(scenario.events);
  const delivered = scenario.events * scenario.integrations;
  const receiver = await ReceiverProcess.start(scenario.destination);
  try {
    const endpoint = `${receiver.url}${HEC_PATH}`;
    const runs: ThroughputRun[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const gateway = await GatewayProcess.start({ label: `${scenario.key}-run${run}` });
      const client = new GatewayClient(gateway.url);
      let gatewayRun: Pick<ThroughputRun, 'gatewayMs' | 'ingestMs' | 'gatewayPeakRssBytes'>;
      try {
        for (let i = 1; i <= scenario.integrations; i++) {
          const name = `bench ${scenario.key} #${i}`;
          if (scenario.destination === 'hec') await client.createSplunkIntegration({ name, endpoint, customerId: THROUGHPUT_CUSTOMER });
          else await client.createSyslogIntegration({ name, port: receiver.port, customerId: THROUGHPUT_CUSTOMER });
        }
        await receiver.reset();
        await forEachConcurrently(payloads.warmup, INGEST_POSTERS, (body) => client.postEvents(body));
        await gateway.whileRunning(receiver.waitFor(WARMUP_EVENTS * scenario.integrations, DELIVERY_TIMEOUT_MS));
        await receiver.reset();

        const startedAt = wallClockMs();
        await forEachConcurrently(payloads.ingest, INGEST_POSTERS, (body) => client.postEvents(body));
        const ingestedAt = wallClockMs();
        const { lastAt } = await gateway.whileRunning(receiver.waitFor(delivered, DELIVERY_TIMEOUT_MS));
        gatewayRun = { gatewayMs: lastAt! - startedAt, ingestMs: ingestedAt - startedAt, gatewayPeakRssBytes: gateway.memory().peakRssBytes };
      } finally {
        await client.close();
        await gateway.stop();
      }

      const passes: number[] = [];
      for (let pass = 0; pass < CEILING_PASSES; pass++) {
        await receiver.reset();
        const ceilingStartedAt =
          scenario.destination === 'hec'
            ? await postHecCeiling(receiver.url, payloads.hec, scenario.integrations)
            : await writeSyslogCeiling(receiver.port, payloads.syslog, scenario.integrations);
        const { lastAt } = await receiver.waitFor(delivered, DELIVERY_TIMEOUT_MS);
        passes.push(lastAt! - ceilingStartedAt);
      }
      const ceilingMs = median(passes);

      const gatewayEventsPerSec = (delivered * MS_PER_SECOND) / gatewayRun.gatewayMs;
      const ceilingEventsPerSec = (delivered * MS_PER_SECOND) / ceilingMs;
      const result: ThroughputRun = {
        postedEvents: scenario.events,
        deliveredEvents: delivered,
        ...gatewayRun,
        gatewayEventsPerSec,
        ingestEventsPerSec: (scenario.events * MS_PER_SECOND) / gatewayRun.ingestMs,
        ceilingMs,
        ceilingPassesMs: passes,
        ceilingEventsPerSec,
        ratio: gatewayEventsPerSec / ceilingEventsPerSec,
      };
      runs.push(result);
      log(
        `  ${scenario.key} run ${run}/${RUNS}: gateway ${Math.round(gatewayEventsPerSec)} ev/s (ingest ${Math.round(result.ingestEventsPerSec)} ev/s), ` +
          `ceiling ${Math.round(ceilingEventsPerSec)} ev/s, ratio ${result.ratio.toFixed(3)}`,
      );
    }
    return {
      scenario,
      runs,
      median: {
        gatewayEventsPerSec: median(runs.map((r) => r.gatewayEventsPerSec)),
        ceilingEventsPerSec: median(runs.map((r) => r.ceilingEventsPerSec)),
        ratio: median(runs.map((r) => r.ratio)),
        ingestEventsPerSec: median(runs.map((r) => r.ingestEventsPerSec)),
      },
    };
  } finally {
    await receiver.stop();
  }
}
