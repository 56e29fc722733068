import { z } from 'zod';
import { attemptsTopic, statusTopic, type IntegrationStats, type OrganizationStats, type StatusMessage } from '../delivery/delivery-engine.js';
import { mapMessages } from '../delivery/status-hub.js';
import type { DeliveryAttempt } from '../delivery/integration-worker.js';
import { GraphQLError } from 'graphql';
import { ErrorCode, unauthenticated } from '../errors.js';
import { parseSecurityEvents } from '../events/event-schema.js';
import { ApiKeyRevokedError, type DeadLetterPage, type DeadLetterRecord, type SiemIntegrationRecord } from '../store/tenant-store.js';
import { builder } from './builder.js';
import type { GatewayContext } from './context.js';
import { SiemIntegrationRef } from './integration-types.js';
import { PageInfoRef } from './page-info.js';
import { RoutingFilterRef, SeverityEnum } from './routing-types.js';

/** Most events one `ingestEvents` call takes. */
export const MAX_EVENTS_PER_MUTATION = 10_000;

const SecurityEventInput = builder.inputType('SecurityEventInput', {
  description: 'A security event in the canonical shape. `id` (UUID) is the idempotency key: an event is stored once however often it is sent.',
  fields: (t) => ({
    id: t.id({ description: 'UUID; generated when absent.' }),
    time: t.field({ type: 'DateTime', description: 'When it happened; now when absent.' }),
    type: t.string({ required: true, description: 'e.g. scan, agent.deployed.' }),
    name: t.string(),
    severity: t.field({ type: SeverityEnum, required: true }),
    outcome: t.string(),
    customerId: t.string({ description: 'Routes the event to this customer\'s integrations (and the global ones).' }),
    msspId: t.string(),
    installationId: t.string(),
    agentId: t.string(),
    userEmail: t.string(),
    sourceIp: t.string(),
    threatDetected: t.boolean(),
    ruleIds: t.stringList(),
    families: t.stringList(),
    promptHash: t.string(),
    promptLength: t.int(),
    detectionCount: t.int(),
    scanDurationMs: t.float(),
    data: t.field({ type: 'JSONObject' }),
  }),
});

const IngestResultRef = builder.objectRef<{ accepted: number; duplicates: number; ids: string[] }>('IngestResult').implement({
  fields: (t) => ({
    accepted: t.exposeInt('accepted', { description: 'Events accepted (committed to the store, or already stored).' }),
    duplicates: t.exposeInt('duplicates', { description: 'Of those, events whose id was already stored.' }),
    ids: t.idList({ resolve: (r) => r.ids }),
  }),
});

const DiscardResultRef = builder
  .objectRef<{ discarded: number; replaysCancelled: number; integrationId: string; organizationId: string }>('DiscardResult')
  .implement({
    description: 'What `discardQueuedEvents` dropped.',
    fields: (t) => ({
      discarded: t.exposeInt('discarded', { description: 'Queued events dropped (they will never be delivered to this integration).' }),
      replaysCancelled: t.exposeInt('replaysCancelled', { description: 'Dead letters that were queued for replay and are back to DEAD (kept, replayable later).' }),
      integration: t.field({
        type: SiemIntegrationRef,
        description: 'The integration after the discard.',
        resolve: (r, _args, ctx) => ctx.tenant.getIntegration(r.integrationId),
      }),
    }),
  });

const IntegrationStatsRef = builder.objectRef<IntegrationStats>('IntegrationStats').implement({
  fields: (t) => ({
    delivered: t.exposeInt('delivered', { description: 'Events delivered (acknowledged by the SIEM).' }),
    failedAttempts: t.exposeInt('failedAttempts'),
    queued: t.exposeInt('queued', { description: 'Events waiting for delivery (including dead letters queued for replay).' }),
    deadLettered: t.exposeInt('deadLettered'),
    successRate: t.float({ nullable: true, description: 'Successful attempts / all attempts.', resolve: (s) => s.successRate }),
    p50LatencyMs: t.int({ nullable: true, resolve: (s) => s.p50LatencyMs }),
    p95LatencyMs: t.int({ nullable: true, resolve: (s) => s.p95LatencyMs }),
  }),
});

const DeliveryStatsRef = builder
  .objectRef<OrganizationStats>('DeliveryStats')
  .implement({
    description: 'Delivery across all of the organisation\'s integrations.',
    fields: (t) => ({
      integrations: t.exposeInt('integrations'),
      delivered: t.exposeInt('delivered'),
      failedAttempts: t.exposeInt('failedAttempts'),
      queued: t.exposeInt('queued'),
      deadLettered: t.exposeInt('deadLettered'),
      successRate: t.float({ nullable: true, resolve: (s) => s.successRate }),
    }),
  });

const DeadLetterReasonEnum = builder.enumType('DeadLetterReason', {
  values: { REJECTED: { value: 'rejected', description: 'The SIEM refused the payload (400, 413, 422).' }, EXPIRED: { value: 'expired', description: 'Not delivered within the retention.' } } as const,
});
const DeadLetterStatusEnum = builder.enumType('DeadLetterStatus', {
  values: { DEAD: { value: 'dead' }, REPLAYING: { value: 'replaying', description: 'Queued to be sent again.' } } as const,
});

