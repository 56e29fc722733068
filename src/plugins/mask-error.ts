import { GraphQLError, Kind, parse, print, visit, type ASTNode, type GraphQLErrorOptions } from 'graphql';
import type { MaskError } from 'graphql-yoga';
import { ErrorCode, SERVER_SIDE_CODES } from '../errors.js';
import type { Logger } from '../logger.js';
import { REDACTED, createSecretScrubber, scrubbedError } from '../secrets/scrub-secrets.js';
import { toGatewayError } from '../service/client-error.js';
import { StoreUnavailableError } from '../store/store-errors.js';

/** How GraphQL answers name a path of the mutation input: `input.config.splunk.endpoint`, `input` for the input itself. */
const graphQLInputPath = (path: string) => (path ? `input.${path}` : 'input');

/**
 * The client-facing form of an error raised in an operation: the store's domain errors become GraphQL
 * errors with a stable `extensions.code` (the mapping is {@link toGatewayError}, shared with the REST
 * routes), deliberate GraphQL errors pass as they are. Undefined for an unexpected error (which is masked).
 *
 * @example
 * ```ts
 * toClientError(new RecordNotFoundError('SiemIntegration', 'x'))?.extensions.code; // "NOT_FOUND"
 * ```
 */
export function toClientError(error: unknown): GraphQLError | undefined {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (original instanceof GraphQLError) return error as GraphQLError;
  return toGatewayError(original, { inputPath: graphQLInputPath })?.toGraphQLError(locationOf(error));
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
  return (error, message) => toClientError(error) ?? new GraphQLError(message, { ...locationOf(error), extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } });
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
  const code = String(toClientError(error)?.extensions.code ?? ErrorCode.INTERNAL_SERVER_ERROR);
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
