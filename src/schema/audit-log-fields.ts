import { z } from 'zod';
import type { AuditEntry, AuditPage } from '../store/tenant-store.js';
import { builder } from './builder.js';
import { PageInfoRef } from './page-info.js';

const AuditLogEntryRef = builder.objectRef<AuditEntry>('AuditLogEntry').implement({
  description: 'One change, with secrets replaced by [REDACTED].',
  fields: (t) => ({
    id: t.exposeID('id'),
    action: t.string({ description: 'e.g. siem.integration.created, siem.integration.updated, api_key.revoked.', resolve: (e) => e.action }),
    actorKeyId: t.string({ nullable: true, description: 'The API key used; null for the CLI and bootstrap.', resolve: (e) => e.actorKeyId }),
    actorName: t.exposeString('actorName'),
    targetType: t.exposeString('targetType'),
    targetId: t.exposeString('targetId'),
    changes: t.field({ type: 'JSONObject', description: '{ after } for creations; { changed, before, after } for updates; { before } for deletions.', resolve: (e) => e.changes }),
    createdAt: t.field({ type: 'DateTime', resolve: (e) => e.createdAt }),
  }),
});

const AuditLogEdgeRef = builder.objectRef<{ node: AuditEntry; cursor: string }>('AuditLogEdge').implement({
  fields: (t) => ({ node: t.field({ type: AuditLogEntryRef, resolve: (e) => e.node }), cursor: t.exposeString('cursor') }),
});

const AuditLogConnectionRef = builder.objectRef<AuditPage>('AuditLogConnection').implement({
  fields: (t) => ({
    edges: t.field({
      type: [AuditLogEdgeRef],
      resolve: (page) => page.edges,
    }),
    pageInfo: t.field({ type: PageInfoRef, resolve: (page) => page }),
  }),
});

builder.queryFields((t) => ({
  auditLog: t.field({
    type: AuditLogConnectionRef,
    authScopes: { reader: true },
    description: 'Changes in the organisation, newest first.',
    args: {
      first: t.arg.int({ defaultValue: 50, validate: z.number().int().min(1, 'must be between 1 and 500').max(500, 'must be between 1 and 500') }),
      after: t.arg.string({ validate: z.string().max(512, 'is not a cursor from this connection') }),
      action: t.arg.string({ description: 'Only entries with this action.', validate: z.string().max(100, 'must be at most 100 characters') }),
    },
    resolve: (_root, args, ctx) => ctx.tenant.auditLog({ first: args.first ?? 50, after: args.after, action: args.action }),
  }),
}));
