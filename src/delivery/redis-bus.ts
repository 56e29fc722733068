import { createRequire } from 'node:module';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';

/** ioredis is loaded when Redis is configured: a single-replica gateway does not carry it in memory. */
const loadRedis = (): typeof RedisClient => (createRequire(import.meta.url)('ioredis') as { Redis: typeof RedisClient }).Redis;
import type { Logger } from '../logger.js';
import { LocalBus, decodeBusMessage, encodeBusMessage, type ReplicaBus } from './replica-bus.js';

/** Options of {@link RedisBus}. */
export interface RedisBusOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). Never logged: it may hold a password. */
  url: string;
  /**
   * Prefix of every channel. Redis pub/sub channels are shared by all databases of a server, so two
   * deployments (or two test runs) on one Redis need different prefixes. @default "siemgate:"
   */
  prefix?: string;
  log: Logger;
  /** How long `/readyz`'s PING may take. @default 2000 */
  checkTimeoutMs?: number;
}

/** Escapes Redis glob characters, so a prefix matches only itself in a PSUBSCRIBE pattern. */
const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

/** `host:port` of a Redis URL, for logs (never the password or user name). */
export function redisEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return '(unparsable Redis URL)';
  }
}

/**
 * The {@link ReplicaBus} over Redis pub/sub, with two ioredis connections: one publishes, one subscribes
 * (a subscribed connection can send nothing else). Topics become channels `<prefix><topic>`; each family
 * (`status:`, `attempts:`, `appended:`) is one PSUBSCRIBE. Every message carries this replica's id, and
 * messages that come back from Redis to their sender are dropped: the engine serves its own subscribers
 * in-process, so they see each message once, and still while Redis is down.
 *
 * Built on ioredis directly rather than `@graphql-yoga/redis-event-target`: that event target publishes
 * only through Redis (local subscribers would depend on Redis and would need the same dedupe), and it leaves
 * the promises of PUBLISH and SUBSCRIBE unhandled, so a Redis outage becomes an unhandled rejection.
 *
 * While Redis is down, publishing drops messages at once (no offline queue that would grow and then replay
 * stale status); ioredis reconnects (every ≤ 2 s) and re-subscribes by itself. Losing and regaining the
 * connection is logged once each way, with the endpoint and never the URL's credentials.
 *
 * @example
 * ```ts
 * const bus = new RedisBus({ url: settings.redisUrl, log });
 * const engine = new DeliveryEngine({ store, egress, log, bus });
 * ```
 */
export class RedisBus implements ReplicaBus {
  readonly crossReplica = true;
  /** This replica's id on the bus (what makes its own messages recognisable when they come back). */
  readonly replicaId: string;
  readonly #prefix: string;
  readonly #log: Logger;
  readonly #endpoint: string;
  readonly #checkTimeoutMs: number;
  readonly #pub: RedisClient;
  readonly #sub: RedisClient;
  /** PSUBSCRIBE pattern → the listeners of its family. */
  readonly #families = new Map<string, Set<{ onMessage: (topic: string, message: unknown) => void; wants?: (topic: string) => boolean }>>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #connectionListeners = new Set<(connected: boolean) => void>();
  #connected = false;
  #reportedDown = false;
  #closed = false;

