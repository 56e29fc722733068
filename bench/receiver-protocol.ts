/**
 * The IPC protocol between the bench and its receiver processes (bench/receiver-*.ts), and the counter
 * both receivers keep. Receivers run in their own processes so that their CPU is not the bench's.
 */

/** Share of the counted events a receiver parses and checks strictly. */
export const CHECK_SHARE = 0.01;

/** How a receiver answers. `unavailable`: HEC answers 503 (code 9, server busy); syslog refuses connections. */
export type ReceiverMode = 'ok' | 'unavailable';

/** What a receiver has seen since its last reset. Times are wall-clock ms (see `wallClockMs`). */
export interface ReceiverStats {
  /** Events (HEC records, syslog frames) received and acknowledged. */
  events: number;
  /** HTTP requests, or TCP connections for syslog. */
  requests: number;
  /** Requests answered with a failure (mode `unavailable`). */
  refused: number;
  /** When the first counted event arrived; null before any. */
  firstAt: number | null;
  /** When the last counted event was acknowledged; null before any. */
  lastAt: number | null;
  /** Events parsed and checked strictly (the sample: at least 1% of the counted events). */
  checked: number;
  /** Sampled requests or frames that failed the strict check, and the first failure. */
  invalid: number;
  firstInvalid: string | null;
  /** CPU time the receiver process used since the last reset (user + system), in ms. */
  cpuMs: number;
}

/** Bench → receiver. */
export type ReceiverCommand =
  | { id: number; cmd: 'stats' }
  | { id: number; cmd: 'reset' }
  | { id: number; cmd: 'mode'; mode: ReceiverMode }
  /** Answers once `events` have been counted (or with an error after `timeoutMs`). */
  | { id: number; cmd: 'waitFor'; events: number; timeoutMs: number };

/** Receiver → bench. */
export type ReceiverMessage =
  | { type: 'ready'; port: number }
  | { type: 'reply'; id: number; stats: ReceiverStats }
  | { type: 'error'; id: number; message: string };

/**
 * Counts acknowledged events and answers `waitFor` commands; shared by both receivers.
 *
 * @example
 * ```ts
 * const counter = new EventCounter(now);
 * counter.add(1000); // after answering a request with 1000 records
 * ```
 */
export class EventCounter {
  #stats: ReceiverStats = EventCounter.empty();
  #cpuAtReset = process.cpuUsage();
  #waiters: { events: number; resolve: (stats: ReceiverStats) => void }[] = [];

  constructor(private readonly now: () => number) {}

  static empty(): ReceiverStats {
    return { events: 0, requests: 0, refused: 0, firstAt: null, lastAt: null, checked: 0, invalid: 0, firstInvalid: null, cpuMs: 0 };
  }

  get stats(): ReceiverStats {
    const cpu = process.cpuUsage(this.#cpuAtReset);
    return { ...this.#stats, cpuMs: (cpu.user + cpu.system) / 1000 };
  }

  /**
   * Whether the next request (or frame) should be checked strictly: true while fewer than
   * {@link CHECK_SHARE} of the counted events (plus `pending` ones not yet added) have been checked
   * (so the first one always is).
   */
  wantsCheck(pending = 0): boolean {
    return this.#stats.checked <= (this.#stats.events + pending) * CHECK_SHARE;
  }

  /** `count` events passed the strict check. */
  checked(count: number): void {
    this.#stats.checked += count;
  }

  /** A sampled request or frame failed the strict check. */
  invalid(message: string): void {
    this.#stats.invalid++;
    this.#stats.firstInvalid ??= message;
  }

  /** One request (or connection) arrived. */
  request(): void {
    this.#stats.requests++;
  }

  /** One request was refused. */
  refused(): void {
    this.#stats.refused++;
  }

  /** `count` events were received and acknowledged now. */
  add(count: number): void {
    if (count === 0) return;
    const at = this.now();
    this.#stats.firstAt ??= at;
    this.#stats.lastAt = at;
    this.#stats.events += count;
    if (this.#waiters.length === 0) return;
    const events = this.#stats.events;
    this.#waiters = this.#waiters.filter((w) => {
      if (events < w.events) return true;
      w.resolve(this.stats);
      return false;
    });
  }

  reset(): void {
    this.#stats = EventCounter.empty();
    this.#cpuAtReset = process.cpuUsage();
  }

  /** Resolves with the stats once `events` have been counted; rejects after `timeoutMs`. */
  waitFor(events: number, timeoutMs: number): Promise<ReceiverStats> {
    if (this.#stats.events >= events) return Promise.resolve(this.stats);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`expected ${events} events, got ${this.#stats.events} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        events,
        resolve: (stats: ReceiverStats) => {
          clearTimeout(timer);
          resolve(stats);
        },
      };
      this.#waiters.push(waiter);
    });
  }
}

/**
 * Serves the bench's commands over the IPC channel of a forked receiver; `setMode` applies `mode`
 * commands. Exits the process when the bench goes away.
 */
export function serveReceiverCommands(counter: EventCounter, setMode: (mode: ReceiverMode) => void): void {
  const send = (message: ReceiverMessage) => process.send?.(message);
  process.on('message', (raw) => {
    const command = raw as ReceiverCommand;
    const reply = () => send({ type: 'reply', id: command.id, stats: counter.stats });
    switch (command.cmd) {
      case 'stats':
        return reply();
      case 'reset':
        counter.reset();
        return reply();
      case 'mode':
        setMode(command.mode);
        return reply();
      case 'waitFor':
        counter.waitFor(command.events, command.timeoutMs).then(
          (stats) => send({ type: 'reply', id: command.id, stats }),
          (error: Error) => send({ type: 'error', id: command.id, message: error.message }),
        );
        return;
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** Tells the bench the receiver listens on `port`. */
export function announceReady(port: number): void {
  process.send?.({ type: 'ready', port } satisfies ReceiverMessage);
}
