/**
 * A Splunk HEC stand-in, run as its own process by the bench (`fork` with `--import tsx`).
 * Listens on 127.0.0.1, counts the records of every batch (newline-separated JSON objects, as HEC takes
 * them), answers `{"text":"Success","code":0}`, or in mode `unavailable` 503 `{"text":"Server is busy","code":9}`.
 * Counts are reported over IPC (see receiver-protocol.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { wallClockMs } from './measure.js';
import { announceReady, EventCounter, serveReceiverCommands, type ReceiverMode } from './receiver-protocol.js';

const NEWLINE = 0x0a;
const SUCCESS_BODY = JSON.stringify({ text: 'Success', code: 0 });
const BUSY_BODY = JSON.stringify({ text: 'Server is busy', code: 9 });
/** Node's default of 5 s would drop the gateway's pooled connections between runs. */
const KEEP_ALIVE_TIMEOUT_MS = 60_000;

const counter = new EventCounter(wallClockMs);
let mode: ReceiverMode = 'ok';

/** Records in a HEC batch body: one per line, no trailing newline. */
function countRecords(chunks: Buffer[]): number {
  let newlines = 0;
  let bytes = 0;
  for (const chunk of chunks) {
    bytes += chunk.length;
    let at = chunk.indexOf(NEWLINE);
    while (at !== -1) {
      newlines++;
      at = chunk.indexOf(NEWLINE, at + 1);
    }
  }
  if (bytes === 0) return 0;
  const last = chunks.at(-1)!;
  return last[last.length - 1] === NEWLINE ? newlines : newlines + 1;
}

function handle(req: IncomingMessage, res: ServerResponse) {
  counter.request();
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (mode === 'unavailable') {
      counter.refused();
      res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BUSY_BODY) });
      res.end(BUSY_BODY);
      return;
    }
    counter.add(countRecords(chunks));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(SUCCESS_BODY) });
    res.end(SUCCESS_BODY);
  });
}

const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, handle);
server.listen(0, '127.0.0.1', () => {
  serveReceiverCommands(counter, (next) => (mode = next));
  announceReady((server.address() as AddressInfo).port);
});
