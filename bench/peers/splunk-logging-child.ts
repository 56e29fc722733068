/**
 * splunk-logging (Splunk's Node HEC library) as a peer, in a process of its own (forked by
 * splunk-logging.ts, so its CPU and heap are not the bench's). In memory, no durability: `send()`
 * serialises each event into the logger's queue, `maxBatchCount` 500 flushes every 500 events as one
 * HEC request (envelopes back to back, as the library sends them). The `event` is the same object the
 * other forwarders carry (`eventFormatter` returns it as is instead of wrapping it in `{message, severity}`).
 *
 * Protocol (IPC): bench → `{ cmd: 'warmup', url, token, batch, customerId, events }`, child → `{ type: 'warm' }`
 * once the warm-up events are sent; bench → `{ cmd: 'go', events }`, child → `{ type: 'sent', startedAt, sentAt }`
 * once every event is handed to the logger; `{ type: 'error', message }` on a failed request.
 */
import { createRequire } from 'node:module';
import { hecEvent, makeEvents, BENCH_HOST } from '../events.js';
import { wallClockMs } from '../measure.js';

interface SplunkLoggerConfig {
  token: string;
  url: string;
  maxBatchCount: number;
  maxBatchSize: number;
  batchInterval: number;
  maxRetries: number;
}
interface SplunkLogger {
  eventFormatter: (message: unknown, severity: string) => unknown;
  error: (error: Error, context: unknown) => void;
  send(context: { message: unknown; metadata?: Record<string, string> }, callback?: (error: Error | null) => void): void;
  flush(callback?: (error: Error | null) => void): void;
}

const require = createRequire(import.meta.url);
const { Logger } = require('splunk-logging') as { Logger: new (config: SplunkLoggerConfig) => SplunkLogger };

type Command =
  | { cmd: 'warmup'; url: string; token: string; batch: number; customerId: string; events: number }
  | { cmd: 'go'; events: number };

let logger: SplunkLogger | undefined;
let customerId = 'cust_bench';
const metadata = { host: BENCH_HOST, sourcetype: '_json' };
const reply = (message: Record<string, unknown>) => process.send?.(message);

function sendAll(events: Record<string, unknown>[]): void {
  for (const event of events) logger!.send({ message: event, metadata });
}

process.on('message', (raw) => {
  const command = raw as Command;
  if (command.cmd === 'warmup') {
    customerId = command.customerId;
    logger = new Logger({ token: command.token, url: command.url, maxBatchCount: command.batch, maxBatchSize: 0, batchInterval: 0, maxRetries: 0 });
    logger.eventFormatter = (message) => message;
    logger.error = (error) => reply({ type: 'error', message: error.message });
    sendAll(makeEvents(command.events, customerId).map(hecEvent));
    reply({ type: 'warm' });
  } else {
    // Generated before the clock starts: the forwarder's work is from `send()` on.
    const events = makeEvents(command.events, customerId).map(hecEvent);
    const startedAt = wallClockMs();
    sendAll(events);
    reply({ type: 'sent', startedAt, sentAt: wallClockMs() });
  }
});
process.on('disconnect', () => process.exit(0));