const DeadLetterRef = builder.objectRef<DeadLetterRecord>('DeadLetter').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    eventId: t.exposeID('eventId'),
    event: t.field({ type: 'JSONObject', resolve: (d) => d.event }),
    reason: t.field({ type: DeadLetterReasonEnum, resolve: (d) => d.reason }),
    error: t.exposeString('error'),
    httpStatus: t.int({ nullable: true, resolve: (d) => d.httpStatus }),
    status: t.field({ type: DeadLetterStatusEnum, resolve: (d) => d.status }),
    attempts: t.exposeInt('attempts'),
    createdAt: t.field({ type: 'DateTime', resolve: (d) => d.createdAt }),
  }),
});

const DeadLetterEdgeRef = builder.objectRef<DeadLetterPage['edges'][number]>('DeadLetterEdge').implement({
  fields: (t) => ({ node: t.field({ type: DeadLetterRef, resolve: (e) => e.node }), cursor: t.exposeString('cursor') }),
});
const DeadLetterConnectionRef = builder.objectRef<DeadLetterPage>('DeadLetterConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [DeadLetterEdgeRef], resolve: (p) => p.edges }),
    pageInfo: t.field({ type: PageInfoRef, resolve: (p) => p }),
  }),
});

const DeliveryAttemptRef = builder.objectRef<DeliveryAttempt>('DeliveryAttempt').implement({
  description: 'One batch attempt to a SIEM.',
  fields: (t) => ({
    integrationId: t.exposeID('integrationId'),
    attemptId: t.exposeID('attemptId'),
    eventCount: t.exposeInt('eventCount'),
    success: t.exposeBoolean('success'),
    httpStatus: t.int({ nullable: true, resolve: (a) => a.httpStatus }),
    latencyMs: t.int({ resolve: (a) => Math.round(a.latencyMs) }),
    error: t.string({ nullable: true, description: 'Never contains a secret.', resolve: (a) => a.error }),
    at: t.field({ type: 'DateTime', resolve: (a) => a.at }),
  }),
});

async function countersOf(ctx: GatewayContext, integrationId: string) {
  ctx.cache.counters ??= ctx.tenant.deliveryStates();
  return (await ctx.cache.counters).get(integrationId);
}

/** An integration as a status subscription yields it: with the stats of the reported change. */
type WithLiveStats = SiemIntegrationRecord & { liveStats?: IntegrationStats };

const NO_COUNTERS = { cursorSeq: 0, delivered: 0, succeededAttempts: 0, failedAttempts: 0, deadLettered: 0 };

builder.objectField(SiemIntegrationRef, 'stats', (t) =>
  t.field({
    type: IntegrationStatsRef,
    resolve: (i, _args, ctx) => {
      // A status subscription carries the figures of the change it reports (read once for all subscribers).
      const live = (i as WithLiveStats).liveStats;
      if (live) return live;
      // A list resolver may have loaded every counter already: then no promise per integration.
      const loaded = ctx.cache.loadedCounters;
      if (loaded) return ctx.services.engine.liveStats(i.id, loaded.get(i.id) ?? NO_COUNTERS);
      return countersOf(ctx, i.id).then((c) => ctx.services.engine.stats(i.organizationId, i.id, c));
    },
  }),
);
builder.objectField(SiemIntegrationRef, 'filter', (t) =>
  t.field({ type: RoutingFilterRef, nullable: true, description: 'Optional routing filter.', resolve: (i) => i.filter }),
);

function payloadTooLarge(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.PAYLOAD_TOO_LARGE } });
}

builder.queryFields((t) => ({
  deliveryStats: t.field({
    type: DeliveryStatsRef,
    authScopes: { reader: true },
    resolve: (_root, _args, ctx) => ctx.services.engine.organizationStats(ctx.principal.organization.id),
  }),
  deadLetters: t.field({
    type: DeadLetterConnectionRef,
    authScopes: { reader: true },
    description: 'Events a SIEM refused (or that expired), oldest first.',
    args: {
      integrationId: t.arg.id({ required: true }),
      first: t.arg.int({ defaultValue: 50, validate: z.number().int().min(1, 'must be between 1 and 500').max(500, 'must be between 1 and 500') }),
      after: t.arg.string({ validate: z.string().max(256, 'is not a cursor from this connection') }),
    },
    resolve: (_root, args, ctx) => ctx.tenant.deadLetters(String(args.integrationId), { first: args.first ?? 50, after: args.after }),
  }),
}));

