import { GraphQLError, Kind, parse, print, visit, type ASTNode, type GraphQLErrorOptions } from 'graphql';
import type { MaskError } from 'graphql-yoga';
import { ErrorCode, notFound, storeUnavailable } from '../errors.js';
import { EventValidationError } from '../events/event-schema.js';
import type { Logger } from '../logger.js';
import { REDACTED, createSecretScrubber, scrubbedError } from '../secrets/scrub-secrets.js';
import { InvalidInputError, RecordNotFoundError, StoreUnavailableError } from '../store/store-errors.js';

/** Codes of errors that are the server's fault; every other code is a client's mistake. */
const SERVER_SIDE_CODES = new Set<string>(['INTERNAL_SERVER_ERROR', ErrorCode.STORE_UNAVAILABLE]);

/**
 * The client-facing form of an error raised in an operation: the store's domain errors become GraphQL
 * errors with a stable `extensions.code`, deliberate GraphQL errors pass as they are. Undefined for an
 * unexpected error (which is masked).
 *
 * @example
 * ```ts
 * toClientError(new RecordNotFoundError('SiemIntegration', 'x'))?.extensions.code; // "NOT_FOUND"
 * ```
 */
export function toClientError(error: unknown): GraphQLError | undefined {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  const located = locationOf(error);
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
  if (original instanceof StoreUnavailableError) return relocate(storeUnavailable(original.detail));
  if (original instanceof GraphQLError) return error as GraphQLError;
  return undefined;
}

/**
 * Yoga's `maskError`: {@link toClientError}, and `Unexpected error.` (code `INTERNAL_SERVER_ERROR`) for
 * everything else. Yoga hands every error this changed to its logger: see {@link createYogaLogging}.
 *
 * @example
 * ```ts
 * createYoga({ maskedErrors: { maskError: createMaskError() }, logging: createYogaLogging(log) });
 * ```
 */
export function createMaskError(): MaskError {
  return (error, message) => toClientError(error) ?? new GraphQLError(message, { ...locationOf(error), extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

/** Where in the document an error arose (its nodes, or its source positions where it has no nodes), and its path. */
function locationOf(error: unknown): Pick<GraphQLErrorOptions, 'nodes' | 'source' | 'positions' | 'path'> {
  if (!(error instanceof GraphQLError)) return {};
  return { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path };
}

/** Yoga's logger interface. */
export type YogaLogging = Record<'debug' | 'info' | 'warn' | 'error', (...args: unknown[]) => void>;

/**
 * Yoga's `logging`, on the gateway's logger. Yoga logs each error of an operation that masking changed;
 * such a line never carries the operation's text (a GraphQLError prints its source, inline secrets
 * included) nor its variables: it names the operation (type and name), the error code and path, and
 * for errors of the server the document with every literal value replaced by `[REDACTED]` and the
 * underlying error (its message and stack scrubbed of the document's literals).
 * Client mistakes (every code but `INTERNAL_SERVER_ERROR` and `STORE_UNAVAILABLE`: `BAD_USER_INPUT`,
 * `NOT_FOUND`, `FORBIDDEN`, `UNAUTHENTICATED`, `QUERY_LIMIT_EXCEEDED`…) are logged at `info`, server
 * errors at `error`.
 *
 * @example
 * ```ts
 * createYoga({ logging: createYogaLogging(log) });
 * ```
 */
export function createYogaLogging(log: Logger): YogaLogging {
  const text = (args: unknown[]) => args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.name : typeof a)).join(' ');
  return {
    debug: (...args) => log.debug(text(args)),
    info: (...args) => log.info(text(args)),
    warn: (...args) => log.warn(text(args)),
    error: (...args) => {
      const error = args.find((a): a is Error => a instanceof Error);
      if (!error) return log.error(text(args));
      logOperationError(log, error);
    },
  };
}

function logOperationError(log: Logger, error: Error): void {
  const graphQLError = error instanceof GraphQLError ? error : undefined;
  const original = graphQLError?.originalError ?? error;
  const code = String(toClientError(error)?.extensions.code ?? 'INTERNAL_SERVER_ERROR');
  const operation = describeOperation(graphQLError?.source?.body);
  const fields = { code, ...(operation ? { operation: operation.names } : {}), ...(graphQLError?.path ? { path: graphQLError.path.join('.') } : {}) };
  if (!SERVER_SIDE_CODES.has(code)) {
    log.info(fields, 'operation refused: client error');
    return;
  }
  const cause = original instanceof StoreUnavailableError ? (original.cause ?? original) : original;
  const err = scrubbedError(cause, createSecretScrubber(operation?.literals ?? []));
  log.error({ ...fields, ...(operation ? { document: operation.document } : {}), err }, code === ErrorCode.STORE_UNAVAILABLE ? 'store unavailable' : 'unexpected error in operation');
}

/** Literal values a client may have put a secret in (enum values and booleans are the schema's own words). */
const LITERAL_KINDS = new Set<string>([Kind.STRING, Kind.INT, Kind.FLOAT]);

/**
 * What of an operation document may be logged: its operations (`mutation UpdateIntegration`), the
 * document with every literal value replaced by `[REDACTED]`, and the literals it held (to scrub them from error texts).
 */
function describeOperation(source: string | undefined): { names: string[]; document: string; literals: string[] } | undefined {
  if (!source) return undefined;
  let document;
  try {
    document = parse(source, { noLocation: true });
  } catch {
    return undefined;
  }
  const literals: string[] = [];
  const redacted = visit(document, {
    enter(node: ASTNode) {
      if (!LITERAL_KINDS.has(node.kind)) return undefined;
      literals.push((node as { value: string }).value);
      return { kind: Kind.STRING, value: REDACTED, block: false };
    },
  });
  const names = document.definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION ? [`${d.operation}${d.name ? ` ${d.name.value}` : ''}`] : []));
  return { names, document: print(redacted).replace(/\s+/g, ' '), literals };
}
