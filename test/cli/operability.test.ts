import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SETTINGS, SettingsError, loadSettings, settingSpecs, settingsMarkdownRows } from '../../src/settings.js';
import { closedPort, createIntegration, getIntegration, testIntegration, updateIntegration } from '../support/api.js';
import { createSplunkIntegration, ingest, makeEvent, startHecSink } from '../support/delivery.js';
import { runCliInProcess } from '../support/cli.js';
import { runCli, spawnServe, startTestGateway, tempDir } from '../support/gateway.js';
import { waitFor } from '../support/wait.js';

/**
 * The rough edges of issue 11, each through the real `siemgate` binary (a separate process, as an operator
 * runs it) or the real server: --version, --help listing every setting, commands other than serve refusing a
 * missing database, strict settings, a busy port, the bound address in the banner, health UNKNOWN until tried.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const SECRET_KEY = Buffer.alloc(32, 5).toString('base64');
/** Per-test limit for tests that start the binary: a guard against a hang on a loaded machine, not a timing assertion. */
const SPAWN_TIMEOUT = 120_000;
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function freshDir(): string {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return dir;
}

/**
 * Runs `siemgate <args>` in `cwd` with exactly the siemgate settings given (none inherited from this process): the
 * real binary as a separate process for what depends on the process (`--version` once, `serve` that gets as far
 * as listening); every other command runs the same `main` in this process ({@link runCliInProcess}).
 */
function siemgate(args: string[], env: Record<string, string>, cwd = ROOT, options: { spawn?: boolean } = {}) {
  // The timeout is a guard against a hang, not a timing assertion.
  if (options.spawn) return runCli(args, env, 60_000, { cwd, isolated: true });
  return runCliInProcess(args, env, { cwd, isolated: true });
}

const lines = (text: string) => text.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');

/**
 * Every setting the sources read: a `SIEMGATE_*`, `PORT` or `HOST` name read from an environment (`env.X`,
 * `env['X']`, `process.env.X`), declared as a SETTINGS row (`env: 'X'`) or parsed/refused by name
 * (`parseBoolean('X', …)`, `new SettingsError('X', …)`). Names used otherwise (error codes such as
 * `SIEMGATE_NOT_FOUND`) are not settings.
 */
function settingNamesInSources(): string[] {
  // src/cli/ holds the client commands of a running gateway (`siemgate customer …`): their SIEMGATE_URL and
  // SIEMGATE_TOKEN are the client's, documented by `siemgate customer --help` (tested with those commands).
  const files = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.startsWith('cli/'));
  const NAME = String.raw`(SIEMGATE_[A-Z0-9_]+|PORT|HOST)`;
  const READS = [
    new RegExp(String.raw`\benv(?:\.|\[\s*['"])${NAME}\b`, 'g'),
    new RegExp(String.raw`\benv:\s*['"]${NAME}['"]`, 'g'),
    new RegExp(String.raw`\b(?:parse[A-Za-z]*|SettingsError)\(\s*['"]${NAME}['"]`, 'g'),
  ];
  const names = new Set<string>();
  for (const file of files) {
    const text = readFileSync(join(ROOT, 'src', file), 'utf8');
    for (const re of READS) for (const m of text.matchAll(re)) names.add(m[1]!);
  }
  return [...names].sort();
}

describe('siemgate --version', () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  it.concurrent.each([['--version', true], ['-v', false], ['version', false]])('%s prints "siemgate <package.json version>" and exits 0 (the binary: %s)', async (flag, spawn) => {
    expect(await siemgate([flag], { PORT: 'not even a port' }, ROOT, { spawn })).toEqual({ code: 0, stdout: `siemgate ${version}\n`, stderr: '' });
  }, SPAWN_TIMEOUT);
});

