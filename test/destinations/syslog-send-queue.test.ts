import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { txQueueFromProc, unacknowledgedBytes } from '../../src/net/tcp-send-queue.js';

/**
 * The reader of a connection's unacknowledged bytes (Linux /proc/net/tcp{,6}, proc(5): addresses are the
 * network-order words printed with %08X as native integers, ports %04X, `tx_queue:rx_queue` in hex).
 */

const le = endianness() === 'LE';
const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

describe('txQueueFromProc', () => {
  it.runIf(le)('finds the ESTABLISHED IPv4 connection by both endpoints and reads tx_queue', () => {
    const text = HEADER +
      '   0: 0100007F:A2E1 0100007F:1F90 0A 00000000:00000000 00:00000000 00000000  0 0 1 1\n' + // LISTEN, same ports
      '   1: 0100007F:A2E1 0200007F:1F90 01 00000777:00000000 00:00000000 00000000  0 0 2 1\n' + // other remote address
      '   2: 0100007F:A2E1 0100007F:1F90 01 00012345:00000000 00:00000000 00000000  0 0 3 1\n';
    const socket = { localAddress: '127.0.0.1', localPort: 0xa2e1, remoteAddress: '127.0.0.1', remotePort: 0x1f90 };
    expect(txQueueFromProc(text, socket)).toBe(0x12345);
    expect(txQueueFromProc(text, { ...socket, remotePort: 514 })).toBeUndefined();
  });

  it.runIf(le)('reads IPv6 addresses word by word', () => {
    // ::1 → 3 zero words, then 00000001 printed as a little-endian integer.
    const text = HEADER + '   0: 00000000000000000000000001000000:0202 00000000000000000000000001000000:18EA 01 00000040:00000000 00:00000000 00000000 0 0 1 1\n';
    expect(txQueueFromProc(text, { localAddress: '::1', localPort: 0x202, remoteAddress: '0:0::1', remotePort: 6378 })).toBe(64);
  });

  it('is undefined for a socket without endpoints', () => {
    expect(txQueueFromProc(HEADER, {})).toBeUndefined();
  });

  it.runIf(process.platform === 'linux')('reads a live loopback connection (IPv4 and IPv6), and nothing from a missing /proc', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const server = createServer((s) => s.resume());
      await new Promise<void>((resolve) => server.listen(0, host, resolve));
      const client: Socket = connect((server.address() as AddressInfo).port, host);
      await new Promise((resolve) => client.once('connect', resolve));
      expect(await unacknowledgedBytes(client)).toBe(0);
      expect(await unacknowledgedBytes(client, '/nonexistent')).toBeUndefined();
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
