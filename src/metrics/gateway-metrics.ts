import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DeliveryEngine, DeliveryObserver } from '../delivery/delivery-engine.js';
import type { DeadLettering, DeliveryAttempt } from '../delivery/integration-worker.js';
import type { DeliveryKind } from '../destinations/types.js';
import type { DeliveryTarget } from '../store/delivery-store.js';
import type { Store } from '../store/store.js';
import { OrganizationSlugs, listIntegrationStates, type IntegrationState } from './integration-states.js';

/** Path of the Prometheus scrape endpoint. */
export const METRICS_PATH = '/metrics';

const INTEGRATION_LABELS = ['integration_id', 'type', 'organization'] as const;
type IntegrationLabel = (typeof INTEGRATION_LABELS)[number];

/** The attempt outcomes, as adapters classify them. */
export const ATTEMPT_OUTCOMES: readonly DeliveryKind[] = ['success', 'auth', 'rejected', 'throttled', 'server', 'network', 'timeout'];
/** Health states always exported (1 for the current one, 0 for the others), so a rule can match `== 1`. */
const HEALTH_STATES = ['UNKNOWN', 'HEALTHY', 'DEGRADED', 'FAILING', 'DISABLED'];

/** Options of {@link GatewayMetrics}. */
export interface GatewayMetricsOptions {
  store: Store;
  engine: DeliveryEngine;
  /** Collect Node.js process metrics (CPU, memory, event loop lag, GC). @default true */
  processMetrics?: boolean;
}

/**
 * The gateway's Prometheus metrics, in a registry of its own (several gateways may share a process).
 * Delivery figures come from the engine's attempt and dead-letter notifications; queued events and health
 * are read at scrape time from what the engine and the integrations table already hold (no read of the
 * event log). Label values are integration ids, types and organisation slugs only.
 *
 * @example
 * ```ts
 * const metrics = new GatewayMetrics({ store, engine });
 * const text = await metrics.registry.metrics();
 * ```
 */
export class GatewayMetrics implements DeliveryObserver {
  readonly registry = new Registry();
  readonly delivered: Counter<IntegrationLabel>;
  readonly attempts: Counter<IntegrationLabel | 'outcome'>;
  readonly deadLetteredEvents: Counter<IntegrationLabel | 'reason'>;
  readonly latency: Histogram<IntegrationLabel>;
  readonly queued: Gauge<IntegrationLabel>;
  readonly health: Gauge<IntegrationLabel | 'state'>;
  readonly ingestRequests: Counter<'outcome'>;
  readonly ingestEvents: Counter<'outcome'>;
  readonly ingestBytes: Counter<'outcome'>;
  /** Fed by the `useMetrics` Yoga plugin. */
  readonly graphqlOperations: Counter<'operation' | 'code'>;

  readonly #engine: DeliveryEngine;
  readonly #store: Store;
  readonly #slugs: OrganizationSlugs;
  /** One listing per scrape, shared by the gauges collected in it. */
  #listing?: Promise<IntegrationState[]>;

