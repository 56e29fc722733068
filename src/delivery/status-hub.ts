/** Options of {@link StatusHub}. */
export interface StatusHubOptions<T = unknown> {
  /**
   * Messages buffered per subscriber. A subscriber that falls this far behind is dropped (its
   * iterator ends with {@link SubscriberTooSlowError}); publishers never wait.
   * @default 1000
   */
  maxBuffered?: number;
  /**
   * The key a message is about (e.g. its integration id). A message reaches the subscribers of its topic
   * without a key and those subscribed to its key; subscribers of other keys are never visited.
   */
  keyOf?: (message: T) => string | undefined;
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
  /** Callback subscribers ({@link StatusHub.listen}) get each message here instead of a queue. */
  deliver?: (message: T) => void;
  /** A snapshot yielded before the queue (see {@link StatusHub.subscribeWithSnapshot}); not counted against the buffer. */
  initial?: T[];
  queue: T[];
  waiting?: (result: IteratorResult<T>) => void;
  failing?: (error: Error) => void;
  failed?: Error;
  done: boolean;
  /** The key subscribed to, or {@link ALL}. */
  key: string | typeof ALL;
}

/** The key of subscribers to every message of a topic. */
const ALL = Symbol('all keys');

/**
 * In-process publish/subscribe for live status, with a bounded buffer per subscriber: a slow or stuck
 * dashboard costs only itself, never the delivery engine that publishes. Subscribers are indexed by
 * topic and key, so publishing costs O(subscribers of the message's key + keyless subscribers of its
 * topic), however many subscribers other keys have.
 *
 * @example
 * ```ts
 * const hub = new StatusHub<Status>({ keyOf: (s) => s.integrationId });
 * for await (const status of hub.subscribe(`status:${orgId}`, { key: integrationId })) render(status);
 * // elsewhere
 * hub.publish(`status:${orgId}`, status);
 * ```
 */
export class StatusHub<T> {
  /** topic → subscribers of every key (under `ALL`) and of each key. */
  readonly #topics = new Map<string, Map<string | typeof ALL, Set<Subscriber<T>>>>();
  readonly #maxBuffered: number;
  readonly #keyOf: (message: T) => string | undefined;

  constructor(options: StatusHubOptions<T> = {}) {
    this.#maxBuffered = options.maxBuffered ?? 1000;
    this.#keyOf = options.keyOf ?? (() => undefined);
  }

  /** Number of live subscribers on a topic (all keys), or of one key of it. */
  subscriberCount(topic: string, key?: string): number {
    const keys = this.#topics.get(topic);
    if (!keys) return 0;
    if (key !== undefined) return keys.get(key)?.size ?? 0;
    let count = 0;
    for (const set of keys.values()) count += set.size;
    return count;
  }

  /** Delivers `message` to the subscribers of `topic` (of its key, and of all keys) without waiting for any of them. */
  publish(topic: string, message: T): void {
    const keys = this.#topics.get(topic);
    if (!keys) return;
    const key = this.#keyOf(message);
    this.#deliver(topic, keys.get(ALL), message);
    if (key !== undefined) this.#deliver(topic, keys.get(key), message);
  }

  /**
   * Calls `onMessage` for each message of `topic` (of `key` only, when given) until the returned
   * function is called. `onMessage` must not throw.
   */
  listen(topic: string, onMessage: (message: T) => void, options: { key?: string } = {}): () => void {
    const sub: Subscriber<T> = { deliver: onMessage, queue: [], done: false, key: options.key ?? ALL };
    this.#add(topic, sub);
    return () => {
      sub.done = true;
      this.#remove(topic, sub);
    };
  }

  #deliver(topic: string, subscribers: Set<Subscriber<T>> | undefined, message: T) {
    if (!subscribers) return;
    for (const sub of subscribers) {
      if (sub.deliver) {
        sub.deliver(message);
      } else if (sub.waiting) {
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

  /**
   * Subscribes to a topic: to every message, or with `key` to the messages of that key only. Ending the
   * iteration (`return()`, or `break` in `for await`) unsubscribes at once, even while a `next()` is waiting.
   */
  subscribe(topic: string, options: { key?: string } = {}): AsyncIterableIterator<T> {
    const sub: Subscriber<T> = { queue: [], done: false, key: options.key ?? ALL };
    this.#add(topic, sub);
    return this.#iterate(topic, sub);
  }

  /**
   * Subscribes, then reads the current state with `snapshot`, and yields that state first and then every
   * message published since the subscription began (buffered while the snapshot was read). Because the
   * subscription starts before the read, no message published after the snapshot can be missed; one
   * published during the read may describe a state as old as the snapshot's and come after it, but every
   * later change is published again, so the last message of a key is its latest state. When `snapshot`
   * fails, the subscription is removed and the error thrown.
   */
  async subscribeWithSnapshot(topic: string, options: { key?: string }, snapshot: () => Promise<T[]> | T[]): Promise<AsyncIterableIterator<T>> {
    const sub: Subscriber<T> = { queue: [], done: false, key: options.key ?? ALL };
    this.#add(topic, sub);
    try {
      sub.initial = [...(await snapshot())];
    } catch (error) {
      sub.done = true;
      this.#remove(topic, sub);
      throw error;
    }
    return this.#iterate(topic, sub);
  }

  /** Number of live subscribers across every topic and key. */
  get size(): number {
    let count = 0;
    for (const keys of this.#topics.values()) for (const set of keys.values()) count += set.size;
    return count;
  }

  #iterate(topic: string, sub: Subscriber<T>): AsyncIterableIterator<T> {
    const end = (): IteratorResult<T> => {
      sub.done = true;
      sub.initial = undefined;
      sub.queue.length = 0;
      this.#remove(topic, sub);
      const waiting = sub.waiting;
      sub.waiting = undefined;
      sub.failing = undefined;
      waiting?.({ value: undefined, done: true });
      return { value: undefined, done: true };
    };
    const iterator: AsyncIterableIterator<T> = {
      next: () => {
        if (sub.initial?.length) return Promise.resolve({ value: sub.initial.shift()!, done: false });
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

  #add(topic: string, sub: Subscriber<T>) {
    let keys = this.#topics.get(topic);
    if (!keys) this.#topics.set(topic, (keys = new Map()));
    let set = keys.get(sub.key);
    if (!set) keys.set(sub.key, (set = new Set()));
    set.add(sub);
  }

  #remove(topic: string, sub: Subscriber<T>) {
    const keys = this.#topics.get(topic);
    const set = keys?.get(sub.key);
    if (!keys || !set) return;
    set.delete(sub);
    if (set.size === 0) keys.delete(sub.key);
    if (keys.size === 0) this.#topics.delete(topic);
  }
}

/**
 * Maps an iterator's values, skipping those `map` turns into `undefined`, without an async generator: an
 * async generator waiting for its source handles `return()` only once the next value arrives, so a client
 * that completes a quiet subscription would stay subscribed until then. Here `return()` reaches the source
 * at once.
 */
export function mapMessages<T, U>(source: AsyncIterator<T>, map: (message: T) => U | undefined): AsyncIterableIterator<U> {
  const iterator: AsyncIterableIterator<U> = {
    async next() {
      for (;;) {
        const result = await source.next();
        if (result.done) return { value: undefined, done: true };
        const value = map(result.value);
        if (value !== undefined) return { value, done: false };
      }
    },
    async return() {
      await source.return?.();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
