import { BATCH_SIZE, INGEST_CHUNK_EVENTS, WARMUP_EVENTS } from './config.js';
import { hecRequestBodies, ingestBodies, makeEvents, syslogBatches } from './events.js';

/** The customer every throughput event belongs to; the integrations are scoped to it, so audit events stay out. */
export const THROUGHPUT_CUSTOMER = 'cust_bench';
/** HEC event endpoint path on a receiver. */
export const HEC_PATH = '/services/collector/event';

/** One set of throughput events in every form a scenario needs, generated before any timing. */
export interface ThroughputPayloads {
  events: number;
  /** `POST /v1/events` bodies, {@link INGEST_CHUNK_EVENTS} events each. */
  ingest: string[];
  /** Bodies of other events for the warm-up. */
  warmup: string[];
  /** HEC batch bodies of {@link BATCH_SIZE} records, as the gateway's Splunk adapter serialises them. */
  hec: string[];
  /** Octet-counted syslog frames, {@link BATCH_SIZE} per buffer, as the gateway's syslog adapter writes them. */
  syslog: Buffer[];
}

const cache = new Map<number, Promise<ThroughputPayloads>>();

/**
 * The payloads for `count` events, built once per count and shared by every scenario (the event
 * objects themselves are dropped once serialised, to keep the bench process small).
 */
export function payloadsFor(count: number): Promise<ThroughputPayloads> {
  let payloads = cache.get(count);
  if (!payloads) {
    payloads = build(count);
    cache.set(count, payloads);
  }
  return payloads;
}

async function build(count: number): Promise<ThroughputPayloads> {
  const events = makeEvents(count, THROUGHPUT_CUSTOMER);
  return {
    events: count,
    ingest: ingestBodies(events, INGEST_CHUNK_EVENTS),
    warmup: ingestBodies(makeEvents(WARMUP_EVENTS, THROUGHPUT_CUSTOMER), INGEST_CHUNK_EVENTS),
    // The endpoint only configures the adapter; nothing in a body depends on it.
    hec: await hecRequestBodies(events, BATCH_SIZE, `http://127.0.0.1${HEC_PATH}`),
    syslog: await syslogBatches(events, BATCH_SIZE),
  };
}
