import { readFileSync } from 'node:fs';

/**
 * siemgate's version, from its package.json: the first one named `siemgate` from this module's folder
 * upwards, so the same code finds it from `src/` (tsx) and from `dist/src/` (the build).
 */
function readVersion(): string {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'siemgate' && pkg.version) return pkg.version;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (new URL('../', dir).href === dir.href) throw new Error(`siemgate: no package.json named siemgate above ${import.meta.url}`);
  }
}

/** The version in package.json. */
export const VERSION: string = readVersion();
