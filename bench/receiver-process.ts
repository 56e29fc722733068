import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trackChild } from './cleanup.js';
import type { ReceiverCommand, ReceiverMessage, ReceiverMode, ReceiverStats } from './receiver-protocol.js';

/** Which receiver script to fork. */
export type ReceiverKind = 'hec' | 'syslog';

const SCRIPTS: Record<ReceiverKind, string> = {
  hec: fileURLToPath(new URL('./receiver-hec.ts', import.meta.url)),
  syslog: fileURLToPath(new URL('./receiver-syslog.ts', import.meta.url)),
};
const READY_TIMEOUT_MS = 20_000;
/** A command without its id (distributes over the union). */
type CommandBody = ReceiverCommand extends infer C ? (C extends ReceiverCommand ? Omit<C, 'id'> : never) : never;
/** Slack on top of a `waitFor` timeout for the IPC round trip. */
const IPC_SLACK_MS = 5_000;

/**
 * A receiver running in its own process (`node --import tsx bench/receiver-<kind>.ts`), driven over IPC.
 *
 * @example
 * ```ts
 * const hec = await ReceiverProcess.start('hec');
 * // ... deliver to http://127.0.0.1:${hec.port}/services/collector/event
 * const { events, lastAt } = await hec.waitFor(200_000, 60_000);
 * await hec.stop();
 * ```
 */
export class ReceiverProcess {
  readonly #pending = new Map<number, { resolve: (stats: ReceiverStats) => void; reject: (error: Error) => void }>();
  #nextId = 1;

  private constructor(
    readonly kind: ReceiverKind,
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on('message', (raw) => {
      const message = raw as ReceiverMessage;
      if (message.type === 'ready') return;
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.type === 'reply') pending.resolve(message.stats);
      else pending.reject(new Error(`${kind} receiver: ${message.message}`));
    });
    child.once('exit', (code, signal) => {
      for (const p of this.#pending.values()) p.reject(new Error(`${kind} receiver exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  /** Forks the receiver and resolves once it listens. */
  static start(kind: ReceiverKind): Promise<ReceiverProcess> {
    const child = fork(SCRIPTS[kind], [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    trackChild(child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${kind} receiver did not start within ${READY_TIMEOUT_MS} ms`));
      }, READY_TIMEOUT_MS);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${kind} receiver exited with ${code} before listening`));
      });
      child.on('message', function onReady(raw) {
        const message = raw as ReceiverMessage;
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        child.off('message', onReady);
        resolve(new ReceiverProcess(kind, child, message.port));
      });
    });
  }

  /** e.g. `http://127.0.0.1:41234` */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  stats(): Promise<ReceiverStats> {
    return this.#send({ cmd: 'stats' });
  }

  /** Zeroes the counters (between runs). */
  reset(): Promise<ReceiverStats> {
    return this.#send({ cmd: 'reset' });
  }

  setMode(mode: ReceiverMode): Promise<ReceiverStats> {
    return this.#send({ cmd: 'mode', mode });
  }

  /** Resolves once `events` have been counted since the last reset; rejects after `timeoutMs`. */
  waitFor(events: number, timeoutMs: number): Promise<ReceiverStats> {
    return this.#send({ cmd: 'waitFor', events, timeoutMs }, timeoutMs + IPC_SLACK_MS);
  }

  /** Ends the receiver process (it exits when its IPC channel closes; killed if it does not). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), READY_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  #send(command: CommandBody, timeoutMs = READY_TIMEOUT_MS): Promise<ReceiverStats> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.kind} receiver did not answer ${command.cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (stats) => {
          clearTimeout(timer);
          resolve(stats);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ ...command, id } as ReceiverCommand);
    });
  }
}
