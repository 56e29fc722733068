import { randomUUID } from 'node:crypto';
import type { AdapterOptions, DeliveryResult, DestinationConfig, SiemAdapter } from '../destinations/types.js';
import { secretValues } from '../destinations/destination-config.js';
import { fromStoredLine } from '../events/stored-event.js';
import { createSecretScrubber, scrubAndShorten, scrubbedError, type SecretScrubber } from '../secrets/scrub-secrets.js';
import { MAX_LAST_ERROR_LENGTH } from '../store/error-tracking.js';
import type { Logger } from '../logger.js';
import { isPayloadRejection } from '../net/delivery-result.js';
import type { EgressPolicy } from '../net/egress-policy.js';
import type { DeliveryStore, DeliveryTarget, LogEntry, ReplayEntry } from '../store/delivery-store.js';
import { retryDelayMs } from './retry-policy.js';

/** One batch attempt, as `deliveryAttempts` subscribers see it. */
export interface DeliveryAttempt {
  organizationId: string;
  integrationId: string;
  attemptId: string;
  eventCount: number;
  success: boolean;
  /** e.g. `success`, `throttled`, `network`, `rejected`. */
  kind: DeliveryResult['kind'];
  httpStatus: number | null;
  latencyMs: number;
  error: string | null;
  at: Date;
}

/** Events moved to dead letters, as metrics and operator logs see it (`error` never holds a secret). */
export interface DeadLettering {
  count: number;
  reason: 'rejected' | 'expired';
  httpStatus: number | null;
  error: string;
}

/** What a worker needs from the engine. */
export interface WorkerDeps {
  store: DeliveryStore;
  egress: EgressPolicy;
  log: Logger;
  createAdapter: (config: DestinationConfig, options: AdapterOptions) => SiemAdapter;
  /** Events older than this (since they were received) go to dead letters instead of being sent. */
  retentionMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  onAttempt: (attempt: DeliveryAttempt) => void;
  /** Events were moved to dead letters (after the store committed it). */
  onDeadLetter?: (target: DeliveryTarget, deadLettered: DeadLettering) => void;
  /** `urgent`: error tracking changed (publish now); otherwise progress (may be coalesced). */
  onStatusChange: (target: DeliveryTarget, urgent: boolean) => void;
  /** How long an idle worker sleeps before re-checking the log unwoken, now (`undefined`: {@link IDLE_RECHECK_MS}). */
  idleRecheckMs?: () => number | undefined;
  now?: () => Date;
}

/** How many recent attempt latencies each worker keeps for p50/p95. */
const LATENCY_SAMPLES = 1024;
/** An idle worker re-checks the log this often even without a wake-up (a safety net, not the mechanism). */
const IDLE_RECHECK_MS = 30_000;
/** Pause after an unexpected error (e.g. the store is read-only) before the loop tries again. */
const ERROR_PAUSE_MS = 1_000;
/** Longest single sleep of a paused worker waiting for its oldest event to expire (a timer's limit is ~24.8 days). */
const MAX_PAUSE_SLEEP_MS = 86_400_000;

/**
 * Delivers one integration's events: reads its routed events from the log after its cursor, batches
 * them by `batchSize`/`flushIntervalSeconds`, sends, and only then moves the cursor (at-least-once).
 * One batch in flight at a time, so ingest order is kept. Failures are retried forever (quick retries,
 * then a capped backoff) except payload rejections, which are split down to the offending events and
 * dead-lettered. Dead letters queued for replay go first.
 *
 * A disabled integration's worker is paused: it sends nothing and keeps its queue (the cursor stays), and
 * only turns events older than the retention into dead letters (`expired`), so `queued` stays exact.
 *
 * @example
 * ```ts
 * const worker = new IntegrationWorker(target, deps);
 * worker.start();
 * worker.notifyQueued(5); // after new routed events were committed
 * await worker.stop();
 * ```
 */
export class IntegrationWorker {
  /** Routed events after the cursor (an estimate kept from notifications; exact at start). */
  queued = 0;
  /** Dead letters queued for replay. */
  replaying = 0;
  cursor = 0;
  readonly latencies: number[] = [];
  /** `latencies` sorted, kept until the next attempt: reading stats costs no sort per read. */
  #sortedLatencies?: number[];

