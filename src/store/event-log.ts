import type { Kysely, Transaction } from 'kysely';
import { serializeEvent, severityRank } from '../events/event-schema.js';
import type { SecurityEvent } from '../events/security-event.js';
import type { Database } from './tables.js';

/** What the delivery engine learns about each newly stored event (enough to route it without reading it back). */
export interface AppendedEvent {
  seq: number;
  customerId: string | null;
  severityRank: number;
  type: string;
}

/** Result of appending a batch. */
export interface AppendResult {
  /** Events stored now, in seq order. */
  appended: AppendedEvent[];
  /** Events whose id was already stored for this organisation (idempotent re-sends). */
  duplicates: number;
}

/** Rows per INSERT statement: 8 bound values a row stays far below SQLite's 32,766-variable limit. */
const ROWS_PER_STATEMENT = 500;

/**
 * Appends events to the organisation's log inside `trx`. An event whose `id` is already stored for
 * the organisation is skipped (stored once however often it is sent).
 *
 * @example
 * ```ts
 * const { appended, duplicates } = await db.transaction().execute((trx) => appendEvents(trx, orgId, events, new Date()));
 * ```
 */
export async function appendEvents(
  trx: Transaction<Database> | Kysely<Database>,
  organizationId: string,
  events: readonly SecurityEvent[],
  receivedAt: Date,
): Promise<AppendResult> {
  const appended: AppendedEvent[] = [];
  const received = receivedAt.toISOString();
  // Ids repeated inside one request count as duplicates too.
  const seen = new Set<string>();
  const unique = events.filter((e) => (seen.has(e.id) ? false : (seen.add(e.id), true)));
  for (let i = 0; i < unique.length; i += ROWS_PER_STATEMENT) {
    const chunk = unique.slice(i, i + ROWS_PER_STATEMENT);
    const rows = await trx
      .insertInto('events')
      .values(
        chunk.map((e) => ({
          organization_id: organizationId,
          event_id: e.id,
          customer_id: e.customerId ?? null,
          type: e.type,
          severity_rank: severityRank(e.severity),
          payload: serializeEvent(e),
          received_at: received,
        })),
      )
      .onConflict((oc) => oc.columns(['organization_id', 'event_id']).doNothing())
      .returning(['seq', 'customer_id', 'severity_rank', 'type'])
      .execute();
    for (const r of rows) appended.push({ seq: Number(r.seq), customerId: r.customer_id, severityRank: r.severity_rank, type: r.type });
  }
  appended.sort((a, b) => a.seq - b.seq);
  return { appended, duplicates: events.length - appended.length };
}

/** The highest seq stored so far (0 for an empty log). New integrations start reading after it. */
export async function headSeq(db: Transaction<Database> | Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('events').select((eb) => eb.fn.max('seq').as('head')).executeTakeFirst();
  return Number(row?.head ?? 0);
}
