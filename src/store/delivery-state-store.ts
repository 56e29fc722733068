import type { RoutingFilter } from './routing.js';
import { AuditAction } from './audit-changes.js';
import { toCounters, type Actor, type DeliveryCounters } from './records.js';
import { RecordNotFoundError } from './store-errors.js';
import { TenantScoped, iso } from './tenant-scope.js';

/** One organisation's delivery state: each integration's counters and cursor (a discard moves it to the head). */
export class DeliveryStateStore extends TenantScoped {
  /** Delivery counters of one integration. @throws RecordNotFoundError */
  async deliveryState(integrationId: string): Promise<DeliveryCounters> {
    const row = await this.db
      .selectFrom('delivery_state')
      .selectAll()
      .where('integration_id', '=', integrationId)
      .where('organization_id', '=', this.organizationId)
      .executeTakeFirst();
    if (!row) throw new RecordNotFoundError('SiemIntegration', integrationId);
    return toCounters(row);
  }

  /** Delivery counters of every integration of the organisation, by integration id. */
  async deliveryStates(): Promise<Map<string, DeliveryCounters>> {
    const rows = await this.db
      .selectFrom('delivery_state')
      .select(['integration_id', 'cursor_seq', 'delivered', 'succeeded_attempts', 'failed_attempts', 'dead_lettered'])
      .where('organization_id', '=', this.organizationId)
      .execute();
    return new Map(rows.map((r) => [r.integration_id, toCounters(r)]));
  }


  /**
   * Drops an integration's backlog: moves its cursor to the head of the log and sends its dead letters
   * queued for replay back to `dead`, in one transaction with the `siem.queue.discarded` audit entry
   * (delivered like every audit event, so it reaches this integration too when it routes there).
   * Events ingested afterwards are delivered as usual. @throws RecordNotFoundError
   */
  async discardQueuedEvents(integrationId: string, actor: Actor): Promise<{ discarded: number; replaysCancelled: number }> {
    const result = { discarded: 0, replaysCancelled: 0 };
    await this.write(async (trx) => {
      const row = await this.selectIntegration(trx, integrationId);
      if (!row) throw new RecordNotFoundError('SiemIntegration', integrationId);
      const state = await trx.selectFrom('delivery_state').select('cursor_seq').where('integration_id', '=', integrationId).executeTakeFirstOrThrow();
      const cursor = Number(state.cursor_seq);
      const head = await this.log.head(trx, this.organizationId);
      const route = { customerId: row.customer_id, filter: row.filter ? (JSON.parse(row.filter) as RoutingFilter) : null };
      result.discarded = await this.log.countRouted(trx, this.organizationId, route, cursor, head);
      const at = iso(this.now());
      if (head > cursor) await trx.updateTable('delivery_state').set({ cursor_seq: head, updated_at: at }).where('integration_id', '=', integrationId).execute();
      const cancelled = await trx
        .updateTable('dead_letters')
        .set({ status: 'dead', updated_at: at })
        .where('integration_id', '=', integrationId)
        .where('organization_id', '=', this.organizationId)
        .where('status', '=', 'replaying')
        .executeTakeFirst();
      result.replaysCancelled = Number(cancelled.numUpdatedRows);
      return this.audit(trx, actor, AuditAction.QUEUE_DISCARDED, 'SiemIntegration', integrationId, { discarded: result.discarded, replaysCancelled: result.replaysCancelled });
    });
    this.notify.integrationChanged(this.organizationId, integrationId);
    return result;
  }
}
