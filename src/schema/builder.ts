import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import { GraphQLError } from 'graphql';
import { DateTimeResolver, JSONObjectResolver } from 'graphql-scalars';
import { roleScopes, type RoleScopes } from '../auth/api-token.js';
import { ErrorCode, forbidden } from '../errors.js';
import type { GatewayContext } from './context.js';

/**
 * Formats standard-schema issues as one client-facing message naming each input path and rule,
 * e.g. `input.config.splunk.endpoint: must be an http or https URL`.
 */
function formatIssues(issues: readonly { message: string; path?: readonly (PropertyKey | { key: PropertyKey })[] }[], prefix: string[]): GraphQLError {
  const lines = issues.map((issue) => {
    const path = [...prefix, ...(issue.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p))].join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const first = issues[0];
  const field = first ? [...prefix, ...(first.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p))].join('.') : undefined;
  return new GraphQLError(lines.join('; '), { extensions: { code: ErrorCode.BAD_USER_INPUT, field } });
}

/** The Pothos builder every schema module adds to. */
export const builder = new SchemaBuilder<{
  Context: GatewayContext;
  AuthScopes: RoleScopes;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
}>({
  plugins: [ScopeAuthPlugin, ValidationPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    // Refuse a subscription when it is created, not on each event.
    authorizeOnSubscribe: true,
    authScopes: (ctx) => roleScopes(ctx.principal.role),
    unauthorizedError: (_parent, ctx, info) =>
      forbidden(`Role ${ctx.principal.role} may not use ${info.parentType.name}.${info.fieldName}`),
  },
  validation: {
    validationError: (result) => formatIssues(result.issues, []),
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSONObject', JSONObjectResolver);
