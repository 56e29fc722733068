import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../errors.js';
import { contentCodingOf, readBody, sendJson, type ContentCoding } from './read-body.js';

/** What the GraphQL route needs of Yoga: its Node request listener (Yoga is one). */
export interface GraphQLNodeHandler {
  requestListener: (req: never, res: ServerResponse, ...context: { req: IncomingMessage }[]) => unknown;
}

/** Options of {@link handleGraphQL}. */
export interface GraphQLEndpointOptions {
  yoga: GraphQLNodeHandler;
  /** Largest request body, once inflated (SIEMGATE_MAX_BODY_BYTES). */
  maxBodyBytes: number;
}

/**
 * GraphQL over HTTP on Yoga's own Node adapter. The body is read first, under `maxBodyBytes`, gzip or
 * deflate inflated (the limit applying to the inflated size): 413 PAYLOAD_TOO_LARGE, 415
 * UNSUPPORTED_MEDIA_TYPE (another Content-Encoding) or 400 BAD_USER_INPUT (a corrupt compressed body) in
 * the GraphQL-over-HTTP shape `{"errors": [{"message", "extensions": {"code"}}]}`; the read body is then handed to
 * Yoga, which also streams subscriptions (SSE) and cancels them when the client goes away.
 *
 * @example
 * ```ts
 * if (url.pathname === GRAPHQL_PATH) return handleGraphQL(req, res, { yoga, maxBodyBytes });
 * ```
 */
export async function handleGraphQL(req: IncomingMessage, res: ServerResponse, { yoga, maxBodyBytes }: GraphQLEndpointOptions): Promise<void> {
  let body: Buffer | undefined;
  let coding: ContentCoding = 'identity';
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    try {
      // gzip or deflate bodies are inflated here, SIEMGATE_MAX_BODY_BYTES applying to the inflated size.
      coding = contentCodingOf(req);
      body = await readBody(req, maxBodyBytes, { coding });
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      req.resume();
      return sendJson(res, error.status, error.toGraphQLResult(), { ...error.headers, connection: 'close' });
    }
  }
  await yoga.requestListener(body === undefined ? (req as never) : (withBody(req, body, coding) as never), res, { req });
}

/**
 * The request as Yoga's Node adapter reads it, with the body already read: an async iterable of that body
 * (the adapter's `body: rawRequest` path), the request's URL, method and socket, and its headers (without
 * Content-Encoding and Content-Length when the body handed on is inflated).
 */
function withBody(req: IncomingMessage, body: Buffer, coding: ContentCoding) {
  let headers: IncomingHttpHeaders = req.headers;
  if (coding !== 'identity') {
    headers = { ...req.headers };
    delete headers['content-encoding'];
    delete headers['content-length'];
  }
  return {
    url: req.url,
    method: req.method,
    headers,
    socket: req.socket,
    async *[Symbol.asyncIterator]() {
      if (body.length > 0) yield body;
    },
  };
}
