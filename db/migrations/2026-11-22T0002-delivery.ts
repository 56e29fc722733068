import { sql, type Kysely } from 'kysely';

// Frozen in time: imports nothing from the application.
//
// events is an append-only log shared by all organisations. `seq` orders it; each integration
// reads it through its own cursor (delivery_state.cursor_seq), so ingest order is kept per
// integration and no per-integration copy of an event is ever written. Correctness needs seq order to
// equal commit order: true on SQLite (one writer); a PostgreSQL store must serialise appends
// (e.g. a transaction-scoped advisory lock) to keep it.

function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter.constructor.name === 'PostgresAdapter';
}

export async function up(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db);
  await db.schema
    .createTable('events')
    .addColumn('seq', pg ? sql`bigserial` : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    // 0 NONE, 1 LOW, 2 MEDIUM, 3 HIGH, 4 CRITICAL: compared by minSeverity filters.
    .addColumn('severity_rank', 'integer', (c) => c.notNull())
    // The canonical event as JSON; '' once every integration has moved past it (the row stays for idempotency).
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_idempotency_idx').on('events').columns(['organization_id', 'event_id']).unique().execute();
  await db.schema.createIndex('events_org_seq_idx').on('events').columns(['organization_id', 'seq']).execute();
  await db.schema.createIndex('events_org_customer_seq_idx').on('events').columns(['organization_id', 'customer_id', 'seq']).execute();

  await db.schema
    .createTable('delivery_state')
    .addColumn('integration_id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull())
    // Every event with seq <= cursor_seq has been delivered, dead-lettered or skipped for this integration.
    .addColumn('cursor_seq', pg ? 'bigint' : 'integer', (c) => c.notNull())
    .addColumn('delivered', pg ? 'bigint' : 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('succeeded_attempts', pg ? 'bigint' : 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failed_attempts', pg ? 'bigint' : 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('dead_lettered', pg ? 'bigint' : 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('dead_letters')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('integration_id', 'text', (c) => c.notNull())
    .addColumn('event_seq', pg ? 'bigint' : 'integer', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    // "rejected" (the SIEM refused the payload) or "expired" (older than the retention).
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('error', 'text', (c) => c.notNull())
    .addColumn('http_status', 'integer')
    // "dead" (kept) or "replaying" (queued to be sent again).
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dead_letters_integration_idx').on('dead_letters').columns(['integration_id', 'status', 'event_seq']).execute();

  // Optional routing filter of an integration, JSON { minSeverity, eventTypes }.
  await db.schema.alterTable('siem_integrations').addColumn('filter', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('siem_integrations').dropColumn('filter').execute();
  await db.schema.dropTable('dead_letters').execute();
  await db.schema.dropTable('delivery_state').execute();
  await db.schema.dropTable('events').execute();
}
