import { isIP, type Socket } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import type { TlsOptions } from './tls-options.js';
import type { ConnectFailedError, EgressPolicy } from './egress-policy.js';

/** Default number of pooled connections per origin. */
export const DEFAULT_CONNECTIONS_PER_ORIGIN = 8;
const DEFAULT_HTTPS_PORT = 443;
const DEFAULT_HTTP_PORT = 80;

export interface HttpClientOptions {
  /** Every connection's target is resolved and checked here; the socket goes to the approved address only. */
  egress: EgressPolicy;
  /** CA bundle, client certificate/key for mutual TLS, and verification switch. @default system roots, verification on */
  tls?: TlsOptions;
  /** Connect timeout, and the idle limits for response headers and body, in milliseconds. */
  timeoutMs: number;
  /** Pooled connections per origin. @default 8 */
  connections?: number;
  /**
   * Aborting it destroys the connections still being set up and refuses new ones. Undici's own `close()` and
   * `destroy()` cannot reach a socket whose TLS handshake has not finished: a peer that accepts and never answers
   * the handshake would keep it (and whoever waits for the dispatcher to close) until the connect timeout.
   * @default never aborted
   */
  signal?: AbortSignal;
}

/** Strips `[...]` from an IPv6 host as it appears in URLs. */
function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * An undici Agent whose connector resolves through the egress policy, connects to the approved IP, keeps SNI/Host as the
 * name, never follows redirects (undici's Agent has no redirect handling unless an interceptor is added).
 *
 * TLS: the certificate is verified against the original host name (sent as SNI), not against the IP connected to.
 *
 * Connect failures: a target refused by the policy, a refused, unreachable or timed-out connection all reject with the same
 * {@link ConnectFailedError} "could not connect to host:port" (host as written in the URL), so an admin cannot tell them
 * apart (no port scanning of private ranges through the API); the policy logs the cause. DNS and TLS errors pass as they are.
 *
 * @example
 * ```ts
 * const dispatcher = createHttpDispatcher({ egress: EgressPolicy.fromEnv(process.env), timeoutMs: 10_000 });
 * const res = await request('https://splunk.example.com:8088/services/collector/event', { dispatcher, method: 'POST', body });
 * await dispatcher.close();
 * ```
 */
export function createHttpDispatcher(options: HttpClientOptions): Dispatcher {
  const tls = options.tls;
  const connector = buildConnector({
    timeout: options.timeoutMs,
    ...(tls?.caCert ? { ca: tls.caCert } : {}),
    ...(tls?.clientCert ? { cert: tls.clientCert } : {}),
    ...(tls?.clientKey ? { key: tls.clientKey } : {}),
    rejectUnauthorized: tls?.rejectUnauthorized ?? true,
  });

  /** Sockets handed to the connector whose connect (and TLS handshake) has not finished yet. */
  const connecting = new Set<Socket>();
  const { signal } = options;
  signal?.addEventListener('abort', () => {
    for (const socket of connecting) socket.destroy(new Error('dispatcher closed while connecting'));
    connecting.clear();
  }, { once: true });

  const connect: buildConnector.connector = (connectOptions, callback) => {
    const name = unbracket(connectOptions.hostname);
    const defaultPort = connectOptions.protocol === 'https:' ? DEFAULT_HTTPS_PORT : DEFAULT_HTTP_PORT;
    const port = connectOptions.port ? Number(connectOptions.port) : defaultPort;
    // A policy refusal, a refused, unreachable or timed-out connection all fail with the same ConnectFailedError
    // ("could not connect to host:port"); the cause goes to the policy's log only.
    const fail = (err: unknown) => callback(options.egress.connectFailure(name, port, err), null);
    options.egress.resolve(name, port).then(
      ({ address }) => {
        if (signal?.aborted) return fail(new Error('dispatcher closed'));
        // SNI must be a DNS name: for IP literals leave it unset (Node then verifies the certificate against the IP).
        const servername = isIP(name) === 0 ? (connectOptions.servername ?? name) : undefined;
        // Undici's connector returns the socket it created (lib/core/connect.js), though its type says void.
        const connectTo = connector as (...args: Parameters<buildConnector.connector>) => Socket | undefined;
        let socket: Socket | undefined;
        let settled = false;
        socket = connectTo({ ...connectOptions, hostname: address, port: String(port), servername }, (err, connected) => {
          settled = true;
          if (socket) connecting.delete(socket);
          if (err) fail(err);
          else callback(null, connected);
        });
        if (socket && !settled) connecting.add(socket);
      },
      fail,
    );
  };

  return new Agent({
    connect,
    connections: options.connections ?? DEFAULT_CONNECTIONS_PER_ORIGIN,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
}
