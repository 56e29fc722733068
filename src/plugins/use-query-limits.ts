import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { GraphQLError, Kind, getOperationAST, validate, visit, type ArgumentNode, type DocumentNode, type GraphQLSchema, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors.js';

/** `extensions.code` of an operation refused for its size or shape. */
export const QUERY_LIMIT_EXCEEDED = ErrorCode.QUERY_LIMIT_EXCEEDED;

/** Default of {@link QueryLimitsOptions.maxCost}. */
export const DEFAULT_MAX_COST = 100_000;

/** Options of {@link useQueryLimits}. */
export interface QueryLimitsOptions {
  /** Deepest selection nesting (introspection excepted). @default 12 */
  maxDepth?: number;
  /** Most aliases in one operation. @default 15 */
  maxAliases?: number;
  /** Most directives in one operation. @default 20 */
  maxDirectives?: number;
  /** Most tokens in one document. @default 4000 */
  maxTokens?: number;
  /**
   * Highest estimated cost (graphql-armor's estimate: an object field 2, a leaf 1, times 1.5 per nesting
   * level, times the `first`/`last` of a list: a literal, or a variable's value, checked again once the
   * variables are known, since validation results are cached per document). The default admits the product's own largest query,
   * every field of every type reachable from `Query` with pages of 500 (about 53,000), and refuses fragment
   * bombs (10^3 copies of a list selection cost about 600,000). @default 100000
   */
  maxCost?: number;
  /**
   * Deepest nesting of brackets (`{`, `[`, `(`) in the document text, checked before parsing: graphql-js
   * parses recursively, and a few thousand nested list literals overflow its stack. @default 64
   */
  maxNesting?: number;
  /** Hide "Did you mean …?" suggestions (with introspection off). @default false */
  blockFieldSuggestions?: boolean;
}

/**
 * Refuses operations too deep, too wide, too aliased, too costly or too deeply nested, before they
 * execute, with `extensions.code` {@link QUERY_LIMIT_EXCEEDED}. Builds on graphql-armor.
 *
 * @example
 * ```ts
 * createYoga({ plugins: [useQueryLimits({ maxDepth: 12, maxAliases: 15 })] });
 * ```
 */
export function useQueryLimits(options: QueryLimitsOptions = {}): Plugin {
  const maxNesting = options.maxNesting ?? 64;
  const maxCost = options.maxCost ?? DEFAULT_MAX_COST;
  const refuseCostly = ({ args, setResultAndStopExecution }: { args: ExecutionArgsLike; setResultAndStopExecution: (result: { errors: GraphQLError[] }) => void }) => {
    const error = costWithVariables(args, maxCost);
    if (error) setResultAndStopExecution({ errors: [error] });
  };
  return {
    onPluginInit({ addPlugin }) {
      // Validation-time limits report a coded error instead of throwing armor's uncoded one.
      const report = { propagateOnRejection: false, onReject: [(ctx: ValidationContext | null, error: GraphQLError) => ctx?.reportError(limitError(error.message, error))] };
      addPlugin(
        EnvelopArmorPlugin({
          maxDepth: { n: options.maxDepth ?? 12, ignoreIntrospection: true, ...report },
          maxAliases: { n: options.maxAliases ?? 15, ...report },
          maxDirectives: { n: options.maxDirectives ?? 20, ...report },
          maxTokens: { n: options.maxTokens ?? 4000 },
          costLimit: { maxCost, ...report },
          blockFieldSuggestion: { enabled: options.blockFieldSuggestions ?? false },
        }),
      );
    },
    onParse({ params }) {
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      const depth = maxBracketNesting(source, maxNesting);
      if (depth > maxNesting) throw limitError(`Syntax Error: nesting deeper than ${maxNesting} levels`);
    },
    // Validation knows only literals (`first: $n` counts as 1) and its result is cached per document: the
    // cost is estimated again with the request's variables before anything runs.
    onExecute: refuseCostly,
    onSubscribe: refuseCostly,
  };
}

interface ExecutionArgsLike {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: Record<string, unknown> | null;
}

const PAGE_ARGUMENTS = new Set(['first', 'last']);

/**
 * graphql-armor's cost estimate of the document with each `first: $var`/`last: $var` replaced by the
 * variable's value (or default) in the executed operation; an error when it exceeds `maxCost`. Documents
 * without such a variable are left to the validation-time check.
 */
function costWithVariables(args: ExecutionArgsLike, maxCost: number): GraphQLError | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation?.variableDefinitions?.length) return undefined;
  const values = new Map<string, unknown>();
  for (const definition of operation.variableDefinitions) {
    const name = definition.variable.name.value;
    const given = args.variableValues?.[name];
    if (given !== undefined && given !== null) values.set(name, given);
    else if (definition.defaultValue?.kind === Kind.INT) values.set(name, Number.parseInt(definition.defaultValue.value, 10));
  }
  let inlined = false;
  const document = visit(args.document, {
    Argument(node: ArgumentNode) {
      if (!PAGE_ARGUMENTS.has(node.name.value) || node.value.kind !== Kind.VARIABLE) return undefined;
      const value = values.get(node.value.name.value);
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return undefined;
      inlined = true;
      return { ...node, value: { kind: Kind.INT, value: String(value) } };
    },
  });
  if (!inlined) return undefined;
  let refusal: GraphQLError | undefined;
  validate(args.schema, document, [
    costLimitRule({ maxCost, propagateOnRejection: false, onReject: [(_ctx: unknown, error: GraphQLError) => (refusal ??= limitError(error.message))] }),
  ]);
  return refusal;
}

function limitError(message: string, original?: GraphQLError): GraphQLError {
  return new GraphQLError(message, {
    nodes: original?.nodes,
    extensions: { ...original?.extensions, code: QUERY_LIMIT_EXCEEDED, http: { status: 400 } },
  });
}

/** Deepest bracket nesting outside strings and comments; stops counting past `stopAt`. */
function maxBracketNesting(source: string, stopAt: number): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '#') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (c === '"') {
      const block = source.startsWith('"""', i);
      i += block ? 3 : 1;
      while (i < source.length && !(block ? source.startsWith('"""', i) : source[i] === '"' || source[i] === '\n')) {
        if (source[i] === '\\') i++;
        i++;
      }
      if (block) i += 2;
    } else if (c === '{' || c === '[' || c === '(') {
      depth++;
      if (depth > max && (max = depth) > stopAt) return max;
    } else if (c === '}' || c === ']' || c === ')') {
      depth--;
    }
  }
  return max;
}
