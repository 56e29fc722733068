import { randomUUID } from 'node:crypto';
import { ADMIN_TOKEN, readJsonAnswer } from './gateway.js';

/** A producer event in the canonical JSON shape, with its own UUID so that the receiving side can be checked by id. */
export interface TestEvent {
  id: string;
  type: string;
  severity: string;
  customerId?: string;
  name?: string;
  [field: string]: unknown;
}

/** One valid event; `overrides` win. */
export function makeEvent(overrides: Partial<TestEvent> = {}): TestEvent {
  return { id: randomUUID(), type: 'scan', severity: 'HIGH', name: 'Prompt Injection Detected', ...overrides };
}

/** `n` valid events with fresh UUIDs (`data.n` is the index); `overrides` (or `overrides(i)` for the i-th) win. */
export function makeEvents(n: number, overrides: Partial<TestEvent> | ((i: number) => Partial<TestEvent>) = {}): TestEvent[] {
  return Array.from({ length: n }, (_, i) => makeEvent({ data: { n: i }, ...(typeof overrides === 'function' ? overrides(i) : overrides) }));
}

/** The gateway's answer to `POST /v1/events`. */
export interface IngestAnswer {
  status: number;
  /** The answer parsed as JSON, or its text when it is not JSON. */
  body: any;
  /** The answer parsed as JSON (`undefined` when it is not JSON). */
  json: any;
  text: string;
  headers: Headers;
}

/**
 * `POST /v1/events` as a producer does it: a JSON array (or a raw body), as `token` (default the bootstrap admin;
 * null sends none).
 */
export async function postEvents(
  baseUrl: string,
  events: unknown[] | string | Buffer,
  options: { token?: string | null; contentType?: string; headers?: Record<string, string> } = {},
): Promise<IngestAnswer> {
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  const payload = typeof events === 'string' || Buffer.isBuffer(events) ? events : JSON.stringify(events);
  const response = await fetch(`${baseUrl}/v1/events`, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...options.headers,
    },
    // fetch takes a Buffer at run time; the DOM typings only know BodyInit.
    body: payload as unknown as string,
  });
  const { status, text, json } = await readJsonAnswer(response);
  return { status, body: json === undefined ? text : json, json, text, headers: response.headers };
}
