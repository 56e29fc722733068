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
    private readonly flushFile: ((path: string) => Promise<void>) & { close?(): Promise<void> } = keptOpenFlush(),
  ) {}

  /** Waits for the flush in flight and lets go of the file. */
  async close(): Promise<void> {
    await this.#next?.catch(() => undefined);
    await this.#running?.catch(() => undefined);
    await this.flushFile.close?.();
  }

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

/**
 * `fdatasync` in libuv's thread pool of a file kept open between flushes (SQLite keeps its `-wal` file while the database is open; it
 * only truncates it), so a flush costs the `fdatasync` alone. After a failure the file is opened again.
 */
export function keptOpenFlush(): ((path: string) => Promise<void>) & { close(): Promise<void> } {
  let file: Awaited<ReturnType<typeof open>> | undefined;
  const flushKept = async (path: string) => {
    try {
      // Called after a commit: the -wal file exists while the database is open in WAL mode (SQLite truncates it,
      // never removes it while connected). Not finding it means it is not where the commits went: an error.
      file ??= await open(path, 'r');
    } catch (error) {
      throw new StoreUnavailableError('the write-ahead log cannot be opened to flush it', { cause: error });
    }
    try {
      await file.datasync();
    } catch (error) {
      const failed = file;
      file = undefined;
      await failed.close().catch(() => undefined);
      throw new StoreUnavailableError('the write-ahead log could not be flushed to disk', { cause: error });
    }
  };
  return Object.assign(flushKept, {
    async close() {
      const held = file;
      file = undefined;
      await held?.close();
    },
  });
}
