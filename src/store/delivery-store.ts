import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { routes, type RoutingFilter } from './routing.js';
import type { DestinationConfig, SiemIntegrationType } from '../destinations/types.js';
import { deserializeEvent, serializeEvent, severityRank } from '../events/event-schema.js';
import { fromStoredLine, toStoredLine } from '../events/stored-event.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { EventLog, LogEntry } from './event-log.js';
import { errorTrackingUpdate } from './error-tracking.js';
import { runRelaxedTransaction } from './run-transaction.js';
import { openDestinationConfig } from './sealed-config.js';
import { isPostgres } from './database.js';
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

export type { LogEntry };

/** Routed events read for a target, and how far the log was examined to find them. */
export interface RoutedBatch {
  entries: LogEntry[];
  /** Every event up to this position was examined: the routed ones are in `entries`, the rest go elsewhere. */
  scannedTo: number;
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
 * A cursor move was refused because this replica no longer owns the integration's delivery lease (another
 * replica took it over): nothing of the transaction was committed.
 */
export class LeaseLostError extends Error {
  readonly code = 'SIEMGATE_LEASE_LOST';
  constructor(readonly integrationId: string) {
    super(`the delivery lease of integration ${integrationId} is held by another replica; the cursor was not moved`);
    this.name = 'LeaseLostError';
  }
}

/** Cursor moves commit only while `owner` holds the integration's delivery lease (see `delivery_leases`). */
export interface DeliveryFence {
  /** This replica's id. */
  owner: string;
  /** Called when a move was refused, before {@link LeaseLostError} is thrown. */
  lost?(integrationId: string): void;
}

/**
 * The delivery engine's view of the store. Unlike `TenantStore` it works across organisations: the
 * engine is a system component, not a request. Nothing here is reachable from the API.
 *
 * Cursor moves and their counters are committed in one transaction with the error tracking they imply. With a
 * {@link DeliveryFence}, that transaction first checks (and, on PostgreSQL, row-locks) the integration's lease:
 * a replica that lost the lease cannot move the cursor, so after a takeover only its batch in flight is sent twice.
 *
 * @example
 * ```ts
 * const delivery = new DeliveryStore(store.db, store.box);
 * const batch = await delivery.readBatch(target, cursor, target.batching.batchSize);
 * ```
 */
