/** Options of {@link retryDelayMs}. */
export interface RetryPolicy {
  /** Quick retries (exponential backoff with full jitter) before the slow schedule. */
  retryCount: number;
  /** First backoff step. @default 1000 */
  baseMs: number;
  /** Longest wait between attempts on the slow schedule (and for quick retries). @default 300000 (5 minutes) */
  maxMs: number;
}

/** Longest server-requested delay (Retry-After) honoured as is. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/**
 * How long to wait before attempt `failures + 1` of a batch that has failed `failures` times.
 *
 * - Quick retries (failures ≤ retryCount): full jitter over `base · 2^(failures-1)`.
 * - Then the slow schedule, for as long as the destination stays down: `base · 2^failures` capped at
 *   `maxMs`, with "equal jitter" (half fixed, half random) so waits never collapse to zero.
 * - A server's `Retry-After` is a floor (honoured up to one hour).
 *
 * @example
 * ```ts
 * retryDelayMs(1, undefined, { retryCount: 3, baseMs: 1000, maxMs: 300_000 }); // 0..1000
 * retryDelayMs(20, undefined, { retryCount: 3, baseMs: 1000, maxMs: 300_000 }); // 150000..300000
 * ```
 */
export function retryDelayMs(failures: number, retryAfterMs: number | undefined, policy: RetryPolicy, random: () => number = Math.random): number {
  const exp = (n: number) => Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n, 30));
  const delay = failures <= policy.retryCount ? random() * exp(failures - 1) : exp(failures) / 2 + (random() * exp(failures)) / 2;
  return Math.round(Math.max(delay, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS)));
}
