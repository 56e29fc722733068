import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/crypto/secret-box.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { openPostgresDatabase } from '../../src/store/database.js';
import { migrateToLatest } from '../../src/store/sqlite-database.js';
import { Store } from '../../src/store/store.js';
import type { Database } from '../../src/store/tables.js';
import { POSTGRES_UNAVAILABLE, createPostgresDatabase, type PostgresTestDatabase } from '../support/dialects.js';

/**
 * The event log shared by replicas on PostgreSQL: each replica is a `Store` of its own (its own pool, its own
 * in-memory id index), as separate processes would be. Appends race on purpose.
 */
describe.skipIf(POSTGRES_UNAVAILABLE !== undefined)('the event log across replicas on PostgreSQL', () => {
  let database: PostgresTestDatabase;
  const dbs: Kysely<Database>[] = [];
  const replicas: Store[] = [];
  let org = '';
  const key = new SecretBox(Buffer.alloc(32, 5));
  const event = (id = randomUUID()): SecurityEvent => ({ id, time: new Date(), type: 'scan', name: 'scan', severity: 'LOW' });

  beforeAll(async () => {
    database = await createPostgresDatabase();
    for (let i = 0; i < 3; i++) dbs.push(openPostgresDatabase(database.url));
    await migrateToLatest(dbs[0]!);
    for (const db of dbs) replicas.push(new Store(db, key));
    org = (await replicas[0]!.ensureOrganization('acme')).organization.id;
  });
  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.destroy()));
    await database?.drop();
  });

  it('stores an id once when replicas race to append it, and keeps every other event', async () => {
    const shared = Array.from({ length: 20 }, () => event());
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => replicas[i % 3]!.tenant(org).ingest([event(), ...shared.slice(i % 5, i % 5 + 10), event()])),
    );
    const accepted = results.reduce((n, r) => n + r.accepted, 0);
    const duplicates = results.reduce((n, r) => n + r.duplicates, 0);
    const rows = await dbs[0]!.selectFrom('event_segments').select(['first_position', 'last_position', 'facts']).where('organization_id', '=', org).orderBy('last_position').execute();
    const ids = rows.flatMap((r) => (JSON.parse(r.facts) as [string][]).map((f) => f[0]));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(accepted - duplicates);
    // Every shared id that was sent is there, once; and the 24 unshared ones.
    const sentShared = new Set(Array.from({ length: 12 }, (_, i) => shared.slice(i % 5, i % 5 + 10)).flat().map((e) => e.id));
    expect(ids.filter((id) => sentShared.has(id))).toHaveLength(sentShared.size);
    expect(ids.length).toBe(sentShared.size + 24);
  });

  it('gives positions without gaps or overlaps, in commit order, whichever replica appended', async () => {
    await Promise.all(Array.from({ length: 15 }, (_, i) => replicas[i % 3]!.tenant(org).ingest([event(), event(), event()])));
    const rows = await dbs[0]!.selectFrom('event_segments').select(['id', 'first_position', 'last_position']).where('organization_id', '=', org).orderBy('id').execute();
    // Segment ids (a sequence, taken as each insert runs) follow positions: no append committed a lower position later.
    const positions = rows.map((r) => [Number(r.first_position), Number(r.last_position)]);
    for (let i = 1; i < positions.length; i++) expect(positions[i]![0]).toBe(positions[i - 1]![1] + 1);
    expect(positions[0]![0]).toBe(1);
    // Every replica reads the same log.
    const reads = await Promise.all(replicas.map((r) => r.log.read(org, 0, 10_000)));
    expect(reads[1]!.map((e) => e.eventId)).toEqual(reads[0]!.map((e) => e.eventId));
    expect(reads[2]!.map((e) => e.seq)).toEqual(reads[0]!.map((e) => e.seq));
  });
});
