import { createSocket, type Socket as DatagramSocket } from 'node:dgram';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { shorten } from '../secrets/scrub-secrets.js';
import { classifyError, type DeliveryResult } from './delivery-result.js';
import { EgressDeniedError, connectFailureMessage, type EgressPolicy } from './egress-policy.js';
import { unacknowledgedBytes, type SocketEndpoints } from './tcp-send-queue.js';
import type { TlsOptions } from './tls-options.js';

/**
 * Syslog senders over UDP (RFC 5426), TCP with octet counting (RFC 6587 §3.4.1) and TLS (RFC 5425).
 * Every connection target goes through {@link EgressPolicy.resolve}, and the socket connects to exactly the address it
 * approved (no second DNS lookup).
 */

/** Well-known syslog port for UDP and plain TCP (RFC 5426 §3.3). */
export const SYSLOG_PORT = 514;
/** Well-known syslog-over-TLS port (RFC 5425 §4.1). */
export const SYSLOG_TLS_PORT = 6514;

/**
 * RFC 5426 §3.2: IPv4 receivers MUST accept datagrams of 480 octets, IPv6 receivers 1180 octets, and all receivers
 * SHOULD accept 2048 octets. Anything larger relies on the receiver's configuration (rsyslog and syslog-ng accept 8 KiB
 * and more by default) and on IP fragmentation.
 */
export const RFC5426_MIN_IPV4_MESSAGE = 480;
export const RFC5426_MIN_IPV6_MESSAGE = 1180;
export const RFC5426_RECOMMENDED_MESSAGE = 2048;
/** Largest UDP payload over IPv4: 65535 − 20 (IP header) − 8 (UDP header). */
export const MAX_UDP_PAYLOAD = 65_507;
/** Default datagram limit: 8 KiB, what common receivers accept without configuration. */
export const DEFAULT_MAX_DATAGRAM_BYTES = 8 * 1024;
/** TCP keep-alive probe delay on persistent connections, so a silently dropped connection is noticed. */
export const KEEPALIVE_INITIAL_DELAY_MS = 30_000;
/**
 * TLS 1.3 only: how long a new connection waits for the server to confirm the handshake (its first session ticket)
 * before the first write, so that a client certificate the server rejects fails the send instead of losing it.
 * Capped at half the timeout. Servers normally send the ticket within one round trip.
 */
export const TLS13_CONFIRMATION_WAIT_MS = 1_000;
/**
 * TCP/TLS: the most bytes of a connection that may count as delivered before the receiving host's TCP acknowledged
 * them. A batch resolves only when the kernel's unacknowledged bytes on its connection are at most this (read from
 * `/proc/net/tcp` on Linux, see `tcp-send-queue.ts`; elsewhere a batch counts once the kernel took it). Besides that,
 * Node holds at most the one batch being written (sends are serialised and each waits for its write callback), so a
 * receiver that stops reading holds at most one batch in Node and this many bytes counted as delivered.
 */
export const MAX_UNACKNOWLEDGED_BYTES = 64 * 1024;
/** RFC 5246 §6.2: a TLS record carries at most 2^14 plaintext bytes and its ciphertext is at most 2048 bytes longer. */
const TLS_MAX_RECORD_PLAINTEXT = 16_384;
const TLS_MAX_RECORD_EXPANSION = 2_048;
/** First and longest pause between two looks at the unacknowledged bytes of a connection. */
const ACK_POLL_FIRST_MS = 2;
const ACK_POLL_MAX_MS = 100;
/** RFC 5425 §5.1 requires TLS 1.2 or later (as updated by RFC 9662). */
const MIN_TLS_VERSION = 'TLSv1.2';

const MAX_PORT = 65_535;
const UTF8_CONTINUATION_MASK = 0xc0;
const UTF8_CONTINUATION_BITS = 0x80;
const BACKSLASH_BYTE = 0x5c;

/** Stable `code` values of {@link SyslogTransportError}. */
export const SyslogErrorCode = {
  /** The egress policy refused every address of the host. */
  EGRESS_DENIED: 'SIEMGATE_SYSLOG_EGRESS_DENIED',
  /** The host name did not resolve. */
  DNS: 'SIEMGATE_SYSLOG_DNS',
  /** Nothing listens on the port (TCP RST, or ICMP port unreachable for UDP). */
  REFUSED: 'SIEMGATE_SYSLOG_REFUSED',
  /** The server reset or closed the connection. */
  RESET: 'SIEMGATE_SYSLOG_RESET',
  /** No route to the host or network. */
  UNREACHABLE: 'SIEMGATE_SYSLOG_UNREACHABLE',
  /** Resolve, connect, handshake or write did not finish within the timeout. */
  TIMEOUT: 'SIEMGATE_SYSLOG_TIMEOUT',
  /** TLS handshake or certificate verification failed. */
  TLS: 'SIEMGATE_SYSLOG_TLS',
  /** The caller's signal aborted the operation. */
  ABORTED: 'SIEMGATE_SYSLOG_ABORTED',
  /** The transport was closed with `close()`. */
  CLOSED: 'SIEMGATE_SYSLOG_CLOSED',
  /** Any other socket error. */
  SOCKET: 'SIEMGATE_SYSLOG_SOCKET',
} as const;
export type SyslogErrorCode = (typeof SyslogErrorCode)[keyof typeof SyslogErrorCode];