describe('every setting is documented', () => {
  const inSources = settingNamesInSources();

  it('finds the settings in the sources (the scan works)', () => {
    expect(inSources).toEqual(expect.arrayContaining(['PORT', 'HOST', 'SIEMGATE_DB', 'SIEMGATE_LOG_LEVEL', 'SIEMGATE_DB_SYNCHRONOUS']));
    expect(inSources).not.toContain('SIEMGATE_NOT_FOUND');
  });

  it('--help lists every setting the sources mention, each with its description and default, and exits 0', async () => {
    const { code, stdout } = await siemgate(['--help'], {});
    expect(code).toBe(0);
    const listed = lines(stdout).map((l) => /^\s+((?:SIEMGATE_[A-Z0-9_]+|PORT|HOST))\s/.exec(l)?.[1]).filter(Boolean);
    expect(listed).toEqual(expect.arrayContaining(inSources));
    for (const spec of settingSpecs()) {
      const line = lines(stdout).find((l) => l.trimStart().startsWith(`${spec.env} `));
      expect(line, spec.env).toContain(spec.description);
      if (spec.default !== null) expect(line, spec.env).toContain(`default: ${spec.default}`);
    }
  }, SPAWN_TIMEOUT);

  it("every setting the sources mention is a row of SETTINGS, and the README's settings table is SETTINGS' rows", () => {
    expect(settingSpecs().map((s) => s.env)).toEqual(expect.arrayContaining(inSources));
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Settings'));
    const table = lines(section.slice(0, section.indexOf('\n## ', 1))).filter((l) => /^\| `/.test(l));
    expect(table.join('\n'), 'README.md "## Settings" must hold exactly these rows').toBe(settingsMarkdownRows().join('\n'));
  });
});

describe('commands other than serve need an existing database', () => {
  it.concurrent.each([
    ['keys list', ['keys', 'list', '--org', 'default']],
    ['keys create', ['keys', 'create', '--org', 'default', '--role', 'viewer']],
    ['keys revoke', ['keys', 'revoke', '00000000-0000-4000-8000-000000000000']],
  ])('%s run where there is no database exits 65 naming the path and SIEMGATE_DB, and creates no file', async (_label, args) => {
    const cwd = freshDir();
    // The operator's mistake: no SIEMGATE_DB, no SIEMGATE_SECRET_KEY, run from another directory.
    const { code, stdout, stderr } = await siemgate(args, {}, cwd);
    expect(code).toBe(65);
    expect(stdout).toBe('');
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr).toContain(join(cwd, 'data', 'siemgate.db'));
    expect(stderr).toContain('SIEMGATE_DB');
    expect(readdirSync(cwd, { recursive: true })).toEqual([]);
  }, SPAWN_TIMEOUT);

  it('refuses (exit 78, naming SIEMGATE_SECRET_KEY) to generate a key file beside an existing database', async () => {
    // A database served with SIEMGATE_SECRET_KEY, so it has no key file beside it.
    const g = await startTestGateway();
    cleanups.push(() => g.stop({ removeDatabase: true }));
    const before = readdirSync(g.dir).sort();
    const { code, stderr } = await siemgate(['keys', 'list', '--org', 'default'], { SIEMGATE_DB: g.env.SIEMGATE_DB! });
    expect(code).toBe(78);
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr).toContain('SIEMGATE_SECRET_KEY');
    expect(readdirSync(g.dir).sort()).toEqual(before);
  }, SPAWN_TIMEOUT);
});

describe('every setting is validated', () => {
  /** A value each setting refuses. */
  const BAD: Record<string, string[]> = {
    PORT: ['abc', '65536', '-1', '1e3'],
    HOST: ['not a host', 'http://0.0.0.0', '[::1]', '999.1.1.1', 'a..b', '-x.example.com'],
    SIEMGATE_DB: [freshDir()],
    SIEMGATE_DATABASE_URL: ['mysql://db/siemgate', 'db.example.com:5432/siemgate', 'sqlite:./data/siemgate.db'],
    SIEMGATE_SECRET_KEY: ['short', Buffer.alloc(16).toString('base64')],
    SIEMGATE_BOOTSTRAP_TOKEN: ['too-short', `${'x'.repeat(30)} y`],
    SIEMGATE_GRAPHIQL: ['yes', 'no', '1', '0', 'on', 'off', 'maybe'],
    SIEMGATE_MAX_BODY_BYTES: ['1k', '10'],
    SIEMGATE_EGRESS_ALLOW: ['10.0.0.0/99'],
    SIEMGATE_EGRESS_DENY_PRIVATE: ['yes', '1', 'on'],
    SIEMGATE_LOG_LEVEL: ['verbose', 'warning', '30'],
    SIEMGATE_MAX_INGEST_BYTES: ['big'],
    SIEMGATE_MAX_INGEST_EVENTS: ['0'],
    SIEMGATE_INGEST_CONCURRENCY: ['0', '65'],
    SIEMGATE_INGEST_THREADS: ['-1', '65', 'two'],
    SIEMGATE_RETENTION_DAYS: ['0', 'a week'],
    SIEMGATE_RETRY_BASE_MS: ['0', '1.5'],
    SIEMGATE_RETRY_MAX_MS: ['0'],
    SIEMGATE_SHUTDOWN_TIMEOUT_MS: ['soon'],
    SIEMGATE_LEASE_SECONDS: ['0', '3601', 'a while'],
    SIEMGATE_DB_SYNCHRONOUS: ['OFF', 'EXTRA'],
    SIEMGATE_INGEST_READS_PER_ORG: ['0', 'many'],
    SIEMGATE_INGEST_BUFFER_BYTES_PER_ORG: ['1k', '2048'],
    SIEMGATE_INGEST_BODY_TIMEOUT_MS: ['10', 'slow'],
    SIEMGATE_METRICS: ['yes', '1'],
    SIEMGATE_METRICS_TOKEN: ['short', `${'x'.repeat(20)} y`],
    SIEMGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION: ['0', '10001'],
    SIEMGATE_CORS_ORIGINS: ['*', 'https://console.example.com/path', 'ftp://x.example.com'],
    SIEMGATE_REDIS_URL: ['localhost:6379', 'http://redis.example', 'redis://:pw@', 'redis://host/db/x'],
    SIEMGATE_REDIS_PREFIX: ['has space', 'x'.repeat(65), 'glob*'],
  };
  const cases = Object.entries(BAD).flatMap(([name, values]) => values.map((value) => [name, value] as const));

  it('has a refused value for every setting', () => {
    expect(Object.keys(BAD).sort()).toEqual(settingSpecs().map((s) => s.env).sort());
  });

  it.each(cases)('refuses %s=%j with an error naming the setting', (name, value) => {
    let error: unknown;
    try {
      loadSettings({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).setting).toBe(name);
    expect((error as Error).message.startsWith(`${name}: `)).toBe(true);
  });

  it('reads booleans as true or false in any case, log levels as pino names, and HOST as an IP address or a host name', () => {
    expect(loadSettings({ SIEMGATE_GRAPHIQL: 'FALSE', SIEMGATE_EGRESS_DENY_PRIVATE: 'True' })).toMatchObject({ graphiql: false, egressDenyPrivate: true });
    expect(loadSettings({})).toMatchObject({ graphiql: true, egressDenyPrivate: false, logLevel: 'info', host: '0.0.0.0', port: 4000 });
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']) expect(loadSettings({ SIEMGATE_LOG_LEVEL: level.toUpperCase() }).logLevel).toBe(level);
    for (const host of ['127.0.0.1', '::', '::1', 'localhost', 'gateway.internal', 'siem-gw-01.example.com']) expect(loadSettings({ HOST: host }).host).toBe(host);
  });

  it.concurrent.each([
    ['SIEMGATE_LOG_LEVEL', 'verbose'],
    ['SIEMGATE_GRAPHIQL', 'yes'],
    ['HOST', 'not a host'],
  ])('siemgate serve with %s=%s exits 78 with one stderr line naming it', async (name, value) => {
    const { code, stdout, stderr } = await siemgate(['serve'], { [name]: value, PORT: '0', SIEMGATE_DB: join(freshDir(), 'x.db'), SIEMGATE_SECRET_KEY: SECRET_KEY });
    expect(code).toBe(78);
    expect(lines(stderr)).toEqual([expect.stringMatching(new RegExp(`^siemgate: ${name}: .*${value}`))]);
    expect(stdout).toBe('');
  }, SPAWN_TIMEOUT);

  it('keeps one definition per setting (SETTINGS is keyed by the Settings field)', () => {
    expect(new Set(settingSpecs().map((s) => s.env)).size).toBe(Object.keys(SETTINGS).length);
  });
});

describe('serve and its address', () => {
  it('a busy port: one stderr line naming the port, exit 78, no stack trace', async () => {
    const busy: Server = createServer();
    await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', ok));
    cleanups.push(() => new Promise((ok) => busy.close(ok)));
    const { port } = busy.address() as AddressInfo;
    const { code, stdout, stderr } = await siemgate(['serve'], {
      PORT: String(port),
      HOST: '127.0.0.1',
      SIEMGATE_DB: join(freshDir(), 'x.db'),
      SIEMGATE_SECRET_KEY: SECRET_KEY,
      SIEMGATE_LOG_LEVEL: 'warn',
    }, ROOT, { spawn: true });
    expect(code).toBe(78);
    expect(lines(stderr)).toEqual([`siemgate: port ${port} is already in use (set PORT)`]);
    expect(stdout).toBe('');
  }, SPAWN_TIMEOUT);

  it('an address that is not this machine\'s: one stderr line naming HOST, exit 78', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): a valid address no machine here has.
    const { code, stdout, stderr } = await siemgate(['serve'], {
      PORT: '0',
      HOST: '192.0.2.1',
      SIEMGATE_DB: join(freshDir(), 'x.db'),
      SIEMGATE_SECRET_KEY: SECRET_KEY,
      SIEMGATE_LOG_LEVEL: 'warn',
    }, ROOT, { spawn: true });
    expect(code).toBe(78);
    expect(lines(stderr)).toEqual(['siemgate: cannot listen on 192.0.2.1: not an address of this machine (set HOST)']);
    expect(stdout).toBe('');
  }, SPAWN_TIMEOUT);

  it('the start log shows the address actually bound (0.0.0.0), and the local URL to open', async () => {
    const server = await spawnServe({
      PORT: '0',
      HOST: '0.0.0.0',
      SIEMGATE_DB: join(freshDir(), 'x.db'),
      SIEMGATE_SECRET_KEY: SECRET_KEY,
      SIEMGATE_BOOTSTRAP_TOKEN: 'sg_operability_bootstrap_token_0001',
      SIEMGATE_LOG_LEVEL: 'info',
    }, 60_000);
    cleanups.push(() => {
      const exited = new Promise((ok) => server.child.once('exit', ok));
      server.child.kill('SIGTERM');
      return exited;
    });
    // The JSON start line on stdout: the address bound (every IPv4 interface) and the local URL.
    const started = lines(server.stdout()).map((l) => JSON.parse(l)).find((entry) => entry.msg === 'siemgate listening');
    expect(started).toMatchObject({ address: '0.0.0.0', url: `http://127.0.0.1:${started.port}/graphql` });
    expect((await fetch(`http://127.0.0.1:${started.port}/healthz`)).status).toBe(200);
  }, SPAWN_TIMEOUT);
});

describe('health is UNKNOWN until something was tried', () => {
  it('UNKNOWN when created, HEALTHY after a successful connection test or delivery, DEGRADED after a failed test, DISABLED when disabled', async () => {
    const [g, sink] = await Promise.all([startTestGateway(), startHecSink()]);
    cleanups.push(() => g.stop({ removeDatabase: true }), () => sink.close());

    // Customer-scoped, so that audit events (delivered to global integrations) do not try them behind the test's back.
    const tested = await createSplunkIntegration(g, sink, { customerId: 'cust_tested' });
    expect(tested.health).toBe('UNKNOWN');
    expect((await testIntegration(g, tested.id)).success).toBe(true);
    expect(await getIntegration(g, tested.id)).toMatchObject({ health: 'HEALTHY', errorCount: 0, lastEventAt: null, lastErrorAt: null });

    const delivered = await createSplunkIntegration(g, sink, { customerId: 'cust_delivered', batching: { batchSize: 1 } });
    expect((await getIntegration(g, delivered.id)).health).toBe('UNKNOWN');
    const event = makeEvent({ customerId: 'cust_delivered' });
    await ingest(g.url, [event]);
    await sink.waitForIds([event.id]);
    const afterDelivery = await waitFor(async () => {
      const i = await getIntegration(g, delivered.id);
      return i.lastEventAt !== null ? i : undefined;
    }, { message: 'lastEventAt set after the delivery' });
    expect(afterDelivery.health).toBe('HEALTHY');

    const unreachable = await createIntegration(g, { name: 'Nowhere', customerId: 'cust_nowhere', config: { splunk: { endpoint: `http://127.0.0.1:${await closedPort()}/services/collector/event`, token: 't' } } });
    expect(unreachable.health).toBe('UNKNOWN');
    expect((await testIntegration(g, unreachable.id)).success).toBe(false);
    expect(await getIntegration(g, unreachable.id)).toMatchObject({ health: 'DEGRADED', errorCount: 1 });

    expect((await updateIntegration(g, tested.id, { enabled: false })).health).toBe('DISABLED');
    expect((await updateIntegration(g, tested.id, { enabled: true })).health).toBe('HEALTHY');
  }, SPAWN_TIMEOUT);
});
