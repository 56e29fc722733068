import {
  getNamedType,
  isAbstractType,
  isLeafType,
  isNonNullType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';

/** Options of {@link selectEverything}. */
export interface SelectEverythingOptions {
  /**
   * The literal for an argument (e.g. `"500"` for `first`, a quoted id for `integrationId`), or undefined to
   * leave an optional argument out. A required argument without a value skips its field.
   */
  argument: (field: GraphQLField<unknown, unknown>, arg: GraphQLArgument) => string | undefined;
  /** How many times one type may appear on the path from the root (cycles are cut here). @default 1 */
  maxTypeRepeats?: number;
}

/**
 * A query selecting every field of every type reachable from `Query`, generated from the schema: unions
 * and interfaces through an inline fragment per possible type (plus `__typename`; a field whose type differs
 * from a same-named field of another member is aliased `<field><Type>`), arguments from
 * `options.argument`, and cycles cut where a type would repeat on its own path.
 *
 * @example
 * ```ts
 * const query = selectEverything(schema, { argument: (f, a) => (a.name === 'first' ? '500' : undefined) });
 * ```
 */
export function selectEverything(schema: GraphQLSchema, options: SelectEverythingOptions): string {
  const maxRepeats = options.maxTypeRepeats ?? 1;
  const path: string[] = [];

  /** `siblings`: field name → type of fields already selected by other members of the same union (graphql-js refuses same-named leaves of different types: those get an alias). */
  const selection = (type: GraphQLNamedType, siblings?: Map<string, string>): string | null => {
    if (isLeafType(type)) return '';
    if (path.filter((t) => t === type.name).length >= maxRepeats) return null;
    path.push(type.name);
    try {
      if (isAbstractType(type)) {
        const seen = new Map<string, string>();
        const parts = schema.getPossibleTypes(type).map((possible) => {
          const inner = selection(possible, seen);
          return inner ? `... on ${possible.name} ${inner}` : null;
        });
        return `{ __typename ${parts.filter(Boolean).join(' ')} }`;
      }
      if (!isObjectType(type)) return null;
      const fields: string[] = [];
      for (const field of Object.values(type.getFields())) {
        const args: string[] = [];
        let skip = false;
        for (const arg of field.args) {
          const value = options.argument(field as GraphQLField<unknown, unknown>, arg);
          if (value !== undefined) args.push(`${arg.name}: ${value}`);
          else if (isNonNullType(arg.type) && arg.defaultValue === undefined) skip = true;
        }
        if (skip) continue;
        const inner = selection(getNamedType(field.type));
        if (inner === null) continue;
        const typeName = String(field.type);
        const alias = siblings?.has(field.name) && siblings.get(field.name) !== typeName ? `${field.name}${type.name}: ` : '';
        if (!alias) siblings?.set(field.name, typeName);
        fields.push(`${alias}${field.name}${args.length ? `(${args.join(', ')})` : ''}${inner ? ` ${inner}` : ''}`);
      }
      return fields.length ? `{ ${fields.join(' ')} }` : null;
    } finally {
      path.pop();
    }
  };

  const query = schema.getQueryType();
  if (!query) throw new Error('the schema has no Query type');
  return `query Everything ${selection(query)}`;
}
