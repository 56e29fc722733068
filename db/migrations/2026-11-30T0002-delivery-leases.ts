import type { Kysely } from 'kysely';

// Frozen in time: imports nothing from the application.
//
// Replicas share delivery: each integration's delivery is owned by one replica at a time through a lease.
// delivery_leases holds one row per integration: its owner (a replica id, or null when nobody holds it) and
// when the lease runs out (epoch ms). A replica renews its leases while alive; another may claim a lease
// that is unowned or has run out. A cursor move commits only while its replica still owns the lease.
// replicas holds every live replica's heartbeat (epoch ms), so each knows how many share the work.

function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter.constructor.name === 'PostgresAdapter';
}

export async function up(db: Kysely<any>): Promise<void> {
  const bigint = isPostgres(db) ? 'bigint' : 'integer';
  await db.schema
    .createTable('delivery_leases')
    .addColumn('integration_id', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text')
    .addColumn('expires_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('delivery_leases_owner_idx').on('delivery_leases').column('owner').execute();
  await db.schema
    .createTable('replicas')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('started_at', bigint, (c) => c.notNull())
    .addColumn('heartbeat_at', bigint, (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('replicas').execute();
  await db.schema.dropTable('delivery_leases').execute();
}
