import { open } from 'node:fs/promises';
import { endianness } from 'node:os';

/**
 * How many bytes a TCP connection has sent (or queued) that the peer's TCP has not acknowledged yet.
 *
 * Node tells a writer only that bytes left its own buffer for the kernel (the `write` callback); the kernel may then
 * hold megabytes in its send buffer for a peer that never reads. Node cannot shrink that buffer (no `SO_SNDBUF` for TCP)
 * nor ask for its fill level (`SIOCOUTQ`), but Linux publishes it per connection in `/proc/net/tcp` and
 * `/proc/net/tcp6`: the `tx_queue` column of an established connection is `write_seq − snd_una`, the bytes written
 * and not yet acknowledged by the receiving host (proc(5), net/ipv4/tcp_ipv4.c `get_tcp4_sock`).
 *
 * Off Linux, or when `/proc` is not readable, the answer is `undefined` (unknown).
 */

/** The four addresses of a connected socket, as `net.Socket` reports them. */
export interface SocketEndpoints {
  localAddress?: string | undefined;
  localPort?: number | undefined;
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
}

const PROC_NET = '/proc/net';
/** Read size: the kernel returns at most about a page per read anyway. */
const PROC_READ_BYTES = 64 * 1024;
const HEX = 16;
const IPV4_HEX_LENGTH = 8;
const IPV6_HEX_LENGTH = 32;
const BYTES_PER_WORD = 4;
const IPV6_GROUPS = 8;
/** `st` column value of an ESTABLISHED connection (include/net/tcp_states.h). */
const TCP_ESTABLISHED = '01';

/** Canonical text of an IP address (RFC 5952 for IPv6, zone id dropped), or undefined. */
function canonicalAddress(address: string): string | undefined {
  const bare = address.replace(/%.*$/, '');
  if (!bare.includes(':')) return bare;
  try {
    return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/**
 * Decodes a `/proc/net/tcp{,6}` address (`0100007F` = 127.0.0.1 on a little-endian host): the kernel prints each
 * 32-bit word of the network-order address with `%08X` as a native integer.
 */
function procAddress(hex: string): string | undefined {
  if (hex.length !== IPV4_HEX_LENGTH && hex.length !== IPV6_HEX_LENGTH) return undefined;
  const bytes = Buffer.alloc(hex.length / 2);
  for (let word = 0; word < hex.length / IPV4_HEX_LENGTH; word++) {
    const value = Number.parseInt(hex.slice(word * IPV4_HEX_LENGTH, (word + 1) * IPV4_HEX_LENGTH), HEX);
    if (endianness() === 'LE') bytes.writeUInt32LE(value, word * BYTES_PER_WORD);
    else bytes.writeUInt32BE(value, word * BYTES_PER_WORD);
  }
  if (bytes.length === BYTES_PER_WORD) return [...bytes].join('.');
  const groups: string[] = [];
  for (let g = 0; g < IPV6_GROUPS; g++) groups.push(bytes.readUInt16BE(g * 2).toString(HEX));
  return canonicalAddress(groups.join(':'));
}

/**
 * The `tx_queue` of the ESTABLISHED connection with exactly these endpoints, from one `/proc/net/tcp{,6}` text.
 *
 * @example
 * ```ts
 * txQueueFromProc(text, { localAddress: '127.0.0.1', localPort: 41000, remoteAddress: '127.0.0.1', remotePort: 514 }); // 0
 * ```
 */
export function txQueueFromProc(text: string, socket: SocketEndpoints): number | undefined {
  const { localAddress, localPort, remoteAddress, remotePort } = socket;
  if (!localAddress || !remoteAddress || !localPort || !remotePort) return undefined;
  const local = canonicalAddress(localAddress);
  const remote = canonicalAddress(remoteAddress);
  const ports = `:${localPort.toString(HEX).toUpperCase().padStart(4, '0')} `;
  const remotePortHex = `:${remotePort.toString(HEX).toUpperCase().padStart(4, '0')}`;
  for (const line of text.split('\n')) {
    // Cheap prefilter on the local port before splitting the line.
    if (!line.includes(ports)) continue;
    const [, localField, remoteField, state, queues] = line.trim().split(/\s+/);
    if (!localField || !remoteField || state !== TCP_ESTABLISHED || !queues) continue;
    if (!localField.endsWith(ports.trimEnd()) || !remoteField.endsWith(remotePortHex)) continue;
    if (procAddress(localField.split(':')[0]!) !== local || procAddress(remoteField.split(':')[0]!) !== remote) continue;
    const tx = Number.parseInt(queues.split(':')[0]!, HEX);
    return Number.isFinite(tx) ? tx : undefined;
  }
  return undefined;
}

/**
 * Bytes written on this TCP connection that the receiving host has not acknowledged yet, or `undefined` when the
 * platform does not publish it (not Linux, `/proc` unreadable, connection no longer listed).
 *
 * @example
 * ```ts
 * const pending = await unacknowledgedBytes(socket); // e.g. 0 once the receiver's TCP acknowledged everything
 * ```
 */
export async function unacknowledgedBytes(socket: SocketEndpoints, procNet: string = PROC_NET): Promise<number | undefined> {
  const ipv6 = (socket.localAddress ?? '').includes(':');
  try {
    return await scanProcFile(`${procNet}/${ipv6 ? 'tcp6' : 'tcp'}`, (lines) => txQueueFromProc(lines, socket));
  } catch {
    return undefined;
  }
}

/**
 * Reads a `/proc` seq file chunk by chunk (the kernel hands out about a page per `read`, walking its socket hash table
 * as it goes, which takes milliseconds on hosts with a large table) and stops at the first chunk of complete lines in
 * which `find` finds something, so on average only part of the table is walked.
 */
async function scanProcFile<T>(path: string, find: (lines: string) => T | undefined): Promise<T | undefined> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(PROC_READ_BYTES);
    let partial = '';
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return partial === '' ? undefined : find(partial);
      const text = partial + buffer.toString('latin1', 0, bytesRead);
      const end = text.lastIndexOf('\n') + 1;
      partial = text.slice(end);
      const found = end > 0 ? find(text.slice(0, end)) : undefined;
      if (found !== undefined) return found;
    }
  } finally {
    await file.close();
  }
}
