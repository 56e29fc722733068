import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type SelectQueryBuilder, type Transaction } from 'kysely';
import type { RoutingFilter } from './routing.js';
import type { DestinationConfig, SiemIntegrationType } from '../destinations/types.js';
import { SEVERITY_ORDER } from '../events/security-event.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { errorTrackingUpdate } from './error-tracking.js';
import { runTransaction } from './run-transaction.js';
import { openDestinationConfig } from './sealed-config.js';
import type { Database } from './tables.js';
import type { Batching } from './tenant-store.js';

/** What the delivery engine needs to know of an integration. */
export interface DeliveryTarget {
  id: string;
  organizationId: string;
  type: SiemIntegrationType;
  name: string;
  enabled: boolean;
  customerId: string | null;
  filter: RoutingFilter | null;
  batching: Batching;
  /** Changes whenever the integration is updated; the engine rebuilds its adapter when it does. */
  updatedAt: string;
}

/** One event read from the log for delivery. */
export interface LogEntry {
  seq: number;
  eventId: string;
  payload: string;
  receivedAt: string;
}

/** One dead letter queued for replay. */
export interface ReplayEntry extends LogEntry {
  deadLetterId: string;
  attempts: number;
}

/** Why events went to dead letters. */
export interface DeadLetterReason {
  reason: 'rejected' | 'expired';
  error: string;
  httpStatus?: number;
}

/**
 * The delivery engine's view of the store. Unlike `TenantStore` it works across organisations: the
 * engine is a system component, not a request. Nothing here is reachable from the API.
 *
 * Cursor moves and their counters are committed in one transaction with the error tracking they imply.
 *
 * @example
 * ```ts
 * const delivery = new DeliveryStore(store.db, store.box);
 * const batch = await delivery.readBatch(target, cursor, target.batching.batchSize);
 * ```
 */
