import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** One live graphql-ws subscription (protocol graphql-transport-ws) as a real client sees it. */
export interface LiveSubscription<T = any> {
  /** Every `next` payload's data, in order. */
  results: T[];
  /** Errors the server answered (a subscription refused at start ends here). */
  errors: { message: string; extensions?: Record<string, any> }[];
  /** True once the server completed or refused the subscription. */
  readonly done: boolean;
  /** Resolves once `n` results arrived. */
  waitForResults(n: number, timeoutMs?: number): Promise<T[]>;
  /** Resolves once the subscription is done (refused, errored or completed). */
  waitDone(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Subscribes over graphql-ws at `${baseUrl}/graphql`, authenticated by `connectionParams.authorization`.
 *
 * @example
 * ```ts
 * const sub = await subscribe(g.url, token, 'subscription { deliveryAttempts { success error } }');
 * await sub.waitForResults(1);
 * ```
 */
export async function subscribe<T = any>(baseUrl: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<LiveSubscription<T>> {
  const client: Client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
    // Refused connections are part of the tests; they are reported through the promise below, not logged.
    onNonLazyError: () => undefined,
  });
  const results: T[] = [];
  const errors: LiveSubscription['errors'] = [];
  let done = false;
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  await new Promise<void>((resolve, reject) => {
    const offConnected = client.on('connected', () => {
      offConnected();
      resolve();
    });
    const offClosed = client.on('closed', (event) => {
      offClosed();
      reject(new Error(`graphql-ws connection closed: ${JSON.stringify((event as { code?: number; reason?: string })?.code)} ${(event as { reason?: string })?.reason ?? ''}`));
    });
  });
  client.subscribe<T>({ query, variables }, {
    next: (value) => {
      if (value.errors) errors.push(...(value.errors as LiveSubscription['errors']));
      if (value.data) results.push(value.data as T);
      notify();
    },
    error: (err) => {
      if (Array.isArray(err)) errors.push(...(err as LiveSubscription['errors']));
      else errors.push({ message: (err as Error)?.message ?? String((err as { reason?: string })?.reason ?? err) });
      done = true;
      notify();
    },
    complete: () => {
      done = true;
      notify();
    },
  });
  const waitUntil = (cond: () => boolean, timeoutMs: number, what: string) =>
    new Promise<void>((resolve, reject) => {
      if (cond()) return resolve();
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`${what} within ${timeoutMs} ms (results ${results.length}, errors ${JSON.stringify(errors)})`));
      }, timeoutMs);
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve();
      };
      listeners.add(check);
    });
  return {
    results,
    errors,
    get done() {
      return done;
    },
    async waitForResults(n, timeoutMs = 10_000) {
      await waitUntil(() => results.length >= n, timeoutMs, `expected ${n} subscription results`);
      return results;
    },
    waitDone(timeoutMs = 5_000) {
      return waitUntil(() => done, timeoutMs, 'expected the subscription to end');
    },
    async close() {
      await client.dispose();
    },
  };
}
