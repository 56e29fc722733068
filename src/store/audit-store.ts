import type { AuditPage } from './records.js';
import { InvalidInputError } from './store-errors.js';
import { TenantScoped } from './tenant-scope.js';

/** One organisation's audit log, read (entries are written by {@link TenantScoped.audit}, inside each change's transaction). */
export class AuditStore extends TenantScoped {
  /**
   * The audit log, newest first, as a page for a Relay-style connection. `after` is an opaque cursor from a previous page.
   */
  async auditLog(options: { first: number; after?: string | null; action?: string | null }): Promise<AuditPage> {
    let q = this.db.selectFrom('audit_log').selectAll().where('organization_id', '=', this.organizationId);
    if (options.action) q = q.where('action', '=', options.action);
    if (options.after) {
      const cursor = decodeCursor(options.after);
      q = q.where((eb) => eb.or([eb('created_at', '<', cursor.createdAt), eb.and([eb('created_at', '=', cursor.createdAt), eb('id', '<', cursor.id)])]));
    }
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.first + 1).execute();
    const page = rows.slice(0, options.first);
    const last = page.at(-1);
    return {
      edges: page.map((r) => ({
        cursor: encodeCursor(r.created_at, r.id),
        node: {
        id: r.id,
        organizationId: r.organization_id,
        action: r.action,
        actorKeyId: r.actor_key_id,
        actorName: r.actor_name,
        targetType: r.target_type,
        targetId: r.target_id,
        changes: JSON.parse(r.changes) as Record<string, unknown>,
        createdAt: new Date(r.created_at),
        },
      })),
      hasNextPage: rows.length > options.first,
      endCursor: last ? encodeCursor(last.created_at, last.id) : null,
    };
  }
}

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt))) throw new InvalidInputError([{ path: 'after', message: 'is not a cursor from this connection' }]);
  return { createdAt, id };
}
