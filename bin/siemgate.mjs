#!/usr/bin/env node
// The `siemgate` command. Runs the JavaScript in dist/, built from src/ and db/ by `npm ci` (the `prepare`
// script) or `npm run build`. SIEMGATE_FROM_SOURCE=1 runs the TypeScript in src/ through tsx instead
// (development and tests; tsx is a dev dependency). A dist/ older than a source in src/ or db/ still runs,
// after one line on stderr saying so: rebuild, or run the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const fromSource = process.env.SIEMGATE_FROM_SOURCE === '1';
const entry = fromSource ? new URL('src/cli.ts', root) : new URL('dist/src/cli.js', root);

if (fromSource) {
  const { register } = await import('tsx/esm/api');
  register();
} else if (!existsSync(entry)) {
  console.error('siemgate: dist/ is not built: run `npm run build` where the dev dependencies are installed (npm ci builds it), or set SIEMGATE_FROM_SOURCE=1 to run src/ through tsx');
  process.exit(70);
} else {
  warnIfStale(statSync(entry).mtimeMs);
  // Production: libraries skip their development-only checks (graphql-js checks every value's type on every field).
  process.env.NODE_ENV ??= 'production';
}

// `siemgate customer …` is a client of a running gateway: it loads only its own module (fast start).
const { main } = process.argv[2] === 'customer'
  ? await import(new URL(fromSource ? 'cli/customer-siem.ts' : 'cli/customer-siem.js', entry).href).then((m) => ({ main: (argv) => m.customerCommand(argv.slice(1)) }))
  : await import(entry.href);
// Exit explicitly: after `serve` shuts down, no pooled socket or timer may keep the process alive.
process.exit(await main(process.argv.slice(2)));

/** One line on stderr when a TypeScript source in src/ or db/ changed after dist/ was built (every build rewrites dist/src/cli.js). */
function warnIfStale(builtMs) {
  for (const folder of ['src/', 'db/']) {
    const dir = fileURLToPath(new URL(folder, root));
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir, { recursive: true })) {
      if (!file.endsWith('.ts') || statSync(join(dir, file)).mtimeMs <= builtMs) continue;
      console.error(`siemgate: ${folder}${file} changed after dist/ was built: run \`npm run build\`, or set SIEMGATE_FROM_SOURCE=1 to run src/ through tsx`);
      return;
    }
  }
}
