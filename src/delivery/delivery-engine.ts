import { randomUUID } from 'node:crypto';
import { createSiemAdapter } from '../destinations/create-siem-adapter.js';
import type { AdapterOptions, DestinationConfig, SiemAdapter } from '../destinations/types.js';
import type { Logger } from '../logger.js';
import type { EgressPolicy } from '../net/egress-policy.js';
import type { DeliveryStore, DeliveryTarget } from '../store/delivery-store.js';
import type { DeliveryPort } from '../store/delivery-port.js';
import type { AppendedEvent } from '../store/event-log.js';
import type { DeliveryCounters, SiemIntegrationRecord } from '../store/tenant-store.js';
import { IntegrationWorker, type DeadLettering, type DeliveryAttempt } from './integration-worker.js';
import { routes } from '../store/routing.js';
import { StatusHub } from './status-hub.js';
import { LeaseKeeper } from './lease-keeper.js';
import type { HeldIntegration } from '../store/lease-store.js';
import { LocalBus, appendedTopic, changedTopic, groupAppended, type AppendedGroup, type AppendedMessage, type ChangedMessage, type ReplicaBus } from './replica-bus.js';

/** Options of {@link DeliveryEngine}. */
export interface DeliveryEngineOptions {
  /** The engine's narrow access to the store: `store.delivery()`. */
  store: DeliveryPort;
  egress: EgressPolicy;
  log: Logger;
  /** Undelivered events older than this go to dead letters. @default 7 days */
  retentionMs?: number;
  /** First retry backoff step. @default 1000 */
  retryBaseMs?: number;
  /** Longest backoff while a destination stays down. @default 300000 (5 minutes) */
  retryMaxMs?: number;
  /** Least time between two progress-only status messages of one integration (error changes go out at once). @default 250 */
  statusIntervalMs?: number;
  /** How often delivered events are compacted, and events older than the retention deleted, in the log. @default 60000 */
  pruneIntervalMs?: number;
  /** @default createSiemAdapter */
  createAdapter?: (config: DestinationConfig, options: AdapterOptions) => SiemAdapter;
  /** Carries status, attempts and wake-ups to and from other replicas. @default a {@link LocalBus} of its own (this replica alone) */
  bus?: ReplicaBus;
  /** How long a replica's delivery lease lasts without renewal (renewed every third of it). @default 15000 */
  leaseMs?: number;
  /** This replica's id in `delivery_leases` and `replicas`. @default a random UUID */
  replicaId?: string;
  /**
   * The only replica using the database: at start it frees leases a killed predecessor left behind.
   * @default true on SQLite (its lock admits one process), false on PostgreSQL
   */
  soleReplica?: boolean;
  /** The lease clock, epoch ms (replicas' clocks must agree to well within a lease). @default Date.now */
  leaseClock?: () => number;
}

type LeaseOption = 'leaseMs' | 'replicaId' | 'soleReplica' | 'leaseClock';

/** How long {@link DeliveryEngine.stop} waits, past its deadline, for sends it aborted to end. */
export const STOP_GRACE_MS = 5_000;

/** How often idle workers re-check the log while a cross-replica bus is down (wake-ups from other replicas may be lost). */
export const BUS_DOWN_RECHECK_MS = 1000;

/** Live delivery figures of one integration. */
export interface IntegrationStats {
  delivered: number;
  failedAttempts: number;
  queued: number;
  deadLettered: number;
  /** Successful attempts / all attempts; null before the first attempt. */
  successRate: number | null;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
}

/** Delivery figures of a whole organisation. */
export interface OrganizationStats {
  integrations: number;
  delivered: number;
  failedAttempts: number;
  queued: number;
  deadLettered: number;
  successRate: number | null;
}

/** A status message: the integration as it is now (null once deleted). */
export interface StatusMessage {
  organizationId: string;
  integrationId: string;
  integration: SiemIntegrationRecord | null;
  /** Live figures at the time of the change, read once for every subscriber. */
  stats: IntegrationStats | null;
}

/**
 * Sees every attempt, dead-lettering and status change across organisations (metrics, operator logs).
 * Called synchronously on the delivery path: must be cheap; a throwing observer is logged and ignored.
 */
export interface DeliveryObserver {
  attempt?(attempt: DeliveryAttempt, target: DeliveryTarget): void;
  deadLettered?(target: DeliveryTarget, deadLettered: DeadLettering): void;
  /** An integration's error tracking, queue or config changed (`urgent`: error tracking or config). */
  statusChanged?(organizationId: string, integrationId: string, urgent: boolean): void;
}

