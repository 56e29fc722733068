/**
 * What the monitor needs of the store (`Store` is one): in-process revocation notices and a lookup of the
 * keys no longer active. Declared here, so that `auth` does not import the store, which imports
 * `auth/api-token.ts`.
 */
export interface RevocationSource {
  subscribe(listener: {
    eventsAppended(): void;
    integrationChanged(): void;
    apiKeyRevoked(organizationId: string, keyId: string): void;
  }): () => void;
  inactiveApiKeyIds(keyIds: readonly string[]): Promise<string[]>;
}

/** Options of {@link RevocationMonitor}. */
export interface RevocationMonitorOptions {
  store: RevocationSource;
  /**
   * How often the keys with live sessions are looked up in the database, to catch revocations made by
   * another process on the same file (`siemgate keys revoke`). In-process revocations are seen at once.
   * @default 500
   */
  intervalMs?: number;
  /** Called when a periodic lookup fails (the next one retries). */
  onError?: (error: unknown) => void;
}

/**
 * Ends what a revoked API key still holds open: WebSocket connections and event streams register a
 * session for their key and are told once, as soon as the key is revoked — at once for revocations in
 * this process (the store's `apiKeyRevoked` notification), within `intervalMs` for revocations by other
 * processes (one primary-key lookup over the ids of keys with live sessions; nothing when there is none).
 *
 * @example
 * ```ts
 * const monitor = new RevocationMonitor({ store });
 * monitor.start();
 * const unwatch = monitor.watch(principal.keyId, () => socket.close(4403, 'Forbidden: API key revoked'));
 * socket.once('close', unwatch);
 * ```
 */
export class RevocationMonitor {
  readonly #sessions = new Map<string, Set<() => void>>();
  readonly #store: RevocationSource;
  readonly #intervalMs: number;
  readonly #onError: (error: unknown) => void;
  #timer?: NodeJS.Timeout;
  #unsubscribe?: () => void;
  #checking?: Promise<void>;

  constructor(options: RevocationMonitorOptions) {
    this.#store = options.store;
    this.#intervalMs = options.intervalMs ?? 500;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Starts listening to in-process revocations and polling for the others. */
  start(): void {
    if (this.#timer) return;
    this.#unsubscribe = this.#store.subscribe({
      eventsAppended: () => undefined,
      integrationChanged: () => undefined,
      apiKeyRevoked: (_organizationId, keyId) => this.#revoked(keyId),
    });
    this.#timer = setInterval(() => void this.check(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Stops listening and polling. Registered sessions are forgotten without being told. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe?.();
    this.#sessions.clear();
  }

  /** Number of keys with at least one live session. */
  get watchedKeys(): number {
    return this.#sessions.size;
  }

  /**
   * Registers a live session of `keyId`: `onRevoked` is called once, when the key is found revoked (or
   * deleted). Returns the function that unregisters the session (call it when the session ends).
   */
  watch(keyId: string, onRevoked: () => void): () => void {
    let set = this.#sessions.get(keyId);
    if (!set) this.#sessions.set(keyId, (set = new Set()));
    const session = () => onRevoked();
    set.add(session);
    return () => {
      const current = this.#sessions.get(keyId);
      current?.delete(session);
      if (current?.size === 0) this.#sessions.delete(keyId);
    };
  }

  /** Looks up every watched key now and ends the sessions of those revoked. Concurrent calls share one lookup. */
  check(): Promise<void> {
    if (this.#checking) return this.#checking;
    if (this.#sessions.size === 0) return Promise.resolve();
    this.#checking = this.#store
      .inactiveApiKeyIds([...this.#sessions.keys()])
      .then((inactive) => inactive.forEach((keyId) => this.#revoked(keyId)), this.#onError)
      .finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  #revoked(keyId: string) {
    const sessions = this.#sessions.get(keyId);
    if (!sessions) return;
    this.#sessions.delete(keyId);
    for (const session of sessions) {
      try {
        session();
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}