  constructor(options: GatewayMetricsOptions) {
    this.#engine = options.engine;
    this.#store = options.store;
    this.#slugs = new OrganizationSlugs(options.store);
    const registers = [this.registry];
    this.delivered = new Counter({ name: 'siemgate_delivered_events_total', help: 'Events delivered (acknowledged by the SIEM).', labelNames: INTEGRATION_LABELS, registers });
    this.attempts = new Counter({
      name: 'siemgate_delivery_attempts_total',
      help: 'Batch delivery attempts by outcome: success, auth, rejected, throttled, server, network, timeout.',
      labelNames: [...INTEGRATION_LABELS, 'outcome'],
      registers,
    });
    this.deadLetteredEvents = new Counter({
      name: 'siemgate_dead_lettered_events_total',
      help: 'Events moved to dead letters, by reason (rejected, expired).',
      labelNames: [...INTEGRATION_LABELS, 'reason'],
      registers,
    });
    this.latency = new Histogram({
      name: 'siemgate_delivery_latency_seconds',
      help: 'Duration of batch delivery attempts (request sent to answer), every outcome.',
      labelNames: INTEGRATION_LABELS,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    const metrics = this;
    this.queued = new Gauge({
      name: 'siemgate_queued_events',
      help: 'Events waiting for delivery per enabled integration (dead letters queued for replay included).',
      labelNames: INTEGRATION_LABELS,
      registers,
      async collect() {
        this.reset();
        for (const s of await metrics.#states()) {
          if (s.record.enabled) this.set(labelsOf(s), metrics.#engine.queued(s.record.id));
        }
      },
    });
    this.health = new Gauge({
      name: 'siemgate_integration_health',
      help: 'Integration health: 1 for the current state (UNKNOWN, HEALTHY, DEGRADED, FAILING, DISABLED), 0 for the others.',
      labelNames: [...INTEGRATION_LABELS, 'state'],
      registers,
      async collect() {
        this.reset();
        for (const s of await metrics.#states()) {
          const states = HEALTH_STATES.includes(s.health) ? HEALTH_STATES : [...HEALTH_STATES, s.health];
          for (const state of states) this.set({ ...labelsOf(s), state }, state === s.health ? 1 : 0);
        }
      },
    });
    this.ingestRequests = new Counter({
      name: 'siemgate_ingest_requests_total',
      help: 'POST /v1/events requests by outcome (accepted, bad_request, unauthenticated, forbidden, too_large, unsupported_media_type, unavailable, method_not_allowed, error).',
      labelNames: ['outcome'],
      registers,
    });
    this.ingestEvents = new Counter({ name: 'siemgate_ingest_events_total', help: 'Events of accepted POST /v1/events requests: stored (new) or duplicate (id already stored).', labelNames: ['outcome'], registers });
    this.ingestBytes = new Counter({ name: 'siemgate_ingest_bytes_total', help: 'POST /v1/events request body bytes received, by the outcome of their request.', labelNames: ['outcome'], registers });
    this.graphqlOperations = new Counter({
      name: 'siemgate_graphql_operations_total',
      help: 'GraphQL operations by type (query, mutation, subscription, unknown when not parsed) and first error code (none when it succeeded).',
      labelNames: ['operation', 'code'],
      registers,
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.#engine.observers.add(this);
  }

  /** Stops following the engine. */
  close(): void {
    this.#engine.observers.delete(this);
  }

  attempt(attempt: DeliveryAttempt, target: DeliveryTarget): void {
    this.#withLabels(target, (labels) => {
      this.attempts.inc({ ...labels, outcome: attempt.kind });
      this.latency.observe(labels, attempt.latencyMs / 1000);
      if (attempt.success) this.delivered.inc(labels, attempt.eventCount);
    });
  }

  deadLettered(target: DeliveryTarget, deadLettered: DeadLettering): void {
    this.#withLabels(target, (labels) => this.deadLetteredEvents.inc({ ...labels, reason: deadLettered.reason }, deadLettered.count));
  }

  /**
   * Counts one `POST /v1/events` request once it is answered: its outcome (from the status), the body
   * bytes read, and for an accepted request the events stored and duplicate (from its `202` answer).
   * Reads nothing itself: bytes are counted only as the handler consumes the body.
   */
  observeIngest(req: IncomingMessage, res: ServerResponse): void {
    let bytes = 0;
    // Count chunks only once the handler has put the body in flowing mode (never starts reading it ourselves).
    req.once('resume', () => req.on('data', (chunk: Buffer) => (bytes += chunk.length)));
    let answer: { accepted?: unknown; duplicates?: unknown } | undefined;
    const end = res.end;
    res.end = function (this: ServerResponse, ...args: unknown[]) {
      if (res.statusCode === 202 && (typeof args[0] === 'string' || Buffer.isBuffer(args[0]))) {
        try {
          answer = JSON.parse(String(args[0])) as typeof answer;
        } catch {
          answer = undefined;
        }
      }
      return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as ServerResponse['end'];
    res.once('close', () => {
      const outcome = ingestOutcome(res.statusCode);
      this.ingestRequests.inc({ outcome });
      if (bytes > 0) this.ingestBytes.inc({ outcome }, bytes);
      const accepted = Number(answer?.accepted);
      const duplicates = Number(answer?.duplicates ?? 0);
      if (Number.isInteger(accepted) && Number.isInteger(duplicates)) {
        this.ingestEvents.inc({ outcome: 'stored' }, Math.max(0, accepted - duplicates));
        this.ingestEvents.inc({ outcome: 'duplicate' }, duplicates);
      }
    });
  }

  #withLabels(target: DeliveryTarget, apply: (labels: Record<IntegrationLabel, string>) => void) {
    const labels = (organization: string) => ({ integration_id: target.id, type: target.type, organization });
    const slug = this.#slugs.get(target.organizationId);
    if (slug !== undefined) return apply(labels(slug));
    void this.#slugs.resolve(target.organizationId).then((s) => apply(labels(s)), () => apply(labels(target.organizationId)));
  }

  #states(): Promise<IntegrationState[]> {
    if (!this.#listing) {
      this.#listing = listIntegrationStates(this.#store);
      // Shared by the collectors of one scrape (they run together), fresh for the next one.
      const clear = () => setImmediate(() => (this.#listing = undefined));
      this.#listing.then(clear, clear);
    }
    return this.#listing;
  }
}

function labelsOf(s: IntegrationState): Record<IntegrationLabel, string> {
  return { integration_id: s.record.id, type: s.record.type, organization: s.organization };
}

function ingestOutcome(status: number): string {
  switch (status) {
    case 200:
    case 202:
      return 'accepted';
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 405:
      return 'method_not_allowed';
    case 408:
      return 'timeout';
    case 413:
      return 'too_large';
    case 415:
      return 'unsupported_media_type';
    case 503:
      return 'unavailable';
    default:
      return 'error';
  }
}
