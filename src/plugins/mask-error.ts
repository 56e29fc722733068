import { GraphQLError } from 'graphql';
import type { MaskError } from 'graphql-yoga';
import { ErrorCode, notFound, storeUnavailable } from '../errors.js';
import { EventValidationError } from '../events/event-schema.js';
import type { Logger } from '../logger.js';
import { InvalidInputError, RecordNotFoundError, StoreUnavailableError } from '../store/store-errors.js';

/**
 * Yoga's `maskError`: maps the store's domain errors to client-facing GraphQL errors with a stable
 * `extensions.code`, passes deliberate GraphQL errors through, and masks everything else as
 * `Unexpected error.` while logging it in full on the server.
 *
 * @example
 * ```ts
 * createYoga({ maskedErrors: { maskError: createMaskError(log) } });
 * ```
 */
export function createMaskError(log: Logger): MaskError {
  return (error, message) => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    const located = error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {};
    const relocate = (mapped: GraphQLError) => new GraphQLError(mapped.message, { ...located, extensions: mapped.extensions });
    if (original instanceof RecordNotFoundError) return relocate(notFound(original.typeName, original.id));
    if (original instanceof InvalidInputError) {
      const first = original.issues[0];
      const message = original.issues.map((i) => `${i.path ? `input.${i.path}` : 'input'}: ${i.message}`).join('; ');
      return new GraphQLError(message, { ...located, extensions: { code: ErrorCode.BAD_USER_INPUT, field: first?.path ? `input.${first.path}` : 'input' } });
    }
    if (original instanceof EventValidationError) {
      return new GraphQLError(original.message, { ...located, extensions: { code: ErrorCode.BAD_USER_INPUT, field: original.issues[0]?.path, issues: original.issues.slice(0, 100) } });
    }
    if (original instanceof StoreUnavailableError) {
      log.error({ err: original.cause ?? original }, 'store unavailable');
      return relocate(storeUnavailable(original.detail));
    }
    if (original instanceof GraphQLError) return error as GraphQLError;
    log.error({ err: original }, 'unexpected error in operation');
    return new GraphQLError(message, { ...located, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}