builder.mutationFields((t) => ({
  ingestEvents: t.field({
    type: IngestResultRef,
    authScopes: { ingest: true },
    description: 'Stores events for delivery. All or nothing; the answer comes once every event is committed.',
    args: {
      events: t.arg({
        type: [SecurityEventInput],
        required: true,
        validate: z.array(z.unknown()).min(1, 'send at least one event').max(MAX_EVENTS_PER_MUTATION, `at most ${MAX_EVENTS_PER_MUTATION} events per call`),
      }),
    },
    // The same limits and fairness as `POST /v1/events`: events per call, bytes, the organisation's own
    // bounds while waiting, then a shared commit slot served to organisations in turn.
    resolve: async (_root, args, ctx) => {
      const admission = ctx.services.ingest;
      const { maxEvents, maxBodyBytes } = admission.limits;
      const raw = args.events as unknown[];
      if (raw.length > maxEvents) throw payloadTooLarge(`events: at most ${maxEvents} events per call, got ${raw.length}`);
      // Validated first: it bounds the nesting of `data`, which JSON.stringify would otherwise recurse through.
      // (The GraphQL body that carried the events is already bounded by SIEMGATE_MAX_BODY_BYTES.)
      const events = parseSecurityEvents(raw);
      const bytes = Buffer.byteLength(JSON.stringify(raw));
      if (bytes > maxBodyBytes) throw payloadTooLarge(`events: at most ${maxBodyBytes} bytes of events per call, got ${bytes}`);
      const organizationId = ctx.principal.organization.id;
      const signal = AbortSignal.timeout(admission.bodyDeadlineMs(bytes));
      let releaseRead: (() => void) | undefined;
      let releaseCommit: (() => void) | undefined;
      try {
        try {
          releaseRead = await admission.reserve(organizationId, bytes, signal);
          releaseCommit = await admission.commit.acquire(organizationId, signal);
        } catch {
          throw new GraphQLError('The events could not be taken within the time allowed for their size; try again', { extensions: { code: ErrorCode.REQUEST_TIMEOUT } });
        }
        const { accepted, duplicates } = await ctx.tenant.ingest(events, { keyId: ctx.principal.keyId }).catch((error: unknown) => {
          throw error instanceof ApiKeyRevokedError ? unauthenticated(error.message) : error;
        });
        return { accepted, duplicates, ids: events.map((e) => e.id) };
      } finally {
        releaseCommit?.();
        releaseRead?.();
      }
    },
  }),
  discardQueuedEvents: t.field({
    type: DiscardResultRef,
    authScopes: { admin: true },
    description:
      'Drops the integration\'s backlog: every event queued for it now (and dead letters queued for replay) will not be sent. ' +
      'Events ingested afterwards are delivered as usual. Audited as `siem.queue.discarded`. Disabling an integration only pauses it; this is how a backlog is dropped.',
    args: { integrationId: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const integrationId = String(args.integrationId);
      const result = await ctx.tenant.discardQueuedEvents(integrationId, ctx.actor);
      return { ...result, integrationId, organizationId: ctx.principal.organization.id };
    },
  }),
  replayDeadLetters: t.field({
    type: 'Int',
    authScopes: { admin: true },
    description: 'Queues the integration\'s dead letters to be sent again, ahead of new events. Returns how many.',
    args: { integrationId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.tenant.replayDeadLetters(String(args.integrationId), ctx.actor),
  }),
}));

builder.subscriptionType({
  fields: (t) => ({
    siemIntegrationStatus: t.field({
      type: SiemIntegrationRef,
      authScopes: { reader: true },
      description:
        'First the current state of each integration it covers (all of the organisation\'s without `id`), one message each; ' +
        'then the integration whenever its error tracking, health, last delivery or queue changes. A client that reconnects gets the current state again.',
      args: { id: t.arg.id() },
      // Checks the id before the stream starts, so an unknown id ends the subscription with NOT_FOUND.
      subscribe: async (_root, args, ctx) => {
        const only = args.id ? (await ctx.tenant.getIntegration(String(args.id))).id : null;
        const organizationId = ctx.principal.organization.id;
        const engine = ctx.services.engine;
        // Subscribed before the snapshot is read: a change during the read is buffered and follows the snapshot.
        const messages = await engine.status.subscribeWithSnapshot(statusTopic(organizationId), { key: only ?? undefined }, async (): Promise<StatusMessage[]> => {
          const [integrations, counters] = await Promise.all([
            only ? ctx.tenant.getIntegration(only).then((i) => [i]) : ctx.tenant.listIntegrations(),
            ctx.tenant.deliveryStates(),
          ]);
          return integrations.map((integration) => ({
            organizationId,
            integrationId: integration.id,
            integration,
            stats: engine.liveStats(integration.id, counters.get(integration.id) ?? NO_COUNTERS),
          }));
        });
        // Not an async generator: completing the subscription must unsubscribe from the hub at once.
        return mapMessages(messages, (message): WithLiveStats | undefined =>
          message.integration ? { ...message.integration, liveStats: message.stats ?? undefined } : undefined,
        );
      },
      resolve: (integration) => integration as never,
    }),
    deliveryAttempts: t.field({
      type: DeliveryAttemptRef,
      authScopes: { reader: true },
      description: 'Every batch attempt, as it completes.',
      args: { integrationId: t.arg.id() },
      subscribe: async (_root, args, ctx) => {
        const only = args.integrationId ? (await ctx.tenant.getIntegration(String(args.integrationId))).id : null;
        return ctx.services.engine.attempts.subscribe(attemptsTopic(ctx.principal.organization.id), { key: only ?? undefined });
      },
      resolve: (attempt) => attempt as never,
    }),
  }),
});