/** How syslog travels: UDP (RFC 5426), TCP (RFC 6587) or TLS (RFC 5425). */
export type SyslogProtocol = 'UDP' | 'TCP' | 'TLS';

/** Where an operation failed: a connection test reports one step per phase. */
export type SyslogPhase = 'resolve' | 'connect' | 'tls' | 'send';

/**
 * A syslog delivery failure with a stable {@link SyslogErrorCode}, the phase it happened in, and a message fit for an
 * admin ("connection refused to 10.0.0.5:514", "DNS lookup failed for siem.invalid (ENOTFOUND)",
 * "TLS: unable to verify the first certificate", "egress refused: …", "timed out after 5000 ms connecting to …").
 * Messages never carry key material.
 *
 * @example
 * ```ts
 * try { await transport.send([line]); }
 * catch (err) { if (err instanceof SyslogTransportError && err.code === SyslogErrorCode.TLS) console.warn(err.message); }
 * ```
 */
export class SyslogTransportError extends Error {
  readonly code: SyslogErrorCode;
  readonly phase: SyslogPhase;
  /** The address that was approved by the egress policy, when resolution got that far. */
  readonly address?: string;
  /** The underlying Node error code, e.g. `ECONNREFUSED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`. */
  readonly systemCode?: string;

  constructor(
    code: SyslogErrorCode,
    message: string,
    phase: SyslogPhase,
    details: { address?: string; systemCode?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SyslogTransportError';
    this.code = code;
    this.phase = phase;
    if (details.address !== undefined) this.address = details.address;
    if (details.systemCode !== undefined) this.systemCode = details.systemCode;
  }
}

/**
 * Thrown by {@link createSyslogTransport} for options it cannot work with.
 *
 * @example
 * ```ts
 * createSyslogTransport({ protocol: 'UDP', host, port: 514, egress, timeoutMs: 5000, maxDatagramBytes: 100 }); // throws
 * ```
 */
export class InvalidSyslogTransportOptionsError extends Error {
  readonly code = 'SIEMGATE_SYSLOG_OPTIONS_INVALID';
  constructor(detail: string) {
    super(`invalid syslog transport options: ${detail}`);
    this.name = 'InvalidSyslogTransportOptionsError';
  }
}

export interface SyslogTransportOptions {
  /** `UDP` (RFC 5426), `TCP` (RFC 6587 octet counting) or `TLS` (RFC 5425, octet counting inside TLS). */
  protocol: SyslogProtocol;
  /** Host name or IP literal (IPv6 with or without brackets). Also the TLS server name (SNI) and the name verified. */
  host: string;
  /** 1..65535. */
  port: number;
  /** Resolves and approves every connection target. */
  egress: EgressPolicy;
  /**
   * TLS only: `caCert` replaces the system roots, `clientCert`/`clientKey` are presented for mutual TLS,
   * `rejectUnauthorized: false` accepts any server certificate (the connection info then says so).
   * @default system roots, no client certificate, verification on
   */
  tls?: TlsOptions;
  /** Limit for connecting (resolve + TCP + TLS handshake together), and separately for each write to be flushed. */
  timeoutMs: number;
  /**
   * UDP only: longest datagram in bytes, 480..65507. Longer messages are cut at a UTF-8 character boundary (and never
   * inside a trailing `\` escape). RFC 5426 guarantees only 480 (IPv4) / 1180 (IPv6) bytes and recommends receivers
   * accept 2048: lower this for strict receivers.
   * @default 8192
   */
  maxDatagramBytes?: number;
  /**
   * TCP/TLS only: reads how many bytes of a connection its peer has not acknowledged yet (`undefined`: unknown).
   * @default {@link unacknowledgedBytes} (Linux `/proc/net/tcp`)
   */
  unacknowledgedBytes?: (socket: SocketEndpoints) => Promise<number | undefined>;
  /** UDP only: called for every message that had to be cut. @default none */
  onTruncated?: (info: { originalBytes: number; sentBytes: number }) => void;
}

/** What a successful connect established. */
export interface SyslogConnectionInfo {
  protocol: SyslogProtocol;
  host: string;
  port: number;
  /** The address the egress policy approved and the socket uses. */
  address: string;
  family: 4 | 6;
  /** TLS only. */
  tls?: {
    /** e.g. `TLSv1.3`. */
    version: string;
    cipher: string;
    /** The server certificate verified against the CA and the host name. */
    authorized: boolean;
    /** Why verification failed, when it was turned off and failed. */
    authorizationError?: string;
    /** Subject CN (or full subject) of the server certificate. */
    peerSubject?: string;
    /** Issuer CN (or full issuer) of the server certificate. */
    peerIssuer?: string;
    /** A client certificate was configured and offered for mutual TLS. */
    clientCertificate: boolean;
  };
}

/** What one `send` put on the wire. */
export interface SyslogSendReport {
  messages: number;
  /** Bytes written, including RFC 6587 length prefixes on TCP/TLS. */
  bytes: number;
  /** UDP: messages cut to the datagram limit. */
  truncated: number;
}

export interface SyslogSendOptions {
  /** Aborts the operation; it then rejects with code {@link SyslogErrorCode.ABORTED}. */
  signal?: AbortSignal;
}

/**
 * A syslog sender. TCP/TLS keep one persistent connection, reused across sends and re-established after any error;
 * sends are serialised so frames never interleave. UDP sends one datagram per message from one connected socket.
 */
export interface SyslogTransport {
  readonly protocol: SyslogProtocol;
  /** Resolves and connects (TCP/TLS: handshake included) without sending, reusing a live connection. */
  connect(options?: SyslogSendOptions): Promise<SyslogConnectionInfo>;
  /**
   * Sends messages (no framing in them: the transport frames them). TCP/TLS: resolves once the data left Node for the
   * operating system and the receiving host's TCP acknowledged all but {@link MAX_UNACKNOWLEDGED_BYTES} of the
   * connection (where the platform tells); rejects with {@link SyslogErrorCode.TIMEOUT} when that takes longer than
   * `timeoutMs`, and destroys the connection (the next send opens a fresh one). UDP: resolves once each datagram is
   * handed to the operating system. Neither protocol has an application-level acknowledgement.
   */
  send(messages: string[], options?: SyslogSendOptions): Promise<SyslogSendReport>;
  /** Flushes and closes the connection; later sends reject with code {@link SyslogErrorCode.CLOSED}. */
  close(): Promise<void>;
}

/**
 * RFC 6587 §3.4.1 octet-counting frame: `MSG-LEN SP SYSLOG-MSG`, where MSG-LEN is the UTF-8 byte length of the message.
 *
 * @example
 * ```ts
 * frameOctetCounting('<134>1 - - - - - é').toString(); // "19 <134>1 - - - - - é"
 * ```
 */
export function frameOctetCounting(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/**
 * Encodes a message as UTF-8 and cuts it to at most `maxBytes` without splitting a character; when the cut leaves an
 * odd run of trailing backslashes, one more byte goes, so a CEF escape sequence is never split in half.
 *
 * @example
 * ```ts
 * truncateUtf8('aé', 2); // { bytes: <61>, truncated: true }
 * ```
 */
export function truncateUtf8(message: string, maxBytes: number): { bytes: Buffer; truncated: boolean } {
  const bytes = Buffer.from(message, 'utf8');
  if (bytes.length <= maxBytes) return { bytes, truncated: false };
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & UTF8_CONTINUATION_MASK) === UTF8_CONTINUATION_BITS) end--;
  let slashes = 0;
  while (end - slashes > 0 && bytes[end - slashes - 1] === BACKSLASH_BYTE) slashes++;
  if (slashes % 2 === 1) end--;
  return { bytes: bytes.subarray(0, end), truncated: true };
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'ENODATA', 'ESERVFAIL']);
const UNREACHABLE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EHOSTDOWN', 'ENETDOWN']);

