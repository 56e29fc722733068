import { createRequire } from 'node:module';
import type { Piscina } from 'piscina';
import { prepareEvents, type PrepareResult } from './prepare-events.js';
import type { PrepareTask } from './prepare-worker.js';

/** Options of {@link EventPreparer}. */
export interface EventPreparerOptions {
  /** Worker threads that parse, validate and serialise bodies; 0 does it on the calling thread. @default 1 */
  threads?: number;
  /** Bodies smaller than this are prepared on the calling thread (a worker round trip would cost more). @default 65536 */
  inlineBelowBytes?: number;
}

/**
 * Prepares ingest bodies ({@link prepareEvents}) on a piscina pool, so that parsing, validating and serialising
 * events (the per-event work of ingest) runs beside the main thread, which keeps serving requests, committing
 * and delivering. The result is the same on either thread; small bodies stay inline.
 *
 * @example
 * ```ts
 * const preparer = new EventPreparer({ threads: 1 });
 * const result = await preparer.prepare(body, { maxEvents: 10_000, now: Date.now() });
 * await preparer.close();
 * ```
 */
export class EventPreparer {
  readonly #pool?: Piscina<PrepareTask, PrepareResult>;
  readonly #inlineBelow: number;

  constructor(options: EventPreparerOptions = {}) {
    const threads = options.threads ?? 1;
    this.#inlineBelow = options.inlineBelowBytes ?? 65_536;
    if (threads > 0) {
      // From source (tests, development) the worker is TypeScript: load it through tsx as this thread does.
      const fromSource = import.meta.url.endsWith('.ts');
      // Loaded, and its threads started, only when a large body comes: an idle gateway holds no worker.
      const { Piscina: Pool } = createRequire(import.meta.url)('piscina') as { Piscina: typeof Piscina };
      this.#pool = new Pool<PrepareTask, PrepareResult>({
        filename: new URL(`./prepare-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url).href,
        minThreads: 0,
        maxThreads: threads,
        idleTimeout: 60_000,
        // The workers take this process's flags (e.g. --cpu-prof); from source they need tsx, which a test runner may not have.
        execArgv: fromSource && !process.execArgv.includes('tsx') ? ['--import', 'tsx'] : undefined,
      });
    }
  }

  /** Parses, validates and serialises one body. Never throws for bad input: refusals are results. */
  prepare(body: Uint8Array, options: { maxEvents: number; now: number }): Promise<PrepareResult> {
    if (!this.#pool || body.byteLength < this.#inlineBelow) return Promise.resolve(prepareEvents(body, options));
    // A body that owns its memory is moved to the worker, not copied.
    const owned = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer;
    const task = { body, maxEvents: options.maxEvents, now: options.now };
    return owned ? this.#pool.run(task, { transferList: [body.buffer as ArrayBuffer] }) : this.#pool.run(task);
  }

  async close(): Promise<void> {
    await this.#pool?.destroy();
  }
}
