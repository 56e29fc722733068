import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOf } from '../support/api.js';
import { ADMIN_TOKEN, gql, runCli, spawnServe, tempDir } from '../support/gateway.js';

/**
 * Production runs the JavaScript that `npm run build` (and `npm ci`, through `prepare`) puts in dist/.
 * The build script builds into a temporary install that has bin/, package.json and dist/ but no src/ and
 * no db/, and whose node_modules lacks tsx and typescript (as after `npm prune --omit=dev`): whatever
 * runs there runs from dist/. The control test proves that the sources cannot run there.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const SECRET_KEY = Buffer.alloc(32, 3).toString('base64');
/** A guard against a hang on a loaded machine, not a timing assertion. */
const GUARD = 120_000;
/** What `npm prune --omit=dev` would remove that matters here: the bin must run without them. */
const DEV_ONLY = new Set(['tsx', 'typescript', '.bin']);

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const install = tempDir();
const BIN = join(install.dir, 'bin', 'siemgate.mjs');
const data = tempDir();

afterAll(() => {
  install.cleanup();
  data.cleanup();
});

beforeAll(() => {
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--outDir', join(install.dir, 'dist')], { encoding: 'utf8' });
  expect({ status: build.status, output: build.stdout + build.stderr }).toEqual({ status: 0, output: '' });
  mkdirSync(join(install.dir, 'bin'));
  copyFileSync(join(ROOT, 'bin', 'siemgate.mjs'), BIN);
  copyFileSync(join(ROOT, 'package.json'), join(install.dir, 'package.json'));
  mkdirSync(join(install.dir, 'node_modules'));
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (!DEV_ONLY.has(name)) symlinkSync(join(ROOT, 'node_modules', name), join(install.dir, 'node_modules', name));
  }
}, GUARD);

/** `siemgate <args>` of the temporary install, with exactly the settings given and the default entry (dist/). */
function siemgate(args: string[], env: Record<string, string> = {}) {
  return runCli(args, { SIEMGATE_FROM_SOURCE: '0', ...env }, 60_000, { bin: BIN, cwd: install.dir, isolated: true });
}

const settings = {
  PORT: '0',
  HOST: '127.0.0.1',
  SIEMGATE_DB: join(data.dir, 'siemgate.db'),
  SIEMGATE_SECRET_KEY: SECRET_KEY,
  SIEMGATE_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
  SIEMGATE_LOG_LEVEL: 'info',
};

describe('the built siemgate (dist/, no src/, no tsx)', () => {
  it('the install holds the build and neither the sources nor tsx', () => {
    expect(existsSync(join(install.dir, 'dist', 'src', 'cli.js'))).toBe(true);
    expect(existsSync(join(install.dir, 'dist', 'db', 'migrations', 'index.js'))).toBe(true);
    expect(existsSync(join(install.dir, 'src'))).toBe(false);
    expect(existsSync(join(install.dir, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(install.dir, 'node_modules', 'graphql'))).toBe(true);
  });

  it('control: SIEMGATE_FROM_SOURCE=1 cannot run there (no tsx), so every other test here ran dist/', async () => {
    const { code, stdout, stderr } = await siemgate(['--version'], { SIEMGATE_FROM_SOURCE: '1' });
    expect(code).not.toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/Cannot find package 'tsx'/);
  }, GUARD);

  it('--version prints the version of package.json (found from dist/src/), --help the usage', async () => {
    expect(await siemgate(['--version'])).toEqual({ code: 0, stdout: `siemgate ${version}\n`, stderr: '' });
    const help = await siemgate(['--help']);
    expect({ code: help.code, stderr: help.stderr }).toEqual({ code: 0, stderr: '' });
    expect(help.stdout).toContain('siemgate keys create --org <slug>');
  }, GUARD);

  it('customer --help (the client commands, loaded on their own) runs from dist/', async () => {
    const { code, stdout, stderr } = await siemgate(['customer', '--help']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/siemgate customer siem configure/);
  }, GUARD);

  it('serve migrates a new database with the built migrations and answers GraphQL; keys create and list work on it after SIGTERM', async () => {
    const server = await spawnServe({ ...settings, SIEMGATE_FROM_SOURCE: '0' }, 60_000, BIN);
    try {
      const { viewer } = dataOf(await gql(`${server.url}/graphql`, '{ viewer { role organization { slug } } }'));
      expect(viewer).toEqual({ role: 'ADMIN', organization: { slug: 'default' } });
    } finally {
      const exited = new Promise<number | null>((done) => server.child.once('exit', done));
      server.child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    const created = await siemgate(['keys', 'create', '--org', 'acme', '--role', 'viewer', '--name', 'built'], settings);
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: '' });
    expect(created.stdout.trim().split('\n').at(-1)).toMatch(/^sg_[A-Za-z0-9_-]{20,}$/);
    const listed = await siemgate(['keys', 'list', '--org', 'acme'], settings);
    expect({ code: listed.code, stderr: listed.stderr }).toEqual({ code: 0, stderr: '' });
    expect(listed.stdout).toContain('built');
  }, GUARD);

  it('a source changed after the build: still runs dist/, after one stderr line naming it', async () => {
    const late = join(install.dir, 'src', 'late.ts');
    mkdirSync(join(install.dir, 'src'));
    writeFileSync(late, 'export {};\n');
    const inAMinute = new Date(Date.now() + 60_000);
    utimesSync(late, inAMinute, inAMinute);
    try {
      const { code, stdout, stderr } = await siemgate(['--version']);
      expect({ code, stdout }).toEqual({ code: 0, stdout: `siemgate ${version}\n` });
      expect(stderr).toBe('siemgate: src/late.ts changed after dist/ was built: run `npm run build`, or set SIEMGATE_FROM_SOURCE=1 to run src/ through tsx\n');
    } finally {
      rmSync(join(install.dir, 'src'), { recursive: true });
    }
  }, GUARD);

  it('without dist/: exits 70 with one line saying how to build it', async () => {
    const bare = tempDir();
    try {
      mkdirSync(join(bare.dir, 'bin'));
      copyFileSync(BIN, join(bare.dir, 'bin', 'siemgate.mjs'));
      copyFileSync(join(ROOT, 'package.json'), join(bare.dir, 'package.json'));
      const { code, stdout, stderr } = await runCli(['--version'], { SIEMGATE_FROM_SOURCE: '0' }, 60_000, { bin: join(bare.dir, 'bin', 'siemgate.mjs'), isolated: true });
      expect({ code, stdout }).toEqual({ code: 70, stdout: '' });
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toContain('npm run build');
    } finally {
      bare.cleanup();
    }
  }, GUARD);
});