export class DeliveryStore {
  /** Per organisation, the seq up to which payloads were already compacted (saves rescanning). */
  readonly #compactedUpTo = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly box: SecretBox,
  ) {}

  /** Every integration, enabled or not. */
  async listTargets(): Promise<DeliveryTarget[]> {
    const rows = await this.targets().execute();
    return rows.map(toTarget);
  }

  async getTarget(id: string): Promise<DeliveryTarget | null> {
    const row = await this.targets().where('id', '=', id).executeTakeFirst();
    return row ? toTarget(row) : null;
  }

  /** The decrypted destination config. */
  async destinationConfig(id: string): Promise<DestinationConfig | null> {
    const row = await this.db.selectFrom('siem_integrations').select(['id', 'config', 'secrets']).where('id', '=', id).executeTakeFirst();
    if (!row) return null;
    return openDestinationConfig(row, this.box);
  }

  /** Where the integration's reading of the log stands. */
  async cursor(integrationId: string): Promise<number | null> {
    const row = await this.db.selectFrom('delivery_state').select('cursor_seq').where('integration_id', '=', integrationId).executeTakeFirst();
    return row ? Number(row.cursor_seq) : null;
  }

  /**
   * The next events for a target after `afterSeq`, in log order: the organisation's events of the
   * target's customer (or all, for a global target) that pass its filter. Same rule as `routes()`.
   */
  async readBatch(target: DeliveryTarget, afterSeq: number, limit: number): Promise<LogEntry[]> {
    const rows = await this.routed(target, afterSeq)
      .select(['seq', 'event_id', 'payload', 'received_at'])
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ seq: Number(r.seq), eventId: r.event_id, payload: r.payload, receivedAt: r.received_at }));
  }

  /** How many routed events wait after `afterSeq`. */
  async countQueued(target: DeliveryTarget, afterSeq: number): Promise<number> {
    const row = await this.routed(target, afterSeq).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Dead letters queued for replay, in log order. */
  async readReplayBatch(integrationId: string, limit: number): Promise<ReplayEntry[]> {
    const rows = await this.db
      .selectFrom('dead_letters')
      .select(['id', 'event_seq', 'event_id', 'payload', 'created_at', 'attempts'])
      .where('integration_id', '=', integrationId)
      .where('status', '=', 'replaying')
      .orderBy('event_seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ deadLetterId: r.id, seq: Number(r.event_seq), eventId: r.event_id, payload: r.payload, receivedAt: r.created_at, attempts: r.attempts }));
  }

  /** Number of dead letters queued for replay. */
  async countReplaying(integrationId: string): Promise<number> {
    const row = await this.db
      .selectFrom('dead_letters')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('integration_id', '=', integrationId)
      .where('status', '=', 'replaying')
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * A batch was delivered: moves the cursor (or removes replayed dead letters), counts the events and
   * the attempt, and resets error tracking, all in one transaction.
   */
  async commitDelivered(integrationId: string, delivered: { cursorSeq?: number; count: number; replayedIds?: string[] }, at: Date): Promise<void> {
    await this.write(async (trx) => {
      const state = trx
        .updateTable('delivery_state')
        .set((eb) => ({
          delivered: eb('delivered', '+', delivered.count),
          succeeded_attempts: eb('succeeded_attempts', '+', 1),
          updated_at: at.toISOString(),
        }))
        .where('integration_id', '=', integrationId);
      // Never backwards: a discard (`discardQueuedEvents`) may have moved the cursor past this batch meanwhile.
      await (delivered.cursorSeq !== undefined ? state.set({ cursor_seq: sql<number>`max(cursor_seq, ${delivered.cursorSeq})` }) : state).execute();
      if (delivered.replayedIds?.length) await trx.deleteFrom('dead_letters').where('id', 'in', delivered.replayedIds).execute();
      await trx.updateTable('siem_integrations').set(errorTrackingUpdate({ success: true }, at) as never).where('id', '=', integrationId).execute();
    });
  }

  /** A delivery attempt failed and will be retried: counts it and updates error tracking. */
  async recordFailedAttempt(integrationId: string, error: string, at: Date): Promise<void> {
    await this.write(async (trx) => {
      await trx
        .updateTable('delivery_state')
        .set((eb) => ({ failed_attempts: eb('failed_attempts', '+', 1), updated_at: at.toISOString() }))
        .where('integration_id', '=', integrationId)
        .execute();
      await trx.updateTable('siem_integrations').set(errorTrackingUpdate({ success: false, error }, at) as never).where('id', '=', integrationId).execute();
    });
  }

  /**
   * Moves events to dead letters and the cursor past them (log events), or marks replayed dead
   * letters dead again (replay entries). A payload rejection is also a failed attempt for error tracking.
   */
  async deadLetter(target: DeliveryTarget, entries: readonly (LogEntry | ReplayEntry)[], why: DeadLetterReason, at: Date): Promise<void> {
    const now = at.toISOString();
    await this.write(async (trx) => {
      const fresh = entries.filter((e): e is LogEntry => !('deadLetterId' in e));
      const replayed = entries.filter((e): e is ReplayEntry => 'deadLetterId' in e);
      for (let i = 0; i < fresh.length; i += 500) {
        await trx
          .insertInto('dead_letters')
          .values(
            fresh.slice(i, i + 500).map((e) => ({
              id: randomUUID(),
              organization_id: target.organizationId,
              integration_id: target.id,
              event_seq: e.seq,
              event_id: e.eventId,
              payload: e.payload,
              reason: why.reason,
              error: why.error.slice(0, 1000),
              http_status: why.httpStatus ?? null,
              status: 'dead',
              attempts: why.reason === 'expired' ? 0 : 1,
              created_at: now,
              updated_at: now,
            })),
          )
          .execute();
      }
      for (const e of replayed) {
        await trx
          .updateTable('dead_letters')
          .set({ status: 'dead', attempts: e.attempts + 1, error: why.error.slice(0, 1000), http_status: why.httpStatus ?? null, updated_at: now })
          .where('id', '=', e.deadLetterId)
          .execute();
      }
      const last = fresh.at(-1);
      await trx
        .updateTable('delivery_state')
        .set((eb) => ({
          ...(last ? { cursor_seq: sql<number>`max(cursor_seq, ${last.seq})` } : {}),
          dead_lettered: eb('dead_lettered', '+', fresh.length),
          ...(why.reason === 'rejected' ? { failed_attempts: eb('failed_attempts', '+', 1) } : {}),
          updated_at: now,
        }))
        .where('integration_id', '=', target.id)
        .execute();
      if (why.reason === 'rejected') {
        await trx.updateTable('siem_integrations').set(errorTrackingUpdate({ success: false, error: why.error }, at) as never).where('id', '=', target.id).execute();
      }
    });
  }

  /**
   * Keeps the log small without giving up idempotency, in two steps of at most `limit` rows each:
   * 1. compacts events every integration of their organisation (enabled or paused) has moved past: the payload is
   *    dropped, the row (organisation, id) stays, so a re-sent id is still recognised;
   * 2. deletes rows received before `dedupBefore` (the retention window; older undelivered events were
   *    dead-lettered with their own copy of the payload).
   * Returns the number of rows compacted and deleted.
   */
  async prune(dedupBefore: Date, limit = 10_000): Promise<{ compacted: number; deleted: number }> {
    let compacted = 0;
    let deleted = 0;
    const orgs = await this.db.selectFrom('organizations').select('id as organization_id').execute();
    for (const { organization_id: org } of orgs) {
      if (compacted >= limit && deleted >= limit) break;
      const min = await this.db
        .selectFrom('delivery_state')
        .innerJoin('siem_integrations', 'siem_integrations.id', 'delivery_state.integration_id')
        .select((eb) => eb.fn.min('delivery_state.cursor_seq').as('min'))
        .where('delivery_state.organization_id', '=', org)
        .executeTakeFirst();
      // A disabled integration is paused, not emptied: its queue is kept until it is re-enabled, its events
      // expire (dead letters) or an admin discards them. With no integration nothing will read the log.
      const upTo = min?.min === null || min?.min === undefined ? Number.MAX_SAFE_INTEGER : Number(min.min);
      const from = this.#compactedUpTo.get(org) ?? 0;
      const rows = await this.db
        .selectFrom('events')
        .select('seq')
        .where('organization_id', '=', org)
        .where('seq', '>', from)
        .where('seq', '<=', upTo)
        .orderBy('seq')
        .limit(Math.max(0, limit - compacted))
        .execute();
      if (rows.length > 0) {
        const last = Number(rows.at(-1)!.seq);
        const result = await this.db
          .updateTable('events')
          .set({ payload: '' })
          .where('organization_id', '=', org)
          .where('seq', '>', from)
          .where('seq', '<=', last)
          .executeTakeFirst();
        compacted += Number(result.numUpdatedRows);
        this.#compactedUpTo.set(org, last);
      }
      // Only rows every integration has moved past: an older undelivered event is dead-lettered first.
      // The oldest rows come first in seq order (one writer stamps received_at as it assigns seq), so
      // the walk stops at the first row inside the window: no index on received_at to maintain.
      const oldest = await this.db
        .selectFrom('events')
        .select(['seq', 'received_at'])
        .where('organization_id', '=', org)
        .where('seq', '<=', upTo)
        .orderBy('seq')
        .limit(Math.max(0, limit - deleted))
        .execute();
      const cutoff = dedupBefore.toISOString();
      const expired = oldest.findIndex((r) => r.received_at >= cutoff);
      const lastExpired = (expired === -1 ? oldest : oldest.slice(0, expired)).at(-1);
      if (lastExpired) {
        const result = await this.db
          .deleteFrom('events')
          .where('organization_id', '=', org)
          .where('seq', '<=', Number(lastExpired.seq))
          .executeTakeFirst();
        deleted += Number(result.numDeletedRows);
      }
    }
    return { compacted, deleted };
  }

  private targets() {
    return this.db
      .selectFrom('siem_integrations')
      .select(['id', 'organization_id', 'type', 'name', 'enabled', 'customer_id', 'filter', 'batch_size', 'flush_interval_seconds', 'retry_count', 'timeout_seconds', 'updated_at']);
  }

  private routed(target: DeliveryTarget, afterSeq: number): SelectQueryBuilder<Database, 'events', object> {
    return routedEvents(this.db, target, afterSeq);
  }

  private async write(fn: (trx: Transaction<Database>) => Promise<void>): Promise<void> {
    await runTransaction(this.db, fn);
  }
}

/**
 * The events of the log after `afterSeq` that go to an integration (its organisation's, of its customer or
 * all for a global one, passing its filter): the SQL form of `routes()`.
 */
export function routedEvents(
  db: Kysely<Database> | Transaction<Database>,
  target: { organizationId: string; customerId: string | null; filter: RoutingFilter | null },
  afterSeq: number,
): SelectQueryBuilder<Database, 'events', object> {
  let q = db.selectFrom('events').where('organization_id', '=', target.organizationId).where('seq', '>', afterSeq);
  if (target.customerId !== null) q = q.where('customer_id', '=', target.customerId);
  const filter = target.filter;
  if (filter?.minSeverity) q = q.where('severity_rank', '>=', SEVERITY_ORDER.indexOf(filter.minSeverity));
  if (filter?.eventTypes?.length) {
    const exact = filter.eventTypes.filter((t) => !t.endsWith('*'));
    const prefixes = filter.eventTypes.filter((t) => t.endsWith('*')).map((t) => t.slice(0, -1));
    q = q.where((eb) =>
      eb.or([
        ...(exact.length ? [eb('type', 'in', exact)] : []),
        ...prefixes.map((p) => eb(sql<string>`substr(type, 1, ${p.length})`, '=', p)),
      ]),
    );
  }
  return q as SelectQueryBuilder<Database, 'events', object>;
}

function toTarget(row: {
  id: string; organization_id: string; type: string; name: string; enabled: number; customer_id: string | null; filter: string | null;
  batch_size: number; flush_interval_seconds: number; retry_count: number; timeout_seconds: number; updated_at: string;
}): DeliveryTarget {
  return {
    id: row.id,
    organizationId: row.organization_id,
    type: row.type as SiemIntegrationType,
    name: row.name,
    enabled: row.enabled === 1,
    customerId: row.customer_id,
    filter: row.filter ? (JSON.parse(row.filter) as RoutingFilter) : null,
    batching: { batchSize: row.batch_size, flushIntervalSeconds: row.flush_interval_seconds, retryCount: row.retry_count, timeoutSeconds: row.timeout_seconds },
    updatedAt: row.updated_at,
  };
}
