import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeTempDir, trackChild, trackTempDir } from './cleanup.js';
import { ADMIN_TOKEN, CPU_PROF_DIR, GATEWAY_EXTRA_ENV, GATEWAY_START_TIMEOUT_MS, GATEWAY_STOP_TIMEOUT_MS, SECRET_KEY } from './config.js';

const BIN = fileURLToPath(new URL('../bin/siemgate.mjs', import.meta.url));
const KIB = 1024;

/** The base URL from `serve`'s stdout (JSON log lines): the `url` of its `siemgate listening` line, without `/graphql`. */
function listeningUrl(stdout: string): string | undefined {
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

/** Memory figures of a process, in bytes, from /proc/<pid>/status. */
export interface ProcessMemory {
  /** Resident set size now. */
  rssBytes: number;
  /** Peak resident set size since the process started (VmHWM). */
  peakRssBytes: number;
}

/** Sizes of the SQLite files, in bytes. */
export interface DatabaseSize {
  dbBytes: number;
  walBytes: number;
  totalBytes: number;
}

/** Options of {@link GatewayProcess.start}. */
export interface GatewayStartOptions {
  /** A label for the CPU profile's file name and error messages. */
  label: string;
  /** Extra environment for the child (overrides the defaults). */
  env?: Record<string, string>;
}

/**
 * `node bin/siemgate.mjs serve` as a child process on 127.0.0.1 with a fresh database in a temp dir,
 * the bench's admin token, loopback egress allowed, logs at `warn`, GraphiQL off,
 * `SIEMGATE_DB_SYNCHRONOUS=FULL` (explicitly; also the default), and the defaults for everything else.
 * It runs `bin/siemgate.mjs` as users do, so it follows whichever entry the bin picks (tsx or dist/).
 * With `BENCH_CPU_PROF=<dir>` the child runs with `--cpu-prof` and writes its profile there when it stops.
 *
 * @example
 * ```ts
 * const gateway = await GatewayProcess.start({ label: 'throughput' });
 * console.log(gateway.url, gateway.memory().peakRssBytes);
 * await gateway.stop();
 * ```
 */
export class GatewayProcess {
  #stderr = '';

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly dir: string,
    readonly env: NodeJS.ProcessEnv,
  ) {
    // The log (JSON lines on stdout) and stderr, both kept for error messages.
    const keep = (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-64 * KIB);
    };
    child.stderr!.on('data', keep);
    child.stdout!.on('data', keep);
  }

  static start(options: GatewayStartOptions): Promise<GatewayProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'siemgate-bench-'));
    trackTempDir(dir);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      SIEMGATE_DB: join(dir, 'siemgate.db'),
      SIEMGATE_SECRET_KEY: SECRET_KEY,
      SIEMGATE_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
      SIEMGATE_EGRESS_ALLOW: '127.0.0.1/32',
      SIEMGATE_LOG_LEVEL: 'warn',
      SIEMGATE_GRAPHIQL: 'false',
      // The durability every figure is measured with, set explicitly (it is also the default).
      SIEMGATE_DB_SYNCHRONOUS: 'FULL',
      ...GATEWAY_EXTRA_ENV,
      ...options.env,
    };
    // One directory per child: V8 writes one profile per thread (main, and tsx's module loader thread).
    const profArgs = CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', join(CPU_PROF_DIR, `gateway-${options.label}`)] : [];
    const child = spawn(process.execPath, [...profArgs, BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      const fail = (message: string) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        removeTempDir(dir);
        reject(new Error(`gateway (${options.label}) ${message}; stderr: ${stderr.slice(-2000)}; log: ${stdout.slice(-2000)}`));
      };
      const timer = setTimeout(() => fail(`did not listen within ${GATEWAY_START_TIMEOUT_MS} ms`), GATEWAY_START_TIMEOUT_MS);
      const onStderr = (chunk: Buffer) => (stderr += chunk.toString());
      const onExit = (code: number | null) => fail(`exited with ${code} before listening`);
      child.stderr!.on('data', onStderr);
      child.once('exit', onExit);
      child.stdout!.on('data', function onStdout(chunk: Buffer) {
        stdout += chunk.toString();
        const url = listeningUrl(stdout);
        if (!url) return;
        clearTimeout(timer);
        child.stdout!.off('data', onStdout);
        child.stderr!.off('data', onStderr);
        child.off('exit', onExit);
        resolve(new GatewayProcess(child, url, dir, env));
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get databasePath(): string {
    return this.env.SIEMGATE_DB!;
  }

  /** The last 64 KiB the child wrote: its JSON log lines (stdout, at `warn` here) and stderr. */
  get stderr(): string {
    return this.#stderr;
  }

  /**
   * `promise`, unless the gateway exits first: then a rejection naming its exit and stderr (so a crash
   * ends the bench at once instead of after a delivery timeout).
   */
  whileRunning<T>(promise: Promise<T>): Promise<T> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(this.#exitError());
    let onExit!: () => void;
    const exited = new Promise<never>((_, reject) => {
      onExit = () => reject(this.#exitError());
      child.once('exit', onExit);
    });
    return Promise.race([promise, exited]).finally(() => child.off('exit', onExit));
  }

  #exitError(): Error {
    return new Error(`gateway exited (${this.child.exitCode ?? this.child.signalCode}) during the bench; stderr: ${this.#stderr.slice(-2000)}`);
  }

  /** RSS and peak RSS of the gateway process now. */
  memory(): ProcessMemory {
    return readProcessMemory(this.pid);
  }

  /** CPU time the gateway has used since it started (all threads), in ms. */
  cpuMs(): number {
    return readProcessCpuMs(this.pid);
  }

  /** Sizes of the database file and its write-ahead log now. */
  databaseSize(): DatabaseSize {
    const size = (path: string) => {
      try {
        return statSync(path).size;
      } catch {
        return 0;
      }
    };
    const dbBytes = size(this.databasePath);
    const walBytes = size(`${this.databasePath}-wal`);
    return { dbBytes, walBytes, totalBytes: dbBytes + walBytes };
  }

  /** SIGTERM (a graceful shutdown; the CPU profile is written then), SIGKILL after the grace period; removes the temp dir. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), GATEWAY_STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    removeTempDir(this.dir);
  }
}

/** Reads VmRSS and VmHWM of `pid` from /proc (Linux). */
export function readProcessMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(match[1]) * KIB;
  };
  return { rssBytes: field('VmRSS'), peakRssBytes: field('VmHWM') };
}

let clockTicksPerSecond: number | undefined;

/** CPU time (user + system, all threads) `pid` has used since it started, in ms, from /proc/<pid>/stat (Linux). */
export function readProcessCpuMs(pid: number): number {
  clockTicksPerSecond ??= (() => {
    try {
      return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      return 100;
    }
  })();
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) ": field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
}

/** One RSS sample. */
export interface RssSample {
  /** Milliseconds since sampling started. */
  atMs: number;
  rssBytes: number;
}

/**
 * Samples the RSS of `pid` every `intervalMs` until `stop()`, which returns the samples.
 *
 * @example
 * ```ts
 * const sampler = sampleRss(gateway.pid, 100);
 * // ... load
 * const samples = sampler.stop();
 * ```
 */
export function sampleRss(pid: number, intervalMs: number): { stop(): RssSample[] } {
  const samples: RssSample[] = [];
  const started = performance.now();
  const take = () => {
    try {
      samples.push({ atMs: Math.round(performance.now() - started), rssBytes: readProcessMemory(pid).rssBytes });
    } catch {
      // The process is gone: the caller notices.
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}
