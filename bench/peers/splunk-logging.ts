import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { trackChild } from '../cleanup.js';
import { BATCH_SIZE } from '../config.js';
import { HEC_TOKEN } from '../events.js';
import { readProcessCpuMs, readProcessMemory, type ProcessMemory } from '../gateway-process.js';

const CHILD = fileURLToPath(new URL('./splunk-logging-child.ts', import.meta.url));
const ANSWER_TIMEOUT_MS = 60_000;

/** splunk-logging's installed version (from its package.json), or null when it is not installed. */
export function splunkLoggingVersion(): string | null {
  try {
    const require = createRequire(import.meta.url);
    return (require('splunk-logging/package.json') as { version: string }).version;
  } catch {
    return null;
  }
}

/**
 * The bench's side of one splunk-logging process (see splunk-logging-child.ts): warm it up, start the
 * timed send, read its CPU and memory, stop it.
 *
 * @example
 * ```ts
 * const peer = await SplunkLoggingPeer.start();
 * await peer.warmup(receiver.url, 'cust_bench', 5_000);
 * const startedAt = await peer.go(100_000);
 * await receiver.waitFor(100_000, timeoutMs);
 * await peer.stop();
 * ```
 */
export class SplunkLoggingPeer {
  #errors: string[] = [];

  private constructor(readonly child: ChildProcess) {
    child.on('message', (raw) => {
      const message = raw as { type: string; message?: string };
      if (message.type === 'error') this.#errors.push(message.message ?? 'unknown error');
    });
  }

  static start(): SplunkLoggingPeer {
    const child = fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    trackChild(child);
    return new SplunkLoggingPeer(child);
  }

  /** Request errors the library reported (through its `error` hook). */
  get errors(): readonly string[] {
    return this.#errors;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Creates the logger (`maxBatchCount` {@link BATCH_SIZE}) and hands it `events` warm-up events. */
  async warmup(receiverUrl: string, customerId: string, events: number): Promise<void> {
    this.child.send({ cmd: 'warmup', url: receiverUrl, token: HEC_TOKEN, batch: BATCH_SIZE, customerId, events });
    await this.#answer('warm');
  }

  /** Hands the logger `events` events; resolves with the wall-clock time of the first `send()`. */
  async go(events: number): Promise<number> {
    this.child.send({ cmd: 'go', events });
    const { startedAt } = await this.#answer('sent');
    return startedAt as number;
  }

  cpuMs(): number {
    return readProcessCpuMs(this.pid);
  }

  memory(): ProcessMemory {
    return readProcessMemory(this.pid);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ANSWER_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  #answer(type: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`splunk-logging did not answer ${type} within ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS);
      const onMessage = (raw: unknown) => {
        const message = raw as Record<string, unknown>;
        if (message.type === type) done(undefined, message);
      };
      const onExit = (code: number | null) => done(new Error(`splunk-logging exited (${code}) before ${type}`));
      const done = (error?: Error, message?: Record<string, unknown>) => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        if (error) reject(error);
        else resolve(message!);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
  }
}
