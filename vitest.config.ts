import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // One graphql-js in the process, as under plain Node: vite would otherwise give src/ the ESM build
    // (the `module` field) while graphql-yoga, Pothos and @graphql-tools load the CommonJS one, and
    // `instanceof GraphQLError` would fail across the two.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
