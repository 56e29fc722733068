import { sql, type Kysely, type Transaction } from 'kysely';
import { isPostgres } from './database.js';
import { asStoreError } from './store-errors.js';

/**
 * Runs `fn` in a transaction and commits; on any error rolls back and rethrows the ORIGINAL error
 * (mapped by {@link asStoreError}).
 *
 * Kysely's `transaction().execute()` lets a failing ROLLBACK replace the error that caused it. SQLite
 * rolls back by itself when a commit fails for a full disk or a read-only file, so the ROLLBACK that
 * follows fails ("no transaction is active") and `SQLITE_FULL` would reach the client as an internal
 * error instead of STORE_UNAVAILABLE.
 *
 * @example
 * ```ts
 * const id = await runTransaction(db, async (trx) => {
 *   await trx.insertInto('organizations').values(row).execute();
 *   return row.id;
 * });
 * ```
 */
export async function runTransaction<DB, T>(db: Kysely<DB>, fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  let trx: Awaited<ReturnType<ReturnType<Kysely<DB>['startTransaction']>['execute']>>;
  try {
    trx = await db.startTransaction().execute();
  } catch (error) {
    throw asStoreError(error);
  }
  try {
    const result = await fn(trx);
    await trx.commit().execute();
    return result;
  } catch (error) {
    await trx.rollback().execute().catch(() => undefined);
    throw asStoreError(error);
  }
}

/**
 * {@link runTransaction} for writes that may be lost on power loss without losing an event: delivery progress
 * (cursor moves, counters, error tracking). If such a commit is lost, the events after the last durable cursor
 * are delivered again: at-least-once still holds, only duplicates grow. So these commits skip the fsync the
 * ingest commits pay (SQLite `synchronous=NORMAL` for this transaction, PostgreSQL `synchronous_commit = off`);
 * a later durable commit (the next ingest) syncs them too, in order.
 *
 * SQLite's level cannot change inside a transaction: it is set around it on the same connection, which no other
 * query uses meanwhile, and restored after.
 *
 * @example
 * ```ts
 * await runRelaxedTransaction(db, (trx) => trx.updateTable('delivery_state').set({ cursor_seq: 42 }).execute());
 * ```
 */
export async function runRelaxedTransaction<DB, T>(db: Kysely<DB>, fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  if (isPostgres(db)) {
    return runTransaction(db, async (trx) => {
      await sql`set local synchronous_commit = off`.execute(trx);
      return fn(trx);
    });
  }
  return db.connection().execute(async (conn) => {
    let level: number;
    try {
      level = Number((await sql<{ synchronous: number }>`pragma synchronous`.execute(conn)).rows[0]?.synchronous ?? 2);
    } catch (error) {
      throw asStoreError(error);
    }
    // 0 OFF, 1 NORMAL: already no fsync per commit.
    if (level <= 1) return runTransaction(conn, fn);
    await sql`pragma synchronous = NORMAL`.execute(conn);
    try {
      return await runTransaction(conn, fn);
    } finally {
      await sql.raw(`pragma synchronous = ${level}`).execute(conn);
    }
  });
}
