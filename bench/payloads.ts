import { BATCH_SIZE, INGEST_CHUNK_EVENTS, WARMUP_EVENTS } from './config.js';
import { hecBatchBodies, ingestBodies, makeEvents, ndjsonBuffers, syslogBatches } from './events.js';

/** The customer every throughput event belongs to; the integrations are scoped to it, so audit events stay out. */
export const THROUGHPUT_CUSTOMER = 'cust_bench';
/** HEC event endpoint path on a receiver. */
export const HEC_PATH = '/services/collector/event';

/** One set of throughput events in every form a scenario needs, generated before any timing. */
export interface ThroughputPayloads {
  events: number;
  /** Bytes of one event as posted (JSON), on average. */
  eventBytes: number;
  /** `POST /v1/events` bodies, {@link INGEST_CHUNK_EVENTS} events each. */
  ingest: string[];
  /** Bodies of other events for the warm-up. */
  warmup: string[];
  /** HEC batch bodies of {@link BATCH_SIZE} envelopes: what the wire ceiling posts. */
  hec: string[];
  /** Octet-counted RFC 5424 + CEF frames, {@link BATCH_SIZE} per buffer: what the TCP ceiling writes. */
  syslog: Buffer[];
  /** The HEC `event` objects as NDJSON, {@link BATCH_SIZE} lines per buffer: what syslog-ng's source is fed. */
  ndjson: Buffer[];
}

const cache = new Map<number, Promise<ThroughputPayloads>>();

/**
 * The payloads for `count` events, built once per count and shared by every scenario (the event
 * objects themselves are dropped once serialised, to keep the bench process small).
 */
export function payloadsFor(count: number): Promise<ThroughputPayloads> {
  let payloads = cache.get(count);
  if (!payloads) {
    payloads = Promise.resolve().then(() => build(count));
    cache.set(count, payloads);
  }
  return payloads;
}

function build(count: number): ThroughputPayloads {
  const events = makeEvents(count, THROUGHPUT_CUSTOMER);
  const ingest = ingestBodies(events, INGEST_CHUNK_EVENTS);
  return {
    events: count,
    eventBytes: Math.round(ingest.reduce((sum, body) => sum + Buffer.byteLength(body), 0) / count),
    ingest,
    warmup: ingestBodies(makeEvents(WARMUP_EVENTS, THROUGHPUT_CUSTOMER), INGEST_CHUNK_EVENTS),
    hec: hecBatchBodies(events, BATCH_SIZE),
    syslog: syslogBatches(events, BATCH_SIZE),
    ndjson: ndjsonBuffers(events, BATCH_SIZE),
  };
}
