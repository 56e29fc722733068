/**
 * Small statistics and timing helpers shared by the scenarios.
 */

/**
 * Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one machine
 * (`performance.timeOrigin` is the process's start in Unix time).
 *
 * @example
 * ```ts
 * const t0 = wallClockMs(); // e.g. 1767225600123.456
 * ```
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The median of `values` (the mean of the two middle ones for an even count).
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The `p`th percentile (0..100) of `values`, nearest-rank method.
 *
 * @example
 * ```ts
 * percentile([1, 2, 3, 4, 100], 99); // 100
 * ```
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** p50 and p99 of one run's samples, in milliseconds. */
export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Summarises one run's latency samples. */
export function summarizeLatencies(samples: readonly number[]): LatencySummary {
  return { samples: samples.length, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99), maxMs: Math.max(...samples) };
}

/** Rounds to `digits` decimals, for the report. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * Resolves after `ms`.
 *
 * @example
 * ```ts
 * await sleep(50);
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `task` once per item with at most `concurrency` at a time; resolves when all have finished,
 * rejects with the first failure.
 *
 * @example
 * ```ts
 * await forEachConcurrently(bodies, 4, (body) => post(body));
 * ```
 */
export async function forEachConcurrently<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
