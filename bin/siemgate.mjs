#!/usr/bin/env node
// The `siemgate` command. Runs the TypeScript sources through tsx, so a fresh `npm ci` is all it needs.
import { register } from 'tsx/esm/api';

register();
// `siemgate customer …` is a client of a running gateway: it loads only its own module (fast start).
const { main } = process.argv[2] === 'customer'
  ? await import('../src/cli/customer-siem.ts').then((m) => ({ main: (argv) => m.customerCommand(argv.slice(1)) }))
  : await import('../src/cli.ts');
// Exit explicitly: after `serve` shuts down, no pooled socket or timer may keep the process alive.
process.exit(await main(process.argv.slice(2)));
