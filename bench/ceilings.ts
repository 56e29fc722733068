import { connect, type Socket } from 'node:net';
import { Pool } from 'undici';
import { HEC_TOKEN } from './events.js';
import { wallClockMs } from './measure.js';
import { HEC_PATH } from './payloads.js';

const HTTP_OK = 200;

/**
 * The raw HEC ceiling: undici posting pre-serialised HEC batch bodies straight to the receiver, with
 * `streams` keep-alive connections each posting every body in order, one request in flight per stream
 * (as the gateway keeps one batch in flight per integration; `streams` = integrations).
 * Returns the wall-clock time of the first request.
 *
 * @example
 * ```ts
 * const startedAt = await postHecCeiling(receiver.url, bodies, 1);
 * const { lastAt } = await receiver.waitFor(events, timeoutMs);
 * ```
 */
export async function postHecCeiling(receiverUrl: string, bodies: readonly string[], streams: number): Promise<number> {
  const pool = new Pool(receiverUrl, { connections: streams, pipelining: 1 });
  const headers = { authorization: `Splunk ${HEC_TOKEN}`, 'content-type': 'application/json' };
  try {
    const startedAt = wallClockMs();
    await Promise.all(
      Array.from({ length: streams }, async () => {
        for (const body of bodies) {
          const res = await pool.request({ path: HEC_PATH, method: 'POST', headers, body });
          await res.body.dump();
          if (res.statusCode !== HTTP_OK) throw new Error(`HEC receiver answered ${res.statusCode}`);
        }
      }),
    );
    return startedAt;
  } finally {
    await pool.close();
  }
}

/**
 * The raw syslog ceiling: `streams` TCP sockets each writing every pre-framed batch in order, waiting
 * for each write to be flushed to the OS before the next (as the gateway's transport does).
 * Returns the wall-clock time of the first write.
 */
export async function writeSyslogCeiling(port: number, batches: readonly Buffer[], streams: number): Promise<number> {
  const sockets = await Promise.all(Array.from({ length: streams }, () => openSocket(port)));
  try {
    const startedAt = wallClockMs();
    await Promise.all(
      sockets.map(async (socket) => {
        for (const batch of batches) {
          await new Promise<void>((resolve, reject) => socket.write(batch, (error) => (error ? reject(error) : resolve())));
        }
      }),
    );
    return startedAt;
  } finally {
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.end(resolve))));
  }
}

/** A TCP connection to 127.0.0.1:`port` (Nagle off), once connected. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
