import { GraphQLError } from 'graphql';
import { BadUserInputError, GatewayError, NotFoundError, UnauthenticatedError, UnavailableError, isErrorCode } from '../errors.js';
import { EventValidationError } from '../events/event-schema.js';
import { InvalidInputError, RecordNotFoundError, StoreUnavailableError } from '../store/store-errors.js';
import { ApiKeyRevokedError } from '../store/tenant-store.js';

/** Options of {@link toGatewayError}. */
export interface ClientErrorOptions {
  /**
   * How the front end writes a path of the service's input (`config.splunk.endpoint`) in its answers:
   * GraphQL `input.config.splunk.endpoint`, REST `config.endpoint`. @default the path as it is, `input` when empty
   */
  inputPath?: (path: string) => string;
  /** What the store could not store, in the message of STORE_UNAVAILABLE. @default 'changes' */
  storing?: string;
}

const samePath = (path: string) => path || 'input';

/**
 * The client-facing form of any error, for every front end (GraphQL, REST, `/v1/events`): the one place that
 * decides which errors a client sees and with which code. Domain errors of the store and the event schema
 * become {@link GatewayError}s; a GatewayError stays as it is; a GraphQLError with a code of the enum (as
 * `authenticate` and the service throw) becomes the GatewayError of that code. Undefined for everything
 * else: an internal error, answered `INTERNAL_SERVER_ERROR` with its cause hidden.
 *
 * @example
 * ```ts
 * toGatewayError(new RecordNotFoundError('SiemIntegration', 'x'))?.toJSON();
 * // { error: { code: 'NOT_FOUND', message: 'SiemIntegration "x" not found' } }
 * ```
 */
export function toGatewayError(error: unknown, options: ClientErrorOptions = {}): GatewayError | undefined {
  if (error instanceof GatewayError) return error;
  if (error instanceof GraphQLError) {
    if (error.originalError && !(error.originalError instanceof GraphQLError)) return toGatewayError(error.originalError, options);
    const { code, http, ...details } = error.extensions as { code?: unknown; http?: { headers?: Record<string, string> } };
    return isErrorCode(code) ? new GatewayError(code, error.message, { details, headers: http?.headers }) : undefined;
  }
  if (error instanceof RecordNotFoundError) return new NotFoundError(error.message);
  if (error instanceof InvalidInputError) {
    const inputPath = options.inputPath ?? samePath;
    return BadUserInputError.fromIssues(error.issues.map((i) => ({ path: inputPath(i.path), message: i.message })));
  }
  if (error instanceof EventValidationError) {
    return new BadUserInputError(error.message, { details: { field: error.issues[0]?.path, issues: error.issues.slice(0, 100) } });
  }
  if (error instanceof StoreUnavailableError) return new UnavailableError(`The gateway cannot store ${options.storing ?? 'changes'} right now: ${error.detail}`, error.cause ?? error);
  if (error instanceof ApiKeyRevokedError) return new UnauthenticatedError(error.message);
  return undefined;
}
