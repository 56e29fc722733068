import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { toGatewayError, type ClientErrorOptions } from '../service/client-error.js';
import { sendJson } from './read-body.js';

/**
 * Answers `error` as every route does: the status of its code, its headers (plus `headers`), and the body
 * `{"error": {"code", "message", ...details}}`.
 *
 * @example
 * ```ts
 * sendError(res, new NotFoundError(`No route for ${url.pathname}`));
 * ```
 */
export function sendError(res: ServerResponse, error: GatewayError, headers: Record<string, string> = {}): void {
  sendJson(res, error.status, error.toJSON(), { ...error.headers, ...headers });
}

/** Options of {@link answerError}. */
export interface AnswerErrorOptions extends ClientErrorOptions {
  log: Logger;
  /** Names the route in the log line of a server error, e.g. `settings API`. */
  route: string;
}

/**
 * The answer to an error a route let escape, the one place HTTP routes map errors to answers: the client form
 * of {@link toGatewayError}, or 500 INTERNAL_SERVER_ERROR `Unexpected error.` for anything else (logged, never
 * answered). What is left of the request body is drained; an answer already under way is cut off.
 *
 * @example
 * ```ts
 * try { await route(req, res); } catch (error) { answerError(req, res, error, { log, route: 'settings API' }); }
 * ```
 */
export function answerError(req: IncomingMessage, res: ServerResponse, error: unknown, { log, route, ...options }: AnswerErrorOptions): void {
  req.resume();
  const answer = toGatewayError(error, options);
  if (!answer || answer.code === ErrorCode.STORE_UNAVAILABLE) {
    const cause = answer ? (answer.cause ?? error) : error;
    log.error({ err: cause }, answer ? `${route}: store unavailable` : `unexpected error in the ${route}`);
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendError(res, answer ?? internalError());
}

/** INTERNAL_SERVER_ERROR: the message says nothing of the cause. */
export function internalError(): GatewayError {
  return new GatewayError(ErrorCode.INTERNAL_SERVER_ERROR, 'Unexpected error.');
}
