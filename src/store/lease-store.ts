import type { Kysely } from 'kysely';
import { isPostgres } from './database.js';
import { runRelaxedTransaction } from './run-transaction.js';
import type { Database } from './tables.js';

/**
 * What this replica's round reads of each integration it holds, to notice changes made through another replica
 * (whose notifications stay in that process): the integration's version, its durable cursor (a discard moves it),
 * and its dead letters queued for replay.
 */
export interface HeldIntegration {
  updatedAt: string | null;
  cursor: number | null;
  replaying: number;
}

/**
 * The SQL of delivery leases (tables `delivery_leases` and `replicas`), for one replica. Portable Kysely: the
 * only dialect-specific part is the claim, `FOR UPDATE SKIP LOCKED` on PostgreSQL (replicas claiming at once
 * take different rows without waiting for each other) and a conditional update on SQLite (one writer).
 * Times are epoch milliseconds of the replicas' clocks, which must agree to well within a lease.
 *
 * @example
 * ```ts
 * const leases = new LeaseStore(db, 'replica-1');
 * const { replicas, integrations, held } = await leases.keepAlive(Date.now(), 15_000);
 * const claimed = await leases.claim(Date.now(), 15_000, 3);
 * ```
 */
export class LeaseStore {
  readonly #postgres: boolean;

  constructor(
    private readonly db: Kysely<Database>,
    readonly replicaId: string,
  ) {
    this.#postgres = isPostgres(db);
  }

  /** True on PostgreSQL (several processes may share the database); false on SQLite (one process, by its lock). */
  get shared(): boolean {
    return this.#postgres;
  }

  /**
   * One transaction of {@link heartbeat}, {@link sync} and {@link renew}. Relaxed durability (no fsync of its own):
   * a heartbeat or renewal lost to a power cut only makes leases look older, and a cursor move is fenced anyway.
   */
  async keepAlive(now: number, leaseMs: number): Promise<{ replicas: string[]; integrations: number; held: Map<string, HeldIntegration> }> {
    return runRelaxedTransaction(this.db, async (trx) => {
      const replicas = await this.heartbeat(now, leaseMs, trx);
      const integrations = await this.sync(trx);
      const held = await this.renew(now, leaseMs, trx);
      return { replicas, integrations, held };
    });
  }

