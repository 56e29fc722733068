/**
 * syslog-ng as a peer: the forwarder an operator would configure instead of siemgate to get events from
 * a local producer into Splunk HEC durably. Debian's `syslog-ng-core` + `syslog-ng-mod-http`, run as a
 * foreground child with its own config, persist file, control socket, pid file and disk buffer in a
 * temp dir (never the system service). The config:
 *
 * - source: `network()` on 127.0.0.1 over TCP, one event per line, `flags(no-parse)` (the line is the
 *   message: the HEC `event` object as JSON), flow control on the log path (nothing is dropped);
 * - destination: `http()` posting HEC envelopes (`{"time":…,"host":…,"sourcetype":"_json","event":<line>}`),
 *   newline-delimited, `batch-lines(500)`, one worker (the default), with
 *   `disk-buffer(reliable(yes))`: every message is written to the disk buffer before it is acknowledged
 *   to the source (it survives a crash of syslog-ng; the buffer is not fsynced per message).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSocket } from '../ceilings.js';
import { removeTempDir, trackChild, trackTempDir } from '../cleanup.js';
import { BATCH_SIZE, SYSLOG_NG_BIN } from '../config.js';
import { BENCH_HOST, HEC_TOKEN } from '../events.js';
import { readProcessCpuMs, readProcessMemory, type ProcessMemory } from '../gateway-process.js';
import { sleep, wallClockMs } from '../measure.js';

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const CONNECT_RETRY_MS = 50;
/** The disk buffer's size limit (the file grows as needed): far above one run's events. */
const DISK_BUFFER_BYTES = 1024 * 1024 * 1024;
/** Messages kept in memory beside the reliable disk buffer (syslog-ng's `qout-size` analogue for reliable buffers). */
const DISK_BUFFER_MEMORY_BYTES = 16 * 1024 * 1024;
/** Flush a partial batch after this long (every batch of the bench is full; this only bounds the tail). */
const BATCH_TIMEOUT_MS = 100;
/** The source's window: messages in flight between the source and the destination's queue under flow control. */
const SOURCE_WINDOW = 10_000;

/** The installed syslog-ng: its version line and its config version (for `@version`). */
export interface SyslogNgInstall {
  bin: string;
  version: string;
  configVersion: string;
}

