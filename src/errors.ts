import { GraphQLError, type GraphQLErrorOptions } from 'graphql';

/**
 * Every client-facing error code, the one list: the `code` of a REST or plain HTTP answer
 * (`{"error": {"code", "message"}}`) and the `extensions.code` of a GraphQL error. Clients branch on
 * these, never on messages. The HTTP status of each is {@link HTTP_STATUS}.
 */
export const ErrorCode = {
  /** Input broke a rule; the message names the input path and the rule. HTTP 200 (GraphQL) or 400 (REST). */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** Not a GraphQL request at all (no query, a body that is not JSON): Yoga's own code. HTTP 400. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The GraphQL document does not parse (Yoga's). HTTP 400. */
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  /** The GraphQL document breaks a validation rule of the schema (Yoga's). HTTP 400. */
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  /** The document holds several operations and the request names none, or one it does not hold (Yoga's). HTTP 400. */
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  /** No valid credentials. HTTP 401, with `WWW-Authenticate: Bearer`. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** Authenticated, but the role does not allow this. HTTP 403 (REST). */
  FORBIDDEN: 'FORBIDDEN',
  /** No such object in the caller's organisation (including objects of other organisations), or no such route. HTTP 404 (REST). */
  NOT_FOUND: 'NOT_FOUND',
  /** The route does not take this method. HTTP 405, with `Allow`. */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** A request body did not arrive within the time allowed for its size. HTTP 408; the connection is closed. */
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  /** The request body (or the number of events) exceeds the configured limit. HTTP 413. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** A body in a media type or content coding the route does not take. HTTP 415. */
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** A GraphQL operation too large, deep or costly, or one subscription too many on a connection. HTTP 400. */
  QUERY_LIMIT_EXCEEDED: 'QUERY_LIMIT_EXCEEDED',
  /** The database cannot take writes right now (read-only, disk full), or does not answer. HTTP 503. */
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  /** The server's fault; the message is always `Unexpected error.` (the cause is logged, never answered). HTTP 500. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The one mapping from code to HTTP status. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  BAD_USER_INPUT: 400,
  BAD_REQUEST: 400,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  OPERATION_RESOLUTION_FAILURE: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  QUERY_LIMIT_EXCEEDED: 400,
  STORE_UNAVAILABLE: 503,
  INTERNAL_SERVER_ERROR: 500,
};

/** Codes of errors that are the server's fault; every other code is a client's mistake. */
export const SERVER_SIDE_CODES: ReadonlySet<string> = new Set<ErrorCode>([ErrorCode.INTERNAL_SERVER_ERROR, ErrorCode.STORE_UNAVAILABLE]);

/**
 * Codes that set the HTTP status of a GraphQL answer too (the request as a whole failed). Every other
 * code reports one field's failure inside an HTTP 200 GraphQL result, beside the data of the other fields.
 */
const GRAPHQL_HTTP_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([ErrorCode.UNAUTHENTICATED, ErrorCode.STORE_UNAVAILABLE]);

/** Whether `value` is one of {@link ErrorCode}. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(HTTP_STATUS, value);
}

/** The body of every error answer outside GraphQL results: `{"error": {"code", "message", ...details}}`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string } & Record<string, unknown>;
}

/** Options of {@link GatewayError}. */
export interface GatewayErrorOptions {
  /** Answer headers (`Allow`, `WWW-Authenticate`, `Retry-After`, `Connection: close`). */
  headers?: Record<string, string>;
  /** More members of the body's `error` (and of a GraphQL error's `extensions`), e.g. `field`, `issues`. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * A client-facing error: a stable {@link ErrorCode}, a message for people, the HTTP status of its code, and
 * the headers its answer needs. Every route answers one as {@link GatewayError.toJSON}; GraphQL reports one
 * as {@link GatewayError.toGraphQLError}. Subclasses fix the code (as undici's errors do); internal errors
 * are never GatewayErrors, so that masking hides them.
 *
 * @example
 * ```ts
 * throw new NotFoundError(`No route for ${path}`);
 * ```
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = HTTP_STATUS[code];
    this.headers = options.headers ?? {};
    this.details = options.details ?? {};
  }

  /** `{"error": {"code", "message", ...details}}`. */
  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }

  /**
   * The body of a GraphQL-over-HTTP answer refused before execution (a body too large, not JSON):
   * `{"errors": [{"message", "extensions": {"code", ...details}}]}`, the form GraphQL clients read.
   */
  toGraphQLResult(): { errors: [{ message: string; extensions: Record<string, unknown> }] } {
    return { errors: [{ message: this.message, extensions: { code: this.code, ...this.details } }] };
  }

  /**
   * The GraphQL form: `extensions.code` and the details; `extensions.http` (status and headers) only for codes
   * that fail the whole request (UNAUTHENTICATED, STORE_UNAVAILABLE).
   */
  toGraphQLError(located: Pick<GraphQLErrorOptions, 'nodes' | 'source' | 'positions' | 'path'> = {}): GraphQLError {
    const http = GRAPHQL_HTTP_CODES.has(this.code) ? { http: { status: this.status, ...(Object.keys(this.headers).length > 0 ? { headers: { ...this.headers } } : {}) } } : {};
    return new GraphQLError(this.message, { ...located, extensions: { code: this.code, ...this.details, ...http } });
  }
}