  /**
   * Records this replica as alive at `now`, forgets replicas silent for longer than `leaseMs`, and returns the
   * ids of the live ones (this one included), sorted.
   */
  async heartbeat(now: number, leaseMs: number, db: Kysely<Database> = this.db): Promise<string[]> {
    await db
      .insertInto('replicas')
      .values({ id: this.replicaId, started_at: now, heartbeat_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: now }))
      .execute();
    await db.deleteFrom('replicas').where('heartbeat_at', '<', now - leaseMs).where('id', '<>', this.replicaId).execute();
    const rows = await db.selectFrom('replicas').select('id').orderBy('id').execute();
    return rows.map((r) => r.id);
  }

  /**
   * One lease row per integration: adds the rows of new integrations (unowned) and removes those of deleted
   * ones. Returns how many integrations there are.
   */
  async sync(db: Kysely<Database> = this.db): Promise<number> {
    const missing = await db
      .selectFrom('siem_integrations')
      .leftJoin('delivery_leases', 'delivery_leases.integration_id', 'siem_integrations.id')
      .select('siem_integrations.id')
      .where('delivery_leases.integration_id', 'is', null)
      // One order for every replica: two inserting the same new rows at once wait for each other, never deadlock.
      .orderBy('siem_integrations.id')
      .execute();
    for (let i = 0; i < missing.length; i += 500) {
      await db
        .insertInto('delivery_leases')
        .values(missing.slice(i, i + 500).map((r) => ({ integration_id: r.id, owner: null, expires_at: 0 })))
        .onConflict((oc) => oc.column('integration_id').doNothing())
        .execute();
    }
    await db
      .deleteFrom('delivery_leases')
      .where('integration_id', 'not in', (eb) => eb.selectFrom('siem_integrations').select('id'))
      .execute();
    const row = await db
      .selectFrom('delivery_leases')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Extends every lease this replica holds to `now + leaseMs`; returns them, by integration id. */
  async renew(now: number, leaseMs: number, db: Kysely<Database> = this.db): Promise<Map<string, HeldIntegration>> {
    await db.updateTable('delivery_leases').set({ expires_at: now + leaseMs }).where('owner', '=', this.replicaId).execute();
    const rows = await db
      .selectFrom('delivery_leases')
      .leftJoin('siem_integrations', 'siem_integrations.id', 'delivery_leases.integration_id')
      .leftJoin('delivery_state', 'delivery_state.integration_id', 'delivery_leases.integration_id')
      .select(['delivery_leases.integration_id as id', 'siem_integrations.updated_at as updatedAt', 'delivery_state.cursor_seq as cursor'])
      .where('delivery_leases.owner', '=', this.replicaId)
      .execute();
    const replaying = await db
      .selectFrom('dead_letters')
      .select((eb) => ['integration_id', eb.fn.countAll<number>().as('n')])
      .where('status', '=', 'replaying')
      .where('integration_id', 'in', (eb) => eb.selectFrom('delivery_leases').select('integration_id').where('owner', '=', this.replicaId))
      .groupBy('integration_id')
      .execute();
    const counts = new Map(replaying.map((r) => [r.integration_id, Number(r.n)]));
    return new Map(rows.map((r) => [r.id, { updatedAt: r.updatedAt, cursor: r.cursor === null ? null : Number(r.cursor), replaying: counts.get(r.id) ?? 0 }]));
  }

  /**
   * Claims at most `limit` leases that nobody holds or that ran out before `now` (their owner died or stalled),
   * atomically: a lease is claimed by one replica only. Returns the integration ids claimed.
   */
  async claim(now: number, leaseMs: number, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    const free = (db: Kysely<Database>) =>
      db
        .selectFrom('delivery_leases')
        .select('integration_id')
        .where((eb) => eb.or([eb('owner', 'is', null), eb('expires_at', '<', now)]))
        .orderBy('integration_id')
        .limit(limit);
    const take = (db: Kysely<Database>, ids: string[]) =>
      db
        .updateTable('delivery_leases')
        .set({ owner: this.replicaId, expires_at: now + leaseMs })
        .where('integration_id', 'in', ids)
        .where((eb) => eb.or([eb('owner', 'is', null), eb('expires_at', '<', now)]));
    if (this.#postgres) {
      return this.db.transaction().execute(async (trx) => {
        const ids = (await free(trx).forUpdate().skipLocked().execute()).map((r) => r.integration_id);
        if (ids.length > 0) await take(trx, ids).execute();
        return ids;
      });
    }
    // SQLite: one writer; each conditional update claims its row only if it is still free.
    const claimed: string[] = [];
    for (const { integration_id: id } of await free(this.db).execute()) {
      const result = await take(this.db, [id]).executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) claimed.push(id);
    }
    return claimed;
  }

  /** Gives up these leases (if still this replica's): another replica may claim them at once. */
  async release(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      await this.db
        .updateTable('delivery_leases')
        .set({ owner: null, expires_at: 0 })
        .where('owner', '=', this.replicaId)
        .where('integration_id', 'in', ids.slice(i, i + 500))
        .execute();
    }
  }

  /** Leaves: gives up every lease of this replica and removes its heartbeat (a clean shutdown). */
  async leave(): Promise<void> {
    await this.db.updateTable('delivery_leases').set({ owner: null, expires_at: 0 }).where('owner', '=', this.replicaId).execute();
    await this.db.deleteFrom('replicas').where('id', '=', this.replicaId).execute();
  }

  /**
   * Starts as the only replica (SQLite, whose lock admits one process): forgets every other replica and frees
   * their leases, which a previous process killed with `-9` left behind, instead of waiting for them to run out.
   */
  async takeOverAll(): Promise<void> {
    await this.db.deleteFrom('replicas').where('id', '<>', this.replicaId).execute();
    await this.db.updateTable('delivery_leases').set({ owner: null, expires_at: 0 }).where('owner', '<>', this.replicaId).execute();
  }
}