/** Topic names of the engine's hubs. */
export const statusTopic = (organizationId: string) => `status:${organizationId}`;
export const attemptsTopic = (organizationId: string) => `attempts:${organizationId}`;

/**
 * Runs one {@link IntegrationWorker} per integration whose delivery lease this replica holds (a disabled one's
 * is paused: it keeps its queue and sends nothing), wakes them when the store commits new
 * events, follows integration changes, prunes the log, and publishes live status and attempts.
 *
 * Replicas share the integrations through leases in the database ({@link LeaseKeeper}): each takes its fair
 * share, a lost lease stops its worker after the batch in flight, and a cursor move commits only while the
 * lease is still this replica's. Alone on its database, a replica holds every lease.
 *
 * @example
 * ```ts
 * const engine = new DeliveryEngine({ store: store.delivery(), egress, log });
 * await engine.start();
 * // ... on SIGTERM
 * await engine.stop(10_000);
 * ```
 */
export class DeliveryEngine {
  /** See {@link DeliveryObserver}. */
  readonly observers = new Set<DeliveryObserver>();
  readonly status = new StatusHub<StatusMessage>({ keyOf: (m) => m.integrationId });
  readonly attempts = new StatusHub<DeliveryAttempt>({ keyOf: (a) => a.integrationId });
  /** See {@link DeliveryEngineOptions.bus}. */
  readonly bus: ReplicaBus;

  /** This replica's id (see {@link DeliveryEngineOptions.replicaId}). */
  readonly replicaId: string;
  readonly #delivery: DeliveryStore;
  readonly #leases: LeaseKeeper;
  readonly #workers = new Map<string, IntegrationWorker>();
  /** Workers stopping (lease lost or released), by integration: a new one waits for the old one. */
  readonly #stoppingWorkers = new Map<string, { worker: IntegrationWorker; stopped: Promise<void> }>();
  readonly #changes = new Map<string, Promise<void>>();
  readonly #statusTimers = new Map<string, NodeJS.Timeout>();
  readonly #options: Required<Omit<DeliveryEngineOptions, 'store' | 'egress' | 'log' | 'bus' | LeaseOption>> & Pick<DeliveryEngineOptions, 'store' | 'egress' | 'log'>;
  #unsubscribe: (() => void)[] = [];
  #pruneTimer?: NodeJS.Timeout;
  #stopped = false;

