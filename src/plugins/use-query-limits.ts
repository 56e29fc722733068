import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** `extensions.code` of an operation refused for its size or shape. */
export const QUERY_LIMIT_EXCEEDED = 'QUERY_LIMIT_EXCEEDED';

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
   * level, times the literal `first`/`last` of a list). The default admits the product's own largest query,
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
          costLimit: { maxCost: options.maxCost ?? DEFAULT_MAX_COST, ...report },
          blockFieldSuggestion: { enabled: options.blockFieldSuggestions ?? false },
        }),
      );
    },
    onParse({ params }) {
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      const depth = maxBracketNesting(source, maxNesting);
      if (depth > maxNesting) throw limitError(`Syntax Error: nesting deeper than ${maxNesting} levels`);
    },
  };
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
