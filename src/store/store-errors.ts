import type { ConfigIssue } from '../destinations/destination-config.js';

/**
 * Domain errors the store throws. They are plain `Error`s with a stable `code`; the GraphQL layer maps
 * them to client-facing errors (see `useErrorMapping`), everything else is masked.
 */

/** No object with this id in the caller's organisation. */
export class RecordNotFoundError extends Error {
  readonly code = 'SIEMGATE_NOT_FOUND';
  constructor(
    readonly typeName: string,
    readonly id: string,
  ) {
    super(`${typeName} ${JSON.stringify(id)} not found`);
    this.name = 'RecordNotFoundError';
  }
}

/** An input broke a rule that only the store can check (e.g. merged config, type change). `path` is relative to the mutation input. */
export class InvalidInputError extends Error {
  readonly code = 'SIEMGATE_INVALID_INPUT';
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '));
    this.name = 'InvalidInputError';
  }
}

/** The database refuses writes (read-only file, disk full, locked beyond the busy timeout). */
export class StoreUnavailableError extends Error {
  readonly code = 'SIEMGATE_STORE_UNAVAILABLE';
  constructor(
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`store unavailable: ${detail}`, options);
    this.name = 'StoreUnavailableError';
  }
}

const UNAVAILABLE_CODES: Record<string, string> = {
  SQLITE_READONLY: 'the database file is read-only',
  SQLITE_READONLY_DBMOVED: 'the database file was moved or deleted',
  SQLITE_FULL: 'the disk is full',
  SQLITE_IOERR: 'a disk I/O error occurred',
  SQLITE_CANTOPEN: 'the database file cannot be opened',
  SQLITE_BUSY: 'the database is locked by another process',
  SQLITE_LOCKED: 'the database is locked',
  SQLITE_CORRUPT: 'the database file is corrupt',
  SQLITE_NOTADB: 'the file is not a database',
  ENOSPC: 'the disk is full',
  EROFS: 'the file system is read-only',
};

/**
 * Turns a driver error into {@link StoreUnavailableError} when it is an operator problem (read-only, disk full);
 * returns anything else unchanged.
 *
 * @example
 * ```ts
 * try { await write(); } catch (e) { throw asStoreError(e); }
 * ```
 */
export function asStoreError(error: unknown): unknown {
  const code = (error as { code?: string } | null)?.code;
  if (typeof code === 'string') {
    const prefix = Object.keys(UNAVAILABLE_CODES).find((k) => code === k || code.startsWith(`${k}_`));
    if (prefix) return new StoreUnavailableError(UNAVAILABLE_CODES[prefix]!, { cause: error });
  }
  return error;
}
