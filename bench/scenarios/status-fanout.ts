import { RUNS, STATUS_CHANGE_GAP_MS, STATUS_CHANGES, SUBSCRIBERS } from '../config.js';
import type { GatewayClient } from '../gateway-client.js';
import { median, percentile, sleep, summarizeLatencies, type LatencySummary } from '../measure.js';
import { SubscriberPool } from '../ws-subscribers.js';

/** What a status dashboard subscribes to (the fields issue 4 lists for `siemIntegrationStatus`). */
export const STATUS_SUBSCRIPTION = /* GraphQL */ `
  subscription Status($id: ID) {
    siemIntegrationStatus(id: $id) { id enabled health errorCount lastError lastErrorAt lastEventAt stats { queued } }
  }
`;

/** Longest wait for one status change to reach every subscriber. */
const WAVE_TIMEOUT_MS = 15_000;
/** Priming changes tried until every subscription is live on the server. */
const PRIMING_ATTEMPTS = 10;
const PRIMING_WAIT_MS = 3_000;

/** One run: latencies from the trigger to each subscriber's receipt, over every change of the run. */
export interface FanoutRun extends LatencySummary {
  /** p50 of the triggering mutation's own round trip (it commits with fsync before publishing). */
  mutationP50Ms: number;
}

/** The fan-out figure: each run's latencies and the medians over the runs. */
export interface FanoutResult {
  subscribers: number;
  changesPerRun: number;
  runs: FanoutRun[];
  median: { p50Ms: number; p99Ms: number; mutationP50Ms: number };
}

interface Wave {
  enabled: boolean;
  startedAt: number;
  latencies: Float64Array;
  remaining: number;
  done: () => void;
}

/**
 * {@link SUBSCRIBERS} graphql-ws subscribers to `siemIntegrationStatus(id)` of one integration; the
 * trigger is `updateSiemIntegration(enabled: !enabled)`; the trigger time is taken just before the
 * mutation is sent; each subscriber's receipt of the status with the new `enabled` value ends its
 * sample. {@link STATUS_CHANGES} changes per run, {@link STATUS_CHANGE_GAP_MS} apart.
 */
export async function measureStatusFanout(gatewayUrl: string, client: GatewayClient, endpoint: string, log: (line: string) => void): Promise<FanoutResult> {
  const { id } = await client.createSplunkIntegration({ name: 'status fan-out', endpoint, customerId: 'cust_fanout' });
  let enabled = true;
  let wave: Wave | undefined;

  const onNext = (subscriber: number, data: Record<string, unknown>, receivedAt: number) => {
    const status = data.siemIntegrationStatus as { enabled: boolean } | undefined;
    if (!wave || status?.enabled !== wave.enabled || !Number.isNaN(wave.latencies[subscriber])) return;
    wave.latencies[subscriber] = receivedAt - wave.startedAt;
    if (--wave.remaining === 0) wave.done();
  };

  /** Flips `enabled`; resolves with the latencies and the mutation's round trip, or with the missing count after `timeoutMs`. */
  const change = async (timeoutMs: number): Promise<{ latencies: Float64Array; missing: number; mutationMs: number }> => {
    enabled = !enabled;
    let done!: () => void;
    const arrived = new Promise<void>((resolve) => (done = resolve));
    const current: Wave = { enabled, startedAt: 0, latencies: new Float64Array(SUBSCRIBERS).fill(Number.NaN), remaining: SUBSCRIBERS, done };
    wave = current;
    current.startedAt = performance.now();
    await client.setEnabled(id, enabled);
    const mutationMs = performance.now() - current.startedAt;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([arrived, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    wave = undefined;
    return { latencies: current.latencies, missing: current.remaining, mutationMs };
  };

  const pool = await SubscriberPool.open(`${gatewayUrl}/graphql`, SUBSCRIBERS, STATUS_SUBSCRIPTION, { id }, onNext);
  try {
    // graphql-ws does not acknowledge a subscription: change the status until every subscriber sees it.
    let primed = false;
    for (let attempt = 1; attempt <= PRIMING_ATTEMPTS && !primed; attempt++) primed = (await change(PRIMING_WAIT_MS)).missing === 0;
    if (!primed) throw new Error(`not every one of ${SUBSCRIBERS} subscribers received a status change after ${PRIMING_ATTEMPTS} attempts`);

    const runs: FanoutRun[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const samples: number[] = [];
      const mutationMs: number[] = [];
      for (let i = 0; i < STATUS_CHANGES; i++) {
        await sleep(STATUS_CHANGE_GAP_MS);
        const result = await change(WAVE_TIMEOUT_MS);
        if (result.missing > 0) throw new Error(`${result.missing} of ${SUBSCRIBERS} subscribers did not receive a status change within ${WAVE_TIMEOUT_MS} ms`);
        samples.push(...result.latencies);
        mutationMs.push(result.mutationMs);
      }
      const summary: FanoutRun = { ...summarizeLatencies(samples), mutationP50Ms: percentile(mutationMs, 50) };
      runs.push(summary);
      log(`  status fan-out run ${run}/${RUNS}: p50 ${summary.p50Ms.toFixed(1)} ms, p99 ${summary.p99Ms.toFixed(1)} ms (mutation p50 ${summary.mutationP50Ms.toFixed(1)} ms)`);
    }
    return {
      subscribers: SUBSCRIBERS,
      changesPerRun: STATUS_CHANGES,
      runs,
      median: {
        p50Ms: median(runs.map((r) => r.p50Ms)),
        p99Ms: median(runs.map((r) => r.p99Ms)),
        mutationP50Ms: median(runs.map((r) => r.mutationP50Ms)),
      },
    };
  } finally {
    await pool.close();
  }
}
