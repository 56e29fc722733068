import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { SecretBox } from '../crypto/secret-box.js';
import type { PreparedEvents } from '../events/prepare-events.js';
import type { SecurityEvent } from '../events/security-event.js';
import { AUDIT_EVENT_NAMES, AuditAction } from './audit-changes.js';
import type { AppendedEvent, EventLog } from './event-log.js';
import type { GroupCommit } from './group-commit.js';
import type { Actor } from './records.js';
import { redactSecrets } from './redact.js';
import { asStoreError } from './store-errors.js';
import type { Database } from './tables.js';

/** How the store tells the delivery engine about changes, after they commit. */
export interface StoreNotifier {
  eventsAppended(organizationId: string, events: AppendedEvent[]): void;
  integrationChanged(organizationId: string, integrationId: string): void;
  /** An API key was revoked in this process (other processes' revocations are found by polling, see RevocationMonitor). */
  apiKeyRevoked?(organizationId: string, keyId: string): void;
}

/** One `POST /v1/events` waiting to be committed. */
export interface IngestJob {
  prepared: PreparedEvents;
  keyId?: string;
}

/** What every TenantStore of a {@link Store} shares. */
export interface TenantShared {
  db: Kysely<Database>;
  box: SecretBox;
  now: () => Date;
  notify: StoreNotifier;
  log: EventLog;
  /** Ingests of one organisation arriving together commit together (one fsync). */
  ingestCommits: GroupCommit<IngestJob, { accepted: number; duplicates: number }>;
}

export const iso = (d: Date) => d.toISOString();

/**
 * The base of the stores of one organisation ({@link TenantStore} composes them): the organisation id is
 * given at construction and no method takes one, so a holder cannot reach another organisation's rows.
 * Every query of a subclass filters on `organization_id`.
 *
 * Every change and its audit entry are written in one transaction ({@link write} and {@link audit}, shared
 * by all of them): a rejected change writes nothing.
 */
export abstract class TenantScoped {
  protected readonly db: Kysely<Database>;
  protected readonly box: SecretBox;
  protected readonly now: () => Date;
  protected readonly notify: StoreNotifier;
  protected readonly log: EventLog;
  protected readonly ingestCommits: GroupCommit<IngestJob, { accepted: number; duplicates: number }>;

  constructor(
    shared: TenantShared,
    readonly organizationId: string,
  ) {
    this.db = shared.db;
    this.box = shared.box;
    this.now = shared.now;
    this.notify = shared.notify;
    this.log = shared.log;
    this.ingestCommits = shared.ingestCommits;
  }

  protected selectIntegration(db: Kysely<Database> | Transaction<Database>, id: string) {
    return db.selectFrom('siem_integrations').selectAll().where('id', '=', id).where('organization_id', '=', this.organizationId).executeTakeFirst();
  }

  /**
   * Writes an audit entry and, in the same transaction, enters it into the organisation's event log:
   * the gateway's own audit trail is delivered to its SIEMs like any other event (secrets redacted).
   */
  protected async audit(trx: Transaction<Database>, actor: Actor, action: string, targetType: string, targetId: string, changes: Record<string, unknown>): Promise<AppendedEvent[]> {
    const at = this.now();
    const id = randomUUID();
    const redacted = redactSecrets(changes);
    await trx
      .insertInto('audit_log')
      .values({
        id,
        organization_id: this.organizationId,
        action,
        actor_key_id: actor.keyId,
        actor_name: actor.name,
        target_type: targetType,
        target_id: targetId,
        changes: JSON.stringify(redacted),
        created_at: iso(at),
      })
      .execute();
    const event: SecurityEvent = {
      id,
      time: at,
      type: action,
      name: AUDIT_EVENT_NAMES[action] ?? action,
      severity: action.endsWith('.deleted') || action.endsWith('.revoked') || action === AuditAction.QUEUE_DISCARDED ? 'MEDIUM' : 'LOW',
      outcome: 'success',
      data: { targetType, targetId, actor: { keyId: actor.keyId, name: actor.name }, changes: redacted },
    };
    const { appended } = await this.log.append(trx, this.organizationId, [event], at);
    return appended;
  }

  /** Runs a write transaction; events it appended are announced to the delivery engine after commit. */
  protected async write(fn: (trx: Transaction<Database>) => Promise<AppendedEvent[] | void>): Promise<void> {
    const appended = await this.log.write(this.organizationId, fn);
    if (appended && appended.length > 0) this.notify.eventsAppended(this.organizationId, appended);
  }

  protected async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw asStoreError(error);
    }
  }
}