export class DeliveryStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly box: SecretBox,
    private readonly log: EventLog,
    private readonly fence?: DeliveryFence,
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
   * The next events for a target after `afterSeq`, in log order: the organisation's events of the target's
   * customer (or all, for a global target) that pass its filter (`routes()`), at most `limit`. Examines at most
   * `MAX_SCAN` events per call, so a target that takes few of its organisation's events still answers promptly.
   */
  async readBatch(target: DeliveryTarget, afterSeq: number, limit: number): Promise<RoutedBatch> {
    const entries: LogEntry[] = [];
    let position = afterSeq;
    let scanned = 0;
    while (entries.length < limit && scanned < MAX_SCAN) {
      const read = await this.log.read(target.organizationId, position, Math.max(limit, MIN_READ));
      if (read.length === 0) break;
      for (const e of read) {
        if (routes(target, e)) {
          entries.push(e);
          if (entries.length === limit) return { entries, scannedTo: e.seq };
        }
        position = e.seq;
      }
      scanned += read.length;
    }
    return { entries, scannedTo: position };
  }

  /** How many routed events wait after `afterSeq` (reads routing facts, never events). */
  async countQueued(target: DeliveryTarget, afterSeq: number): Promise<number> {
    return this.log.countRouted(this.db, target.organizationId, target, afterSeq);
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
    return rows.map((r) => {
      // Dead letters keep the canonical JSON (what the API shows); delivery reads stored lines.
      const event = deserializeEvent(r.payload);
      return {
        deadLetterId: r.id,
        seq: Number(r.event_seq),
        eventId: r.event_id,
        line: toStoredLine(event),
        receivedAt: r.created_at,
        timeMs: event.time.getTime(),
        customerId: event.customerId ?? null,
        severityRank: severityRank(event.severity),
        type: event.type,
        attempts: r.attempts,
      };
    });
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
      await this.checkLease(trx, integrationId);
      const state = trx
        .updateTable('delivery_state')
        .set((eb) => ({
          delivered: eb('delivered', '+', delivered.count),
          succeeded_attempts: eb('succeeded_attempts', '+', 1),
          updated_at: at.toISOString(),
        }))
        .where('integration_id', '=', integrationId);
      // Never backwards: a discard (`discardQueuedEvents`) may have moved the cursor past this batch meanwhile.
      await (delivered.cursorSeq !== undefined ? state.set({ cursor_seq: notBelow(delivered.cursorSeq) }) : state).execute();
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
      await this.checkLease(trx, target.id);
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
              payload: serializeEvent(fromStoredLine(e.line)),
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
          ...(last ? { cursor_seq: notBelow(last.seq) } : {}),
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
   * Keeps the log small without giving up idempotency, per organisation: drops the events of segments every
   * integration (enabled or paused) has moved past, keeping their ids and routing facts; deletes segments
   * received before `dedupBefore` (the retention window; older undelivered events were dead-lettered with their
   * own copy first). With no integration nothing will read the log: everything up to the head counts as moved past.
   * Returns the number of segments compacted and deleted.
   */
  async prune(dedupBefore: Date, limit = 10_000): Promise<{ compacted: number; deleted: number }> {
    let compacted = 0;
    let deleted = 0;
    const orgs = await this.db.selectFrom('log_heads').select('organization_id').execute();
    for (const { organization_id: org } of orgs) {
      if (compacted >= limit && deleted >= limit) break;
      // The head first: an integration created after this read starts at or after it, so nothing past it is
      // compacted under a reader, even when the organisation has no integration yet.
      const head = await this.log.head(this.db, org);
      const min = await this.db
        .selectFrom('delivery_state')
        .innerJoin('siem_integrations', 'siem_integrations.id', 'delivery_state.integration_id')
        .select((eb) => eb.fn.min('delivery_state.cursor_seq').as('min'))
        .where('delivery_state.organization_id', '=', org)
        .executeTakeFirst();
      const movedPast = min?.min === null || min?.min === undefined ? head : Math.min(head, Number(min.min));
      const step = await this.log.prune(org, movedPast, dedupBefore, limit);
      compacted += step.compacted;
      deleted += step.deleted;
    }
    return { compacted, deleted };
  }

  private targets() {
    return this.db
      .selectFrom('siem_integrations')
      .select(['id', 'organization_id', 'type', 'name', 'enabled', 'customer_id', 'filter', 'batch_size', 'flush_interval_seconds', 'retry_count', 'timeout_seconds', 'updated_at']);
  }

  /**
   * With a fence: the lease must still be this replica's, or the transaction fails with {@link LeaseLostError}. On
   * PostgreSQL the read locks the lease row until commit (`FOR UPDATE`: a concurrent claim skips it, `SKIP LOCKED`,
   * and a takeover waits for this commit); SQLite has one writer, and one process (its lock), so a read suffices.
   */
  private async checkLease(trx: Transaction<Database>, integrationId: string): Promise<void> {
    if (!this.fence) return;
    const query = trx.selectFrom('delivery_leases').select('owner').where('integration_id', '=', integrationId);
    const row = await (isPostgres(trx) ? query.forUpdate() : query).executeTakeFirst();
    if (row?.owner === this.fence.owner) return;
    this.fence.lost?.(integrationId);
    throw new LeaseLostError(integrationId);
  }

  /** Delivery progress: relaxed durability (a lost commit means events delivered again, never lost). */
  private async write(fn: (trx: Transaction<Database>) => Promise<void>): Promise<void> {
    await runRelaxedTransaction(this.db, fn);
  }
}

/** Events examined per `readBatch` at most; events read per log read at least. */
const MAX_SCAN = 50_000;
const MIN_READ = 500;

/** `cursor_seq` moved to `seq` unless it is already past it (a discard may have moved it): portable `max`. */
function notBelow(seq: number) {
  return sql<number>`case when cursor_seq > ${seq} then cursor_seq else ${seq} end`;
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
