import { prepareEvents, type PrepareResult } from './prepare-events.js';

/** A piscina task: one request body to prepare (see {@link prepareEvents}). */
export interface PrepareTask {
  body: Uint8Array;
  maxEvents: number;
  now: number;
}

/** The worker's entry point, run by `EventPreparer`'s pool. */
export default function prepare(task: PrepareTask): PrepareResult {
  return prepareEvents(task.body, task);
}
