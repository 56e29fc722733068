import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createLogger, type Logger } from '../../src/logger.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import { loadSettings } from '../../src/settings.js';
import { runCliInProcess } from './cli.js';

export const ADMIN_TOKEN = 'sg_test_admin_token_0123456789abcdef';
/**
 * The `siemgate` started as a process: this run's build of src/ (test/support/global-setup.ts), never a dist/
 * built earlier that may be stale. A test of the production build itself passes its own `bin`.
 */
export const BIN = inject('siemgateBin');
/** The build runs as production's dist/ does, whatever the environment says. */
const FROM_BUILD = { SIEMGATE_FROM_SOURCE: '0' };

/** A temporary directory for one test's database, removed by `cleanup`. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'siemgate-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestGateway extends Gateway {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** GraphQL over HTTP as `token` (default: the bootstrap admin). */
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GqlResponse<T>>;
  /** Stops the server (keeps the database unless `removeDatabase`). */
  stop(options?: { removeDatabase?: boolean }): Promise<void>;
}

export interface GqlResponse<T> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: Record<string, any>; path?: string[] }[];
}

/**
 * The settings of a test gateway on `dir`'s database: a random loopback port, a fixed secret key, the bootstrap admin
 * token {@link ADMIN_TOKEN}, log level `warn` (not silent: {@link spawnServe} waits for the start line); `extra` wins.
 */
export function gatewayEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    SIEMGATE_DB: join(dir, 'siemgate.db'),
    SIEMGATE_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
    SIEMGATE_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
    SIEMGATE_LOG_LEVEL: 'warn',
    ...extra,
  };
}

/**
 * Starts the real gateway in this process on a random loopback port, on a fresh SQLite file
 * (or `dir`'s, to restart on the same data), with the bootstrap admin token {@link ADMIN_TOKEN}.
 * The egress policy allows 127.0.0.1 so that loopback receivers can stand in for SIEMs.
 */
export async function startTestGateway(options: { dir?: string; env?: Record<string, string>; egress?: EgressPolicy; logger?: Logger } = {}): Promise<TestGateway> {
  const dir = options.dir ?? tempDir().dir;
  const env = gatewayEnv(dir, { SIEMGATE_LOG_LEVEL: 'silent', ...options.env });
  const settings = loadSettings(env);
  const gateway = await startGateway({
    settings,
    logger: options.logger ?? createLogger({ level: env.SIEMGATE_LOG_LEVEL }),
    egress: options.egress ?? new EgressPolicy({ allow: ['127.0.0.0/8'] }),
  });
  return {
    ...gateway,
    dir,
    env,
    gql: (query, variables, token = ADMIN_TOKEN) => gql(`${gateway.url}/graphql`, query, variables, token),
    async stop({ removeDatabase = false } = {}) {
      await gateway.close();
      if (removeDatabase) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * GraphQL over HTTP, as any client sends it: POST application/json, Bearer token.
 *
 * @example
 * ```ts
 * const { data, errors } = await gql(url, '{ viewer { role } }', {}, token);
 * ```
 */
export async function gql<T = any>(url: string, query: string, variables: Record<string, unknown> = {}, token: string | null = ADMIN_TOKEN): Promise<GqlResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GqlResponse<T>, 'status'>;
  return { status: response.status, ...body };
}

/** Reads an HTTP answer whole: its status, its text, and that text parsed as JSON (`undefined` if it is not JSON). */
export async function readJsonAnswer(response: Response): Promise<{ status: number; text: string; json: any }> {
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

/**
 * Creates an API key of `role` in organisation `org` with the CLI's `keys create` (run in this process, see
 * {@link runCliInProcess}); returns its token (the command's last stdout line).
 */
export async function createKeyWithCli(env: NodeJS.ProcessEnv, org: string, role: string): Promise<string> {
  const { code, stdout, stderr } = await runCliInProcess(['keys', 'create', '--org', org, '--role', role], env);
  if (code !== 0) throw new Error(`keys create failed (${code}): ${stderr}`);
  return stdout.trim().split('\n').at(-1)!;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** @default this process's working directory */
  cwd?: string;
  /** Pass on none of this process's siemgate settings (`SIEMGATE_*`, `PORT`, `HOST`): only those in `env`. @default false */
  isolated?: boolean;
  /** The `siemgate` script to run. @default {@link BIN} */
  bin?: string;
}

/** Runs `siemgate <args>` as a separate process. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000, options: RunCliOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const inherited = options.isolated ? Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SIEMGATE_|PORT$|HOST$)/.test(k))) : process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.bin ?? BIN, ...args], { cwd: options.cwd, env: { ...inherited, ...FROM_BUILD, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`siemgate ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * The gateway's base URL (`http://127.0.0.1:4000`) from `siemgate serve`'s stdout (JSON log lines): the
 * `url` of its `siemgate listening` line, without `/graphql`; undefined until that line was written.
 */
export function listeningUrl(stdout: string): string | undefined {
  for (const line of stdout.split('\n')) {
    if (!line.includes('"siemgate listening"')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === 'siemgate listening' && entry.url) return entry.url.replace(/\/graphql$/, '');
    } catch {
      // a line still being written
    }
  }
  return undefined;
}

/**
 * Starts `siemgate serve` as a child process and resolves once it listens (its `siemgate listening` log
 * line on stdout); returns the process, its URL, and what it wrote (stdout: JSON log lines; stderr: the
 * first-start token block).
 */
export function spawnServe(env: NodeJS.ProcessEnv, timeoutMs = 60_000, bin = BIN): Promise<{ child: ChildProcess; url: string; stdout: () => string; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'serve'], { env: { ...process.env, ...FROM_BUILD, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.stderr!.on('data', (c) => (stderr += c));
    child.stdout!.on('data', (c) => {
      stdout += c;
      const url = listeningUrl(stdout);
      if (url) {
        clearTimeout(timer);
        resolve({ child, url, stdout: () => stdout, stderr: () => stderr });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}; stderr: ${stderr}`));
    });
  });
}

/** How a child process ended: at once if it already has, else when it does (rejects after `timeoutMs`). */
export function exited(child: ChildProcess, timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the process did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}
