/** Timeout when neither the destination nor the adapter options set one. */
export const DEFAULT_TIMEOUT_MS = 30_000;
const MS_PER_SECOND = 1000;

/**
 * The timeout of one destination: its own `timeoutSeconds`, else the adapter default (the integration's
 * batching timeout), else {@link DEFAULT_TIMEOUT_MS}.
 *
 * @example
 * ```ts
 * resolveTimeoutMs(undefined, { egress, defaultTimeoutMs: 5000 }); // 5000
 * resolveTimeoutMs(2, { egress }); // 2000
 * ```
 */
export function resolveTimeoutMs(timeoutSeconds: number | undefined, options: { defaultTimeoutMs?: number }): number {
  if (timeoutSeconds !== undefined && timeoutSeconds > 0) return timeoutSeconds * MS_PER_SECOND;
  return options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
}
