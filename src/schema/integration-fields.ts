import { Kind } from 'graphql';
import { integrationService } from '../service/integration-service.js';
import type { UpdateIntegrationInput } from '../store/tenant-store.js';
import { builder } from './builder.js';
import { CreateSiemIntegrationInput, UpdateSiemIntegrationInput, oneOfMember } from './integration-inputs.js';
import { SiemIntegrationRef, SiemIntegrationTypeEnum } from './integration-types.js';

const TestStepRef = builder.objectRef<{ name: string; ok: boolean; detail: string }>('SiemTestStep').implement({
  fields: (t) => ({ name: t.exposeString('name'), ok: t.exposeBoolean('ok'), detail: t.exposeString('detail') }),
});

const SiemTestResultRef = builder
  .objectRef<{ success: boolean; message: string; httpStatus?: number; latencyMs: number; steps: { name: string; ok: boolean; detail: string }[] }>('SiemTestResult')
  .implement({
    description: 'Outcome of a connection test: one real, clearly marked test event.',
    fields: (t) => ({
      success: t.exposeBoolean('success'),
      message: t.string({ description: '"Test event sent successfully" or "Connection test failed: <details>".', resolve: (r) => r.message }),
      httpStatus: t.int({ nullable: true, resolve: (r) => r.httpStatus ?? null }),
      latencyMs: t.int({ resolve: (r) => Math.round(r.latencyMs) }),
      steps: t.field({ type: [TestStepRef], resolve: (r) => r.steps }),
    }),
  });

/** GraphQL passes explicit nulls; for these fields null means "leave unchanged", except customerId where it clears. */
const definedOrUndefined = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

builder.queryFields((t) => ({
  siemIntegrations: t.field({
    type: [SiemIntegrationRef],
    authScopes: { reader: true },
    description: 'The organisation\'s integrations, oldest first.',
    args: {
      type: t.arg({ type: SiemIntegrationTypeEnum }),
      enabled: t.arg.boolean(),
      customerId: t.arg.string(),
    },
    resolve: async (_root, args, ctx, info) => {
      const wantsStats = info.fieldNodes.some((n) => n.selectionSet?.selections.some((s) => s.kind === Kind.FIELD && s.name.value === 'stats'));
      const [list, counters] = await Promise.all([
        integrationService(ctx.services).list(ctx.principal, {
          type: definedOrUndefined(args.type),
          enabled: definedOrUndefined(args.enabled),
          customerId: definedOrUndefined(args.customerId),
        }),
        wantsStats ? ctx.tenant.deliveryStates() : undefined,
      ]);
      if (counters) ctx.cache.loadedCounters = counters;
      return list;
    },
  }),
  siemIntegration: t.field({
    type: SiemIntegrationRef,
    authScopes: { reader: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => integrationService(ctx.services).get(ctx.principal, String(args.id)),
  }),
}));

builder.mutationFields((t) => ({
  createSiemIntegration: t.field({
    type: SiemIntegrationRef,
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateSiemIntegrationInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      const [type, config] = oneOfMember(input.config as Record<string, unknown>);
      return integrationService(ctx.services).create(
        ctx.principal,
        {
          name: input.name,
          type,
          config,
          enabled: definedOrUndefined(input.enabled),
          customerId: input.customerId ?? null,
          batching: input.batching ?? undefined,
          filter: input.filter as never,
        },
      );
    },
  }),
  updateSiemIntegration: t.field({
    type: SiemIntegrationRef,
    authScopes: { admin: true },
    description: 'A partial update: only the given fields change; omitted config fields (secrets included) keep their values. The type cannot change.',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateSiemIntegrationInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => {
      const patch: UpdateIntegrationInput = {
        name: definedOrUndefined(input.name),
        enabled: definedOrUndefined(input.enabled),
        customerId: input.customerId,
        batching: input.batching
          ? Object.fromEntries(Object.entries(input.batching).filter(([, v]) => v !== null && v !== undefined))
          : undefined,
      };
      if (input.filter !== undefined) patch.filter = input.filter as never;
      if (input.config) {
        const [type, config] = oneOfMember(input.config as Record<string, unknown>);
        patch.type = type;
        patch.config = config;
      }
      return integrationService(ctx.services).update(ctx.principal, String(id), patch);
    },
  }),
  deleteSiemIntegration: t.field({
    type: 'ID',
    authScopes: { admin: true },
    description: 'Deletes the integration; returns its id.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => integrationService(ctx.services).delete(ctx.principal, String(id)),
  }),
  testSiemIntegration: t.field({
    type: SiemTestResultRef,
    authScopes: { admin: true },
    description: 'Sends one real, clearly marked test event and records the outcome in error tracking.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => integrationService(ctx.services).test(ctx.principal, String(id)),
  }),
}));
