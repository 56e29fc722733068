import type { Kysely, Transaction } from 'kysely';
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
