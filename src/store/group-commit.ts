/**
 * Commits work that arrives together in one go: while a commit of a key (an organisation) is running, the jobs
 * submitted for it queue up, and the next commit takes all of them. With synchronous=FULL every commit costs an
 * fsync; requests arriving together then share one instead of paying one each (group commit, as databases do
 * for their own log), with no added wait for a request that arrives alone.
 *
 * `run` answers each job with its result or its own error (one job's failure, e.g. a revoked key, does not fail
 * the others); if `run` itself throws, every job of that commit fails with that error.
 *
 * @example
 * ```ts
 * const group = new GroupCommit<Job, Result>((jobs) => commitAll(jobs));
 * const result = await group.submit(orgId, job);
 * ```
 */
export class GroupCommit<J, R> {
  readonly #queues = new Map<string, { job: J; resolve: (r: R) => void; reject: (e: unknown) => void }[]>();
  readonly #running = new Set<string>();

  constructor(private readonly run: (key: string, jobs: J[]) => Promise<(R | Error)[]>) {}

  submit(key: string, job: J): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let queue = this.#queues.get(key);
      if (!queue) this.#queues.set(key, (queue = []));
      queue.push({ job, resolve, reject });
      if (!this.#running.has(key)) void this.#drain(key);
    });
  }

  async #drain(key: string): Promise<void> {
    this.#running.add(key);
    try {
      for (let batch = this.#take(key); batch.length > 0; batch = this.#take(key)) {
        try {
          const results = await this.run(key, batch.map((b) => b.job));
          batch.forEach((b, i) => {
            const r = results[i];
            if (r instanceof Error) b.reject(r);
            else b.resolve(r as R);
          });
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
      }
    } finally {
      this.#running.delete(key);
    }
  }

  #take(key: string) {
    const queue = this.#queues.get(key) ?? [];
    this.#queues.delete(key);
    return queue;
  }
}
