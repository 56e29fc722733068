/**
 * The test kit's one way to wait: poll a condition until it holds. Never asserts how long anything took; the
 * timeout only turns a hang into a failure that says what was awaited and what was seen last.
 */

/** Resolves after `ms` milliseconds. For a wait the wire demands (nothing more may arrive), not for polling. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** @default 15000 */
  timeoutMs?: number;
  /** Pause between two probes. @default 25 */
  intervalMs?: number;
  /** What was awaited, for the failure message. */
  message?: string | (() => string);
}

/**
 * Polls `probe` until it returns something truthy (returned) or `timeoutMs` passes (fails with `message`, the last
 * value seen and the last error the probe threw; a throwing probe is retried like a falsy one).
 *
 * @example
 * ```ts
 * const status = await waitFor(async () => {
 *   const s = await integrationStatus(g, id);
 *   return s.errorCount > 0 ? s : undefined;
 * }, { message: 'a failed attempt' });
 * ```
 */
export async function waitFor<T>(probe: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 15_000, intervalMs = 25 } = options;
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await probe();
      if (last) return last as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const message = typeof options.message === 'function' ? options.message() : options.message;
      throw new Error(
        `${message ?? 'condition not met'} within ${timeoutMs} ms; last value: ${safeJson(last)}${lastError ? `; last error: ${String(lastError)}` : ''}`,
      );
    }
    await sleep(intervalMs);
  }
}

/** JSON of `value` for a failure message, cut at 2000 characters. */
export function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 2000) ?? String(value);
  } catch {
    return String(value);
  }
}
