import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The `siemgate` script of this run's build of src/ and db/ (see {@link setup}). */
    siemgateBin: string;
  }
}

const ROOT = resolve(import.meta.dirname, '../..');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The TypeScript files under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => join(ROOT, dir, file));
}

/**
 * Builds src/ and db/ once per test run, file by file as tsx would (esbuild, no bundling), into an install
 * laid out as production's (bin/, package.json, dist/), under node_modules/.cache so that the build's imports
 * resolve to the project's node_modules. Tests that start `siemgate` as a process run this build: the sources
 * of this run, without paying tsx's loader on every start (a second or two of CPU each). The test of the
 * production build itself (test/cli/compiled-bin.test.ts) still builds with `npm run build`'s compiler.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const builds = join(ROOT, 'node_modules', '.cache', 'siemgate-tests');
  // Builds of runs that were killed before their teardown (their process is gone) go too.
  for (const pid of existsSync(builds) ? readdirSync(builds) : []) if (!isAlive(Number(pid))) rmSync(join(builds, pid), { recursive: true, force: true });
  const install = join(builds, String(process.pid));
  rmSync(install, { recursive: true, force: true });
  await build({
    entryPoints: [...sources('src'), ...sources('db')],
    outdir: join(install, 'dist'),
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'error',
  });
  mkdirSync(join(install, 'bin'));
  copyFileSync(join(ROOT, 'bin', 'siemgate.mjs'), join(install, 'bin', 'siemgate.mjs'));
  copyFileSync(join(ROOT, 'package.json'), join(install, 'package.json'));
  project.provide('siemgateBin', join(install, 'bin', 'siemgate.mjs'));
  return () => rmSync(install, { recursive: true, force: true });
}
