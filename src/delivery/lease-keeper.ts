import type { Logger } from '../logger.js';
import type { HeldIntegration, LeaseStore } from '../store/lease-store.js';

/** Options of {@link LeaseKeeper}. */
export interface LeaseKeeperOptions {
  /** The leases as this replica sees them (`store.replicaId` is {@link replicaId}). */
  store: LeaseStore;
  replicaId: string;
  /** How long a lease lasts without renewal; renewed every third of it. */
  leaseMs: number;
  /**
   * This is the only replica (SQLite: the database lock admits one process): at start it frees the leases a
   * previous process left behind instead of waiting for them to run out. @default true on SQLite, false on PostgreSQL
   */
  soleReplica?: boolean;
  /** Epoch ms. @default Date.now */
  clock?: () => number;
  log: Logger;
  /** These integrations' leases are this replica's now: deliver them. */
  acquired(integrationIds: string[]): Promise<void>;
  /** Stop delivering this integration (after the batch in flight); resolves once stopped. */
  relinquish(integrationId: string): Promise<void>;
  /** After each round: the integrations this replica delivers, as the database has them now. */
  observed?(held: ReadonlyMap<string, HeldIntegration>): void;
}

/**
 * This replica's fair share of `total` integrations among the live replicas (sorted ids, this one among them):
 * an equal part, one more for the first `total mod n` replicas, so the shares add up to `total`.
 */
export function fairShare(total: number, replicas: readonly string[], self: string): number {
  const n = Math.max(1, replicas.length);
  const index = Math.max(0, replicas.indexOf(self));
  return Math.floor(total / n) + (index < total % n ? 1 : 0);
}

/**
 * Keeps this replica's delivery leases (see `delivery_leases`): every third of a lease it heartbeats, renews
 * what it holds, and balances — claims unowned or run-out leases up to its {@link fairShare}, and releases those
 * above it once their worker has stopped (so a replica started later gets its share). A lease it finds taken
 * over (this replica stalled past it) stops that integration's worker; so does a renewal that has failed for a
 * whole lease. Claims are atomic (see {@link LeaseStore.claim}); cursor moves are fenced by the lease
 * (`DeliveryFence`), so a worker that has not noticed yet cannot move the cursor after a takeover.
 *
 * @example
 * ```ts
 * const keeper = new LeaseKeeper({ store: new LeaseStore(db, replicaId), replicaId, leaseMs: 15_000, soleReplica: false, log, acquired, relinquish });
 * await keeper.start();
 * // ... on SIGTERM, once the workers have stopped
 * await keeper.stop({ release: true });
 * ```
 */
export class LeaseKeeper {
  readonly #store: LeaseStore;
  readonly #options: LeaseKeeperOptions;
  readonly #clock: () => number;
  readonly #soleReplica: boolean;
  /** Integrations whose lease this replica holds and delivers. */
  readonly #held = new Set<string>();
  /** Leases being given back (their worker is stopping). */
  readonly #releasing = new Set<string>();
  #timer?: NodeJS.Timeout;
  #running: Promise<void> = Promise.resolve();
  #renewedAt = 0;
  #started = false;
  #stopped = false;

  constructor(options: LeaseKeeperOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#clock = options.clock ?? Date.now;
    this.#soleReplica = options.soleReplica ?? !this.#store.shared;
  }

  /** The integrations this replica delivers. */
  get held(): ReadonlySet<string> {
    return this.#held;
  }

  /** Takes this replica's share, then keeps it every third of a lease. */
  async start(): Promise<void> {
    await this.rebalance();
    const period = Math.max(10, Math.floor(this.#options.leaseMs / 3));
    this.#timer = setInterval(() => void this.rebalance(), period);
    this.#timer.unref();
  }

  /** One heartbeat, renewal and balancing round now (serialised with the periodic ones). Never throws. */
  rebalance(): Promise<void> {
    const next = this.#running.then(() => (this.#stopped ? undefined : this.#round()));
    this.#running = next;
    return next;
  }

  /** The fence refused a cursor move: another replica holds this lease now. */
  lost(integrationId: string): void {
    if (!this.#held.delete(integrationId)) return;
    this.#options.log.warn({ integrationId, replicaId: this.#options.replicaId }, 'delivery lease taken over by another replica; stopping its worker');
    void this.#options.relinquish(integrationId);
  }

  /** The integration was deleted: nothing to hold or release. */
  forget(integrationId: string): void {
    this.#held.delete(integrationId);
  }

  /** Stops renewing. `release`: give every lease back at once (clean shutdown, after the workers stopped). */
  async halt(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  /** Gives every lease back and removes this replica's heartbeat: the others take over at their next round. */
  async leave(): Promise<void> {
    this.#held.clear();
    await this.#store.leave();
  }

  async #round(): Promise<void> {
    const { leaseMs, replicaId, log } = this.#options;
    const now = this.#clock();
    try {
      if (!this.#started && this.#soleReplica) await this.#store.takeOverAll();
      this.#started = true;
      const { replicas, integrations: total, held: owned } = await this.#store.keepAlive(now, leaseMs);
      this.#renewedAt = now;
      for (const id of this.#held) {
        if (owned.has(id)) continue;
        this.#held.delete(id);
        log.warn({ integrationId: id, replicaId }, 'delivery lease taken over by another replica; stopping its worker');
        void this.#options.relinquish(id);
      }
      const active = [...owned.keys()].filter((id) => !this.#releasing.has(id)).sort();
      const share = fairShare(total, replicas, replicaId);
      if (active.length > share) {
        for (const id of active.splice(share)) this.#release(id);
      } else if (active.length < share) {
        active.push(...(await this.#store.claim(now, leaseMs, share - active.length)));
      }
      const fresh = active.filter((id) => !this.#held.has(id));
      for (const id of fresh) this.#held.add(id);
      if (fresh.length > 0) {
        log.debug({ replicaId, integrations: fresh.length, share, replicas: replicas.length }, 'delivery leases acquired');
        await this.#options.acquired(fresh);
      }
      this.#options.observed?.(owned);
    } catch (error) {
      log.warn({ err: error, replicaId }, 'renewing delivery leases failed');
      if (this.#held.size > 0 && now - this.#renewedAt >= leaseMs) {
        // Not renewed for a whole lease: another replica may deliver these now. Stop before it does.
        log.warn({ replicaId, integrations: this.#held.size }, 'delivery leases lapsed; stopping their workers');
        for (const id of this.#held) void this.#options.relinquish(id);
        this.#held.clear();
      }
    }
  }

  /** Above the fair share: stop delivering this integration, then free its lease for another replica. */
  #release(id: string) {
    this.#releasing.add(id);
    this.#held.delete(id);
    void this.#options
      .relinquish(id)
      .then(() => this.#store.release([id]))
      .catch((error: unknown) => this.#options.log.warn({ err: error, integrationId: id }, 'releasing a delivery lease failed'))
      .finally(() => this.#releasing.delete(id));
  }
}
