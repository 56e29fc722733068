import type { Plugin } from 'graphql-yoga';
import { UnsupportedMediaTypeError } from '../errors.js';

/**
 * Accepts GraphQL POST bodies only as `application/json` (the GraphQL-over-HTTP request media type; a
 * `charset` parameter is fine). Form bodies (`application/x-www-form-urlencoded`, `multipart/form-data`),
 * `text/plain` and `application/graphql` — what a foreign web page can send cross-origin without a CORS
 * preflight — are answered 415 with `extensions.code` UNSUPPORTED_MEDIA_TYPE before anything is parsed or run.
 *
 * @example
 * ```ts
 * createYoga({ plugins: [useJsonRequests()] });
 * ```
 */
export function useJsonRequests(): Plugin {
  return {
    onRequest({ request, fetchAPI, endResponse }) {
      if (request.method.toUpperCase() !== 'POST') return;
      const contentType = request.headers.get('content-type') ?? '';
      const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
      if (mediaType === 'application/json') return;
      const message = `GraphQL requests must be sent as Content-Type: application/json${contentType ? `, not ${JSON.stringify(contentType.slice(0, 100))}` : ''}`;
      endResponse(
        new fetchAPI.Response(JSON.stringify(new UnsupportedMediaTypeError(message).toGraphQLResult()), {
          status: 415,
          headers: { 'content-type': 'application/json; charset=utf-8', accept: 'application/json' },
        }),
      );
    },
  };
}
