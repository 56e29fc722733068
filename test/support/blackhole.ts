import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';

/** A loopback port where a TCP connect neither succeeds nor is refused: it hangs until the client gives up. */
export interface Blackhole {
  port: number;
  close(): Promise<void>;
}

const LISTENER = `
const server = require('node:net').createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => process.stdout.write(server.address().port + '\\n'));
`;

/**
 * Starts a listener in a child process, stops that process (SIGSTOP) so it never accepts, and fills its accept queue:
 * the kernel then drops further SYNs, so a connect to {@link Blackhole.port} times out exactly as one to a firewalled
 * host does. Nothing is mocked: it is the kernel's own behaviour for a full accept queue.
 */
export async function startBlackhole(): Promise<Blackhole> {
  const child = spawn(process.execPath, ['-e', LISTENER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`blackhole listener exited (${code})`)));
  });
  child.kill('SIGSTOP');
  const fillers: Socket[] = [];
  // Queue connections until one hangs: from then on the accept queue is full and every new SYN is dropped.
  for (let i = 0; i < 16; i++) {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    fillers.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 300);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!connected) {
      return {
        port,
        async close() {
          for (const s of fillers) s.destroy();
          child.kill('SIGKILL');
          await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
        },
      };
    }
  }
  child.kill('SIGKILL');
  for (const s of fillers) s.destroy();
  throw new Error('could not fill the accept queue of the blackhole listener');
}
