import { NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Refuses introspection (`__schema`, `__type`) at validation, on every transport. Unlike
 * `@graphql-yoga/plugin-disable-introspection`, which marks HTTP requests in `onRequestParse` and so never
 * sees graphql-ws operations (they reach Yoga through `getEnveloped`, not as requests), the rule is added
 * for every document validated.
 *
 * @example
 * ```ts
 * createYoga({ plugins: settings.graphiql ? [] : [useNoIntrospection()] });
 * ```
 */
export function useNoIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
