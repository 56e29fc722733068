import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/crypto/secret-box.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { DeliveryStore } from '../../src/store/delivery-store.js';
import { appendEvents } from '../../src/store/event-log.js';
import { migrateToLatest, openSqliteDatabase } from '../../src/store/sqlite-database.js';
import { Store } from '../../src/store/store.js';

describe('pruning the event log keeps ids idempotent', () => {
  const db = openSqliteDatabase(':memory:');
  const store = new Store(db, new SecretBox(randomBytes(32)));
  const delivery = new DeliveryStore(db, store.box);
  let orgId = '';
  let integrationId = '';
  const event = (id = randomUUID()): SecurityEvent => ({ id, time: new Date(), type: 'scan', name: 'scan', severity: 'LOW' });

  beforeAll(async () => {
    await migrateToLatest(db);
    orgId = (await store.ensureOrganization('acme')).organization.id;
    const created = await store
      .tenant(orgId)
      .createIntegration({ name: 'wh', type: 'WEBHOOK', config: { endpoint: 'https://hooks.example.com/x' } }, { keyId: null, name: 'test' });
    integrationId = created.id;
  });
  afterAll(() => db.destroy());

  it('compacts delivered events but still recognises their ids when they are sent again', async () => {
    const sent = event();
    const { appended } = await appendEvents(db, orgId, [sent], new Date());
    await delivery.commitDelivered(integrationId, { cursorSeq: appended[0]!.seq, count: 1 }, new Date());

    const { compacted } = await delivery.prune(new Date(Date.now() - 7 * 86_400_000));
    expect(compacted).toBeGreaterThanOrEqual(1);
    const row = await db.selectFrom('events').select('payload').where('event_id', '=', sent.id).executeTakeFirstOrThrow();
    expect(row.payload).toBe('');

    expect(await appendEvents(db, orgId, [sent], new Date())).toMatchObject({ appended: [], duplicates: 1 });
  });

  it('never compacts or deletes an event an integration has not moved past, however old', async () => {
    const waiting = event();
    const old = new Date(Date.now() - 30 * 86_400_000);
    await appendEvents(db, orgId, [waiting], old);
    const { deleted } = await delivery.prune(new Date(Date.now() - 7 * 86_400_000));
    expect(deleted).toBe(0);
    const row = await db.selectFrom('events').select('payload').where('event_id', '=', waiting.id).executeTakeFirstOrThrow();
    expect(row.payload).not.toBe('');
  });

  it('deletes delivered rows once they are older than the retention window, and only those', async () => {
    const delivered = event();
    const { appended } = await appendEvents(db, orgId, [delivered], new Date());
    await delivery.commitDelivered(integrationId, { cursorSeq: appended[0]!.seq, count: 1 }, new Date());
    const pending = event();
    await appendEvents(db, orgId, [pending], new Date());
    // A window that ends in the future: every row counts as old.
    const { deleted } = await delivery.prune(new Date(Date.now() + 60_000));
    expect(deleted).toBeGreaterThanOrEqual(1);
    expect(await db.selectFrom('events').select('seq').where('event_id', '=', delivered.id).executeTakeFirst()).toBeUndefined();
    // Not yet delivered: kept, however old.
    expect(await db.selectFrom('events').select('seq').where('event_id', '=', pending.id).executeTakeFirst()).toBeDefined();
  });
});