  constructor(options: DeliveryEngineOptions) {
    this.#options = {
      retentionMs: 7 * 24 * 60 * 60 * 1000,
      retryBaseMs: 1000,
      retryMaxMs: 300_000,
      statusIntervalMs: 250,
      pruneIntervalMs: 60_000,
      createAdapter: createSiemAdapter,
      ...options,
    };
    this.replicaId = options.replicaId ?? randomUUID();
    this.#leases = new LeaseKeeper({
      store: options.store.leaseStore(this.replicaId),
      replicaId: this.replicaId,
      leaseMs: options.leaseMs ?? 15_000,
      soleReplica: options.soleReplica,
      clock: options.leaseClock,
      log: options.log,
      acquired: (ids) => this.#acquired(ids),
      relinquish: (id) => this.#stopWorker(id),
      observed: (held) => this.#noticeChanges(held),
    });
    this.#delivery = options.store.deliveryStore({
      owner: this.replicaId,
      lost: (id) => this.#leases.lost(id),
    });
    this.bus = options.bus ?? new LocalBus();
  }

  /** The integrations this replica delivers (holds the lease of). */
  get leases(): ReadonlySet<string> {
    return this.#leases.held;
  }

  /**
   * One heartbeat, renewal and balancing round now, besides the periodic ones (e.g. when another replica
   * announced that it joined or left). Never throws.
   */
  rebalanceLeases(): Promise<void> {
    return this.#leases.rebalance();
  }

  /**
   * Takes this replica's share of the delivery leases and starts a worker for each (paused when disabled),
   * resumed from its durable cursor; keeps the leases renewed and balanced from then on.
   */
  async start(): Promise<void> {
    this.#unsubscribe.push(
      this.#options.store.subscribe({
        eventsAppended: (org, events) => this.#onAppended(org, events),
        integrationChanged: (org, id) => {
          this.bus.publish(changedTopic(org), { organizationId: org, integrationId: id } satisfies ChangedMessage);
          this.#onIntegrationChanged(org, id);
        },
      }),
      ...this.#followBus(),
    );
    await this.#leases.start();
    this.#pruneTimer = setInterval(() => {
      this.#delivery
        .prune(new Date(Date.now() - this.#options.retentionMs))
        .catch((error: unknown) => this.#options.log.warn({ err: error }, 'pruning the event log failed'));
    }, this.#options.pruneIntervalMs);
    this.#pruneTimer.unref();
  }

  /**
   * Stops delivering. Workers finish the batch in flight; after `deadlineMs` in-flight sends are aborted
   * and their batches stay in the log, to be delivered (again) after the next start or by another replica;
   * a send that ignores the abort is waited for {@link STOP_GRACE_MS} more, then left. Then the leases are
   * released, so other replicas take over at once; `release: false` keeps them until they run out, as a
   * replica that died would.
   */
  async stop(deadlineMs = 10_000, { release = true }: { release?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    clearInterval(this.#pruneTimer);
    for (const timer of this.#statusTimers.values()) clearTimeout(timer);
    await this.#leases.halt();
    await Promise.allSettled(this.#changes.values());
    const stopping = [...this.#stoppingWorkers.values()];
    const workers = [...this.#workers.values(), ...stopping.map((s) => s.worker)];
    const deadline = setTimeout(() => workers.forEach((w) => w.abortInFlight()), deadlineMs);
    const running = new Set(workers);
    const stopped = Promise.allSettled(
      [...this.#workers.values()].map((w) => w.stop().finally(() => running.delete(w))).concat(stopping.map((s) => s.stopped.finally(() => running.delete(s.worker)))),
    );
    // A send that ignores the abort must not keep the process from exiting: after a grace, its batch is left queued
    // (its cursor has not moved, so it is sent again after the next start).
    let grace: NodeJS.Timeout | undefined;
    const gaveUp = await Promise.race([stopped.then(() => false), new Promise<boolean>((resolve) => (grace = setTimeout(() => resolve(true), deadlineMs + STOP_GRACE_MS)))]);
    clearTimeout(grace);
    clearTimeout(deadline);
    if (gaveUp) {
      const integrationIds = [...running].map((w) => w.target.id);
      this.#options.log.error({ integrationIds }, 'delivery did not stop when its batch in flight was aborted; leaving that batch queued for the next start');
    }
    this.#workers.clear();
    if (release) await this.#leases.leave().catch((error: unknown) => this.#options.log.warn({ err: error }, 'releasing delivery leases failed'));
  }

  /** Live figures of one integration: durable counters plus the worker's queue and latencies. */
  async stats(organizationId: string, integrationId: string, counters?: DeliveryCounters): Promise<IntegrationStats> {
    return this.liveStats(integrationId, counters ?? (await this.#options.store.tenant(organizationId).deliveryState(integrationId)));
  }

  /** {@link stats} from counters already loaded (synchronous: a list of integrations costs no promise per row). */
  liveStats(integrationId: string, c: DeliveryCounters): IntegrationStats {
    const worker = this.#workers.get(integrationId);
    const attempts = c.succeededAttempts + c.failedAttempts;
    return {
      delivered: c.delivered,
      failedAttempts: c.failedAttempts,
      queued: worker ? worker.queued + worker.replaying : 0,
      deadLettered: c.deadLettered,
      successRate: attempts === 0 ? null : c.succeededAttempts / attempts,
      p50LatencyMs: worker?.latencyPercentile(50) ?? null,
      p95LatencyMs: worker?.latencyPercentile(95) ?? null,
    };
  }

  /** Events waiting for one integration (routed after its cursor, plus dead letters queued for replay): no store read. */
  queued(integrationId: string): number {
    const worker = this.#workers.get(integrationId);
    return worker ? worker.queued + worker.replaying : 0;
  }

  /** Delivery across all of an organisation's integrations. */
  async organizationStats(organizationId: string): Promise<OrganizationStats> {
    const tenant = this.#options.store.tenant(organizationId);
    const [integrations, counters] = await Promise.all([tenant.listIntegrations(), tenant.deliveryStates()]);
    const all = await Promise.all(integrations.map((i) => this.stats(organizationId, i.id, counters.get(i.id))));
    const sum = (f: (s: IntegrationStats) => number) => all.reduce((a, s) => a + f(s), 0);
    const succeeded = [...counters.values()].reduce((a, c) => a + c.succeededAttempts, 0);
    const failed = sum((s) => s.failedAttempts);
    return {
      integrations: integrations.length,
      delivered: sum((s) => s.delivered),
      failedAttempts: failed,
      queued: sum((s) => s.queued),
      deadLettered: sum((s) => s.deadLettered),
      successRate: succeeded + failed === 0 ? null : succeeded / (succeeded + failed),
    };
  }

  #startWorker(target: DeliveryTarget) {
    const worker = new IntegrationWorker(target, {
      store: this.#delivery,
      egress: this.#options.egress,
      log: this.#options.log,
      createAdapter: this.#options.createAdapter,
      retentionMs: this.#options.retentionMs,
      retryBaseMs: this.#options.retryBaseMs,
      retryMaxMs: this.#options.retryMaxMs,
      idleRecheckMs: () => (this.bus.crossReplica && !this.bus.connected ? BUS_DOWN_RECHECK_MS : undefined),
      onAttempt: (attempt) => {
        this.attempts.publish(attemptsTopic(attempt.organizationId), attempt);
        this.bus.publish(attemptsTopic(attempt.organizationId), attempt);
        this.#observe((o) => o.attempt?.(attempt, worker.target));
      },
      onDeadLetter: (t, deadLettered) => this.#observe((o) => o.deadLettered?.(t, deadLettered)),
      onStatusChange: (t, urgent) => this.#publishStatus(t.organizationId, t.id, urgent),
    });
    this.#workers.set(target.id, worker);
    worker.start();
  }

  /**
   * These leases are this replica's now: start their workers. One whose previous worker is still stopping (a lease
   * lost and claimed again) starts once that one has stopped, without holding up the lease round meanwhile.
   */
  async #acquired(ids: string[]): Promise<void> {
    const ready = ids.filter((id) => !this.#stoppingWorkers.has(id));
    for (const id of ids.filter((i) => this.#stoppingWorkers.has(i))) {
      void this.#stoppingWorkers
        .get(id)!
        .stopped.then(() => this.#delivery.getTarget(id))
        .then((target) => this.#startHeld(target))
        .catch((error: unknown) => this.#options.log.warn({ err: error, integrationId: id }, 'could not start a delivery worker'));
    }
    const wanted = new Set(ready);
    const targets = ready.length > 16 ? await this.#delivery.listTargets() : await Promise.all(ready.map((id) => this.#delivery.getTarget(id)));
    for (const target of targets) if (target && wanted.has(target.id)) this.#startHeld(target);
  }

  /**
   * Changes made through another replica (an update, a discard, dead letters queued for replay) notify only that
   * replica's process: each lease round compares what the database holds with this replica's workers, and applies
   * what differs the way a local change is applied.
   */
  #noticeChanges(held: ReadonlyMap<string, HeldIntegration>) {
    for (const [id, now] of held) {
      const worker = this.#workers.get(id);
      if (!worker || this.#changes.has(id)) continue;
      const changed = now.updatedAt !== worker.target.updatedAt || (now.cursor ?? 0) > worker.cursor || (now.replaying > 0 && worker.replaying === 0);
      if (changed) this.#onIntegrationChanged(worker.target.organizationId, id);
    }
  }

  /** Starts the target's worker if this replica (still) holds its lease and runs none for it yet. */
  #startHeld(target: DeliveryTarget | null) {
    if (!target || this.#stopped || !this.#leases.held.has(target.id) || this.#workers.has(target.id) || this.#stoppingWorkers.has(target.id)) return;
    this.#startWorker(target);
  }

  /** The lease is gone or being released: stop the worker after the batch in flight. Never rejects. */
  #stopWorker(id: string): Promise<void> {
    const worker = this.#workers.get(id);
    if (!worker) return this.#stoppingWorkers.get(id)?.stopped ?? Promise.resolve();
    this.#workers.delete(id);
    const stopping = {
      worker,
      stopped: worker
        .stop()
        .catch((error: unknown) => this.#options.log.warn({ err: error, integrationId: id }, 'stopping a delivery worker failed'))
        .finally(() => {
          if (this.#stoppingWorkers.get(id) === stopping) this.#stoppingWorkers.delete(id);
        }),
    };
    this.#stoppingWorkers.set(id, stopping);
    return stopping.stopped;
  }

  #onAppended(organizationId: string, events: AppendedEvent[]) {
    const groups = groupAppended(events);
    this.bus.publish(appendedTopic(organizationId), { organizationId, groups } satisfies AppendedMessage);
    this.#wake(organizationId, groups);
  }

  /** Wakes the workers of `organizationId` that route any of the appended events (appended here or on another replica). */
  #wake(organizationId: string, groups: AppendedGroup[]) {
    for (const worker of this.#workers.values()) {
      if (worker.target.organizationId !== organizationId) continue;
      let n = 0;
      for (const [customerId, severityRank, type, count] of groups) if (routes(worker.target, { customerId, severityRank, type })) n += count;
      if (n > 0) {
        worker.notifyQueued(n);
        this.#publishStatus(organizationId, worker.target.id, false);
      }
    }
  }

  /** Serialised per integration, so a burst of updates applies in order. */
  #onIntegrationChanged(organizationId: string, integrationId: string) {
    const previous = this.#changes.get(integrationId) ?? Promise.resolve();
    const next = previous
      .then(() => this.#applyChange(organizationId, integrationId))
      .catch((error: unknown) => this.#options.log.error({ err: error, integrationId }, 'could not apply an integration change'));
    this.#changes.set(integrationId, next);
    void next.finally(() => {
      if (this.#changes.get(integrationId) === next) this.#changes.delete(integrationId);
    });
  }

  async #applyChange(organizationId: string, integrationId: string) {
    if (this.#stopped) return;
    const target = await this.#delivery.getTarget(integrationId);
    const worker = this.#workers.get(integrationId);
    if (!target) {
      this.#leases.forget(integrationId);
      await this.#stopWorker(integrationId);
    } else if (worker) {
      // Disabling only pauses the worker; a discard moved the durable cursor, which the worker picks up.
      const [replaying, cursor] = await Promise.all([this.#delivery.countReplaying(integrationId), this.#delivery.cursor(integrationId)]);
      worker.update(target, replaying, cursor ?? undefined);
    } else {
      // A new integration (or one another replica delivers): claim its lease if this replica is below its share.
      await this.#leases.rebalance();
    }
    this.#publishStatus(organizationId, integrationId, true);
  }

  #observe(call: (observer: DeliveryObserver) => void) {
    for (const observer of this.observers) {
      try {
        call(observer);
      } catch (error) {
        this.#options.log.warn({ err: error }, 'a delivery observer failed');
      }
    }
  }

  /**
   * Other replicas' status and attempts reach this replica's subscribers (only topics someone here follows
   * are decoded); their appended events wake the workers here, and changes made through them reach the
   * workers here at once (not at the next lease round). When the bus comes back after an outage,
   * every idle worker re-checks the log (wake-ups sent meanwhile were lost); when it goes, idle workers
   * re-sleep with the short {@link BUS_DOWN_RECHECK_MS}.
   */
  #followBus(): (() => void)[] {
    const bus = this.bus;
    return [
      bus.subscribe('status:', (_topic, m) => {
        const message = m as StatusMessage;
        this.status.publish(statusTopic(message.organizationId), message);
      }, (topic) => this.status.subscriberCount(topic) > 0),
      bus.subscribe('attempts:', (_topic, m) => {
        const attempt = m as DeliveryAttempt;
        this.attempts.publish(attemptsTopic(attempt.organizationId), attempt);
      }, (topic) => this.attempts.subscriberCount(topic) > 0),
      bus.subscribe(appendedTopic(''), (_topic, m) => {
        const { organizationId, groups } = m as AppendedMessage;
        this.#wake(organizationId, groups);
      }),
      // Only the replica running the integration's worker acts; the others learn of it at their next lease round.
      bus.subscribe(changedTopic(''), (_topic, m) => {
        const { organizationId, integrationId } = m as ChangedMessage;
        if (this.#workers.has(integrationId)) this.#onIntegrationChanged(organizationId, integrationId);
      }),
      bus.onConnectionChange(() => {
        for (const worker of this.#workers.values()) worker.recheck();
      }),
    ];
  }

  #publishStatus(organizationId: string, integrationId: string, urgent: boolean) {
    this.#observe((o) => o.statusChanged?.(organizationId, integrationId, urgent));
    // Subscribers of another replica may be waiting: with a cross-replica bus, status is always built.
    if (!this.bus.crossReplica && this.status.subscriberCount(statusTopic(organizationId)) === 0) return;
    const pending = this.#statusTimers.get(integrationId);
    if (!urgent && pending) return;
    if (pending) clearTimeout(pending);
    const send = () => {
      this.#statusTimers.delete(integrationId);
      const tenant = this.#options.store.tenant(organizationId);
      tenant
        .findIntegration(integrationId)
        .then(async (integration) => {
          const stats = integration ? await this.stats(organizationId, integrationId) : null;
          const message: StatusMessage = { organizationId, integrationId, integration, stats };
          this.status.publish(statusTopic(organizationId), message);
          this.bus.publish(statusTopic(organizationId), message);
        })
        .catch((error: unknown) => this.#options.log.warn({ err: error, integrationId }, 'could not publish status'));
    };
    if (urgent) send();
    else this.#statusTimers.set(integrationId, setTimeout(send, this.#options.statusIntervalMs));
  }
}
