import { randomUUID } from 'node:crypto';
import type { AppendedEvent } from '../store/event-log.js';

/**
 * How replicas of one deployment tell each other what happened: live status and delivery attempts (so a
 * subscriber connected to any replica sees them), appended events and integration changes (so the replica
 * that delivers an integration wakes, or pauses, or takes a new token, at once). The delivery engine speaks
 * only this interface; {@link LocalBus} keeps everything in this process, `RedisBus` (redis-bus.ts) crosses
 * replicas through Redis pub/sub.
 *
 * Delivery is at most once and live only: a message published while the transport is down is dropped.
 * Nothing durable travels here (events are in the database), so losing the bus costs latency, never events.
 */
export interface ReplicaBus {
  /** Whether messages may reach other replicas (false: this replica is alone as far as the bus knows). */
  readonly crossReplica: boolean;
  /** Whether the transport is up now (always true in-process). */
  readonly connected: boolean;
  /**
   * Sends `message` (plain data; `Date`s survive) to the other replicas' subscribers of `topic`, never back
   * to this replica's own (local subscribers are served in-process, once). Never throws or waits.
   */
  publish(topic: string, message: object): void;
  /**
   * Calls `onMessage` for each message other replicas publish on a topic that starts with `family`
   * (e.g. `status:`). `wants(topic)`, when given, is asked first: a message nobody here wants is not decoded.
   * Returns the unsubscribe function.
   */
  subscribe(family: string, onMessage: (topic: string, message: unknown) => void, wants?: (topic: string) => boolean): () => void;
  /** Calls `listener` when the transport is lost (`false`) or back (`true`). Returns the unsubscribe function. */
  onConnectionChange(listener: (connected: boolean) => void): () => void;
  /** Resolves once the subscriptions made so far are active (or have failed). */
  ready(): Promise<void>;
  /** Resolves when the transport answers, rejects when it does not (for `/readyz`). */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** Topic of the wake-up message for an organisation's appended events. */
export const appendedTopic = (organizationId: string) => `appended:${organizationId}`;

/** Topic of the message saying an organisation's integration changed (config, batching, filter, enabled, queue). */
export const changedTopic = (organizationId: string) => `changed:${organizationId}`;

/** An integration changed through one replica: the replica delivering it applies the change at once. */
export interface ChangedMessage {
  organizationId: string;
  integrationId: string;
}

/** Events of one routing shape appended together: customer, severity rank, type, and how many. */
export type AppendedGroup = [customerId: string | null, severityRank: number, type: string, count: number];

/** The wake-up message: enough for any replica to route the appended events without reading them. */
export interface AppendedMessage {
  organizationId: string;
  groups: AppendedGroup[];
}

/**
 * Groups appended events by what routing looks at (customer, severity, type): a batch of 10 000 events of
 * a few shapes becomes a few groups, both on the wire and in the engine's per-worker routing loop.
 */
export function groupAppended(events: readonly Pick<AppendedEvent, 'customerId' | 'severityRank' | 'type'>[]): AppendedGroup[] {
  const groups = new Map<string, AppendedGroup>();
  for (const e of events) {
    const key = `${e.customerId ?? ''}\u0000${e.customerId === null ? 0 : 1}\u0000${e.severityRank}\u0000${e.type}`;
    const group = groups.get(key);
    if (group) group[3] += 1;
    else groups.set(key, [e.customerId, e.severityRank, e.type, 1]);
  }
  return [...groups.values()];
}

type Path = (string | number)[];

/**
 * Encodes a message as JSON text with its `Date`s listed by path, so they come back as `Date`s (and a
 * string that merely looks like a date stays a string). `replica` identifies the sender.
 */
export function encodeBusMessage(replica: string, message: unknown): string {
  const dates: Path[] = [];
  const walk = (value: unknown, path: Path): unknown => {
    if (value instanceof Date) {
      dates.push(path);
      return value.toISOString();
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = walk(v, [...path, k]);
      return out;
    }
    return value;
  };
  const m = walk(message, []);
  return JSON.stringify(dates.length > 0 ? { r: replica, m, d: dates } : { r: replica, m });
}

/** Decodes {@link encodeBusMessage}'s text: the sender and the message, its `Date`s restored. @throws on malformed text */
export function decodeBusMessage(text: string): { replica: string; message: unknown } {
  const envelope = JSON.parse(text) as { r?: unknown; m?: unknown; d?: unknown };
  if (typeof envelope.r !== 'string' || envelope.m === null || typeof envelope.m !== 'object') throw new Error('not a siemgate bus message');
  const root = { m: envelope.m } as Record<string | number, unknown>;
  for (const path of Array.isArray(envelope.d) ? (envelope.d as Path[]) : []) {
    let parent: Record<string | number, unknown> | undefined = root;
    const keys: Path = ['m', ...path];
    for (const key of keys.slice(0, -1)) {
      const next: unknown = parent?.[key];
      parent = next !== null && typeof next === 'object' ? (next as Record<string | number, unknown>) : undefined;
    }
    const last = keys.at(-1)!;
    if (parent && typeof parent[last] === 'string') parent[last] = new Date(parent[last]);
  }
  return { replica: envelope.r, message: root.m };
}

type Listener = { family: string; onMessage: (topic: string, message: unknown) => void; wants?: (topic: string) => boolean };

/**
 * The bus of a replica that is alone: publishing reaches nobody (local subscribers are served by the
 * engine's own hubs). Replicas made with {@link LocalBus.network} share one in-process network, which
 * behaves like the Redis bus minus the wire (messages still go through {@link encodeBusMessage}).
 */
export class LocalBus implements ReplicaBus {
  readonly connected = true;
  readonly replicaId = randomUUID();
  readonly #network: Set<LocalBus>;
  readonly #listeners = new Set<Listener>();

  constructor(network?: Set<LocalBus>) {
    this.#network = network ?? new Set();
    this.#network.add(this);
  }

  /** `n` buses that reach one another (replicas in one process, for tests and benchmarks). */
  static network(n: number): LocalBus[] {
    const network = new Set<LocalBus>();
    return Array.from({ length: n }, () => new LocalBus(network));
  }

  get crossReplica(): boolean {
    return this.#network.size > 1;
  }

  publish(topic: string, message: object): void {
    if (this.#network.size < 2) return;
    const text = encodeBusMessage(this.replicaId, message);
    for (const bus of this.#network) if (bus !== this) queueMicrotask(() => bus.#receive(topic, text));
  }

  #receive(topic: string, text: string) {
    for (const l of this.#listeners) {
      if (!topic.startsWith(l.family) || (l.wants && !l.wants(topic))) continue;
      l.onMessage(topic, decodeBusMessage(text).message);
    }
  }

  subscribe(family: string, onMessage: (topic: string, message: unknown) => void, wants?: (topic: string) => boolean): () => void {
    const listener = { family, onMessage, wants };
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onConnectionChange(): () => void {
    return () => undefined;
  }

  async ready(): Promise<void> {}

  async check(): Promise<void> {}

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#network.delete(this);
  }
}
