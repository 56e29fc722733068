import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/crypto/secret-box.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { DeliveryStore } from '../../src/store/delivery-store.js';
import { migrateToLatest, openSqliteDatabase } from '../../src/store/sqlite-database.js';
import { Store } from '../../src/store/store.js';

describe('pruning the event log keeps ids idempotent', () => {
  const db = openSqliteDatabase(':memory:');
  const store = new Store(db, new SecretBox(randomBytes(32)));
  const delivery = new DeliveryStore(db, store.box, store.log);
  const appendEvents = (_db: unknown, org: string, events: SecurityEvent[], at: Date) => store.log.write(org, (trx) => store.log.append(trx, org, events, at));
  /** The stored events of the segment holding this event, or undefined once the segment is deleted. */
  const segmentOf = async (id: string) => {
    const rows = await db.selectFrom('event_segments').select(['events', 'facts']).where('organization_id', '=', orgId).execute();
    return rows.find((r) => (JSON.parse(r.facts) as [string][]).some((f) => f[0] === id));
  };
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
    expect((await segmentOf(sent.id))?.events).toBe('');

    expect(await appendEvents(db, orgId, [sent], new Date())).toMatchObject({ appended: [], duplicates: 1 });
  });

  it('never compacts or deletes an event an integration has not moved past, however old', async () => {
    const waiting = event();
    const old = new Date(Date.now() - 30 * 86_400_000);
    await appendEvents(db, orgId, [waiting], old);
    const { deleted } = await delivery.prune(new Date(Date.now() - 7 * 86_400_000));
    expect(deleted).toBe(0);
    expect((await segmentOf(waiting.id))?.events).toContain(waiting.id);
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
    expect(await segmentOf(delivered.id)).toBeUndefined();
    // Not yet delivered: kept, however old.
    expect(await segmentOf(pending.id)).toBeDefined();
    // A deleted id is outside the window: sent again, it is stored again (and delivered).
    expect(await appendEvents(db, orgId, [delivered], new Date())).toMatchObject({ duplicates: 0 });
  });
});
