import { sql, type Kysely } from 'kysely';

// Frozen in time: imports nothing from the application.
//
// The event log becomes a log of segments: one row per committed ingest (or audit event) holding its events
// serialised once as newline-separated JSON, with their routing facts beside them, instead of one row per
// event with three indexes (a scattered B-tree write per event per index).
//
// Positions are per organisation: a segment holds positions first_position..last_position, contiguous.
// log_heads holds each organisation's next position; an append takes its row lock (FOR UPDATE on
// PostgreSQL; SQLite has one writer) and moves it in the same transaction, so positions are assigned in
// commit order on every dialect and a reader that has seen position p never later sees a commit below p.
// Cursors (delivery_state.cursor_seq) and dead letters (event_seq) keep their columns and now hold positions.
//
// Idempotency by event id moves off the database: the gateway keeps the ids of the log in memory (rebuilt
// from `facts` at start), so no unique index is written per event.

function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter.constructor.name === 'PostgresAdapter';
}

/** The snake_case key of each optional event field, in the stored line's order (as of this migration). */
const OPTIONAL: readonly [string, string][] = [
  ['outcome', 'outcome'], ['customerId', 'customer_id'], ['msspId', 'mssp_id'], ['installationId', 'installation_id'],
  ['agentId', 'agent_id'], ['userEmail', 'user_email'], ['sourceIp', 'source_ip'], ['threatDetected', 'threat_detected'],
  ['ruleIds', 'rule_ids'], ['families', 'families'], ['promptHash', 'prompt_hash'], ['promptLength', 'prompt_length'],
  ['detectionCount', 'detection_count'], ['scanDurationMs', 'scan_duration_ms'], ['data', 'data'],
];

/** An event stored by the previous migrations (camelCase JSON) as a stored line (snake_case JSON). */
function toLine(payload: string): { line: string; timeMs: number } {
  const e = JSON.parse(payload) as Record<string, unknown>;
  const out: Record<string, unknown> = {
    id: e.id,
    event_type: e.type,
    name: e.name,
    severity: String(e.severity).toLowerCase(),
    timestamp: e.time,
  };
  for (const [from, to] of OPTIONAL) if (e[from] !== undefined) out[to] = e[from];
  return { line: JSON.stringify(out), timeMs: Date.parse(String(e.time)) };
}

export async function up(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db);
  // PostgreSQL runs each migration in a transaction (transactional DDL). Kysely does not on SQLite, which has
  // transactional DDL too: do it here, so that a crash in the middle of carrying the log over leaves the old log
  // as it was, not half a new one that the next start trips over.
  if (pg) return carryOver(db, pg);
  const tables = new Set((await db.introspection.getTables()).map((t) => t.name));
  // Committed by an earlier run that died before the migrator recorded it: done.
  if (tables.has('event_segments') && !tables.has('events')) return;
  await sql`begin immediate`.execute(db);
  try {
    await carryOver(db, pg);
    await sql`commit`.execute(db);
  } catch (error) {
    await sql`rollback`.execute(db).catch(() => undefined);
    throw error;
  }
}

async function carryOver(db: Kysely<any>, pg: boolean): Promise<void> {
  const bigint = pg ? 'bigint' : 'integer';
  await db.schema
    .createTable('log_heads')
    .addColumn('organization_id', 'text', (c) => c.primaryKey())
    // The position the next appended event gets (positions start at 1).
    .addColumn('next_position', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('event_segments')
    .addColumn('id', pg ? sql`bigserial` : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('first_position', bigint, (c) => c.notNull())
    .addColumn('last_position', bigint, (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    // The events' stored lines joined by "\n"; '' once every integration has moved past them.
    .addColumn('events', 'text', (c) => c.notNull())
    // JSON array, one entry per event: [id, customerId | null, severityRank, type, time in epoch ms].
    // Kept until the segment is deleted after the retention window: routing and idempotency read it.
    .addColumn('facts', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('event_segments_org_last_idx').on('event_segments').columns(['organization_id', 'last_position']).unique().execute();

  // Carry the old log over: each event becomes a segment of one, at its old seq (increasing per organisation).
  const PAGE = 1000;
  let after = 0;
  for (;;) {
    const rows = await db
      .selectFrom('events')
      .select(['seq', 'organization_id', 'event_id', 'customer_id', 'type', 'severity_rank', 'payload', 'received_at'])
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(PAGE)
      .execute();
    if (rows.length === 0) break;
    await db
      .insertInto('event_segments')
      .values(
        rows.map((r: any) => {
          const seq = Number(r.seq);
          const stored = r.payload === '' ? { line: '', timeMs: Date.parse(r.received_at) } : toLine(r.payload);
          return {
            organization_id: r.organization_id,
            first_position: seq,
            last_position: seq,
            received_at: r.received_at,
            events: stored.line,
            facts: JSON.stringify([[r.event_id, r.customer_id, r.severity_rank, r.type, stored.timeMs]]),
          };
        }),
      )
      .execute();
    after = Number(rows[rows.length - 1]!.seq);
  }
  const heads = await db
    .selectFrom('events')
    .select(['organization_id', (eb: any) => eb.fn.max('seq').as('head')])
    .groupBy('organization_id')
    .execute();
  // Every organisation continues after the old global head, so no cursor ever points past a new position.
  const globalHead = heads.reduce((m: number, h: any) => Math.max(m, Number(h.head)), 0);
  const orgs = await db.selectFrom('organizations').select('id').execute();
  if (orgs.length > 0) {
    await db
      .insertInto('log_heads')
      .values(orgs.map((o: any) => ({ organization_id: o.id, next_position: globalHead + 1 })))
      .execute();
  }
  await db.schema.dropTable('events').execute();
}

// Restores the old tables empty: events still queued in segments are not carried back (run only once every
// integration's queue is empty).
export async function down(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db);
  await db.schema
    .createTable('events')
    .addColumn('seq', pg ? sql`bigserial` : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('severity_rank', 'integer', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_idempotency_idx').on('events').columns(['organization_id', 'event_id']).unique().execute();
  await db.schema.createIndex('events_org_seq_idx').on('events').columns(['organization_id', 'seq']).execute();
  await db.schema.createIndex('events_org_customer_seq_idx').on('events').columns(['organization_id', 'customer_id', 'seq']).execute();
  await db.schema.dropTable('event_segments').execute();
  await db.schema.dropTable('log_heads').execute();
}
