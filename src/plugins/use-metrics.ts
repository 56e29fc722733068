import { getOperationAST, type DocumentNode, type ExecutionResult, type GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Options of {@link useMetrics}. */
export interface UseMetricsOptions {
  /**
   * Called once per operation: `operation` is `query`, `mutation`, `subscription` or `unknown` (not
   * parsed), `code` the first error's `extensions.code` (`none` without error, `UNCODED` for an error
   * without a code).
   */
  record: (operation: string, code: string) => void;
}

/** Label values stay a closed, short set: codes are UPPER_SNAKE identifiers. */
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * Counts GraphQL operations by type and error code: over HTTP (and SSE) when Yoga processes the result,
 * so refusals before execution (parse, validation, limits, batching) are counted too; over graphql-ws
 * when execution or subscription starts, and on a validation refusal.
 *
 * @example
 * ```ts
 * createYoga({ plugins: [useMetrics({ record: (operation, code) => counter.inc({ operation, code }) })] });
 * ```
 */
export function useMetrics(options: UseMetricsOptions): Plugin {
  const operationOf = new WeakMap<object, string>();
  const over = (context: object) => ((context as { request?: Request }).request ? 'http' : 'ws');
  const keyOf = (context: object) => (context as { request?: Request }).request ?? context;
  const remember = (context: object, document: DocumentNode, operationName?: string | null) => {
    operationOf.set(keyOf(context), getOperationAST(document, operationName ?? undefined)?.operation ?? 'unknown');
  };
  const record = (operation: string, result: unknown) => options.record(operation, codeOf(result));
  return {
    onParse({ context, params }) {
      return ({ result }) => {
        if (result && typeof result === 'object' && 'kind' in result) remember(context, result as DocumentNode, (context as { params?: { operationName?: string } }).params?.operationName);
      };
    },
    onValidate({ context }) {
      return ({ valid, result }) => {
        if (!valid && over(context) === 'ws') record(operationOf.get(keyOf(context)) ?? 'unknown', { errors: result });
      };
    },
    onExecute({ args }) {
      if (over(args.contextValue as object) !== 'ws') return;
      return {
        onExecuteDone: ({ result }) => {
          record(operationOf.get(keyOf(args.contextValue as object)) ?? 'unknown', isAsyncIterable(result) ? {} : result);
        },
      };
    },
    onSubscribe({ args }) {
      if (over(args.contextValue as object) !== 'ws') return;
      return {
        onSubscribeResult: ({ result }) => record('subscription', isAsyncIterable(result) ? {} : result),
      };
    },
    onResultProcess({ request, result }) {
      const first = Array.isArray(result) ? result[0] : result;
      const operation = operationOf.get(request) ?? 'unknown';
      if (Array.isArray(result)) for (const r of result) record(operation, r);
      else record(operation, isAsyncIterable(first) ? {} : first);
    },
  };
}

function codeOf(result: unknown): string {
  const errors = (result as ExecutionResult | undefined)?.errors as readonly GraphQLError[] | undefined;
  if (!errors?.length) return 'none';
  const code = errors[0]?.extensions?.code;
  return typeof code === 'string' && CODE.test(code) ? code : 'UNCODED';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