function isTlsCode(code: string | undefined): boolean {
  if (!code) return false;
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.includes('CERT') ||
    code.startsWith('UNABLE_TO_') ||
    code === 'EPROTO' ||
    code === 'HOSTNAME_MISMATCH'
  );
}

/** TLS alerts (RFC 8446 §6) a syslog server typically sends, and what they mean for an admin. */
const TLS_ALERTS: Readonly<Record<number, string>> = {
  40: 'handshake failure: no cipher suite or parameters in common',
  42: 'bad certificate: the server rejected the client certificate',
  45: 'certificate expired: the server rejected the client certificate as expired',
  48: 'unknown CA: the server does not trust the issuer of the client certificate',
  70: 'protocol version: no TLS version in common',
  80: 'internal error on the server',
  112: 'unrecognized name: the server does not know this server name (SNI)',
  116: 'certificate required: the server requires a client certificate',
};

/**
 * An admin-readable TLS failure: Node's verification messages as they are ("unable to verify the first certificate",
 * "Hostname/IP does not match certificate's altnames: ..."); OpenSSL's
 * `...:SSL routines:<function>:<reason>:<file>:<line>:SSL alert number N` reduced to the alert and its meaning.
 *
 * @example
 * ```ts
 * describeTlsError(new Error('80CC...:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:...:SSL alert number 116'));
 * // "the server refused the handshake with alert 116 (certificate required: the server requires a client certificate)"
 * ```
 */
export function describeTlsError(err: Error): string {
  const alert = /SSL alert number (\d+)/.exec(err.message);
  if (alert) {
    const n = Number(alert[1]);
    return `the server refused the handshake with alert ${n} (${TLS_ALERTS[n] ?? 'see RFC 8446 §6'})`;
  }
  const openssl = /SSL routines:[^:]*:([^:]+)/.exec(err.message);
  return openssl ? openssl[1]!.trim() : err.message;
}

