import { builder } from './builder.js';

/** Relay page info, shared by every connection. Pages go forward only. */
export const PageInfoRef = builder.objectRef<{ hasNextPage: boolean; endCursor: string | null }>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    hasPreviousPage: t.boolean({ resolve: () => false }),
    startCursor: t.string({ nullable: true, resolve: () => null }),
    endCursor: t.string({ nullable: true, resolve: (p) => p.endCursor }),
  }),
});

