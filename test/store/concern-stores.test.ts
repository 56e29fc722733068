import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { Role } from '../../src/auth/api-token.js';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { RecordNotFoundError, InvalidInputError } from '../../src/store/store-errors.js';
import { migrateToLatest, openSqliteDatabase } from '../../src/store/sqlite-database.js';
import { Store } from '../../src/store/store.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import type { Actor } from '../../src/store/tenant-store.js';
import { makeEvents } from '../support/events.js';

/**
 * The store's concerns (integrations, ingest, delivery state, dead letters, API keys, audit) are stores of their
 * own, each scoped to one organisation when made; `TenantStore` composes them and `Store.delivery()` is all the
 * delivery engine gets. These check the scoping of each concern store directly, and the one-transaction rule.
 */

const ACTOR: Actor = { keyId: null, name: 'test' };
const WEBHOOK = { name: 'hook', type: 'WEBHOOK' as const, config: { endpoint: 'https://hooks.example.com/x', secret: 'sekret-token-0123456789abcdef' } };

let store: Store;
let a: string;
let b: string;

beforeEach(async () => {
  const db = openSqliteDatabase(':memory:');
  await migrateToLatest(db);
  store = new Store(db, new SecretBox(randomBytes(32)));
  a = (await store.ensureOrganization('org-a')).organization.id;
  b = (await store.ensureOrganization('org-b')).organization.id;
});

describe('concern stores', () => {
  it("each concern store of organisation B sees and changes nothing of A's, whatever id it is given", async () => {
    const created = await store.tenant(a).integrations.createIntegration(WEBHOOK, ACTOR);
    const key = await store.tenant(a).apiKeys.createApiKey({ name: 'k', role: Role.ADMIN }, ACTOR);
    const other = store.tenant(b);

    expect(await other.integrations.findIntegration(created.id)).toBeNull();
    expect(await other.integrations.listIntegrations()).toEqual([]);
    await expect(other.integrations.getDestinationConfig(created.id)).rejects.toBeInstanceOf(RecordNotFoundError);
    await expect(other.integrations.deleteIntegration(created.id, ACTOR)).rejects.toBeInstanceOf(RecordNotFoundError);
    await expect(other.delivery.deliveryState(created.id)).rejects.toBeInstanceOf(RecordNotFoundError);
    expect(await other.delivery.deliveryStates()).toEqual(new Map());
    await expect(other.delivery.discardQueuedEvents(created.id, ACTOR)).rejects.toBeInstanceOf(RecordNotFoundError);
    await expect(other.deadLetterQueue.deadLetters(created.id, { first: 10 })).rejects.toBeInstanceOf(RecordNotFoundError);
    await expect(other.deadLetterQueue.replayDeadLetters(created.id, ACTOR)).rejects.toBeInstanceOf(RecordNotFoundError);
    expect(await other.apiKeys.listApiKeys()).toEqual([]);
    await expect(other.apiKeys.revokeApiKey(key.key.id, ACTOR)).rejects.toBeInstanceOf(RecordNotFoundError);
    expect((await other.audit.auditLog({ first: 10 })).edges).toEqual([]);

    // A's rows are untouched and its audit log holds its own two entries only.
    expect(await store.tenant(a).integrations.findIntegration(created.id)).not.toBeNull();
    expect((await store.tenant(a).apiKeys.listApiKeys())[0]!.revokedAt).toBeNull();
    const actions = (await store.tenant(a).audit.auditLog({ first: 10 })).edges.map((e) => e.node.action);
    expect(actions.sort()).toEqual(['api_key.created', 'siem.integration.created']);
  });

  it('a change and its audit entry commit together; a rejected change writes neither (secrets redacted in the entry)', async () => {
    const tenant = store.tenant(a);
    const created = await tenant.integrations.createIntegration(WEBHOOK, ACTOR);
    await expect(tenant.integrations.updateIntegration(created.id, { config: { endpoint: 'not a url' } }, ACTOR)).rejects.toBeInstanceOf(InvalidInputError);
    const page = await tenant.audit.auditLog({ first: 10 });
    expect(page.edges.map((e) => e.node.action)).toEqual(['siem.integration.created']);
    expect(JSON.stringify(page.edges[0]!.node.changes)).not.toContain('sekret-token');
    expect((await tenant.integrations.getIntegration(created.id)).updatedAt).toEqual(created.updatedAt);
  });

  it('the facade and the concern stores are one state: what one writes the other reads', async () => {
    const created = await store.tenant(a).createIntegration(WEBHOOK, ACTOR);
    const { accepted } = await store.tenant(a).events.ingest(makeEvents(2).map(({ id, type, severity, name }) => ({ id, type, severity, name, time: new Date() }) as SecurityEvent));
    expect(accepted).toBe(2);
    const counters = await store.tenant(a).deliveryState(created.id);
    const { discarded } = await store.tenant(a).delivery.discardQueuedEvents(created.id, ACTOR);
    // The two events, and the audit entry of the integration's own creation (audit events are delivered too).
    expect(discarded).toBe(3);
    expect((await store.tenant(a).delivery.deliveryState(created.id)).cursorSeq).toBeGreaterThan(counters.cursorSeq);
  });
});

describe('the delivery port', () => {
  it('offers per-organisation reads scoped like the tenant store, and lease and delivery stores of its own', async () => {
    const created = await store.tenant(a).createIntegration(WEBHOOK, ACTOR);
    const port = store.delivery();
    expect((await port.tenant(a).findIntegration(created.id))?.id).toBe(created.id);
    expect(await port.tenant(b).findIntegration(created.id)).toBeNull();
    expect([...(await port.tenant(a).deliveryStates()).keys()]).toEqual([created.id]);
    expect(port.leaseStore('replica-1').replicaId).toBe('replica-1');
    expect((await port.deliveryStore().listTargets()).map((t) => t.id)).toEqual([created.id]);
    expect(port).not.toHaveProperty('db');
    expect(port).not.toHaveProperty('box');
  });
});
