import type { SiemIntegrationRecord } from '../store/tenant-store.js';

/** Consecutive failures from which an integration counts as FAILING rather than DEGRADED. */
export const FAILING_THRESHOLD = 3;

export type IntegrationHealth = 'UNKNOWN' | 'HEALTHY' | 'DEGRADED' | 'FAILING' | 'DISABLED';

/**
 * An integration's health, derived from its error tracking (never stored, so it cannot disagree with it):
 * DISABLED when disabled; UNKNOWN while nothing was tried (no delivery succeeded or failed, no connection
 * test succeeded or failed); HEALTHY with no consecutive failures; DEGRADED with 1 to 2 consecutive failures
 * (recent errors, retries still expected to succeed); FAILING from {@link FAILING_THRESHOLD} on.
 *
 * @example
 * ```ts
 * integrationHealth({ enabled: true, errorCount: 4, lastErrorAt: new Date(), lastEventAt: null, lastTestedOkAt: null }); // "FAILING"
 * ```
 */
export function integrationHealth(
  integration: Pick<SiemIntegrationRecord, 'enabled' | 'errorCount' | 'lastErrorAt' | 'lastEventAt' | 'lastTestedOkAt'>,
): IntegrationHealth {
  if (!integration.enabled) return 'DISABLED';
  if (integration.errorCount === 0) {
    // A failure sets lastErrorAt (kept after a later success), a delivery lastEventAt, a successful test lastTestedOkAt.
    const tried = integration.lastErrorAt !== null || integration.lastEventAt !== null || integration.lastTestedOkAt !== null;
    return tried ? 'HEALTHY' : 'UNKNOWN';
  }
  return integration.errorCount < FAILING_THRESHOLD ? 'DEGRADED' : 'FAILING';
}
