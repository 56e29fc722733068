import type { Principal } from '../store/store.js';
import { builder } from './builder.js';
import { ApiKeyRoleEnum } from './api-key-fields.js';

const OrganizationRef = builder.objectRef<Principal['organization']>('Organization').implement({
  fields: (t) => ({ id: t.exposeID('id'), slug: t.exposeString('slug'), name: t.exposeString('name') }),
});

const ViewerRef = builder.objectRef<Principal>('Viewer').implement({
  description: 'The caller: its organisation and role.',
  fields: (t) => ({
    organization: t.field({ type: OrganizationRef, resolve: (p) => p.organization }),
    role: t.field({ type: ApiKeyRoleEnum, resolve: (p) => p.role }),
    apiKeyId: t.id({ resolve: (p) => p.keyId }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    description: 'Who the caller is. Available to every role.',
    resolve: (_root, _args, ctx) => ctx.principal,
  }),
}));
