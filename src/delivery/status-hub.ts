/** Options of {@link StatusHub}. */
export interface StatusHubOptions {
  /**
   * Messages buffered per subscriber. A subscriber that falls this far behind is dropped (its
   * iterator ends with {@link SubscriberTooSlowError}); publishers never wait.
   * @default 1000
   */
  maxBuffered?: number;
}

/** Ends a subscription whose consumer could not keep up. */
export class SubscriberTooSlowError extends Error {
  readonly code = 'SIEMGATE_SUBSCRIBER_TOO_SLOW';
  constructor(limit: number) {
    super(`Subscription dropped: more than ${limit} messages were waiting for this subscriber. Reconnect to resume.`);
    this.name = 'SubscriberTooSlowError';
  }
}

interface Subscriber<T> {
  queue: T[];
  waiting?: (result: IteratorResult<T>) => void;
  failing?: (error: Error) => void;
  failed?: Error;
  done: boolean;
}

/**
 * In-process publish/subscribe for live status, with a bounded buffer per subscriber: a slow or stuck
 * dashboard costs only itself, never the delivery engine that publishes.
 *
 * @example
 * ```ts
 * const hub = new StatusHub<Status>();
 * for await (const status of hub.subscribe(`status:${orgId}`)) render(status);
 * // elsewhere
 * hub.publish(`status:${orgId}`, status);
 * ```
 */
export class StatusHub<T> {
  readonly #topics = new Map<string, Set<Subscriber<T>>>();
  readonly #maxBuffered: number;

  constructor(options: StatusHubOptions = {}) {
    this.#maxBuffered = options.maxBuffered ?? 1000;
  }

  /** Number of live subscribers on a topic. */
  subscriberCount(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  /** Delivers `message` to every subscriber of `topic` without waiting for any of them. */
  publish(topic: string, message: T): void {
    const subscribers = this.#topics.get(topic);
    if (!subscribers) return;
    for (const sub of subscribers) {
      if (sub.waiting) {
        const resolve = sub.waiting;
        sub.waiting = undefined;
        sub.failing = undefined;
        resolve({ value: message, done: false });
      } else if (sub.queue.length >= this.#maxBuffered) {
        this.#drop(topic, sub, new SubscriberTooSlowError(this.#maxBuffered));
      } else {
        sub.queue.push(message);
      }
    }
  }

  /** Subscribes to a topic. Ending the iteration (`return()`, or `break` in `for await`) unsubscribes. */
  subscribe(topic: string): AsyncIterableIterator<T> {
    const sub: Subscriber<T> = { queue: [], done: false };
    let set = this.#topics.get(topic);
    if (!set) this.#topics.set(topic, (set = new Set()));
    set.add(sub);
    const end = (): IteratorResult<T> => {
      sub.done = true;
      this.#remove(topic, sub);
      sub.waiting?.({ value: undefined, done: true });
      return { value: undefined, done: true };
    };
    const iterator: AsyncIterableIterator<T> = {
      next: () => {
        if (sub.queue.length > 0) return Promise.resolve({ value: sub.queue.shift()!, done: false });
        if (sub.failed) return Promise.reject(sub.failed);
        if (sub.done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          sub.waiting = resolve;
          sub.failing = reject;
        });
      },
      return: () => Promise.resolve(end()),
      throw: (error?: unknown) => {
        end();
        return Promise.reject(error);
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  #drop(topic: string, sub: Subscriber<T>, error: Error) {
    sub.queue.length = 0;
    sub.failed = error;
    this.#remove(topic, sub);
    if (sub.failing) {
      const reject = sub.failing;
      sub.waiting = undefined;
      sub.failing = undefined;
      reject(error);
    }
  }

  #remove(topic: string, sub: Subscriber<T>) {
    const set = this.#topics.get(topic);
    set?.delete(sub);
    if (set && set.size === 0) this.#topics.delete(topic);
  }
}
