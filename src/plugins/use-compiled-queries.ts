import { useGraphQlJit } from '@envelop/graphql-jit';
import { GraphQLError, getOperationAST, getVariableValues, type DocumentNode, type ExecutionArgs, type ExecutionResult, type Source } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Options of {@link useCompiledQueries}. */
export interface CompiledQueriesOptions {
  /** Called when a document cannot be compiled (its operation then answers with the compiler's errors). */
  onError?: (errors: readonly Error[]) => void;
}

/**
 * Executes queries with graphql-jit: each document is compiled once into plain JavaScript (cached by
 * document; Yoga caches parsed documents by their text) and its results are plain objects, which
 * serialise several times faster than the standard executor's null-prototype ones. A list of 1,000
 * integrations with the dashboard's fields is about 25,000 field resolutions, where the executor's
 * per-field bookkeeping cost more than the resolvers.
 *
 * Answers stay those of the standard executor:
 * - only queries are compiled: mutations and subscriptions keep the standard executor;
 * - a query whose variables do not coerce runs on the standard executor too, so its refusal (HTTP 400,
 *   graphql-js's messages) is the usual one;
 * - errors of a compiled query get back their source positions (the compiler keeps line and column only,
 *   which Yoga drops when it serialises), so `locations` are as before.
 * Every other plugin still runs around execution (document authorisation, limits, revocation, metrics,
 * error masking), and the schema's resolvers, with their scope checks, run as before.
 *
 * @example
 * ```ts
 * createYoga({ plugins: [useCompiledQueries({ onError: (errors) => log.error({ errors }, 'query not compiled') })] });
 * ```
 */
export function useCompiledQueries(options: CompiledQueriesOptions = {}): Plugin {
  const decided = new WeakMap<object, boolean>();
  const compiles = (args: ExecutionArgs): boolean => {
    let yes = decided.get(args);
    if (yes === undefined) {
      const operation = getOperationAST(args.document, args.operationName);
      yes =
        operation?.operation === 'query' &&
        (!operation.variableDefinitions?.length ||
          getVariableValues(args.schema, operation.variableDefinitions, args.variableValues ?? {}).errors === undefined);
      decided.set(args, yes);
    }
    return yes;
  };
  return {
    onPluginInit({ addPlugin }) {
      addPlugin(
        useGraphQlJit({}, { enableIf: compiles, onError: (result) => options.onError?.(result.errors ?? []) }) as Plugin,
      );
    },
    onExecute({ args }) {
      if (!compiles(args)) return undefined;
      return {
        onExecuteDone({ result, setResult }) {
          const { errors, ...rest } = result as ExecutionResult;
          if (!errors?.length) return;
          const source = args.document.loc?.source;
          // `errors` first, as the standard executor answers.
          setResult({ errors: errors.map((error) => withPositions(error, args.document, source)), ...rest });
        },
      };
    },
  };
}

const lineStarts = new WeakMap<DocumentNode, number[]>();

/** A compiled query's error (line and column only) as graphql-js makes it: with its source and positions. */
function withPositions(error: GraphQLError, document: DocumentNode, source: Source | undefined): GraphQLError {
  if (!source || error.nodes || error.positions || !error.locations?.length) return error;
  let starts = lineStarts.get(document);
  if (!starts) {
    starts = [0];
    for (let i = 0; i < source.body.length; i++) if (source.body[i] === '\n') starts.push(i + 1);
    lineStarts.set(document, starts);
  }
  const positions = error.locations.map(({ line, column }) => (starts[line - 1] ?? 0) + column - 1);
  return new GraphQLError(error.message, {
    source,
    positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}
