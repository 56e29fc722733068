import { sql, type Kysely, type Transaction } from 'kysely';
import type { SecurityEvent } from '../events/security-event.js';
import { toStoredEvents } from '../events/stored-event.js';
import { hashEventId, IdempotencyIndex, type IdHash } from './idempotency-index.js';
import { routes, type Route } from './routing.js';
import { runTransaction } from './run-transaction.js';
import { SegmentCache, type EventFacts, type Segment } from './segment-cache.js';
import type { Database } from './tables.js';

/** What the delivery engine learns about each newly stored event (enough to route it without reading it back). */
export interface AppendedEvent {
  /** The event's position in its organisation's log. */
  seq: number;
  customerId: string | null;
  severityRank: number;
  type: string;
}

/** Result of appending a batch. */
export interface AppendResult {
  /** Events stored now, in position order. */
  appended: AppendedEvent[];
  /** Events whose id was already stored for this organisation (idempotent re-sends). */
  duplicates: number;
}

/** One event of the log, as delivery reads it. */
export interface LogEntry {
  /** Position in the organisation's log. */
  seq: number;
  eventId: string;
  /** The stored line (see `toStoredLine`). */
  line: string;
  /** When the gateway committed it (ISO 8601). */
  receivedAt: string;
  /** The event's own time, epoch milliseconds. */
  timeMs: number;
  customerId: string | null;
  severityRank: number;
  type: string;
}

/** Options of {@link EventLog}. */
export interface EventLogOptions {
  /** Memory for recently appended and read segments. @default 33554432 (32 MiB) */
  cacheBytes?: number;
  /**
   * Called after each write transaction commits, before it is acknowledged: resolves once the commit is on disk
   * (SQLite's `WalBarrier`). Unset: the commit itself is durable (PostgreSQL, or SQLite with `synchronous=FULL`).
   */
  durable?: () => Promise<void>;
}

type Executor = Kysely<Database> | Transaction<Database>;

/** What one write transaction appended: made visible (cache) on commit, taken back (ids) on rollback. */
interface PendingAppends {
  segments: Segment[];
  ids: { hash: IdHash; position: number }[];
  /** The head this transaction found (and indexed other replicas' appends up to): committed, whatever happens here. */
  caughtUpTo?: number;
}

/** Segment bounds looked at per read while filling a batch (an index-only scan). */
const BOUNDS_PER_READ = 256;
/** Segments read per query when confirming suspected duplicates (`#idsAt`). */
const SEGMENTS_PER_READ = 32;
/**
 * Segments per page while rebuilding the id index, catching up or counting a queue: a segment holds up to a
 * request's events (10,000 by default), so a page parses at most ~2M facts at once.
 */
const SEGMENTS_PER_PAGE = 200;

/**
 * Each organisation's event log, as segments: every committed append writes one row holding its events
 * serialised once (stored lines joined by newlines) and their routing facts, at contiguous positions taken
 * from the organisation's `log_heads` row under its lock. So an ingest costs one row however many events it
 * carries, positions follow commit order on SQLite and PostgreSQL alike, and delivery frames request
 * bodies from the stored bytes.
 *
 * Idempotency by event id is kept in memory ({@link IdempotencyIndex}, rebuilt from the facts at first use;
 * a hash match is confirmed against the stored id), and appends of one organisation are serialised in the
 * process, so two requests carrying the same id store it once. Across processes on PostgreSQL the head's row
 * lock serialises them and each append first indexes the segments other replicas appended since.
 *
 * @example
 * ```ts
 * const log = new EventLog(db);
 * await log.write(orgId, (trx) => log.append(trx, orgId, events, new Date()));
 * const entries = await log.read(orgId, 0, 500);
 * ```
 */
export class EventLog {
  readonly #db: Kysely<Database>;
  readonly #postgres: boolean;
  #index = new IdempotencyIndex();
  readonly #cache: SegmentCache;
  /** Per organisation, the next position this process has indexed up to. */
  readonly #known = new Map<string, number>();
  readonly #pending = new WeakMap<object, PendingAppends>();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #durable?: () => Promise<void>;
  #loaded?: Promise<void>;

  constructor(db: Kysely<Database>, options: EventLogOptions = {}) {
    this.#db = db;
    this.#postgres = db.getExecutor().adapter.constructor.name === 'PostgresAdapter';
    this.#cache = new SegmentCache(options.cacheBytes ?? 32 * 1024 * 1024);
    this.#durable = options.durable;
  }

