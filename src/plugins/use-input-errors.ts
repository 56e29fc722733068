import { GraphQLError, Kind, visit, type ASTNode, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors.js';

/** Options of {@link useInputErrors}. */
export interface InputErrorsOptions {
  /**
   * Input object type name → the path clients know it by, e.g. `SplunkConfigInput` → `config.splunk`,
   * used when graphql-js names a type rather than a path (literal values in the query text).
   */
  inputTypePaths: Record<string, string>;
}

const REQUIRED_FIELD = /^Field "(?:(\w+)\.)?(\w+)" of required type "([^"]+)" was not provided\.$/;
const ONE_OF = /OneOf Input Object "(\w+)" must specify exactly one key|Exactly one key must be specified for OneOf type "(\w+)"|must be non-null for OneOf type "(\w+)"/;
const UNKNOWN_FIELD = /^Field "(\w+)" is not defined by type "(\w+)"/;
const VARIABLE = /^Variable "\$(\w+)" got invalid value .*?(?: at "([^"]+)")?; (.*)$/s;
const VARIABLE_MISSING = /^Variable "\$(\w+)" of (?:required|non-null) type "([^"]+)" (?:was not provided|must not be null)\.$/;
const TOO_MANY_ERRORS = /^Too many errors processing variables/;

/**
 * Rewrites graphql-js's own input errors (a missing required field, two `@oneOf` members, an unknown
 * field, a wrong scalar; both in query literals and in variables) into `BAD_USER_INPUT` errors whose
 * message names the input path the way the client wrote it, e.g.
 * `input.config.splunk.token: is required (String!)`. Other errors pass through untouched.
 *
 * @example
 * ```ts
 * createYoga({ plugins: [useInputErrors({ inputTypePaths: INPUT_TYPE_PATHS })] });
 * ```
 */
export function useInputErrors(options: InputErrorsOptions): Plugin {
  const rewrite = <E extends Error>(errors: readonly E[], document?: DocumentNode) =>
    errors.map((e) => (e instanceof GraphQLError ? rewriteError(e, document, options.inputTypePaths) : e));
  return {
    onValidate: ({ params }) => ({ result, setResult }) => {
      if (result.length > 0) setResult(rewrite(result, params.documentAST));
    },
    onExecute: ({ args }) => ({
      onExecuteDone: ({ result, setResult }) => {
        if ('errors' in result && result.errors?.length && !('data' in result && result.data)) {
          setResult({ ...result, errors: rewrite(result.errors, args.document) });
        }
      },
    }),
    onSubscribe: ({ args }) => ({
      onSubscribeResult: ({ result, setResult }) => {
        if ('errors' in result && result.errors?.length) setResult({ ...result, errors: rewrite(result.errors, args.document) } as never);
      },
    }),
  };
}

function rewriteError(error: GraphQLError, document: DocumentNode | undefined, typePaths: Record<string, string>): GraphQLError {
  const message = error.message;
  const missing = VARIABLE_MISSING.exec(message);
  if (missing) return badInput(missing[1]!, `is required (${missing[2]})`, error);
  if (TOO_MANY_ERRORS.test(message)) return badInput('variables', 'too many invalid values; fix the errors above and send again', error);
  const variable = VARIABLE.exec(message);
  if (variable) {
    const [, name, at, reason] = variable as unknown as [string, string, string | undefined, string];
    const base = at ?? name;
    const required = REQUIRED_FIELD.exec(reason);
    if (required) return badInput(`${base}.${required[2]}`, `is required (${required[3]})`, error);
    const unknown = UNKNOWN_FIELD.exec(reason);
    if (unknown) return badInput(`${base}.${unknown[1]}`, `is not a field of ${unknown[2]}`, error);
    if (ONE_OF.test(reason)) return badInput(base, 'must give exactly one destination (one field), not none or several', error);
    return badInput(base, reason.replace(/\.$/, ''), error);
  }

  const literalPath = document && error.nodes?.[0] ? pathOf(document, error.nodes[0]) : undefined;
  const required = REQUIRED_FIELD.exec(message);
  if (required) {
    const [, typeName, field, type] = required;
    const base = literalPath ?? (typeName ? typePaths[typeName] : undefined);
    return badInput(base ? `${base}.${field}` : field!, `is required (${type})`, error);
  }
  const oneOf = ONE_OF.exec(message);
  if (oneOf) {
    const typeName = oneOf[1] ?? oneOf[2] ?? oneOf[3]!;
    return badInput(literalPath ?? typePaths[typeName] ?? typeName, 'must give exactly one destination (one field), not none or several', error);
  }
  const unknown = UNKNOWN_FIELD.exec(message);
  if (unknown) {
    const base = literalPath ? literalPath.split('.').slice(0, -1).join('.') : typePaths[unknown[2]!];
    return badInput(base ? `${base}.${unknown[1]}` : unknown[1]!, `is not a field of ${unknown[2]}`, error);
  }
  if (literalPath && error.nodes?.[0] && isValueNode(error.nodes[0])) {
    return badInput(literalPath, message.replace(/\.$/, ''), error);
  }
  return error;
}

function badInput(path: string, rule: string, original: GraphQLError): GraphQLError {
  return new GraphQLError(`${path}: ${rule}`, {
    nodes: original.nodes,
    source: original.source,
    positions: original.positions,
    // Keep what Yoga put there (e.g. `http.status` 400 for a request error), set the code and the path.
    extensions: { ...original.extensions, code: ErrorCode.BAD_USER_INPUT, field: path },
  });
}

const VALUE_KINDS = new Set<string>([Kind.INT, Kind.FLOAT, Kind.STRING, Kind.BOOLEAN, Kind.NULL, Kind.ENUM, Kind.LIST, Kind.OBJECT]);
const isValueNode = (node: ASTNode) => VALUE_KINDS.has(node.kind);

/** The argument/object-field path leading to `target` in the document, e.g. `input.config.syslog.port`. */
function pathOf(document: DocumentNode, target: ASTNode): string | undefined {
  const stack: string[] = [];
  let found: string | undefined;
  visit(document, {
    enter(node) {
      if (found !== undefined) return false;
      if (node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) stack.push(node.name.value);
      if (node === target || (node.loc && target.loc && node.loc.start === target.loc.start && node.loc.end === target.loc.end && node.kind === target.kind)) {
        found = stack.join('.');
        return false;
      }
      return undefined;
    },
    leave(node) {
      if (node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) stack.pop();
    },
  });
  return found || undefined;
}
