/**
 * A syslog-over-TCP stand-in, run as its own process by the bench (`fork` with `--import tsx`).
 * Listens on 127.0.0.1 and counts RFC 6587 octet-counted frames (`MSG-LEN SP SYSLOG-MSG`) with a
 * streaming parser that copies no message bytes, except for a sample of at least 1% of the frames, which
 * are checked strictly against RFC 5424 and CEF (see wire-check.ts). In mode `unavailable` it destroys
 * new connections. Counts are reported over IPC (see receiver-protocol.ts); a framing error ends the process.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { wallClockMs } from './measure.js';
import { announceReady, EventCounter, serveReceiverCommands, type ReceiverMode } from './receiver-protocol.js';
import { checkSyslogMessage } from './wire-check.js';

const SPACE = 0x20;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** Longer MSG-LEN prefixes than this are a framing error (RFC 6587 frames stay far below 10^9 bytes). */
const MAX_LEN_DIGITS = 9;

const counter = new EventCounter(wallClockMs);
let mode: ReceiverMode = 'ok';
const sockets = new Set<Socket>();

/** Checks one sampled frame's message and records the result. */
function checkFrame(parts: Buffer[]): void {
  try {
    checkSyslogMessage(Buffer.concat(parts).toString('utf8'));
    counter.checked(1);
  } catch (error) {
    counter.invalid((error as Error).message);
  }
}

/**
 * A streaming octet-counting parser: returns a function taking each chunk and returning the number
 * of frames completed in it. A frame that starts while the counter wants a check is kept and checked.
 * Throws on a framing violation.
 */
function octetCountingCounter(): (chunk: Buffer) => number {
  let length = 0;
  let digits = 0;
  let remaining = 0; // message bytes still to skip
  let sample: Buffer[] | undefined; // the current frame's bytes, when it is sampled
  return (chunk) => {
    let frames = 0;
    let i = 0;
    while (i < chunk.length) {
      if (remaining > 0) {
        const take = Math.min(remaining, chunk.length - i);
        sample?.push(chunk.subarray(i, i + take));
        remaining -= take;
        i += take;
        if (remaining === 0) {
          frames++;
          if (sample) checkFrame(sample);
          sample = undefined;
        }
        continue;
      }
      const byte = chunk[i++]!;
      if (byte >= DIGIT_0 && byte <= DIGIT_9 && !(digits === 0 && byte === DIGIT_0) && digits < MAX_LEN_DIGITS) {
        length = length * 10 + (byte - DIGIT_0);
        digits++;
      } else if (byte === SPACE && digits > 0) {
        remaining = length;
        // Frames completed in this chunk are counted after it: include them in the share.
        if (counter.wantsCheck(frames)) sample = [];
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
