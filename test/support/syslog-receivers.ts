import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type TlsOptions as NodeTlsServerOptions } from 'node:tls';

/**
 * Real syslog receivers on 127.0.0.1 for the tests, with the framing parsed from the RFCs (not from our code):
 * UDP (RFC 5426: one message per datagram), TCP and TLS (RFC 6587 §3.4.1 / RFC 5425 §4.3 octet counting:
 * `SYSLOG-FRAME = MSG-LEN SP SYSLOG-MSG`, `MSG-LEN = NONZERO-DIGIT *DIGIT`).
 */

export interface ReceivedFrame {
  /** The SYSLOG-MSG bytes exactly. */
  bytes: Buffer;
  /** 1-based number of the connection it came in on (always 1 for UDP). */
  connection: number;
}

export interface SyslogReceiver {
  port: number;
  frames: ReceivedFrame[];
  /** Framing violations seen (should stay empty). */
  errors: string[];
  /** Connections accepted so far (TCP/TLS). */
  connections: number;
  /** TLS: what each accepted connection presented. */
  tlsSessions: { servername: string | false | null; authorized: boolean; clientCertCN?: string }[];
  waitForFrames(n: number, timeoutMs?: number): Promise<ReceivedFrame[]>;
  /** Every frame's SYSLOG-MSG as UTF-8 text, in arrival order. */
  texts(): string[];
  /** Destroys every open connection (the server keeps listening). */
  dropConnections(): void;
  close(): Promise<void>;
}

/** A TCP/TLS receiver that can be told to stop and start reading. */
export interface StreamReceiver extends SyslogReceiver {
  /** Starts reading every connection, present and future (a "blackhole" receiver reads nothing until then). */
  resume(): void;
  /**
   * Linux: bytes the receiving host took on this receiver's connections (IPv4), summed: what the receiver process read
   * from its sockets (`bytesRead`, also while paused: Node reads ahead up to one chunk) plus what its kernel holds unread
   * (`rx_queue` of `/proc/net/tcp`, proc(5)). Undefined where `/proc/net/tcp` is not available.
   */
  bytesReceived(): number | undefined;
}

function waiterSet(frames: ReceivedFrame[]) {
  const waiters: { n: number; resolve: () => void }[] = [];
  return {
    notify() {
      for (const w of [...waiters]) {
        if (frames.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    },
    wait(n: number, timeoutMs = 5_000): Promise<ReceivedFrame[]> {
      if (frames.length >= n) return Promise.resolve(frames);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${n} frames, got ${frames.length}`)), timeoutMs);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve(frames);
          },
        });
      });
    },
  };
}

/** Starts a UDP syslog receiver: every datagram is one frame. */
export async function startUdpReceiver(): Promise<SyslogReceiver> {
  const socket = createSocket('udp4');
  const frames: ReceivedFrame[] = [];
  const waiters = waiterSet(frames);
  socket.on('message', (msg) => {
    frames.push({ bytes: Buffer.from(msg), connection: 1 });
    waiters.notify();
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return {
    port,
    frames,
    errors: [],
    connections: 0,
    tlsSessions: [],
    waitForFrames: waiters.wait,
    texts: () => frames.map((f) => f.bytes.toString('utf8')),
    dropConnections() {},
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** Splits an RFC 6587 octet-counted stream into frames; reports anything else as an error. */
function octetCountingParser(onFrame: (bytes: Buffer) => void, onError: (e: string) => void) {
  let buffer = Buffer.alloc(0);
  return (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const sp = buffer.indexOf(0x20);
      if (sp < 0) {
        if (!/^\d*$/.test(buffer.toString('latin1'))) onError(`garbage before MSG-LEN: ${buffer.subarray(0, 20).toString('latin1')}`);
        return;
      }
      const lenText = buffer.subarray(0, sp).toString('latin1');
      if (!/^[1-9]\d*$/.test(lenText)) {
        onError(`bad MSG-LEN ${JSON.stringify(lenText.slice(0, 20))}`);
        buffer = Buffer.alloc(0);
        return;
      }
      const len = Number(lenText);
      if (buffer.length < sp + 1 + len) return;
      onFrame(Buffer.from(buffer.subarray(sp + 1, sp + 1 + len)));
      buffer = buffer.subarray(sp + 1 + len);
    }
  };
}

/**
 * Starts a TCP (or, with `tls`, TLS) syslog receiver that parses octet-counted frames. With `blackhole`, it accepts
 * connections (and completes TLS handshakes) but reads nothing from them until `resume()`.
 */
export async function startStreamReceiver(tls?: NodeTlsServerOptions, options: { blackhole?: boolean } = {}): Promise<StreamReceiver> {
  const frames: ReceivedFrame[] = [];
  const errors: string[] = [];
  const sockets = new Set<Socket>();
  const tlsSessions: SyslogReceiver['tlsSessions'] = [];
  const waiters = waiterSet(frames);
  let connections = 0;
  let reading = !options.blackhole;

  const onSocket = (socket: Socket) => {
    connections++;
    const number = connections;
    sockets.add(socket);
    if (!reading) socket.pause();
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (tls) {
      const t = socket as TLSSocket;
      const cert = t.getPeerCertificate();
      tlsSessions.push({
        servername: t.servername,
        authorized: t.authorized,
        ...(cert && cert.subject ? { clientCertCN: String(cert.subject.CN) } : {}),
      });
    }
    socket.on(
      'data',
      octetCountingParser(
        (bytes) => {
          frames.push({ bytes, connection: number });
          waiters.notify();
        },
        (e) => errors.push(e),
      ),
    );
  };

  const server: Server = tls ? createTlsServer(tls, onSocket) : createTcpServer(onSocket);
  if (tls) server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    frames,
    errors,
    get connections() {
      return connections;
    },
    tlsSessions,
    waitForFrames: waiters.wait,
    texts: () => frames.map((f) => f.bytes.toString('utf8')),
    dropConnections() {
      for (const s of sockets) s.destroy();
    },
    resume() {
      reading = true;
      for (const s of sockets) s.resume();
    },
    bytesReceived() {
      let text: string;
      try {
        text = readFileSync('/proc/net/tcp', 'latin1');
      } catch {
        return undefined;
      }
      // Lines: `sl local_address rem_address st tx_queue:rx_queue ...`, addresses as HEXADDR:HEXPORT.
      const remotePorts = new Set([...sockets].map((s) => s.remotePort));
      let total = 0;
      for (const s of sockets) total += s.bytesRead;
      for (const line of text.split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields.length < 5) continue;
        const localPort = Number.parseInt(fields[1]!.split(':')[1]!, 16);
        const remotePort = Number.parseInt(fields[2]!.split(':')[1]!, 16);
        if (localPort === port && remotePorts.has(remotePort)) total += Number.parseInt(fields[4]!.split(':')[1]!, 16);
      }
      return total;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP server that accepts connections and never answers (a TLS client then waits for the ServerHello forever). */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
