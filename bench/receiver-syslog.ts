/**
 * A syslog-over-TCP stand-in, run as its own process by the bench (`fork` with `--import tsx`).
 * Listens on 127.0.0.1 and counts RFC 6587 octet-counted frames (`MSG-LEN SP SYSLOG-MSG`) with a
 * streaming parser that never copies message bytes. In mode `unavailable` it destroys new connections.
 * Counts are reported over IPC (see receiver-protocol.ts); a framing error ends the process.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { wallClockMs } from './measure.js';
import { announceReady, EventCounter, serveReceiverCommands, type ReceiverMode } from './receiver-protocol.js';

const SPACE = 0x20;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** Longer MSG-LEN prefixes than this are a framing error (RFC 6587 frames stay far below 10^9 bytes). */
const MAX_LEN_DIGITS = 9;

const counter = new EventCounter(wallClockMs);
let mode: ReceiverMode = 'ok';
const sockets = new Set<Socket>();

/**
 * A streaming octet-counting parser: returns a function taking each chunk and returning the number
 * of frames completed in it. Throws on a framing violation.
 */
function octetCountingCounter(): (chunk: Buffer) => number {
  let length = 0;
  let digits = 0;
  let remaining = 0; // message bytes still to skip
  return (chunk) => {
    let frames = 0;
    let i = 0;
    while (i < chunk.length) {
      if (remaining > 0) {
        const take = Math.min(remaining, chunk.length - i);
        remaining -= take;
        i += take;
        if (remaining === 0) frames++;
        continue;
      }
      const byte = chunk[i++]!;
      if (byte >= DIGIT_0 && byte <= DIGIT_9 && !(digits === 0 && byte === DIGIT_0) && digits < MAX_LEN_DIGITS) {
        length = length * 10 + (byte - DIGIT_0);
        digits++;
      } else if (byte === SPACE && digits > 0) {
        remaining = length;
        length = 0;
        digits = 0;
      } else {
        throw new Error(`syslog framing error at byte ${i - 1}: 0x${byte.toString(16)}`);
      }
    }
    return frames;
  };
}

const server = createServer((socket) => {
  counter.request();
  if (mode === 'unavailable') {
    counter.refused();
    socket.destroy();
    return;
  }
  sockets.add(socket);
  const parse = octetCountingCounter();
  socket.on('data', (chunk: Buffer) => {
    try {
      counter.add(parse(chunk));
    } catch (error) {
      console.error(`receiver-syslog: ${(error as Error).message}`);
      process.exit(2);
    }
  });
  socket.on('error', () => undefined);
  socket.on('close', () => sockets.delete(socket));
});

server.listen(0, '127.0.0.1', () => {
  serveReceiverCommands(counter, (next) => {
    mode = next;
    if (next === 'unavailable') for (const s of sockets) s.destroy();
  });
  announceReady((server.address() as AddressInfo).port);
});
