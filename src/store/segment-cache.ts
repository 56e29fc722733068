import type { EventFacts } from '../events/stored-event.js';

export type { EventFacts };

/** One segment of an organisation's log, decoded. Positions `first..last` are contiguous. */
export interface Segment {
  organizationId: string;
  first: number;
  last: number;
  receivedAt: string;
  /** Stored lines, one per position; null once compacted (every integration moved past it). */
  lines: readonly string[] | null;
  facts: readonly EventFacts[];
  /** Approximate memory held (UTF-16 string bytes). */
  bytes: number;
}

/**
 * Recently appended or read segments, bounded in bytes, so that delivery reads what ingest just committed
 * without a database round trip, and ten integrations reading the same events decode them once.
 * Evicts in insertion order (the log is read roughly in the order it is written).
 *
 * @example
 * ```ts
 * const cache = new SegmentCache(16 * 1024 * 1024);
 * cache.put(segment);
 * cache.find(orgId, 42); // the segment holding position 42, if cached
 * ```
 */
export class SegmentCache {
  readonly #byOrg = new Map<string, Segment[]>();
  /** Insertion order, for eviction; evicted slots are cleared at once (a held slot would keep its segment alive). */
  readonly #queue: (Segment | undefined)[] = [];
  #queueHead = 0;
  #bytes = 0;
  /** Segments cached now (the queue may still hold dropped ones until it is compacted). */
  #count = 0;

  constructor(private readonly budgetBytes: number) {}

  get bytes(): number {
    return this.#bytes;
  }

  /** Segments cached, and segments the eviction queue still references (at most about twice as many). */
  get size(): { cached: number; referenced: number } {
    let referenced = 0;
    for (const q of this.#queue) if (q) referenced++;
    return { cached: this.#count, referenced };
  }

  put(segment: Segment): void {
    if (segment.bytes > this.budgetBytes) return;
    const list = this.#list(segment.organizationId);
    const at = lowerBound(list, segment.first);
    if (list[at]?.first === segment.first) return;
    list.splice(at, 0, segment);
    this.#queue.push(segment);
    this.#bytes += segment.bytes;
    this.#count++;
    while (this.#bytes > this.budgetBytes && this.#queueHead < this.#queue.length) {
      const oldest = this.#queue[this.#queueHead];
      this.#queue[this.#queueHead++] = undefined;
      if (oldest) this.#drop(oldest);
    }
    if (this.#queueHead > 64 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
  }

  /** The cached segment of this organisation holding `position`. */
  find(organizationId: string, position: number): Segment | undefined {
    const list = this.#byOrg.get(organizationId);
    if (!list || list.length === 0) return undefined;
    // The last segment starting at or before `position`.
    const at = lowerBound(list, position + 1) - 1;
    const segment = at >= 0 ? list[at] : undefined;
    return segment && segment.last >= position ? segment : undefined;
  }

  /** Forgets segments of an organisation ending at or before `upTo` (deleted from the log). */
  forget(organizationId: string, upTo: number): void {
    const list = this.#byOrg.get(organizationId);
    if (!list) return;
    while (list.length > 0 && list[0]!.last <= upTo) this.#drop(list[0]!);
    // Dropped segments still in the eviction queue would stay in memory: keep the queue to the live ones.
    if (this.#queue.length - this.#queueHead > 2 * this.#count + 64) {
      const live = this.#queue.slice(this.#queueHead).filter((q): q is Segment => q !== undefined && this.#isCached(q));
      this.#queue.length = 0;
      this.#queue.push(...live);
      this.#queueHead = 0;
    }
  }

  #isCached(segment: Segment): boolean {
    const list = this.#byOrg.get(segment.organizationId);
    return list !== undefined && list[lowerBound(list, segment.first)] === segment;
  }

  #drop(segment: Segment): void {
    const list = this.#byOrg.get(segment.organizationId);
    if (!list) return;
    const at = lowerBound(list, segment.first);
    if (list[at] !== segment) return;
    list.splice(at, 1);
    this.#bytes -= segment.bytes;
    this.#count--;
    if (list.length === 0) this.#byOrg.delete(segment.organizationId);
  }

  #list(organizationId: string): Segment[] {
    let list = this.#byOrg.get(organizationId);
    if (!list) this.#byOrg.set(organizationId, (list = []));
    return list;
  }
}

/** Index of the first segment with `first >= position`. */
function lowerBound(list: readonly Segment[], position: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.first < position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
