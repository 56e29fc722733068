import { Repeater, isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { RevocationMonitor } from '../auth/revocation-monitor.js';

/** Options of {@link useRevocation}. */
export interface RevocationOptions {
  monitor: RevocationMonitor;
  /** The id of the API key an operation runs as, from its context. */
  keyIdOf(context: Record<string, unknown>): string | undefined;
}

/**
 * Ends every subscription stream (graphql-ws and server-sent events alike) as soon as the API key it was
 * opened with is revoked: the stream completes and the underlying source is closed.
 *
 * @example
 * ```ts
 * createYoga({ plugins: [useRevocation({ monitor, keyIdOf: (ctx) => ctx.principal?.keyId })] });
 * ```
 */
export function useRevocation(options: RevocationOptions): Plugin {
  return {
    onSubscribe({ args }) {
      const keyId = options.keyIdOf(args.contextValue as unknown as Record<string, unknown>);
      if (!keyId) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) return;
          setResult(endOnRevocation(result, keyId, options.monitor) as never);
        },
      };
    },
  };
}

/**
 * `source`, ending as soon as `keyId` is revoked. A Repeater (not an async generator) so that `return()`
 * from the consumer takes effect at once even while a `next()` is waiting for the source.
 */
export function endOnRevocation<T>(source: AsyncIterable<T>, keyId: string, monitor: RevocationMonitor): Repeater<T> {
  return new Repeater<T>(async (push, stop) => {
    const unwatch = monitor.watch(keyId, () => stop());
    try {
      // The race ends when the repeater stops: revoked, or returned by its consumer.
      for await (const value of Repeater.race([source, stop])) await push(value as T);
    } finally {
      unwatch();
      stop();
    }
  });
}