  #target: DeliveryTarget;
  #adapter?: { adapter: SiemAdapter; version: string; scrubber: SecretScrubber };
  #stopping = false;
  #abort = new AbortController();
  #loop?: Promise<void>;
  #sleeper?: { resolve: () => void; wakeWhen: () => boolean; timer: NodeJS.Timeout; idle: boolean };
  /** The cursor was moved from outside (a discard): count the queue again. */
  #recount = false;
  /** The log up to here was examined and holds nothing more for this integration (ahead of the durable cursor). */
  #skipTo = 0;
  /** Counts {@link notifyQueued} calls: one that came while the log was being read is not lost to the idle sleep. */
  #notifications = 0;

  constructor(
    target: DeliveryTarget,
    private readonly deps: WorkerDeps,
  ) {
    this.#target = target;
  }

  get target(): DeliveryTarget {
    return this.#target;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** New routed events were committed. */
  notifyQueued(count: number): void {
    this.queued += count;
    this.#notifications += 1;
    this.#wake(false);
  }

  /** Re-checks the log now if idle (wake-ups may have been lost); a worker waiting to retry or to fill a batch keeps waiting. */
  recheck(): void {
    if (this.#sleeper?.idle) this.#wake(true);
  }

  /**
   * The integration changed (config, batching, filter, enabled), dead letters were queued for replay, or
   * its queue was discarded (`cursor`: the durable cursor, moved past the discarded events).
   */
  update(target: DeliveryTarget, replaying?: number, cursor?: number): void {
    // A new customer or filter may take events the old one skipped: look at the log again from the cursor.
    if (target.updatedAt !== this.#target.updatedAt) this.#skipTo = 0;
    this.#target = target;
    if (replaying !== undefined) this.replaying = replaying;
    if (cursor !== undefined && cursor > this.cursor) {
      this.cursor = cursor;
      this.#recount = true;
    }
    this.#wake(true);
  }

  /** Stops after the batch in flight (which is aborted once `abortInFlight` is called). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake(true);
    await this.#loop;
    await this.#adapter?.adapter.close().catch(() => undefined);
    this.#adapter = undefined;
  }

  /** Aborts the send in flight; its batch stays in the log and is delivered after the next start. */
  abortInFlight(): void {
    this.#abort.abort();
  }

  async #run(): Promise<void> {
    const { store } = this.deps;
    const id = this.#target.id;
    try {
      this.cursor = (await store.cursor(id)) ?? 0;
      this.queued = await store.countQueued(this.#target, this.cursor);
      this.replaying = await store.countReplaying(id);
    } catch (error) {
      this.deps.log.error({ err: error, integrationId: id }, 'delivery worker could not read its state');
    }
    while (!this.#stopping) {
      try {
        await this.#step();
      } catch (error) {
        this.deps.log.error({ err: scrubbedError(error, this.#adapter?.scrubber ?? createSecretScrubber([])), integrationId: id }, 'delivery step failed; retrying');
        await this.#sleep(ERROR_PAUSE_MS, () => this.#stopping);
      }
    }
  }

  async #step(): Promise<void> {
    const { store } = this.deps;
    const target = this.#target;
    const batchSize = target.batching.batchSize;

    if (this.#recount) {
      this.#recount = false;
      this.queued = await store.countQueued(target, this.cursor);
    }
    if (!target.enabled) return this.#paused();

    if (this.replaying > 0) {
      const replay = await store.readReplayBatch(target.id, batchSize);
      this.replaying = replay.length === 0 ? 0 : this.replaying;
      if (replay.length > 0) return this.#deliver(replay, true);
    }

    const from = Math.max(this.cursor, this.#skipTo);
    const notifications = this.#notifications;
    const { entries, scannedTo } = await store.readBatch(target, from, batchSize);
    // Routed by the integration as this worker knows it: if it changed since (the change still being applied here,
    // or made through another replica), read again by what the database holds. Whatever was committed before this
    // check was ingested while the version it finds applied.
    if (entries.length > 0 && (await this.#refreshTarget())) return;
    if (entries.length === 0) {
      this.#skipTo = scannedTo;
      // Examined a stretch of other customers' events: look further at once; at the end of the log, wait, unless
      // events were committed (and their wake-up came, with no one asleep to take it) while the log was read.
      if (scannedTo > from || this.#notifications !== notifications) return;
      this.queued = 0;
      await this.#sleep(this.deps.idleRecheckMs?.() ?? IDLE_RECHECK_MS, () => this.queued > 0 || this.replaying > 0, true);
      return;
    }
    this.queued = Math.max(this.queued, entries.length);
    if (entries.length < batchSize) {
      const dueAt = Date.parse(entries[0]!.receivedAt) + target.batching.flushIntervalSeconds * 1000;
      const wait = dueAt - this.#now().getTime();
      if (wait > 0) {
        // A partial batch waits for more events or for its flush interval, whichever comes first.
        await this.#sleep(wait, () => this.queued >= batchSize || this.replaying > 0);
        return;
      }
    }
    await this.#deliver(entries, false);
  }

  /** Takes a change of the integration this worker has not been told of yet; true when there was one. */
  async #refreshTarget(): Promise<boolean> {
    const current = await this.deps.store.getTarget(this.#target.id);
    if (!current || current.updatedAt === this.#target.updatedAt) return false;
    this.update(current);
    return true;
  }

  /**
   * Disabled: send nothing, keep the queue. Sleeps until re-enabled or until the oldest queued event
   * passes the retention, which turns it (and any other expired ones) into dead letters.
   */
  async #paused(): Promise<void> {
    const { entries: oldest } = await this.deps.store.readBatch(this.#target, this.cursor, 1);
    if (oldest.length === 0) {
      this.queued = 0;
      await this.#sleep(IDLE_RECHECK_MS, () => false);
      return;
    }
    const wait = Date.parse(oldest[0]!.receivedAt) + this.deps.retentionMs - this.#now().getTime();
    if (wait >= 0) {
      await this.#sleep(Math.min(wait + 1, MAX_PAUSE_SLEEP_MS), () => false);
      return;
    }
    const { entries } = await this.deps.store.readBatch(this.#target, this.cursor, this.#target.batching.batchSize);
    await this.#expire(entries);
  }

  /** Dead-letters the leading entries older than the retention; returns the rest. */
  async #expire(entries: LogEntry[]): Promise<LogEntry[]> {
    const cutoff = this.#now().getTime() - this.deps.retentionMs;
    let expired = 0;
    while (expired < entries.length && Date.parse(entries[expired]!.receivedAt) < cutoff) expired++;
    if (expired === 0) return entries;
    const days = Math.round(this.deps.retentionMs / 86_400_000);
    await this.deps.store.deadLetter(this.#target, entries.slice(0, expired), { reason: 'expired', error: `not delivered within the retention of ${days} days` }, this.#now());
    this.#advance(entries.slice(0, expired), false);
    this.deps.onStatusChange(this.#target, true);
    return entries.slice(expired);
  }

  async #deliver(entries: (LogEntry | ReplayEntry)[], replay: boolean): Promise<void> {
    if (!replay) {
      entries = await this.#expire(entries as LogEntry[]);
      if (entries.length === 0) return;
    }
    await this.#sendWithRetries(entries, replay);
  }

  async #sendWithRetries(entries: (LogEntry | ReplayEntry)[], replay: boolean): Promise<void> {
    const { store } = this.deps;
    let failures = 0;
    // Disabling pauses between attempts: the batch stays queued and is sent after re-enabling.
    while (!this.#stopping && this.#target.enabled) {
      // A discard moved the cursor past (part of) this batch: those events are no longer wanted.
      if (!replay) entries = entries.filter((e) => e.seq > this.cursor);
      if (entries.length === 0) return;
      const adapter = await this.#currentAdapter();
      if (!adapter) return;
      // Formats that embed the stored line frame its bytes; the others decode it once.
      const records = adapter.fromStored ? entries.map((e) => adapter.fromStored!(e)) : entries.map((e) => adapter.transform(fromStoredLine(e.line)));
      const sent = await adapter.send(records, { signal: this.#abort.signal });
      // Second line of defence: no secret of the config, whole or in part, in any encoding, reaches lastError,
      // dead letters or subscribers. Scrubbed first, then bounded.
      const result = sent.ok ? sent : { ...sent, message: scrubAndShorten(sent.message, this.#adapter?.scrubber ?? createSecretScrubber([]), MAX_LAST_ERROR_LENGTH) };
      if (this.#stopping && this.#abort.signal.aborted) return;
      const target = this.#target;
      this.#recordAttempt(target, entries.length, result);

      if (result.ok) {
        await store.commitDelivered(
          target.id,
          replay
            ? { count: entries.length, replayedIds: (entries as ReplayEntry[]).map((e) => e.deadLetterId) }
            : { cursorSeq: entries.at(-1)!.seq, count: entries.length },
          this.#now(),
        );
        this.#advance(entries, replay);
        this.deps.onStatusChange(target, failures > 0);
        return;
      }

      if (isPayloadRejection(result)) {
        if (entries.length > 1) {
          // Find the events the SIEM refuses: split, deliver the halves in order.
          await store.recordFailedAttempt(target.id, result.message, this.#now());
          this.deps.onStatusChange(target, true);
          const mid = Math.ceil(entries.length / 2);
          await this.#sendWithRetries(entries.slice(0, mid), replay);
          await this.#sendWithRetries(entries.slice(mid), replay);
          return;
        }
        await store.deadLetter(target, entries, { reason: 'rejected', error: result.message, httpStatus: result.status }, this.#now());
        this.deps.onDeadLetter?.(target, { count: entries.length, reason: 'rejected', httpStatus: result.status ?? null, error: result.message });
        this.#advance(entries, replay);
        this.deps.onStatusChange(target, true);
        return;
      }

      failures += 1;
      await store.recordFailedAttempt(target.id, result.message, this.#now());
      this.deps.onStatusChange(target, true);
      const delay = retryDelayMs(failures, result.retryAfterMs, {
        retryCount: target.batching.retryCount,
        baseMs: this.deps.retryBaseMs,
        maxMs: this.deps.retryMaxMs,
      });
      const version = target.updatedAt;
      // Wake early when an admin fixes the integration (new token, new URL).
      await this.#sleep(delay, () => this.#target.updatedAt !== version);
    }
  }

  #advance(entries: (LogEntry | ReplayEntry)[], replay: boolean) {
    if (replay) {
      this.replaying = Math.max(0, this.replaying - entries.length);
    } else {
      this.cursor = Math.max(this.cursor, entries.at(-1)!.seq);
      this.queued = Math.max(0, this.queued - entries.length);
    }
  }

  /** The `p`th percentile (0..100) of recent attempt latencies, or null before the first attempt. */
  latencyPercentile(p: number): number | null {
    const sorted = (this.#sortedLatencies ??= [...this.latencies].sort((a, b) => a - b));
    if (sorted.length === 0) return null;
    return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
  }

  #recordAttempt(target: DeliveryTarget, eventCount: number, result: DeliveryResult) {
    this.latencies.push(result.latencyMs);
    if (this.latencies.length > LATENCY_SAMPLES) this.latencies.shift();
    this.#sortedLatencies = undefined;
    this.deps.onAttempt({
      organizationId: target.organizationId,
      integrationId: target.id,
      attemptId: randomUUID(),
      eventCount,
      success: result.ok,
      kind: result.kind,
      httpStatus: result.status ?? null,
      latencyMs: result.latencyMs,
      error: result.ok ? null : result.message,
      at: this.#now(),
    });
  }

  async #currentAdapter(): Promise<SiemAdapter | null> {
    const target = this.#target;
    if (this.#adapter?.version === target.updatedAt) return this.#adapter.adapter;
    await this.#adapter?.adapter.close().catch(() => undefined);
    this.#adapter = undefined;
    const config = await this.deps.store.destinationConfig(target.id);
    if (!config) return null;
    const adapter = this.deps.createAdapter(config, { egress: this.deps.egress, defaultTimeoutMs: target.batching.timeoutSeconds * 1000 });
    this.#adapter = { adapter, version: target.updatedAt, scrubber: createSecretScrubber(secretValues(config)) };
    return adapter;
  }

  #sleep(ms: number, wakeWhen: () => boolean, idle = false): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#sleeper = undefined;
        resolve();
      }, ms);
      this.#sleeper = { resolve, wakeWhen, timer, idle };
    });
  }

  #wake(force: boolean) {
    const sleeper = this.#sleeper;
    if (sleeper && (force || this.#stopping || sleeper.wakeWhen())) {
      clearTimeout(sleeper.timer);
      this.#sleeper = undefined;
      sleeper.resolve();
    }
  }

  #now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}
