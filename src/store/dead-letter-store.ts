import { type Actor, type DeadLetterPage, type DeadLetterRecord } from './records.js';
import { InvalidInputError, RecordNotFoundError } from './store-errors.js';
import { TenantScoped, iso } from './tenant-scope.js';

/** One organisation's dead letters: read as pages, queued for replay. */
export class DeadLetterStore extends TenantScoped {
  /** Dead letters of an integration, oldest first, as a page. @throws RecordNotFoundError */
  async deadLetters(integrationId: string, options: { first: number; after?: string | null }): Promise<DeadLetterPage> {
    if (!(await this.selectIntegration(this.db, integrationId))) throw new RecordNotFoundError('SiemIntegration', integrationId);
    let q = this.db
      .selectFrom('dead_letters')
      .selectAll()
      .where('integration_id', '=', integrationId)
      .where('organization_id', '=', this.organizationId);
    if (options.after) {
      const seq = Number(Buffer.from(options.after, 'base64url').toString('utf8').replace(/^dl:/, ''));
      if (!Number.isSafeInteger(seq)) throw new InvalidInputError([{ path: 'after', message: 'is not a cursor from this connection' }]);
      q = q.where('event_seq', '>', seq);
    }
    const rows = await q.orderBy('event_seq').limit(options.first + 1).execute();
    const page = rows.slice(0, options.first);
    const cursorOf = (seq: number) => Buffer.from(`dl:${seq}`, 'utf8').toString('base64url');
    return {
      edges: page.map((r) => ({
        cursor: cursorOf(r.event_seq),
        node: {
          id: r.id,
          integrationId: r.integration_id,
          eventId: r.event_id,
          event: JSON.parse(r.payload) as Record<string, unknown>,
          reason: r.reason as DeadLetterRecord['reason'],
          error: r.error,
          httpStatus: r.http_status,
          status: r.status as DeadLetterRecord['status'],
          attempts: r.attempts,
          createdAt: new Date(r.created_at),
          updatedAt: new Date(r.updated_at),
        },
      })),
      hasNextPage: rows.length > options.first,
      endCursor: page.length ? cursorOf(page.at(-1)!.event_seq) : null,
    };
  }

  /**
   * Queues an integration's dead letters to be sent again (ahead of new events). Returns how many.
   * Writes `siem.dead_letters.replayed`. @throws RecordNotFoundError
   */
  async replayDeadLetters(integrationId: string, actor: Actor): Promise<number> {
    let count = 0;
    await this.write(async (trx) => {
      const row = await this.selectIntegration(trx, integrationId);
      if (!row) throw new RecordNotFoundError('SiemIntegration', integrationId);
      const result = await trx
        .updateTable('dead_letters')
        .set({ status: 'replaying', updated_at: iso(this.now()) })
        .where('integration_id', '=', integrationId)
        .where('organization_id', '=', this.organizationId)
        .where('status', '=', 'dead')
        .executeTakeFirst();
      count = Number(result.numUpdatedRows);
      if (count === 0) return [];
      return this.audit(trx, actor, 'siem.dead_letters.replayed', 'SiemIntegration', integrationId, { count });
    });
    if (count > 0) this.notify.integrationChanged(this.organizationId, integrationId);
    return count;
  }
}
