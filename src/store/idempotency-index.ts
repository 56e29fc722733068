import { randomBytes } from 'node:crypto';

/** A 64-bit hash of (organisation, event id), as two unsigned 32-bit halves. */
export interface IdHash {
  hi: number;
  lo: number;
}

/**
 * Hashes (organisation, event id) to 64 bits: two independent 32-bit lanes (FNV-1a and a Murmur-style
 * multiply-rotate) over the UTF-16 code units, each finished with Murmur3's avalanche. Not cryptographic and
 * need not be: a match is only a candidate that the log confirms (see {@link IdempotencyIndex}).
 * Written by hand because it runs once per ingested event and must cost well under a microsecond without
 * allocating; no maintained package offers a 64-bit string hash at that cost in plain JavaScript.
 *
 * @example
 * ```ts
 * const h = hashEventId(orgId, '6f1c…'); // { hi: …, lo: … }, the same for the same pair within this process
 * ```
 */
export function hashEventId(organizationId: string, id: string): IdHash {
  let a = SEED_A;
  let b = SEED_B;
  for (let i = 0; i < organizationId.length; i++) {
    const c = organizationId.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(rotl(b ^ c, 15), 0x5bd1e995);
  }
  a = Math.imul(a ^ 0x1f, 0x01000193);
  b = Math.imul(rotl(b ^ 0x1f, 15), 0x5bd1e995);
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(rotl(b ^ c, 15), 0x5bd1e995);
  }
  return { hi: fmix32(a ^ id.length) >>> 0, lo: fmix32(b ^ id.length) >>> 0 };
}

/**
 * Seeds drawn per process: ids are chosen by clients, and with a fixed seed a tenant could pick ids that share
 * home slots and make every probe long for every organisation.
 */
const SEED_A = (0x811c9dc5 ^ randomBytes(4).readUInt32LE(0)) >>> 0;
const SEED_B = (0x9747b28c ^ randomBytes(4).readUInt32LE(0)) >>> 0;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

const INITIAL_CAPACITY = 1 << 14;

/**
 * The ids of the events in the log, kept in memory so that idempotency costs amortised O(1) per event
 * instead of a random B-tree insert: 64-bit hashes of (organisation, id) with the log position of each,
 * in an open-addressing table (linear probing, backward-shift deletion) over typed arrays — 16 bytes a
 * slot, at most half full, so at most 32 bytes per stored id and no object per entry for the GC to trace.
 *
 * The table is an accelerator, never the judge: `candidates` returns the positions whose hash matches, and
 * the log compares the ids stored there. Rebuilt from the log at start; entries leave with the events
 * (when the log deletes them after the retention window).
 *
 * @example
 * ```ts
 * const index = new IdempotencyIndex();
 * index.add(hashEventId(org, id), 42);
 * index.candidates(hashEventId(org, id)); // [42]
 * ```
 */
export class IdempotencyIndex {
  #hi = new Uint32Array(INITIAL_CAPACITY);
  #lo = new Uint32Array(INITIAL_CAPACITY);
  /** Log position of the entry; 0 marks an empty slot (positions start at 1). */
  #pos = new Float64Array(INITIAL_CAPACITY);
  #mask = INITIAL_CAPACITY - 1;
  #size = 0;

  /** Entries held. */
  get size(): number {
    return this.#size;
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.#pos.length * 16;
  }

  add(hash: IdHash, position: number): void {
    if ((this.#size + 1) * 2 > this.#pos.length) this.#grow();
    this.#insert(hash.hi, hash.lo, position);
    this.#size++;
  }

  /** Positions of the entries with this hash (usually none, or the one stored event with this id). */
  candidates(hash: IdHash): number[] {
    const out: number[] = [];
    const mask = this.#mask;
    for (let i = hash.lo & mask; this.#pos[i] !== 0; i = (i + 1) & mask) {
      if (this.#lo[i] === hash.lo && this.#hi[i] === hash.hi) out.push(this.#pos[i]!);
    }
    return out;
  }

  /** Removes the entry with this hash at this position; false when there is none. */
  remove(hash: IdHash, position: number): boolean {
    const mask = this.#mask;
    let i = hash.lo & mask;
    for (; this.#pos[i] !== 0; i = (i + 1) & mask) {
      if (this.#pos[i] === position && this.#lo[i] === hash.lo && this.#hi[i] === hash.hi) break;
    }
    if (this.#pos[i] === 0) return false;
    // Backward-shift deletion: pull later entries of the probe run into the hole when their home slot allows it.
    let hole = i;
    for (let j = (hole + 1) & mask; this.#pos[j] !== 0; j = (j + 1) & mask) {
      const home = this.#lo[j]! & mask;
      const staysPut = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (staysPut) continue;
      this.#hi[hole] = this.#hi[j]!;
      this.#lo[hole] = this.#lo[j]!;
      this.#pos[hole] = this.#pos[j]!;
      hole = j;
    }
    this.#pos[hole] = 0;
    this.#size--;
    return true;
  }

  #insert(hi: number, lo: number, position: number): void {
    const mask = this.#mask;
    let i = lo & mask;
    while (this.#pos[i] !== 0) i = (i + 1) & mask;
    this.#hi[i] = hi;
    this.#lo[i] = lo;
    this.#pos[i] = position;
  }

  #grow(): void {
    const hi = this.#hi;
    const lo = this.#lo;
    const pos = this.#pos;
    const capacity = pos.length * 2;
    this.#hi = new Uint32Array(capacity);
    this.#lo = new Uint32Array(capacity);
    this.#pos = new Float64Array(capacity);
    this.#mask = capacity - 1;
    for (let i = 0; i < pos.length; i++) if (pos[i] !== 0) this.#insert(hi[i]!, lo[i]!, pos[i]!);
  }
}
