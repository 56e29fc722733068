#!/usr/bin/env node
// Builds dist/ from src/ and db/ (tsconfig.build.json): `npm run build`, and `npm ci` through `prepare`.
// A clean build: dist/ is removed first, so nothing of a deleted source survives in it. Emit only
// (`--noCheck`, a few seconds): type checking is `npm run typecheck`.
// Arguments go to tsc (the test builds into a temporary `--outDir`). `--if-available`: when TypeScript is
// not installed (`npm ci --omit=dev`), say so and succeed without building.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const ifAvailable = process.argv.includes('--if-available');
const args = process.argv.slice(2).filter((a) => a !== '--if-available');

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  const message = 'siemgate: TypeScript is not installed (a dev dependency), so dist/ was not built; build it where dev dependencies are installed (npm ci), then prune them (npm prune --omit=dev)';
  console.error(message);
  process.exit(ifAvailable ? 0 : 1);
}

const outDirAt = args.indexOf('--outDir');
const outDir = outDirAt >= 0 ? resolve(args[outDirAt + 1]) : resolve(root, 'dist');
rmSync(outDir, { recursive: true, force: true });
const run = spawnSync(process.execPath, [tsc, '-p', resolve(root, 'tsconfig.build.json'), '--noCheck', ...args], { stdio: 'inherit' });
process.exit(run.status ?? 1);
