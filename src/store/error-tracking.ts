import type { ExpressionBuilder, UpdateObject } from 'kysely';
import type { Database } from './tables.js';

/** Error text kept in `lastError` is bounded. */
export const MAX_LAST_ERROR_LENGTH = 1000;

/** Result of a delivery attempt or connection test, for error tracking. */
export type DeliveryOutcomeUpdate =
  /** `eventsDelivered: false` for a connection test: it resets errors but is not a delivered event. */
  | { success: true; at?: Date; eventsDelivered?: boolean }
  | { success: false; error: string; at?: Date };

/**
 * The column changes error tracking makes, as the product documentation defines it: a failure
 * increments `error_count` and sets `last_error`/`last_error_at`; a success resets `error_count` to 0,
 * clears `last_error` and sets `last_event_at` (unless no event was delivered, as in a connection test: then
 * it sets `last_tested_ok_at`).
 * One definition for the API's connection test and for the delivery engine.
 *
 * @example
 * ```ts
 * await db.updateTable('siem_integrations').set(errorTrackingUpdate({ success: false, error: 'HTTP 503' }, now)).where('id', '=', id).execute();
 * ```
 */
export function errorTrackingUpdate(
  outcome: DeliveryOutcomeUpdate,
  at: Date,
): UpdateObject<Database, 'siem_integrations'> | ((eb: ExpressionBuilder<Database, 'siem_integrations'>) => UpdateObject<Database, 'siem_integrations'>) {
  const when = at.toISOString();
  if (outcome.success) {
    return outcome.eventsDelivered === false
      ? { error_count: 0, last_error: null, last_tested_ok_at: when }
      : { error_count: 0, last_error: null, last_event_at: when };
  }
  const error = outcome.error.slice(0, MAX_LAST_ERROR_LENGTH);
  return (eb) => ({ error_count: eb('error_count', '+', 1), last_error: error, last_error_at: when });
}
