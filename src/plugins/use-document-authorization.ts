import { GraphQLError, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLNamedType, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors.js';

/** The caller as the document check needs it: a name for messages and the scopes it holds. */
export interface DocumentCaller {
  role: string;
  /** Scope name → held (e.g. `{ admin: false, reader: true }`). */
  scopes: object;
}

/** Options of {@link useDocumentAuthorization}. */
export interface DocumentAuthorizationOptions {
  /** The caller of an operation, from its context; undefined for none (nothing is checked then). */
  callerOf(context: Record<string, unknown>): DocumentCaller | undefined;
}

/**
 * Refuses, before anything executes, a document that selects any field the caller's role may not use:
 * the whole document executes nothing (no partial side effects such as stored events next to a refused
 * field) and every such field is reported with `extensions.code` FORBIDDEN. The requirements are the ones
 * the schema declares (Pothos scope-auth's `authScopes` on fields and object types), read from the
 * schema, so there is no second list; scope-auth still checks them again at execution.
 *
 * Runs as the first step of execution and of subscription (not as a validation rule: Yoga caches
 * validation results per document, and this answer depends on the caller), over every field of every
 * operation and fragment of the document, on every transport.
 *
 * Scope maps are evaluated like scope-auth does: any listed scope suffices, `$all` needs all of its
 * scopes, `$any` one of them. Requirements only known at execution (functions, `$granted`) are left to it.
 *
 * @example
 * ```ts
 * createYoga({ plugins: [useDocumentAuthorization({ callerOf: (ctx) => ctx.principal && { role: ctx.principal.role, scopes: roleScopes(ctx.principal.role) } })] });
 * ```
 */
export function useDocumentAuthorization(options: DocumentAuthorizationOptions): Plugin {
  const refuse = (args: { schema: GraphQLSchema; document: DocumentNode; contextValue: unknown }) => {
    const caller = options.callerOf(args.contextValue as Record<string, unknown>);
    if (!caller) return undefined;
    const errors = forbiddenFields(args.schema, args.document, caller);
    return errors.length > 0 ? { errors } : undefined;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const refused = refuse(args);
      if (refused) setResultAndStopExecution(refused);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refused = refuse(args);
      if (refused) setResultAndStopExecution(refused);
    },
  };
}

/** One FORBIDDEN error per selected field of `document` that `caller` may not use. */
export function forbiddenFields(schema: GraphQLSchema, document: DocumentNode, caller: DocumentCaller): GraphQLError[] {
  const errors: GraphQLError[] = [];
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (!parent || !field) return;
        const required = [scopesOf(parent), (field.extensions as { pothosOptions?: { authScopes?: unknown } } | undefined)?.pothosOptions?.authScopes];
        if (required.every((r) => allows(r, caller.scopes))) return;
        errors.push(
          new GraphQLError(`Role ${caller.role} may not use ${parent.name}.${field.name}; nothing in this document was executed`, {
            nodes: [node],
            extensions: { code: ErrorCode.FORBIDDEN },
          }),
        );
      },
    }),
  );
  return errors;
}

function scopesOf(type: GraphQLNamedType): unknown {
  return (type.extensions as { pothosOptions?: { authScopes?: unknown } } | undefined)?.pothosOptions?.authScopes;
}

/** Whether `scopes` satisfy a scope-auth requirement map; true for requirements decided only at execution. */
export function allows(required: unknown, scopes: object): boolean {
  if (required === undefined || required === null || typeof required !== 'object') return true;
  const entries = Object.entries(required as Record<string, unknown>);
  if (entries.length === 0) return true;
  return entries.some(([scope, value]) => {
    if (scope === '$all') return Object.entries(value as Record<string, unknown>).every(([s, v]) => allows({ [s]: v }, scopes));
    if (scope === '$any') return allows(value, scopes);
    if (scope.startsWith('$')) return true;
    return value !== false && (scopes as Record<string, unknown>)[scope] === true;
  });
}
