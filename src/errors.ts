import { GraphQLError } from 'graphql';

/**
 * Stable `extensions.code` values of client-facing errors. Clients branch on these, never on messages.
 */
export const ErrorCode = {
  /** Input broke a rule; the message names the input path and the rule. HTTP 200 (GraphQL) or 400 (REST). */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** No valid credentials. HTTP 401. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** Authenticated, but the role does not allow this. */
  FORBIDDEN: 'FORBIDDEN',
  /** No such object in the caller's organisation (including objects of other organisations). */
  NOT_FOUND: 'NOT_FOUND',
  /** The request body exceeds the configured limit. HTTP 413. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** A GraphQL POST body that is not `application/json`. HTTP 415. */
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** A request body did not arrive within the time allowed for its size. HTTP 408; the connection is closed. */
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  /** The database cannot take writes right now (read-only, disk full). HTTP 503. */
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * No or invalid credentials; answered with HTTP 401.
 *
 * @example
 * ```ts
 * if (!key) throw unauthenticated('missing Authorization: Bearer <token>');
 * ```
 */
export function unauthenticated(message = 'A valid API key is required: send Authorization: Bearer <token>'): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } },
  });
}

/**
 * The caller's role does not allow the operation.
 *
 * @example
 * ```ts
 * throw forbidden('viewer keys cannot change integrations');
 * ```
 */
export function forbidden(message = 'Your role does not allow this operation'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.FORBIDDEN } });
}

/**
 * Nothing with this id in the caller's organisation. Deliberately the same answer for "never existed"
 * and "belongs to another organisation".
 *
 * @example
 * ```ts
 * throw notFound('SiemIntegration', id);
 * ```
 */
export function notFound(typeName: string, id: string): GraphQLError {
  return new GraphQLError(`${typeName} ${JSON.stringify(id)} not found`, { extensions: { code: ErrorCode.NOT_FOUND } });
}

/**
 * The database refused a write for a reason an operator must fix (read-only file, disk full).
 *
 * @example
 * ```ts
 * throw storeUnavailable('database is read-only');
 * ```
 */
export function storeUnavailable(detail: string): GraphQLError {
  return new GraphQLError(`The gateway cannot store changes right now: ${detail}`, {
    extensions: { code: ErrorCode.STORE_UNAVAILABLE, http: { status: 503 } },
  });
}
