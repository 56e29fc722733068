import type { DeliveryEngine, DeliveryObserver } from '../delivery/delivery-engine.js';
import { integrationHealth, type IntegrationHealth } from '../delivery/integration-health.js';
import type { DeadLettering, DeliveryAttempt } from '../delivery/integration-worker.js';
import type { Logger } from '../logger.js';
import type { DeliveryTarget } from '../store/delivery-store.js';
import type { Store } from '../store/store.js';
import { OrganizationSlugs, listIntegrationStates } from './integration-states.js';

/** Options of {@link DeliveryLog}. */
export interface DeliveryLogOptions {
  store: Store;
  log: Logger;
  /** @default Date.now */
  now?: () => number;
  /** While an integration keeps failing, at most one failure line per this interval. @default 60000 */
  failureLogIntervalMs?: number;
}

interface FailureState {
  failing: boolean;
  lastLoggedAt: number;
  /** Failed attempts not logged since the last line. */
  unlogged: number;
  lastKind?: string;
  lastHttpStatus?: number | null;
}

/**
 * Log lines an operator can alert on, fed by the delivery engine's notifications (not by the worker):
 * - one line per health change (`integration health changed`, at `error` for FAILING, `warn` for DEGRADED,
 *   `info` otherwise);
 * - one line per dead-lettering (`events dead-lettered`, `warn`);
 * - the first failed attempt after a success (`delivery failed`, `warn`), then at most one line per
 *   integration per `failureLogIntervalMs` while it keeps failing, counting the attempts in between.
 *
 * Every line carries `integrationId`, `organization` (slug), `reason` and `httpStatus`; error text is the
 * worker's, already scrubbed of the integration's secrets.
 *
 * @example
 * ```ts
 * const deliveryLog = new DeliveryLog({ store, log });
 * await deliveryLog.attach(engine);
 * ```
 */
export class DeliveryLog implements DeliveryObserver {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #interval: number;
  readonly #slugs: OrganizationSlugs;
  readonly #health = new Map<string, IntegrationHealth>();
  readonly #failures = new Map<string, FailureState>();
  /** Health reads, serialised per integration so lines come in order. */
  readonly #reads = new Map<string, Promise<void>>();
  #engine?: DeliveryEngine;

  constructor(options: DeliveryLogOptions) {
    this.#store = options.store;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#interval = options.failureLogIntervalMs ?? 60_000;
    this.#slugs = new OrganizationSlugs(options.store);
  }

  /** Reads every integration's health as the baseline, then follows the engine. */
  async attach(engine: DeliveryEngine): Promise<void> {
    for (const s of await listIntegrationStates(this.#store)) this.#health.set(s.record.id, s.health);
    this.#engine = engine;
    engine.observers.add(this);
  }

  /** Stops following the engine; waits for the health reads under way. */
  async detach(): Promise<void> {
    this.#engine?.observers.delete(this);
    await Promise.allSettled(this.#reads.values());
  }

  attempt(attempt: DeliveryAttempt, target: DeliveryTarget): void {
    const state = this.#failures.get(target.id) ?? { failing: false, lastLoggedAt: 0, unlogged: 0 };
    this.#failures.set(target.id, state);
    if (attempt.success) {
      state.failing = false;
      state.unlogged = 0;
      return;
    }
    state.lastKind = attempt.kind;
    state.lastHttpStatus = attempt.httpStatus;
    const now = this.#now();
    if (state.failing && now - state.lastLoggedAt < this.#interval) {
      state.unlogged += 1;
      return;
    }
    const first = !state.failing;
    const since = state.unlogged;
    state.failing = true;
    state.lastLoggedAt = now;
    state.unlogged = 0;
    this.#write(target.organizationId, (organization) =>
      this.#log.warn(
        {
          integrationId: target.id,
          organization,
          type: target.type,
          reason: attempt.kind,
          httpStatus: attempt.httpStatus,
          error: attempt.error,
          eventCount: attempt.eventCount,
          ...(first ? {} : { failedAttemptsSinceLastLine: since + 1 }),
        },
        first ? 'delivery failed' : 'delivery still failing',
      ),
    );
  }

  deadLettered(target: DeliveryTarget, d: DeadLettering): void {
    this.#write(target.organizationId, (organization) =>
      this.#log.warn({ integrationId: target.id, organization, type: target.type, reason: d.reason, httpStatus: d.httpStatus, events: d.count, error: d.error }, 'events dead-lettered'),
    );
  }

  statusChanged(organizationId: string, integrationId: string, urgent: boolean): void {
    // Health only changes with error tracking or config (urgent), or with the success that ends a failure.
    if (!urgent && this.#health.get(integrationId) === 'HEALTHY') return;
    const previous = this.#reads.get(integrationId) ?? Promise.resolve();
    const next = previous.then(() => this.#checkHealth(organizationId, integrationId)).catch((error: unknown) => this.#log.warn({ err: error, integrationId }, 'could not read integration health'));
    this.#reads.set(integrationId, next);
    void next.finally(() => {
      if (this.#reads.get(integrationId) === next) this.#reads.delete(integrationId);
    });
  }

  async #checkHealth(organizationId: string, integrationId: string) {
    const record = await this.#store.tenant(organizationId).findIntegration(integrationId);
    if (!record) {
      this.#health.delete(integrationId);
      this.#failures.delete(integrationId);
      return;
    }
    const health = integrationHealth(record);
    const before = this.#health.get(integrationId);
    this.#health.set(integrationId, health);
    if (before === undefined || before === health) return;
    const failure = this.#failures.get(integrationId);
    const organization = await this.#slugs.resolve(organizationId);
    const level = health === 'FAILING' ? 'error' : health === 'DEGRADED' ? 'warn' : 'info';
    const failed = health === 'FAILING' || health === 'DEGRADED';
    this.#log[level](
      {
        integrationId,
        organization,
        type: record.type,
        from: before,
        health,
        errorCount: record.errorCount,
        reason: failed ? (failure?.lastKind ?? null) : health === 'DISABLED' ? 'disabled' : 'recovered',
        httpStatus: failed ? (failure?.lastHttpStatus ?? null) : null,
        ...(failed ? { error: record.lastError } : {}),
      },
      'integration health changed',
    );
  }

  #write(organizationId: string, line: (organization: string) => void) {
    const slug = this.#slugs.get(organizationId);
    if (slug !== undefined) return line(slug);
    void this.#slugs.resolve(organizationId).then(line, () => line(organizationId));
  }
}
