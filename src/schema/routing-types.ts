import { z } from 'zod';
import { builder } from './builder.js';

export const SeverityEnum = builder.enumType('Severity', { values: ['NONE', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const });

export const RoutingFilterRef = builder.objectRef<{ minSeverity?: string; eventTypes?: string[] }>('RoutingFilter').implement({
  fields: (t) => ({
    minSeverity: t.field({ type: SeverityEnum, nullable: true, resolve: (f) => (f.minSeverity as never) ?? null }),
    eventTypes: t.stringList({ nullable: true, resolve: (f) => f.eventTypes ?? null }),
  }),
});

export const RoutingFilterInput = builder.inputType('RoutingFilterInput', {
  description: 'Only events at least `minSeverity` and of one of `eventTypes` (a trailing * matches a prefix).',
  fields: (t) => ({
    minSeverity: t.field({ type: SeverityEnum }),
    eventTypes: t.stringList({
      validate: z
        .array(z.string().regex(/^[A-Za-z0-9._:-]+\*?$/, 'each must be an event type, optionally ending in *').max(128, 'each must be at most 128 characters'))
        .max(100, 'at most 100 event types'),
    }),
  }),
});

