import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
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
    // One build of src/ for the tests that start siemgate as a process (see test/support/global-setup.ts).
    globalSetup: ['test/support/global-setup.ts'],
    // Guards against a hang, not timing assertions: on a 2-core machine shared with other work a test that starts
    // the real binary (tsx, then the whole gateway) may take many seconds.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most test time is waiting on sockets, receivers and timers, not CPU: two files per core keep the cores busy
    // (four on a 2-core machine; vitest's default, cores − 1, would run one file at a time there).
    maxWorkers: 2 * availableParallelism(),
    // Each worker imports src/ once for all the files it runs, instead of once per file (about a second of CPU
    // each). Test files are still evaluated afresh; what they share is src/'s modules, which keep no state
    // between gateways.
    isolate: false,
  },
});
