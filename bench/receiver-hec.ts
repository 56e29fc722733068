/**
 * A Splunk HEC stand-in, run as its own process by the bench (`fork` with `--import tsx`).
 * Listens on 127.0.0.1 and must never be the bottleneck: it counts the envelopes of every request by
 * scanning its bytes for the `"event":` key (no JSON parse), and parses and checks strictly a sample of
 * at least 1% of the events (every envelope of a sampled request: time, host, event id, type, severity,
 * timestamp, customer…; and the `Authorization: Splunk <token>` header). Answers `{"text":"Success","code":0}`,
 * or in mode `unavailable` 503 `{"text":"Server is busy","code":9}`. Counts, check results and the
 * receiver's own CPU time are reported over IPC (see receiver-protocol.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HEC_TOKEN } from './events.js';
import { wallClockMs } from './measure.js';
import { announceReady, EventCounter, serveReceiverCommands, type ReceiverMode } from './receiver-protocol.js';
import { checkHecBody, countHecEnvelopes } from './wire-check.js';

const SUCCESS_BODY = JSON.stringify({ text: 'Success', code: 0 });
const BUSY_BODY = JSON.stringify({ text: 'Server is busy', code: 9 });
const AUTHORIZATION = `Splunk ${HEC_TOKEN}`;
/** Every bench customer id starts with this. */
const CUSTOMER_PREFIX = 'cust_';
/** Node's default of 5 s would drop the forwarders' pooled connections between runs. */
const KEEP_ALIVE_TIMEOUT_MS = 60_000;

const counter = new EventCounter(wallClockMs);
let mode: ReceiverMode = 'ok';

function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function handle(req: IncomingMessage, res: ServerResponse) {
  counter.request();
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (mode === 'unavailable') {
      counter.refused();
      answer(res, 503, BUSY_BODY);
      return;
    }
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const count = countHecEnvelopes(body);
    if (counter.wantsCheck()) {
      try {
        if (req.headers.authorization !== AUTHORIZATION) throw new Error(`Authorization header ${JSON.stringify(req.headers.authorization)}`);
        counter.checked(checkHecBody(body, count, CUSTOMER_PREFIX));
      } catch (error) {
        // Counted and accepted all the same, so the run finishes; the bench marks the figure invalid.
        counter.invalid(`${req.method} ${req.url}: ${(error as Error).message}`);
      }
    }
    counter.add(count);
    answer(res, 200, SUCCESS_BODY);
  });
}

const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, handle);
server.listen(0, '127.0.0.1', () => {
  serveReceiverCommands(counter, (next) => (mode = next));
  announceReady((server.address() as AddressInfo).port);
});
