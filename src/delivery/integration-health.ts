import type { SiemIntegrationRecord } from '../store/tenant-store.js';

/** Consecutive failures from which an integration counts as FAILING rather than DEGRADED. */
export const FAILING_THRESHOLD = 3;

export type IntegrationHealth = 'HEALTHY' | 'DEGRADED' | 'FAILING' | 'DISABLED';

/**
 * An integration's health, derived from its error tracking (never stored, so it cannot disagree with it):
 * DISABLED when disabled; HEALTHY with no consecutive failures; DEGRADED with 1 to 2 consecutive failures
 * (recent errors, retries still expected to succeed); FAILING from {@link FAILING_THRESHOLD} on.
 *
 * @example
 * ```ts
 * integrationHealth({ enabled: true, errorCount: 4 }); // "FAILING"
 * ```
 */
export function integrationHealth(integration: Pick<SiemIntegrationRecord, 'enabled' | 'errorCount'>): IntegrationHealth {
  if (!integration.enabled) return 'DISABLED';
  if (integration.errorCount === 0) return 'HEALTHY';
  return integration.errorCount < FAILING_THRESHOLD ? 'DEGRADED' : 'FAILING';
}