/** `10.0.0.5:514`, `[::1]:6514`. */
function endpoint(address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

const PHASE_VERB: Record<SyslogPhase, string> = {
  resolve: 'resolving',
  connect: 'connecting to',
  tls: 'in the TLS handshake with',
  send: 'sending to',
};

interface ErrorContext {
  host: string;
  port: number;
  address?: string;
  timeoutMs: number;
  /** Logs why a connection could not be opened (the policy's log); the API sees only "could not connect to host:port". */
  logConnectFailure?: (error: unknown) => void;
}

/** Connect-phase failures that must read the same to the API (no port scanning through error text). */
const CONNECT_FAILURE_SYSTEM_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EADDRNOTAVAIL', 'ETIMEDOUT']);

/**
 * A policy refusal, a refused or unreachable peer and a connect timeout all become one answer,
 * `could not connect to host:port` (as on the HTTP path); the cause goes to the server log only.
 */
function connectFailure(code: SyslogErrorCode, phase: SyslogPhase, ctx: ErrorContext, cause: unknown): SyslogTransportError {
  ctx.logConnectFailure?.(cause);
  return new SyslogTransportError(code, connectFailureMessage(ctx.host, ctx.port), phase, { address: ctx.address });
}

function timeoutError(phase: SyslogPhase, ctx: ErrorContext): SyslogTransportError {
  if (phase === 'connect') return connectFailure(SyslogErrorCode.TIMEOUT, phase, ctx, Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
  const where = phase === 'resolve' ? ctx.host : endpoint(ctx.address ?? ctx.host, ctx.port);
  return new SyslogTransportError(
    SyslogErrorCode.TIMEOUT,
    `timed out after ${ctx.timeoutMs} ms ${PHASE_VERB[phase]} ${where}`,
    phase,
    { address: ctx.address },
  );
}

function abortedError(phase: SyslogPhase, ctx: ErrorContext): SyslogTransportError {
  return new SyslogTransportError(SyslogErrorCode.ABORTED, `aborted while ${PHASE_VERB[phase]} ${ctx.address ?? ctx.host}`, phase, {
    address: ctx.address,
  });
}

function closedError(): SyslogTransportError {
  return new SyslogTransportError(SyslogErrorCode.CLOSED, 'syslog transport is closed', 'send');
}

/** Maps any error from resolution, sockets or TLS to a {@link SyslogTransportError} with an admin-readable message. */
function toTransportError(error: unknown, phase: SyslogPhase, ctx: ErrorContext): SyslogTransportError {
  if (error instanceof SyslogTransportError) return error;
  if (error instanceof EgressDeniedError) return connectFailure(SyslogErrorCode.EGRESS_DENIED, 'connect', ctx, error);
  const err = error instanceof Error ? (error as Error & { code?: string }) : new Error(String(error));
  const code = (err as { code?: string }).code;
  const details = { address: ctx.address, systemCode: code, cause: error };
  const at = endpoint(ctx.address ?? ctx.host, ctx.port);

  if (phase === 'resolve' || (code !== undefined && DNS_CODES.has(code))) {
    return new SyslogTransportError(
      SyslogErrorCode.DNS,
      `DNS lookup failed for ${ctx.host} (${code ?? err.message})`,
      'resolve',
      details,
    );
  }
  if (phase === 'connect' && code !== undefined && CONNECT_FAILURE_SYSTEM_CODES.has(code)) {
    const kind = code === 'ECONNREFUSED' ? SyslogErrorCode.REFUSED : code === 'ETIMEDOUT' ? SyslogErrorCode.TIMEOUT : SyslogErrorCode.UNREACHABLE;
    return connectFailure(kind, phase, ctx, error);
  }
  if (code === 'ECONNREFUSED') {
    return new SyslogTransportError(SyslogErrorCode.REFUSED, `connection refused to ${at}`, phase, details);
  }
  if (code === 'ETIMEDOUT') return timeoutError(phase, ctx);
  if (isTlsCode(code)) {
    return new SyslogTransportError(SyslogErrorCode.TLS, `TLS: ${describeTlsError(err)}`, phase === 'send' ? 'send' : 'tls', details);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    if (phase === 'tls') {
      return new SyslogTransportError(
        SyslogErrorCode.TLS,
        `TLS: connection reset by ${at} during the handshake (does the server speak TLS, and does it require a client certificate?)`,
        'tls',
        details,
      );
    }
    const what = code === 'EPIPE' ? 'connection closed by' : 'connection reset by';
    return new SyslogTransportError(SyslogErrorCode.RESET, `${what} ${at}`, phase, details);
  }
  if (code !== undefined && UNREACHABLE_CODES.has(code)) {
    return new SyslogTransportError(SyslogErrorCode.UNREACHABLE, `${at} is unreachable (${code})`, phase, details);
  }
  if (phase === 'tls') {
    return new SyslogTransportError(SyslogErrorCode.TLS, `TLS: ${describeTlsError(err)}`, 'tls', details);
  }
  const suffix = code ? ` (${code})` : '';
  return new SyslogTransportError(SyslogErrorCode.SOCKET, `${PHASE_VERB[phase]} ${at} failed: ${err.message}${suffix}`, phase, details);
}

/** Keeps an 'error' event without another listener from becoming an uncaught exception. */
function ignoreError(): void {
  // handled by the phase listeners and the liveness tracking
}

function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * Runs `start` under a deadline and an optional abort signal. `start` receives `settle` callbacks and the current
 * phase setter; whatever it opened must be torn down by the `onFail` hook it registers.
 */
function withDeadline<T>(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  ctx: ErrorContext,
  initialPhase: SyslogPhase,
  start: (api: {
    resolve: (value: T) => void;
    fail: (error: unknown) => void;
    setPhase: (phase: SyslogPhase) => void;
    isSettled: () => boolean;
    onFail: (cleanup: () => void) => void;
  }) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let phase = initialPhase;
    let settled = false;
    const failHooks: (() => void)[] = [];
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: unknown) => {
      if (settled) return;
      finish();
      for (const hook of failHooks) hook();
      reject(toTransportError(error, phase, ctx));
    };
    const onAbort = () => fail(abortedError(phase, ctx));
    const timer = setTimeout(() => fail(timeoutError(phase, ctx)), timeoutMs);
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    start({
      resolve: (value) => {
        if (settled) return;
        finish();
        resolve(value);
      },
      fail,
      setPhase: (p) => {
        phase = p;
      },
      isSettled: () => settled,
      onFail: (cleanup) => failHooks.push(cleanup),
    });
  });
}

