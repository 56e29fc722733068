import WebSocket from 'ws';
import { ADMIN_TOKEN } from './config.js';

/** graphql-ws's sub-protocol name. */
const GRAPHQL_TRANSPORT_WS = 'graphql-transport-ws';
const SUBSCRIPTION_ID = '1';
const CONNECT_TIMEOUT_MS = 20_000;

/** A `next` payload of one subscriber, with when it arrived (`performance.now()`). */
export type OnNext = (subscriber: number, data: Record<string, unknown>, receivedAt: number) => void;

/**
 * Many graphql-ws subscribers speaking the `graphql-transport-ws` protocol over raw `ws` sockets (no
 * client library: the bench shares the machine's two cores with the gateway, so the client stays lean).
 * Each socket authenticates with `connectionParams.authorization` and runs one subscription.
 *
 * @example
 * ```ts
 * const subs = await SubscriberPool.open(`${url}/graphql`, 500, query, { id }, onNext);
 * // ... trigger changes; onNext is called once per subscriber per message
 * await subs.close();
 * ```
 */
export class SubscriberPool {
  private constructor(readonly sockets: WebSocket[]) {}

  /** Opens `count` sockets, `parallel` at a time, each acknowledged and subscribed when this resolves. */
  static async open(
    graphqlUrl: string,
    count: number,
    query: string,
    variables: Record<string, unknown>,
    onNext: OnNext,
    parallel = 50,
  ): Promise<SubscriberPool> {
    const wsUrl = graphqlUrl.replace(/^http/, 'ws');
    const sockets: WebSocket[] = [];
    for (let start = 0; start < count; start += parallel) {
      const batch = Array.from({ length: Math.min(parallel, count - start) }, (_, i) => subscribe(wsUrl, start + i, query, variables, onNext));
      sockets.push(...(await Promise.all(batch)));
    }
    return new SubscriberPool(sockets);
  }

  get size(): number {
    return this.sockets.length;
  }

  /** Completes every subscription and closes every socket. */
  async close(): Promise<void> {
    await Promise.all(
      this.sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.readyState === WebSocket.CLOSED) return resolve();
            socket.once('close', () => resolve());
            if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ id: SUBSCRIPTION_ID, type: 'complete' }));
            socket.close(1000);
          }),
      ),
    );
  }
}

function subscribe(wsUrl: string, index: number, query: string, variables: Record<string, unknown>, onNext: OnNext): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, GRAPHQL_TRANSPORT_WS, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`subscriber ${index}: no connection_ack within ${CONNECT_TIMEOUT_MS} ms`));
    }, CONNECT_TIMEOUT_MS);
    socket.once('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
    });
    socket.on('message', (raw: Buffer) => {
      const receivedAt = performance.now();
      const message = JSON.parse(raw.toString('utf8')) as { type: string; payload?: { data?: Record<string, unknown>; message?: string } | unknown[] };
      switch (message.type) {
        case 'connection_ack':
          clearTimeout(timer);
          socket.send(JSON.stringify({ id: SUBSCRIPTION_ID, type: 'subscribe', payload: { query, variables } }));
          resolve(socket);
          return;
        case 'next': {
          const payload = message.payload as { data?: Record<string, unknown>; errors?: unknown[] };
          if (payload.errors) throw new Error(`subscriber ${index}: ${JSON.stringify(payload.errors).slice(0, 300)}`);
          if (payload.data) onNext(index, payload.data, receivedAt);
          return;
        }
        case 'error':
          throw new Error(`subscriber ${index}: ${JSON.stringify(message.payload).slice(0, 300)}`);
        case 'ping':
          socket.send(JSON.stringify({ type: 'pong' }));
          return;
      }
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('close', (code, reason) => {
      clearTimeout(timer);
      reject(new Error(`subscriber ${index}: closed ${code} ${reason.toString()}`));
    });
  });
}
