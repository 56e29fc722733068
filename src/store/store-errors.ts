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

/** The database refuses writes (read-only file, disk full, locked beyond the busy timeout) or, on PostgreSQL, cannot be reached. */
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
  // PostgreSQL's server, as the network and `pg` report it.
  ECONNREFUSED: 'the database server refuses connections',
  ECONNRESET: 'the connection to the database server was reset',
  ETIMEDOUT: 'the database server does not answer',
  EHOSTUNREACH: 'the database server is unreachable',
  ENETUNREACH: 'the database server is unreachable',
  ENOTFOUND: 'the database server\'s host name does not resolve',
  EAI_AGAIN: 'the database server\'s host name does not resolve',
};

/** PostgreSQL SQLSTATEs (exact, or a two-character class) that are the operator's to fix, not the request's. */
const POSTGRES_UNAVAILABLE: Record<string, string> = {
  '08': 'the connection to the database server failed',
  '53': 'the database server is out of resources (disk, memory or connections)',
  '57P01': 'the database server is shutting down',
  '57P02': 'the database server crashed',
  '57P03': 'the database server is starting up',
  '3D000': 'the database does not exist',
  '25006': 'the database is read-only',
  '28000': 'the database server refuses the credentials',
  '28P01': 'the database server refuses the credentials',
};

/** `pg`'s own errors for a lost or unobtainable connection carry no code. */
const POSTGRES_CONNECTION_MESSAGES = [/^Connection terminated/, /^timeout exceeded when trying to connect/, /^Client has encountered a connection error/];

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
    if (/^[0-9A-Z]{5}$/.test(code)) {
      const detail = POSTGRES_UNAVAILABLE[code] ?? POSTGRES_UNAVAILABLE[code.slice(0, 2)];
      if (detail) return new StoreUnavailableError(detail, { cause: error });
    }
  }
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string' && POSTGRES_CONNECTION_MESSAGES.some((m) => m.test(message))) {
    return new StoreUnavailableError('the connection to the database server was lost', { cause: error });
  }
  return error;
}
