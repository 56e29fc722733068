#!/usr/bin/env node
// The `siemgate` command. Runs the TypeScript sources through tsx, so a fresh `npm ci` is all it needs.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
// Exit explicitly: after `serve` shuts down, no pooled socket or timer may keep the process alive.
process.exit(await main(process.argv.slice(2)));
