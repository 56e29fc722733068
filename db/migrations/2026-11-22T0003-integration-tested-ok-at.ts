import type { Kysely } from 'kysely';

// Frozen in time: imports nothing from the application.
//
// When the integration's connection test last succeeded. A successful test sets no `last_event_at` (no
// security event was delivered) and a failed one sets `last_error_at`; this column lets health tell
// "never tried" (UNKNOWN) from "tested and working" (HEALTHY).

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('siem_integrations').addColumn('last_tested_ok_at', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('siem_integrations').dropColumn('last_tested_ok_at').execute();
}