/** Looks for syslog-ng and its http module; null (with the reason) when either is missing. */
export async function findSyslogNg(): Promise<{ install: SyslogNgInstall } | { missing: string }> {
  const run = (args: string[]) =>
    new Promise<string>((resolve, reject) => execFile(SYSLOG_NG_BIN, args, { timeout: 10_000 }, (error, stdout, stderr) => (error ? reject(error) : resolve(`${stdout}${stderr}`))));
  let versionText: string;
  try {
    versionText = await run(['--version']);
  } catch {
    return { missing: `${SYSLOG_NG_BIN} is not installed` };
  }
  const modules = await run(['--module-registry']).catch(() => '');
  if (!/\bhttp\b/.test(modules)) return { missing: `${SYSLOG_NG_BIN} has no http() destination (syslog-ng-mod-http is not installed)` };
  const version = /syslog-ng \d+ \(([\d.]+)\)/.exec(versionText)?.[1] ?? 'unknown';
  const configVersion = /Config version: ([\d.]+)/.exec(versionText)?.[1] ?? version.split('.').slice(0, 2).join('.');
  return { install: { bin: SYSLOG_NG_BIN, version, configVersion } };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The config described at the top of this file. */
export function syslogNgConfig(options: { configVersion: string; port: number; url: string; bufferDir: string }): string {
  const body = `{"time":\${R_UNIXTIME},"host":"${BENCH_HOST}","sourcetype":"_json","event":\${MESSAGE}}`;
  return `@version: ${options.configVersion}
options {
  stats-freq(0);
  use-dns(no);
  use-fqdn(no);
  dns-cache(no);
  frac-digits(3);
  log-msg-size(65536);
};

source s_bench {
  network(
    ip("127.0.0.1") port(${options.port}) transport("tcp")
    flags(no-parse)
    max-connections(4)
    log-iw-size(${SOURCE_WINDOW})
    log-fetch-limit(${BATCH_SIZE})
  );
};

destination d_hec {
  http(
    url("${options.url}")
    method("POST")
    headers("Authorization: Splunk ${HEC_TOKEN}", "Content-Type: application/json")
    body(${JSON.stringify(body)})
    delimiter("\\n")
    batch-lines(${BATCH_SIZE})
    batch-timeout(${BATCH_TIMEOUT_MS})
    persist-name("siemgate-bench-hec")
    disk-buffer(
      reliable(yes)
      dir("${options.bufferDir}")
      disk-buf-size(${DISK_BUFFER_BYTES})
      mem-buf-size(${DISK_BUFFER_MEMORY_BYTES})
    )
  );
};

log { source(s_bench); destination(d_hec); flags(flow-control); };
`;
}

/**
 * One syslog-ng process for one run.
 *
 * @example
 * ```ts
 * const syslogNg = await SyslogNgProcess.start(install, `${receiver.url}/services/collector/event`);
 * const startedAt = await syslogNg.feed(payloads.ndjson);
 * await receiver.waitFor(events, timeoutMs);
 * await syslogNg.stop();
 * ```
 */
export class SyslogNgProcess {
  #output = '';

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly dir: string,
  ) {
    const keep = (chunk: Buffer) => (this.#output = (this.#output + chunk.toString()).slice(-16_384));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
  }

  static async start(install: SyslogNgInstall, url: string): Promise<SyslogNgProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'siemgate-bench-syslog-ng-'));
    trackTempDir(dir);
    const port = await freePort();
    const configPath = join(dir, 'syslog-ng.conf');
    writeFileSync(configPath, syslogNgConfig({ configVersion: install.configVersion, port, url, bufferDir: dir }));
    const args = ['--foreground', '--no-caps', '--stderr', '-f', configPath, '-R', join(dir, 'syslog-ng.persist'), '-c', join(dir, 'syslog-ng.ctl'), '-p', join(dir, 'syslog-ng.pid')];
    const child = spawn(install.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    const peer = new SyslogNgProcess(child, port, dir);
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`syslog-ng exited (${child.exitCode ?? child.signalCode}) at start: ${peer.#output.slice(-2000)}`);
      const socket = await openSocket(port).catch(() => undefined);
      if (socket) {
        socket.destroy();
        return peer;
      }
      if (performance.now() > deadline) {
        await peer.stop();
        throw new Error(`syslog-ng did not listen on ${port} within ${START_TIMEOUT_MS} ms: ${peer.#output.slice(-2000)}`);
      }
      await sleep(CONNECT_RETRY_MS);
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** What syslog-ng wrote to stdout/stderr (its internal log, `--stderr`), last 16 KiB. */
  get output(): string {
    return this.#output;
  }

  /**
   * Writes every buffer (NDJSON lines) to the TCP source on one connection, each write waiting for the
   * previous one to be flushed to the OS; returns the wall-clock time of the first write.
   */
  async feed(buffers: readonly Buffer[]): Promise<number> {
    const socket = await openSocket(this.port);
    try {
      const startedAt = wallClockMs();
      for (const buffer of buffers) {
        await new Promise<void>((resolve, reject) => socket.write(buffer, (error) => (error ? reject(error) : resolve())));
      }
      return startedAt;
    } finally {
      await new Promise<void>((resolve) => socket.end(resolve));
    }
  }

  cpuMs(): number {
    return readProcessCpuMs(this.pid);
  }

  memory(): ProcessMemory {
    return readProcessMemory(this.pid);
  }

  /** SIGTERM, SIGKILL after a grace period; removes the temp dir (config, persist file, disk buffer). */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    removeTempDir(this.dir);
  }
}
