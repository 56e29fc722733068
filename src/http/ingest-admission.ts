/** Limits of ingestion, shared by `POST /v1/events` and the `ingestEvents` mutation. */
export interface IngestLimits {
  /** Largest request body (REST) or serialised event list (GraphQL). */
  maxBodyBytes: number;
  /** Most events in one request. */
  maxEvents: number;
  /** Requests parsed and committed at once, across all organisations (the short shared slot). */
  commitConcurrency: number;
  /** Per organisation: bodies read (or waiting to be stored) at once. */
  readsPerOrganization: number;
  /** Per organisation: bytes reserved by bodies being read or waiting to be stored. */
  bufferBytesPerOrganization: number;
  /** Time a body may take to arrive, per MiB of its size, and at least this long. */
  bodyTimeoutMs: number;
}

const MIB = 1024 * 1024;

/** A wait for admission was given up (the request timed out or its client went away). */
export class AdmissionAbortedError extends Error {
  constructor(readonly reason: unknown) {
    super('admission wait aborted');
    this.name = 'AdmissionAbortedError';
  }
}

interface Waiter {
  grant: () => void;
  reject: (error: unknown) => void;
}

/**
 * A counting semaphore that serves its keys (organisations) in turn: when a slot frees, the next waiter of
 * the key after the one served last gets it, so a key with many waiters cannot starve the others. A waiter
 * whose signal aborts leaves the queue at once; a release is idempotent. Nothing stays behind for an idle key.
 *
 * @example
 * ```ts
 * const gate = new FairGate(2);
 * const release = await gate.acquire(organizationId);
 * try { await commit(); } finally { release(); }
 * ```
 */
export class FairGate {
  #active = 0;
  /** Waiters per key, and the keys with waiters in serving order. */
  readonly #queues = new Map<string, Waiter[]>();
  readonly #ring: string[] = [];

  constructor(readonly limit: number) {}

  /** Slots in use (for tests and diagnostics). */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting, across keys. */
  get waiting(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new AdmissionAbortedError(signal.reason));
    if (this.#active < this.limit && this.#ring.length === 0) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const queue = this.#queues.get(key);
        const i = queue?.indexOf(waiter) ?? -1;
        if (queue && i >= 0) {
          queue.splice(i, 1);
          if (queue.length === 0) this.#dropKey(key);
        }
        reject(new AdmissionAbortedError(signal!.reason));
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.#releaser());
        },
        reject,
      };
      let queue = this.#queues.get(key);
      if (!queue) {
        queue = [];
        this.#queues.set(key, queue);
        this.#ring.push(key);
      }
      queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const key = this.#ring.shift();
      if (key === undefined) {
        this.#active--;
        return;
      }
      const queue = this.#queues.get(key)!;
      const next = queue.shift()!;
      if (queue.length === 0) this.#queues.delete(key);
      else this.#ring.push(key);
      next.grant();
    };
  }

  #dropKey(key: string) {
    this.#queues.delete(key);
    const i = this.#ring.indexOf(key);
    if (i >= 0) this.#ring.splice(i, 1);
  }
}

interface OrganizationState {
  reads: number;
  bytes: number;
  waiting: { bytes: number; grant: () => void }[];
}

/**
 * Admission of ingestion requests, fair between organisations:
 *
 * 1. **Reading** is bounded per organisation (`readsPerOrganization` bodies and `bufferBytesPerOrganization`
 *    reserved bytes at once; more wait in that organisation's queue, their bodies held back by TCP). No
 *    shared capacity is held while a body arrives, so one organisation's slow or large uploads never make
 *    another's wait.
 * 2. **Parsing and committing** take a short slot of a {@link FairGate} shared by all (`commitConcurrency`),
 *    served to organisations in turn.
 *
 * Every reservation is given back by its release function (idempotent), and a waiter whose request is
 * aborted or times out leaves its queue, so aborted uploads never leak capacity.
 *
 * @example
 * ```ts
 * const admission = new IngestAdmission(limits);
 * const releaseRead = await admission.reserve(orgId, contentLength, signal);
 * try {
 *   const body = await readBody(req, limits.maxBodyBytes, { signal });
 *   const releaseCommit = await admission.commit.acquire(orgId, signal);
 *   try { await store(body); } finally { releaseCommit(); }
 * } finally { releaseRead(); }
 * ```
 */
export class IngestAdmission {
  readonly commit: FairGate;
  readonly #orgs = new Map<string, OrganizationState>();

  constructor(readonly limits: IngestLimits) {
    this.commit = new FairGate(limits.commitConcurrency);
  }

  /** Time a body of `bytes` may take to arrive (at least `bodyTimeoutMs`, plus as much per further MiB). */
  bodyDeadlineMs(bytes: number): number {
    return Math.max(this.limits.bodyTimeoutMs, Math.ceil((this.limits.bodyTimeoutMs * bytes) / MIB));
  }

  /** What an organisation holds now (for tests and diagnostics): reads, bytes, waiting requests. */
  held(organizationId: string): { reads: number; bytes: number; waiting: number } {
    const s = this.#orgs.get(organizationId);
    return { reads: s?.reads ?? 0, bytes: s?.bytes ?? 0, waiting: s?.waiting.length ?? 0 };
  }

  /**
   * Reserves one read and `bytes` of the organisation's buffer, waiting in the organisation's own queue
   * (first come, first served) when either is exhausted. Rejects with {@link AdmissionAbortedError} when
   * `signal` aborts first.
   */
  reserve(organizationId: string, bytes: number, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new AdmissionAbortedError(signal.reason));
    const want = Math.min(bytes, this.limits.bufferBytesPerOrganization);
    let state = this.#orgs.get(organizationId);
    if (!state) {
      state = { reads: 0, bytes: 0, waiting: [] };
      this.#orgs.set(organizationId, state);
    }
    const s = state;
    const release = () => {
      let released = false;
      return () => {
        if (released) return;
        released = true;
        s.reads--;
        s.bytes -= want;
        this.#pump(organizationId, s);
      };
    };
    if (s.waiting.length === 0 && this.#fits(s, want)) {
      s.reads++;
      s.bytes += want;
      return Promise.resolve(release());
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = s.waiting.indexOf(entry);
        if (i >= 0) s.waiting.splice(i, 1);
        this.#pump(organizationId, s);
        reject(new AdmissionAbortedError(signal!.reason));
      };
      const entry = {
        bytes: want,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release());
        },
      };
      s.waiting.push(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #fits(s: OrganizationState, bytes: number): boolean {
    return s.reads < this.limits.readsPerOrganization && (s.bytes === 0 || s.bytes + bytes <= this.limits.bufferBytesPerOrganization);
  }

  /** Admits the organisation's waiters in order while they fit; forgets an idle organisation. */
  #pump(organizationId: string, s: OrganizationState) {
    while (s.waiting.length > 0 && this.#fits(s, s.waiting[0]!.bytes)) {
      const next = s.waiting.shift()!;
      s.reads++;
      s.bytes += next.bytes;
      next.grant();
    }
    if (s.reads === 0 && s.waiting.length === 0 && this.#orgs.get(organizationId) === s) this.#orgs.delete(organizationId);
  }
}
