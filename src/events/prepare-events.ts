import { ErrorCode } from '../errors.js';
import { EventValidationError, integerLiteralsOf, parseSecurityEventBatch } from './event-schema.js';
import { toStoredEvents } from './stored-event.js';
import { decodeUtf8Strict, pathOfMarker } from './utf8.js';

/** A request's events, validated and serialised once, ready to append to the log. */
export interface PreparedEvents {
  count: number;
  /** The events' stored lines joined by "\n" (see `toStoredLine`). */
  lines: string;
  /** JSON of the events' {@link EventFacts}, in the same order. */
  facts: string;
  /** Unknown top-level fields moved under `data`. */
  movedToData: number;
}

/** Why a body was refused: nothing of it is stored. */
export interface PrepareRefusal {
  status: 400 | 413;
  code: typeof ErrorCode.BAD_USER_INPUT | typeof ErrorCode.PAYLOAD_TOO_LARGE;
  message: string;
  /** Per event and field, for validation failures (at most 100). */
  issues?: { path: string; message: string }[];
}

/** The outcome of {@link prepareEvents}: plain data, so that it crosses a worker boundary as it is. */
export type PrepareResult = { ok: true; events: PreparedEvents } | ({ ok: false } & PrepareRefusal);

/**
 * Everything `POST /v1/events` does to a body before the store sees it: strict UTF-8, a JSON array, a single
 * object or NDJSON, the event rules (`parseSecurityEventBatch`), then each event serialised once as its stored
 * line with its routing facts. Pure and synchronous, so it runs on the main thread or in a worker alike.
 *
 * @example
 * ```ts
 * const result = prepareEvents(Buffer.from('[{"type":"scan","severity":"HIGH"}]'), { maxEvents: 10_000, now: Date.now() });
 * if (result.ok) result.events.count; // 1
 * ```
 */
export function prepareEvents(body: Uint8Array, options: { maxEvents: number; now: number }): PrepareResult {
  let raw: unknown[];
  let text: string;
  try {
    text = decodeUtf8Strict(body, (lenient, marker) => pathOfMarker(parseBody(lenient), marker, 'events'));
    raw = parseBody(text);
  } catch (error) {
    return refuse(400, (error as Error).message);
  }
  if (raw.length === 0) return refuse(400, 'events: send at least one event');
  if (raw.length > options.maxEvents) return { ok: false, status: 413, code: ErrorCode.PAYLOAD_TOO_LARGE, message: `events: at most ${options.maxEvents} events per request, got ${raw.length}` };
  try {
    const { events, movedToData } = parseSecurityEventBatch(raw, new Date(options.now), { integerLiteral: integerLiteralsOf(text) });
    const { lines, facts } = toStoredEvents(events);
    return { ok: true, events: { count: events.length, lines: lines.join('\n'), facts: JSON.stringify(facts), movedToData } };
  } catch (error) {
    if (error instanceof EventValidationError) return { ...refuse(400, error.message), issues: error.issues.slice(0, 100) };
    throw error;
  }
}

function refuse(status: 400, message: string): { ok: false } & PrepareRefusal {
  return { ok: false, status, code: ErrorCode.BAD_USER_INPUT, message };
}

/** A JSON array, a single JSON object, or NDJSON. */
function parseBody(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    const parsed = parseJson(trimmed, 'body');
    if (!Array.isArray(parsed)) throw new Error('body: must be a JSON array of events');
    return parsed;
  }
  return trimmed
    .split('\n')
    .map((line, i) => [line.trim(), i] as const)
    .filter(([line]) => line.length > 0)
    .map(([line, i]) => parseJson(line, `line ${i + 1}`));
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${where}: not valid JSON (${(error as Error).message})`);
  }
}
