import { SEVERITY_ORDER, type Severity } from '../events/security-event.js';

/** An integration's optional routing filter. */
export interface RoutingFilter {
  /** Only events at least this severe. */
  minSeverity?: Severity;
  /** Only these event types; an entry ending in `*` matches a prefix (`siem.integration.*`). */
  eventTypes?: string[];
}

/** Where an integration takes its events from. */
export interface Route {
  /** Null: every event of the organisation (a global destination). Otherwise only this customer's. */
  customerId: string | null;
  filter: RoutingFilter | null;
}

/** The routing facts of a stored event. */
export interface RoutedEvent {
  customerId: string | null;
  severityRank: number;
  type: string;
}

/**
 * Whether an event goes to an integration: the integration has no customerId or the same one as the
 * event, and the event passes its filter. The delivery store applies the same rule in SQL
 * (`routedEvents` in delivery-store.ts, used by `DeliveryStore.readBatch`); tests hold the two together.
 *
 * @example
 * ```ts
 * routes({ customerId: 'cust_a', filter: null }, { customerId: 'cust_b', severityRank: 4, type: 'scan' }); // false
 * ```
 */
export function routes(route: Route, event: RoutedEvent): boolean {
  if (route.customerId !== null && route.customerId !== event.customerId) return false;
  const filter = route.filter;
  if (!filter) return true;
  if (filter.minSeverity !== undefined && event.severityRank < SEVERITY_ORDER.indexOf(filter.minSeverity)) return false;
  if (filter.eventTypes && filter.eventTypes.length > 0 && !filter.eventTypes.some((t) => matchesType(t, event.type))) return false;
  return true;
}

/** `scan` matches `scan`; `siem.*` matches `siem.integration.created`. */
export function matchesType(pattern: string, type: string): boolean {
  return pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}