  constructor(options: RedisBusOptions) {
    this.replicaId = new LocalBus().replicaId;
    this.#prefix = options.prefix ?? 'siemgate:';
    this.#log = options.log.child({ component: 'redis-bus' });
    this.#endpoint = redisEndpoint(options.url);
    this.#checkTimeoutMs = options.checkTimeoutMs ?? 2000;
    const common: RedisOptions = {
      connectionName: 'siemgate',
      // Reconnect soon, and keep trying: the bus comes back on its own once Redis does.
      retryStrategy: (times) => Math.min(times * 100, 2000),
      connectTimeout: 5000,
    };
    // Publishing while disconnected fails at once: live messages are dropped, not queued.
    const Redis = loadRedis();
    this.#pub = new Redis(options.url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    // Subscriptions made while disconnected wait for the connection (and are renewed after each reconnect).
    // No ready check on it: ioredis sends INFO after connecting, which Redis refuses once a PSUBSCRIBE queued during
    // the connection went out first ("Connection in subscriber mode"), and the subscriptions were then lost
    // (ioredis issue #2037).
    this.#sub = new Redis(options.url, { ...common, maxRetriesPerRequest: null, enableReadyCheck: false });
    for (const client of [this.#pub, this.#sub]) {
      client.on('error', (error: Error) => this.#onError(error));
      for (const event of ['ready', 'close', 'end', 'reconnecting']) client.on(event, () => this.#updateConnected());
    }
    this.#sub.on('pmessage', (pattern: string, channel: string, text: string) => this.#receive(pattern, channel, text));
  }

  get connected(): boolean {
    return this.#connected;
  }

  publish(topic: string, message: object): void {
    if (this.#closed || this.#pub.status !== 'ready') return;
    this.#pub.publish(this.#prefix + topic, encodeBusMessage(this.replicaId, message)).catch(() => {
      // Dropped: the bus is live-only; the outage itself is logged by the connection events.
    });
  }

  subscribe(family: string, onMessage: (topic: string, message: unknown) => void, wants?: (topic: string) => boolean): () => void {
    const pattern = `${globEscape(this.#prefix + family)}*`;
    let listeners = this.#families.get(pattern);
    if (!listeners) {
      this.#families.set(pattern, (listeners = new Set()));
      this.#track(this.#sub.psubscribe(pattern));
    }
    const listener = { onMessage, wants };
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size > 0 || this.#families.get(pattern) !== listeners) return;
      this.#families.delete(pattern);
      if (!this.#closed) this.#track(this.#sub.punsubscribe(pattern));
    };
  }

  onConnectionChange(listener: (connected: boolean) => void): () => void {
    this.#connectionListeners.add(listener);
    return () => this.#connectionListeners.delete(listener);
  }

  async ready(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  async check(): Promise<void> {
    if (this.#pub.status !== 'ready' || this.#sub.status !== 'ready') throw new Error(`Redis at ${this.#endpoint} is not connected`);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#pub.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Redis at ${this.#endpoint} did not answer PING within ${this.#checkTimeoutMs} ms`)), this.#checkTimeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#families.clear();
    this.#connectionListeners.clear();
    this.#pub.disconnect();
    this.#sub.disconnect();
  }

  #receive(pattern: string, channel: string, text: string) {
    const listeners = this.#families.get(pattern);
    if (!listeners) return;
    const topic = channel.slice(this.#prefix.length);
    let decoded: { replica: string; message: unknown } | undefined;
    for (const { onMessage, wants } of listeners) {
      if (wants && !wants(topic)) continue;
      try {
        decoded ??= decodeBusMessage(text);
      } catch (error) {
        this.#log.warn({ err: error, channel }, 'ignored a malformed message on the Redis bus');
        return;
      }
      // This replica's own message, back from Redis: its local subscribers had it already.
      if (decoded.replica === this.replicaId) return;
      try {
        onMessage(topic, decoded.message);
      } catch (error) {
        this.#log.warn({ err: error, channel }, 'a Redis bus subscriber failed');
      }
    }
  }

  #track(promise: Promise<unknown>) {
    const settled = promise.catch((error: unknown) => {
      if (!this.#closed) this.#log.warn({ err: error, redis: this.#endpoint }, 'Redis subscription failed');
    });
    this.#pending.add(settled);
    void settled.finally(() => this.#pending.delete(settled));
  }

  #onError(error: Error) {
    // ioredis reports every failed reconnection attempt: say it once per outage.
    if (this.#closed || this.#reportedDown) return;
    this.#reportedDown = true;
    this.#log.warn(
      { err: { message: error.message, code: (error as NodeJS.ErrnoException).code }, redis: this.#endpoint },
      'Redis is unreachable: live status and wake-ups stay within this replica (workers re-check the log every second) until it is back',
    );
  }

  #updateConnected() {
    if (this.#closed) return;
    const connected = this.#pub.status === 'ready' && this.#sub.status === 'ready';
    if (connected === this.#connected) return;
    this.#connected = connected;
    if (connected) {
      if (this.#reportedDown) this.#log.info({ redis: this.#endpoint }, 'Redis is back: live status and wake-ups cross replicas again');
      else this.#log.info({ redis: this.#endpoint }, 'Redis connected: live status and wake-ups cross replicas');
      this.#reportedDown = false;
    }
    for (const listener of this.#connectionListeners) listener(connected);
  }
}
