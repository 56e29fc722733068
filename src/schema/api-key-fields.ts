import { ROLES, type Role } from '../auth/api-token.js';
import { integrationNameRule } from '../destinations/shared/config-rules.js';
import type { ApiKeyRecord } from '../store/tenant-store.js';
import { builder } from './builder.js';

export const ApiKeyRoleEnum = builder.enumType('ApiKeyRole', {
  values: {
    ADMIN: { value: 'admin', description: 'Everything in its organisation.' },
    VIEWER: { value: 'viewer', description: 'Reads integrations, status and the audit log; never a secret; no mutation.' },
    INGEST: { value: 'ingest', description: 'Only event ingestion.' },
  } as const,
});

const ApiKeyRef = builder.objectRef<ApiKeyRecord>('ApiKey').implement({
  description: 'An API key. The token itself is shown only once, when the key is created.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    role: t.field({ type: ApiKeyRoleEnum, resolve: (k) => k.role }),
    tokenPrefix: t.string({ description: 'The first characters of the token, to recognise it.', resolve: (k) => k.tokenPrefix }),
    createdAt: t.field({ type: 'DateTime', resolve: (k) => k.createdAt }),
    lastUsedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.lastUsedAt }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.revokedAt }),
  }),
});

const CreatedApiKeyRef = builder.objectRef<{ key: ApiKeyRecord; token: string }>('CreatedApiKey').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, resolve: (r) => r.key }),
    token: t.string({ description: 'The secret token. Shown only now: store it safely.', resolve: (r) => r.token }),
  }),
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: integrationNameRule }),
    role: t.field({ type: ApiKeyRoleEnum, required: true }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.field({
    type: [ApiKeyRef],
    authScopes: { admin: true },
    description: 'The organisation\'s API keys, revoked ones included.',
    resolve: (_root, _args, ctx) => ctx.tenant.listApiKeys(),
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKeyRef,
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.tenant.createApiKey({ name: input.name, role: input.role as Role }, ctx.actor),
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => ctx.tenant.revokeApiKey(String(id), ctx.actor),
  }),
}));

void ROLES;