  /** Ids held by the in-memory index and bytes of cached segments (for metrics and the bench). */
  get memory(): { ids: number; indexBytes: number; cacheBytes: number } {
    return { ids: this.#index.size, indexBytes: this.#index.bytes, cacheBytes: this.#cache.bytes };
  }

  /** Builds the id index from the log, once; the first write waits for it. Call at start to do it before traffic. */
  load(): Promise<void> {
    // A failed load (the database away at start) is tried again by the next caller, from an empty index.
    return (this.#loaded ??= this.#load().catch((error: unknown) => {
      this.#loaded = undefined;
      this.#index = new IdempotencyIndex();
      this.#known.clear();
      throw error;
    }));
  }

  /**
   * Runs a write transaction of one organisation in which {@link append} may be called. Appends of the same
   * organisation run one at a time; their segments become readable from memory once committed, and their
   * ids are taken back from the index when the transaction fails. Resolves once the commit is durable
   * ({@link EventLogOptions.durable}).
   */
  async write<T>(organizationId: string, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    await this.load();
    return this.#exclusive(organizationId, async () => {
      const pending: PendingAppends = { segments: [], ids: [] };
      const known = this.#known.get(organizationId);
      let result: T;
      try {
        result = await runTransaction(this.#db, (trx) => {
          this.#pending.set(trx, pending);
          return fn(trx);
        });
        for (const segment of pending.segments) this.#cache.put(segment);
      } catch (error) {
        for (const { hash, position } of pending.ids) this.#index.remove(hash, position);
        // The head did not move: the rollback took our segments back. What was indexed from other replicas'
        // appends stays indexed, and known as such (indexing it again would store each id twice).
        if (pending.caughtUpTo !== undefined) this.#known.set(organizationId, pending.caughtUpTo);
        else if (known === undefined) this.#known.delete(organizationId);
        else this.#known.set(organizationId, known);
        throw error;
      }
      // Committed: acknowledged once on disk. The next write of this organisation need not wait for this flush
      // (it waits for its own), so the lock is not held across it.
      return { result, flushed: this.#durable?.() };
    }).then(async ({ result, flushed }) => {
      await flushed;
      return result;
    });
  }

  /**
   * Appends events to the organisation's log inside a transaction of {@link write}. An event whose `id` is
   * already stored for the organisation (or repeated in `events`) is skipped: stored once however often it is sent.
   */
  append(trx: Transaction<Database>, organizationId: string, events: readonly SecurityEvent[], receivedAt: Date): Promise<AppendResult> {
    return this.appendStored(trx, organizationId, toStoredEvents(events), receivedAt);
  }

  /**
   * {@link append} for events already serialised (`prepareEvents`, possibly on another thread): their stored
   * lines and facts, and optionally both already joined as they are written (`joined`, `factsJson`).
   */
  async appendStored(
    trx: Transaction<Database>,
    organizationId: string,
    batch: { lines: string[]; facts: EventFacts[]; joined?: string; factsJson?: string },
    receivedAt: Date,
  ): Promise<AppendResult> {
    const pending = this.#pending.get(trx);
    if (!pending) throw new Error('EventLog.append must run inside EventLog.write');
    const next = await this.#lockHead(trx, organizationId);
    await this.#catchUp(trx, organizationId, next);
    pending.caughtUpTo = next;

    const { lines, facts } = batch;
    const total = facts.length;
    const hashes = new Array<IdHash>(total);
    // Indexes of events not stored: repeated in the batch, or (confirmed below) already in the log.
    let skip: Set<number> | undefined;
    let suspects: { index: number; positions: number[] }[] | undefined;
    const seen = new Set<string>();
    for (let i = 0; i < total; i++) {
      const id = facts[i]![0];
      if (seen.has(id)) {
        (skip ??= new Set()).add(i);
        continue;
      }
      seen.add(id);
      const hash = (hashes[i] = hashEventId(organizationId, id));
      const positions = this.#index.candidates(hash);
      if (positions.length > 0) (suspects ??= []).push({ index: i, positions });
    }
    if (suspects) {
      const stored = await this.#idsAt(trx, organizationId, suspects.flatMap((s) => s.positions));
      for (const s of suspects) if (s.positions.some((p) => stored.get(p) === facts[s.index]![0])) (skip ??= new Set()).add(s.index);
    }
    let keptLines = lines;
    let keptFacts = facts;
    let keptHashes = hashes;
    let joined = batch.joined;
    let factsJson = batch.factsJson;
    if (skip) {
      const keep = (_: unknown, i: number) => !skip.has(i);
      keptLines = lines.filter(keep);
      keptFacts = facts.filter(keep);
      keptHashes = hashes.filter(keep);
      joined = undefined;
      factsJson = undefined;
    }
    const count = keptFacts.length;
    if (count === 0) return { appended: [], duplicates: total };

    const received = receivedAt.toISOString();
    const appended = new Array<AppendedEvent>(count);
    let chars = 0;
    for (let i = 0; i < count; i++) {
      const f = keptFacts[i]!;
      appended[i] = { seq: next + i, customerId: f[1], severityRank: f[2], type: f[3] };
      chars += keptLines[i]!.length + f[0].length + 24;
    }
    const last = next + count - 1;
    await trx
      .insertInto('event_segments')
      .values({
        organization_id: organizationId,
        first_position: next,
        last_position: last,
        received_at: received,
        events: joined ?? keptLines.join('\n'),
        facts: factsJson ?? JSON.stringify(keptFacts),
      })
      .execute();
    await trx.updateTable('log_heads').set({ next_position: last + 1 }).where('organization_id', '=', organizationId).execute();
    for (let i = 0; i < count; i++) {
      this.#index.add(keptHashes[i]!, next + i);
      pending.ids.push({ hash: keptHashes[i]!, position: next + i });
    }
    this.#known.set(organizationId, last + 1);
    pending.segments.push({ organizationId, first: next, last, receivedAt: received, lines: keptLines, facts: keptFacts, bytes: segmentBytes(chars, 0, count) });
    return { appended, duplicates: total - count };
  }

  /** The last position of the organisation's log (0 for an empty log). New integrations start reading after it. */
  async head(db: Executor, organizationId: string): Promise<number> {
    const row = await db.selectFrom('log_heads').select('next_position').where('organization_id', '=', organizationId).executeTakeFirst();
    return row ? Number(row.next_position) - 1 : 0;
  }

  /**
   * Every event of the organisation after position `after`, in order, whole segments at a time until at
   * least `maxEvents` are gathered (or the log ends). Unrouted: the caller applies `routes()`.
   * Recently appended segments come from memory.
   */
  async read(organizationId: string, after: number, maxEvents: number): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    let position = after;
    while (out.length < maxEvents) {
      const cached = this.#cache.find(organizationId, position + 1);
      if (cached) {
        pushEntries(out, cached, position);
        position = cached.last;
        continue;
      }
      const segments = await this.#readSegments(organizationId, position, maxEvents - out.length);
      if (segments.length === 0) break;
      for (const segment of segments) {
        this.#cache.put(segment);
        pushEntries(out, segment, position);
        position = segment.last;
      }
    }
    return out;
  }

  /**
   * How many events after `after` (and up to `upTo`) a route takes. Without a customer or filter this is
   * arithmetic over segment bounds; otherwise it reads the routing facts, never the events.
   */
  async countRouted(db: Executor, organizationId: string, route: Route, after: number, upTo = Number.MAX_SAFE_INTEGER): Promise<number> {
    if (route.customerId === null && !route.filter) {
      const row = await db
        .selectFrom('event_segments')
        .select(sql<number>`coalesce(sum(case when last_position > ${upTo} then ${upTo} else last_position end - case when first_position - 1 > ${after} then first_position - 1 else ${after} end), 0)`.as('n'))
        .where('organization_id', '=', organizationId)
        .where('last_position', '>', after)
        .where('first_position', '<=', upTo)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    }
    let count = 0;
    await forEachFact(db, organizationId, after, upTo, (_position, f) => {
      if (routes(route, { customerId: f[1], severityRank: f[2], type: f[3] })) count++;
    });
    return count;
  }

  /**
   * Keeps the log small: drops the events (not the facts) of segments every integration has moved past
   * (`movedPast`: positions ≤ it), and deletes segments received before `deleteBefore` that are also moved
   * past, their ids leaving the index with them. At most `limit` segments per step.
   */
  async prune(organizationId: string, movedPast: number, deleteBefore: Date, limit: number): Promise<{ compacted: number; deleted: number }> {
    const compacted = await this.#db
      .updateTable('event_segments')
      .set({ events: '' })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('event_segments')
          .select('id')
          .where('organization_id', '=', organizationId)
          .where('last_position', '<=', movedPast)
          .where('events', '<>', '')
          .orderBy('last_position')
          .limit(limit),
      )
      .executeTakeFirst();
    const old = await this.#db
      .selectFrom('event_segments')
      .select(['id', 'first_position', 'last_position', 'received_at', 'facts'])
      .where('organization_id', '=', organizationId)
      .where('last_position', '<=', movedPast)
      .orderBy('last_position')
      .limit(limit)
      .execute();
    // Segments are received in position order: the walk stops at the first one inside the window.
    const cutoff = deleteBefore.toISOString();
    const end = old.findIndex((r) => r.received_at >= cutoff);
    const expired = end === -1 ? old : old.slice(0, end);
    if (expired.length > 0) {
      const upTo = Number(expired.at(-1)!.last_position);
      await this.#exclusive(organizationId, async () => {
        await this.#db.deleteFrom('event_segments').where('organization_id', '=', organizationId).where('last_position', '<=', upTo).execute();
        for (const row of expired) {
          const first = Number(row.first_position);
          const facts = JSON.parse(row.facts) as EventFacts[];
          for (let i = 0; i < facts.length; i++) this.#index.remove(hashEventId(organizationId, facts[i]![0]), first + i);
        }
        this.#cache.forget(organizationId, upTo);
      });
    }
    return { compacted: Number(compacted.numUpdatedRows), deleted: expired.length };
  }

  /**
   * The segments after `after` holding about `wanted` events: their bounds first (an index-only scan), then only
   * the rows needed, so a batch of 500 does not read 32 segments of 10,000.
   */
  async #readSegments(organizationId: string, after: number, wanted: number): Promise<Segment[]> {
    const bounds = await this.#db
      .selectFrom('event_segments')
      .select(['first_position', 'last_position'])
      .where('organization_id', '=', organizationId)
      .where('last_position', '>', after)
      .orderBy('last_position')
      .limit(BOUNDS_PER_READ)
      .execute();
    if (bounds.length === 0) return [];
    let upTo = after;
    let events = 0;
    for (const b of bounds) {
      upTo = Number(b.last_position);
      events += upTo - Math.max(Number(b.first_position) - 1, after);
      if (events >= wanted) break;
    }
    const rows = await this.#db
      .selectFrom('event_segments')
      .select(['first_position', 'last_position', 'received_at', 'events', 'facts'])
      .where('organization_id', '=', organizationId)
      .where('last_position', '>', after)
      .where('last_position', '<=', upTo)
      .orderBy('last_position')
      .execute();
    return rows.map((r) => {
      const facts = JSON.parse(r.facts) as EventFacts[];
      return {
        organizationId,
        first: Number(r.first_position),
        last: Number(r.last_position),
        receivedAt: r.received_at,
        lines: r.events === '' ? null : r.events.split('\n'),
        facts,
        bytes: segmentBytes(r.events.length, 0, facts.length),
      };
    });
  }

  /** Takes the organisation's head (its row lock, on PostgreSQL) and returns its next position. */
  async #lockHead(trx: Transaction<Database>, organizationId: string): Promise<number> {
    const select = () => {
      const q = trx.selectFrom('log_heads').select('next_position').where('organization_id', '=', organizationId);
      return (this.#postgres ? q.forUpdate() : q).executeTakeFirst();
    };
    let row = await select();
    if (!row) {
      await trx.insertInto('log_heads').values({ organization_id: organizationId, next_position: 1 }).onConflict((oc) => oc.column('organization_id').doNothing()).execute();
      row = await select();
    }
    return Number(row!.next_position);
  }

  /** Indexes the ids of segments appended by other processes since this one last looked (PostgreSQL replicas). */
  async #catchUp(trx: Transaction<Database>, organizationId: string, next: number): Promise<void> {
    const known = this.#known.get(organizationId) ?? 1;
    if (known >= next) return;
    await forEachFact(trx, organizationId, known - 1, Number.MAX_SAFE_INTEGER, (position, f) => this.#index.add(hashEventId(organizationId, f[0]), position));
    this.#known.set(organizationId, next);
  }

  /** The ids stored at these positions of the organisation's log. */
  async #idsAt(trx: Transaction<Database>, organizationId: string, positions: number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const wanted = [...new Set(positions)].sort((a, b) => a - b);
    let i = 0;
    while (i < wanted.length) {
      const rows = await trx
        .selectFrom('event_segments')
        .select(['first_position', 'last_position', 'facts'])
        .where('organization_id', '=', organizationId)
        .where('last_position', '>=', wanted[i]!)
        .orderBy('last_position')
        .limit(SEGMENTS_PER_READ)
        .execute();
      if (rows.length === 0) break;
      for (const row of rows) {
        const first = Number(row.first_position);
        const last = Number(row.last_position);
        if (wanted[i]! > last) continue;
        const facts = JSON.parse(row.facts) as EventFacts[];
        while (i < wanted.length && wanted[i]! <= last) {
          const p = wanted[i++]!;
          if (p >= first) out.set(p, facts[p - first]![0]);
        }
        if (i >= wanted.length) break;
      }
    }
    return out;
  }

  /** Builds the id index from the log (once, before the first append). */
  async #load(): Promise<void> {
    const heads = await this.#db.selectFrom('log_heads').select(['organization_id', 'next_position']).execute();
    for (const h of heads) this.#known.set(h.organization_id, Number(h.next_position));
    let after = 0;
    for (;;) {
      const rows = await this.#db
        .selectFrom('event_segments')
        .select(['id', 'organization_id', 'first_position', 'facts'])
        .where('id', '>', after)
        .orderBy('id')
        .limit(SEGMENTS_PER_PAGE)
        .execute();
      for (const row of rows) {
        const org = row.organization_id;
        const first = Number(row.first_position);
        // Segments appended after the heads were read are indexed by the first append's catch-up.
        const known = this.#known.get(org) ?? 1;
        const facts = JSON.parse(row.facts) as EventFacts[];
        for (let i = 0; i < facts.length; i++) if (first + i < known) this.#index.add(hashEventId(org, facts[i]![0]), first + i);
        after = Number(row.id);
      }
      if (rows.length < SEGMENTS_PER_PAGE) break;
    }
  }

  /** Runs `fn` after every earlier `#exclusive` call of the organisation settled. */
  #exclusive<T>(organizationId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(organizationId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#locks.set(organizationId, settled);
    void settled.then(() => {
      if (this.#locks.get(organizationId) === settled) this.#locks.delete(organizationId);
    });
    return run;
  }
}

