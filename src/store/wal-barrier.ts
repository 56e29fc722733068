import { open } from 'node:fs/promises';
import { StoreUnavailableError } from './store-errors.js';

/**
 * Makes SQLite commits durable with an fsync of the write-ahead log run off the main thread, shared by every
 * commit that waits for it (group commit).
 *
 * better-sqlite3 is synchronous: with `synchronous=FULL`, each COMMIT's fsync blocks the event loop for the whole
 * flush (milliseconds), and nothing else (HTTP, delivery) runs meanwhile. Instead the connection runs with
 * `synchronous=NORMAL` (in WAL mode a commit only writes its frames; a crash of the process loses nothing) and a
 * write that must survive power loss waits for {@link sync}, an `fdatasync` of the `-wal` file in libuv's thread
 * pool, before it is acknowledged. A sync covers every frame written before it started, so commits that wait
 * together share one. Checkpoints need nothing from us: in NORMAL mode SQLite syncs the WAL before copying it into
 * the database and the database after.
 *
 * Hand-written because no maintained package offers it: better-sqlite3 has no asynchronous commit, and an
 * asynchronous SQLite driver would move every query, not just the flush, off the event loop.
 *
 * @example
 * ```ts
 * const wal = new WalBarrier('/data/siemgate.db-wal');
 * await commitSomething();
 * await wal.sync(); // now on disk
 * ```
 */
export class WalBarrier {
  #running?: Promise<void>;
  #next?: Promise<void>;

  /** @param flushFile flushes one file to disk (injected by tests to observe how syncs are shared). */
  constructor(
    private readonly walPath: string,
    private readonly flushFile: (path: string) => Promise<void> = flush,
  ) {}

  /** Resolves once everything written to the database before this call is on disk. */
  sync(): Promise<void> {
    if (!this.#running) return this.#start();
    // The sync in flight may have started before this caller's write: wait for the next one, shared by all who wait.
    return (this.#next ??= this.#running.then(
      () => this.#startNext(),
      () => this.#startNext(),
    ));
  }

  #startNext(): Promise<void> {
    this.#next = undefined;
    return this.#start();
  }

  #start(): Promise<void> {
    const run = this.flushFile(this.walPath).finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    this.#running = run;
    return run;
  }
}

/** `fdatasync` of the file at `path` in libuv's thread pool; nothing to do when it does not exist. */
export async function flush(path: string): Promise<void> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (error) {
    // No WAL file: nothing was written since the last checkpoint removed it.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new StoreUnavailableError('the write-ahead log cannot be opened to flush it', { cause: error });
  }
  try {
    await file.datasync();
  } catch (error) {
    throw new StoreUnavailableError('the write-ahead log could not be flushed to disk', { cause: error });
  } finally {
    await file.close();
  }
}
