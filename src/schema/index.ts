import type { GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './integration-types.js';
import './integration-inputs.js';
import './integration-fields.js';
import './api-key-fields.js';
import './audit-log-fields.js';
import './viewer-fields.js';
import './delivery-fields.js';

builder.queryType({});
builder.mutationType({});

let schema: GraphQLSchema | undefined;

/**
 * The gateway's GraphQL schema, built once from the Pothos modules.
 *
 * @example
 * ```ts
 * const yoga = createYoga({ schema: buildSchema() });
 * ```
 */
export function buildSchema(): GraphQLSchema {
  schema ??= builder.toSchema({ sortSchema: false });
  return schema;
}

export { INPUT_TYPE_PATHS } from './integration-inputs.js';