/** `CN` of a certificate subject or issuer, else the whole name as `k=v, ...`. */
function certName(name: object | undefined): string | undefined {
  if (!name) return undefined;
  const fields = name as Record<string, string | string[] | undefined>;
  const cn = fields.CN;
  if (typeof cn === 'string') return cn;
  if (Array.isArray(cn)) return cn.join(', ');
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

abstract class BaseTransport implements SyslogTransport {
  protected closed = false;
  private queue: Promise<unknown> = Promise.resolve();
  protected readonly host: string;

  constructor(protected readonly options: SyslogTransportOptions) {
    this.host = bareHost(options.host);
  }

  get protocol(): SyslogProtocol {
    return this.options.protocol;
  }

  protected context(address?: string): ErrorContext {
    const { egress, port } = this.options;
    return { host: this.host, port, address, timeoutMs: this.options.timeoutMs, logConnectFailure: (error) => egress.connectFailure(this.host, port, error) };
  }

  /** Serialises operations so frames of concurrent sends never interleave and one connection is opened at a time. */
  protected enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(operation);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Waits for queued operations. */
  protected drain(): Promise<unknown> {
    return this.queue;
  }

  /** Egress-checked resolution under the deadline of the surrounding operation. */
  protected resolveTarget(
    api: { fail: (e: unknown) => void; isSettled: () => boolean },
    then: (target: { address: string; family: 4 | 6 }) => void,
  ): void {
    this.options.egress.resolve(this.host, this.options.port).then(
      (target) => {
        if (!api.isSettled()) then(target);
      },
      (err: unknown) => api.fail(err),
    );
  }

  abstract connect(options?: SyslogSendOptions): Promise<SyslogConnectionInfo>;
  abstract send(messages: string[], options?: SyslogSendOptions): Promise<SyslogSendReport>;
  abstract close(): Promise<void>;
}

/** TCP and TLS: RFC 6587 octet counting over one persistent connection. */
class StreamTransport extends BaseTransport {
  private readonly unacknowledged = this.options.unacknowledgedBytes ?? unacknowledgedBytes;
  private socket: Socket | undefined;
  private info: SyslogConnectionInfo | undefined;
  private alive = false;
  /**
   * An upper bound of the current connection's unacknowledged bytes: what the last look found plus everything written
   * since. While it stays within MAX_UNACKNOWLEDGED_BYTES no look is needed (reading `/proc/net/tcp` costs
   * milliseconds on hosts with many sockets).
   */
  private unacknowledgedAtMost = 0;

  connect(options: SyslogSendOptions = {}): Promise<SyslogConnectionInfo> {
    return this.enqueue(() => this.ensureConnected(options.signal));
  }

  send(messages: string[], options: SyslogSendOptions = {}): Promise<SyslogSendReport> {
    return this.enqueue(async () => {
      if (this.closed) throw closedError();
      if (messages.length === 0) return { messages: 0, bytes: 0, truncated: 0 };
      await this.ensureConnected(options.signal);
      const payload = Buffer.concat(messages.map(frameOctetCounting));
      await this.write(payload, options.signal);
      return { messages: messages.length, bytes: payload.length, truncated: 0 };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
    const socket = this.socket;
    this.discard();
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve();
      }, this.options.timeoutMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }

  private discard(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.info = undefined;
    this.alive = false;
    if (socket && !socket.destroyed && !this.closed) socket.destroy();
  }

  private async ensureConnected(signal: AbortSignal | undefined): Promise<SyslogConnectionInfo> {
    if (this.closed) throw closedError();
    if (this.socket && this.alive && !this.socket.destroyed && this.info) return this.info;
    this.discard();
    const { socket, info } = await this.open(signal);
    this.socket = socket;
    this.info = info;
    this.alive = true;
    this.unacknowledgedAtMost = 0;
    const markDead = () => {
      if (this.socket === socket) this.alive = false;
    };
    socket.on('error', markDead);
    socket.on('end', markDead);
    socket.on('close', markDead);
    // Syslog receivers send nothing; reading keeps the socket flowing so the server's FIN is seen as 'end'.
    socket.on('data', () => undefined);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    return info;
  }

  private open(signal: AbortSignal | undefined): Promise<{ socket: Socket; info: SyslogConnectionInfo }> {
    const { port, timeoutMs, protocol, tls } = this.options;
    let address: string | undefined;
    const ctx = this.context();
    return withDeadline(timeoutMs, signal, ctx, 'resolve', (api) => {
      this.resolveTarget(api, (target) => {
        address = target.address;
        ctx.address = address;
        api.setPhase('connect');
        let socket: Socket;
        if (protocol === 'TLS') {
          const connectOptions: ConnectionOptions = {
            host: address,
            port,
            rejectUnauthorized: tls?.rejectUnauthorized ?? true,
            minVersion: MIN_TLS_VERSION,
            ...(isIP(this.host) === 0 ? { servername: this.host } : {}),
            ...(tls?.caCert ? { ca: tls.caCert } : {}),
            ...(tls?.clientCert ? { cert: tls.clientCert } : {}),
            ...(tls?.clientKey ? { key: tls.clientKey } : {}),
          };
          try {
            socket = tlsConnect(connectOptions);
          } catch (err) {
            // Bad PEM material throws synchronously; report it as a TLS problem.
            api.setPhase('tls');
            api.fail(err);
            return;
          }
          socket.once('connect', () => api.setPhase('tls'));
          // TLS 1.3: the server checks our certificate (mutual TLS) only after our handshake is complete, and rejects it
          // with an alert that arrives after 'secureConnect'. Writing at once would "succeed" into a dead connection and
          // lose the events. So wait for the server's first session ticket, which it sends only after accepting us, or
          // for its alert; servers that send no tickets are given TLS13_CONFIRMATION_WAIT_MS.
          let ticketSeen = false;
          let confirm: (() => void) | undefined;
          socket.once('session', () => {
            ticketSeen = true;
            confirm?.();
          });
          socket.once('secureConnect', () => {
            const established = () => {
              if (api.isSettled()) return;
              socket.removeListener('error', onError);
              socket.removeListener('close', onClose);
              api.resolve({ socket, info: this.tlsInfo(socket as TLSSocket, target) });
            };
            if ((socket as TLSSocket).getProtocol() !== 'TLSv1.3' || ticketSeen) {
              established();
              return;
            }
            const grace = setTimeout(established, Math.min(TLS13_CONFIRMATION_WAIT_MS, Math.floor(timeoutMs / 2)));
            confirm = () => {
              clearTimeout(grace);
              // 'session' is emitted from inside OpenSSL's read of the ticket: writing in that same turn corrupts the
              // TLS record stream ("bad record mac" at the server), so the first write waits for the next turn.
              setImmediate(established);
            };
            api.onFail(() => clearTimeout(grace));
          });
        } else {
          socket = netConnect({ host: address, port });
          socket.once('connect', () => {
            api.resolve({ socket, info: this.baseInfo(target) });
            socket.removeListener('error', onError);
            socket.removeListener('close', onClose);
          });
        }
        const onError = (err: Error) => api.fail(err);
        const onClose = () =>
          api.fail(Object.assign(new Error('connection closed before it was established'), { code: 'ECONNRESET' }));
        // Errors are handled by the listeners of each phase; this one only keeps a late error from crashing the process.
        socket.on('error', ignoreError);
        socket.once('error', onError);
        socket.once('close', onClose);
        api.onFail(() => socket.destroy());
      });
    });
  }

  private baseInfo(target: { address: string; family: 4 | 6 }): SyslogConnectionInfo {
    return { protocol: this.options.protocol, host: this.host, port: this.options.port, address: target.address, family: target.family };
  }

  private tlsInfo(socket: TLSSocket, target: { address: string; family: 4 | 6 }): SyslogConnectionInfo {
    const peer = socket.getPeerCertificate();
    const hasPeer = peer && Object.keys(peer).length > 0;
    const authError = socket.authorizationError;
    return {
      ...this.baseInfo(target),
      tls: {
        version: socket.getProtocol() ?? 'unknown',
        cipher: socket.getCipher()?.name ?? 'unknown',
        authorized: socket.authorized,
        ...(authError ? { authorizationError: authError instanceof Error ? authError.message : String(authError) } : {}),
        ...(hasPeer ? { peerSubject: certName(peer.subject), peerIssuer: certName(peer.issuer) } : {}),
        clientCertificate: Boolean(this.options.tls?.clientCert && this.options.tls.clientKey),
      },
    };
  }

  private write(payload: Buffer, signal: AbortSignal | undefined): Promise<void> {
    const socket = this.socket!;
    const ctx = this.context(this.info?.address);
    return withDeadline<void>(this.options.timeoutMs, signal, ctx, 'send', (api) => {
      const onError = (err: Error) => api.fail(err);
      const onClose = () => api.fail(Object.assign(new Error('connection closed while sending'), { code: 'EPIPE' }));
      const cleanup = () => {
        socket.removeListener('error', onError);
        socket.removeListener('close', onClose);
      };
      api.onFail(() => {
        cleanup();
        this.discard();
      });
      socket.once('error', onError);
      socket.once('close', onClose);
      socket.write(payload, (err) => {
        if (err) {
          api.fail(err);
          return;
        }
        // The bytes are in the kernel now; they count only once the receiving host has acknowledged all but
        // MAX_UNACKNOWLEDGED_BYTES of them (where the platform tells). A receiver that stops reading makes this wait
        // run into the deadline: the batch fails and the connection is destroyed.
        this.unacknowledgedAtMost += this.wireBytes(payload.length);
        this.awaitAcknowledged(socket, api, () => {
          cleanup();
          api.resolve();
        });
      });
    });
  }

  /** At most how many bytes `plaintext` bytes take on the wire: TLS adds at most 2048 per 16 KiB record (RFC 5246 §6.2.3). */
  private wireBytes(plaintext: number): number {
    if (this.options.protocol !== 'TLS') return plaintext;
    return plaintext + Math.ceil(plaintext / TLS_MAX_RECORD_PLAINTEXT) * TLS_MAX_RECORD_EXPANSION;
  }

  /** Polls the connection's unacknowledged bytes until they are at most {@link MAX_UNACKNOWLEDGED_BYTES}. */
  private awaitAcknowledged(socket: Socket, api: { fail: (e: unknown) => void; isSettled: () => boolean }, done: () => void): void {
    if (this.unacknowledgedAtMost <= MAX_UNACKNOWLEDGED_BYTES) {
      done();
      return;
    }
    let delay = ACK_POLL_FIRST_MS;
    const poll = () => {
      if (api.isSettled()) return;
      this.unacknowledged(socket).then(
        (pending) => {
          if (api.isSettled()) return;
          if (pending === undefined || pending <= MAX_UNACKNOWLEDGED_BYTES) {
            // Unknown (not Linux): nothing to bound by; the batch counts once the kernel took it.
            if (this.socket === socket) this.unacknowledgedAtMost = pending ?? 0;
            done();
            return;
          }
          setTimeout(poll, delay);
          delay = Math.min(delay * 2, ACK_POLL_MAX_MS);
        },
        (err: unknown) => api.fail(err),
      );
    };
    poll();
  }
}

/** UDP: one datagram per message from one connected socket. */
class DatagramTransport extends BaseTransport {
  private socket: DatagramSocket | undefined;
  private info: SyslogConnectionInfo | undefined;
  private readonly maxBytes: number;

  constructor(options: SyslogTransportOptions) {
    super(options);
    this.maxBytes = options.maxDatagramBytes ?? DEFAULT_MAX_DATAGRAM_BYTES;
  }

  connect(options: SyslogSendOptions = {}): Promise<SyslogConnectionInfo> {
    return this.enqueue(() => this.ensureSocket(options.signal));
  }

  send(messages: string[], options: SyslogSendOptions = {}): Promise<SyslogSendReport> {
    return this.enqueue(async () => {
      if (this.closed) throw closedError();
      const report: SyslogSendReport = { messages: 0, bytes: 0, truncated: 0 };
      if (messages.length === 0) return report;
      await this.ensureSocket(options.signal);
      for (const message of messages) {
        const { bytes, truncated } = truncateUtf8(message, this.maxBytes);
        if (truncated) {
          report.truncated++;
          this.options.onTruncated?.({ originalBytes: Buffer.byteLength(message, 'utf8'), sentBytes: bytes.length });
        }
        await this.sendDatagram(bytes, options.signal);
        report.messages++;
        report.bytes += bytes.length;
      }
      return report;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
    this.discard();
  }

  private discard(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.info = undefined;
    if (socket) {
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
  }

  private async ensureSocket(signal: AbortSignal | undefined): Promise<SyslogConnectionInfo> {
    if (this.closed) throw closedError();
    if (this.socket && this.info) return this.info;
    const ctx = this.context();
    const { socket, info } = await withDeadline<{ socket: DatagramSocket; info: SyslogConnectionInfo }>(
      this.options.timeoutMs,
      signal,
      ctx,
      'resolve',
      (api) => {
        this.resolveTarget(api, (target) => {
          ctx.address = target.address;
          api.setPhase('connect');
          const socket = createSocket(target.family === 6 ? 'udp6' : 'udp4');
          socket.on('error', ignoreError);
          const onError = (err: Error) => api.fail(err);
          socket.once('error', onError);
          api.onFail(() => {
            try {
              socket.close();
            } catch {
              // never bound
            }
          });
          socket.connect(this.options.port, target.address, () => {
            socket.removeListener('error', onError);
            api.resolve({
              socket,
              info: { protocol: 'UDP', host: this.host, port: this.options.port, address: target.address, family: target.family },
            });
          });
        });
      },
    );
    // An ICMP error on a connected UDP socket surfaces here or on the next send: start over with a fresh socket.
    socket.on('error', () => {
      if (this.socket === socket) this.discard();
    });
    this.socket = socket;
    this.info = info;
    return info;
  }

  private sendDatagram(bytes: Buffer, signal: AbortSignal | undefined): Promise<void> {
    const socket = this.socket!;
    const ctx = this.context(this.info?.address);
    return withDeadline<void>(this.options.timeoutMs, signal, ctx, 'send', (api) => {
      api.onFail(() => {
        if (this.socket === socket) this.discard();
      });
      socket.send(bytes, (err) => (err ? api.fail(err) : api.resolve()));
    });
  }
}

/**
 * Creates a syslog sender for UDP, TCP or TLS. Nothing connects until the first `connect` or `send`.
 *
 * - UDP (RFC 5426): one message per datagram, cut to `maxDatagramBytes` (default 8 KiB) at a character boundary.
 *   UDP cannot confirm delivery: a send succeeds once the datagram is handed to the operating system.
 * - TCP (RFC 6587 §3.4.1): `MSG-LEN SP SYSLOG-MSG` frames on one persistent connection, reconnected after errors.
 * - TLS (RFC 5425): the same framing inside TLS ≥ 1.2; server name = `host`; CA, client certificate and
 *   `rejectUnauthorized` from `tls`.
 *
 * @throws {@link InvalidSyslogTransportOptionsError} for a bad port, timeout or datagram limit.
 * @example
 * ```ts
 * const transport = createSyslogTransport({ protocol: 'TLS', host: 'siem.example.com', port: 6514, egress,
 *   tls: { caCert, rejectUnauthorized: true }, timeoutMs: 10_000 });
 * await transport.send(['<134>1 2026-01-30T10:30:00.000Z gw1 siemgate - scan - CEF:0|...']);
 * await transport.close();
 * ```
 */
export function createSyslogTransport(options: SyslogTransportOptions): SyslogTransport {
  const { protocol, port, timeoutMs, maxDatagramBytes } = options;
  if (protocol !== 'UDP' && protocol !== 'TCP' && protocol !== 'TLS') {
    throw new InvalidSyslogTransportOptionsError(`protocol must be UDP, TCP or TLS, got ${JSON.stringify(protocol)}`);
  }
  if (!options.host) throw new InvalidSyslogTransportOptionsError('host is required');
  if (!Number.isInteger(port) || port < 1 || port > MAX_PORT) {
    throw new InvalidSyslogTransportOptionsError(`port must be 1..${MAX_PORT}, got ${port}`);
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new InvalidSyslogTransportOptionsError(`timeoutMs must be positive, got ${timeoutMs}`);
  }
  if (
    maxDatagramBytes !== undefined &&
    (!Number.isInteger(maxDatagramBytes) || maxDatagramBytes < RFC5426_MIN_IPV4_MESSAGE || maxDatagramBytes > MAX_UDP_PAYLOAD)
  ) {
    throw new InvalidSyslogTransportOptionsError(
      `maxDatagramBytes must be ${RFC5426_MIN_IPV4_MESSAGE}..${MAX_UDP_PAYLOAD}, got ${maxDatagramBytes}`,
    );
  }
  return protocol === 'UDP' ? new DatagramTransport(options) : new StreamTransport(options);
}

/**
 * Maps an error from a {@link SyslogTransport} to a DeliveryResult: timeouts and aborts → `timeout`, everything else
 * (refused, reset, DNS, TLS, egress, closed) → `network`, with the transport's admin-readable message. Errors from
 * elsewhere go through `classifyError` (net/delivery-result.ts).
 *
 * @example
 * ```ts
 * try { await transport.send(lines); } catch (err) { return classifySocketError(err, performance.now() - t0, lines.length); }
 * ```
 */
export function classifySocketError(error: unknown, latencyMs: number, recordCount: number): DeliveryResult {
  if (!(error instanceof SyslogTransportError)) return classifyError(error, latencyMs, recordCount);
  const timedOut = error.code === SyslogErrorCode.TIMEOUT || error.code === SyslogErrorCode.ABORTED;
  return {
    kind: timedOut ? 'timeout' : 'network',
    ok: false,
    message: shorten(error.message),
    latencyMs: Math.round(latencyMs),
    recordCount,
  };
}