/** What {@link BadUserInputError.fromIssues} reads: a path (as the client wrote it) and the rule broken. */
export interface InputIssue {
  path: string;
  message: string;
}

/** Input broke a rule (BAD_USER_INPUT, 400). */
export class BadUserInputError extends GatewayError {
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(ErrorCode.BAD_USER_INPUT, message, options);
    this.name = 'BadUserInputError';
  }

  /** `path: rule; path: rule`, with `field` the first issue's path. */
  static fromIssues(issues: readonly InputIssue[], details: Record<string, unknown> = {}): BadUserInputError {
    return new BadUserInputError(issues.map((i) => `${i.path}: ${i.message}`).join('; '), { details: { field: issues[0]?.path, ...details } });
  }
}

/** No or invalid credentials (UNAUTHENTICATED, 401, `WWW-Authenticate: Bearer`). */
export class UnauthenticatedError extends GatewayError {
  constructor(message = 'A valid API key is required: send Authorization: Bearer <token>', realm?: string) {
    super(ErrorCode.UNAUTHENTICATED, message, { headers: { 'WWW-Authenticate': realm ? `Bearer realm="${realm}"` : 'Bearer' } });
    this.name = 'UnauthenticatedError';
  }
}

/** The caller's role does not allow this (FORBIDDEN, 403). */
export class ForbiddenError extends GatewayError {
  constructor(message = 'Your role does not allow this operation') {
    super(ErrorCode.FORBIDDEN, message);
    this.name = 'ForbiddenError';
  }
}

/** No such object, or no such route (NOT_FOUND, 404). */
export class NotFoundError extends GatewayError {
  constructor(message: string) {
    super(ErrorCode.NOT_FOUND, message);
    this.name = 'NotFoundError';
  }
}

/** The route does not take this method (METHOD_NOT_ALLOWED, 405, `Allow`). */
export class MethodNotAllowedError extends GatewayError {
  constructor(readonly allowed: readonly string[]) {
    super(ErrorCode.METHOD_NOT_ALLOWED, `Use ${allowed.join(' or ')}`, { headers: { Allow: allowed.join(', ') } });
    this.name = 'MethodNotAllowedError';
  }
}

/** A body in a media type or coding the route does not take (UNSUPPORTED_MEDIA_TYPE, 415). */
export class UnsupportedMediaTypeError extends GatewayError {
  constructor(message: string) {
    super(ErrorCode.UNSUPPORTED_MEDIA_TYPE, message);
    this.name = 'UnsupportedMediaTypeError';
  }
}

/** The database cannot take writes now, or does not answer (STORE_UNAVAILABLE, 503, `Retry-After: 30`). */
export class UnavailableError extends GatewayError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.STORE_UNAVAILABLE, message, { headers: { 'Retry-After': '30' }, cause });
    this.name = 'UnavailableError';
  }
}

/**
 * No or invalid credentials; answered with HTTP 401.
 *
 * @example
 * ```ts
 * if (!key) throw unauthenticated('missing Authorization: Bearer <token>');
 * ```
 */
export function unauthenticated(message?: string): GraphQLError {
  return new UnauthenticatedError(message).toGraphQLError();
}

/**
 * The caller's role does not allow the operation.
 *
 * @example
 * ```ts
 * throw forbidden('viewer keys cannot change integrations');
 * ```
 */
export function forbidden(message?: string): GraphQLError {
  return new ForbiddenError(message).toGraphQLError();
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
  return new NotFoundError(`${typeName} ${JSON.stringify(id)} not found`).toGraphQLError();
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
  return new UnavailableError(`The gateway cannot store changes right now: ${detail}`).toGraphQLError();
}