/**
 * Memory a decoded segment holds, roughly: JSON is mostly ASCII, which V8 keeps at one byte a character; each
 * event adds its line's string header and its facts tuple (an array of five, the id, customer and type strings and
 * a heap number: about 220 bytes).
 */
function segmentBytes(lineChars: number, factChars: number, events: number): number {
  return lineChars + factChars + events * 240 + 128;
}

/** Calls `fn` with the routing facts of every event of the organisation at positions in (`after`, `upTo`], in order, a page of segments at a time. */
async function forEachFact(db: Executor, organizationId: string, after: number, upTo: number, fn: (position: number, facts: EventFacts) => void): Promise<void> {
  let position = after;
  for (;;) {
    const rows = await db
      .selectFrom('event_segments')
      .select(['first_position', 'last_position', 'facts'])
      .where('organization_id', '=', organizationId)
      .where('last_position', '>', position)
      .where('first_position', '<=', upTo)
      .orderBy('last_position')
      .limit(SEGMENTS_PER_PAGE)
      .execute();
    for (const row of rows) {
      const first = Number(row.first_position);
      const facts = JSON.parse(row.facts) as EventFacts[];
      for (let i = Math.max(0, after - first + 1); i < facts.length && first + i <= upTo; i++) fn(first + i, facts[i]!);
      position = Number(row.last_position);
    }
    if (rows.length < SEGMENTS_PER_PAGE) return;
  }
}

function pushEntries(out: LogEntry[], segment: Segment, after: number): void {
  const { first, facts, lines, receivedAt } = segment;
  for (let i = Math.max(0, after - first + 1); i < facts.length; i++) {
    const f = facts[i]!;
    out.push({ seq: first + i, eventId: f[0], line: lines?.[i] ?? '', receivedAt, timeMs: f[4], customerId: f[1], severityRank: f[2], type: f[3] });
  }
}
