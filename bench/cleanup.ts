import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Everything the bench started, so that it is stopped whatever happens: normal end, a thrown error,
 * Ctrl-C or SIGTERM. Children are killed by their own pid, temp dirs removed.
 */
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** Registers a child process to be killed at exit (it unregisters itself once it has exited). */
export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Registers a temporary directory to be removed at exit. */
export function trackTempDir(dir: string): void {
  tempDirs.add(dir);
}

/** Removes a temporary directory now. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Synchronous last-resort cleanup: SIGKILL every child still running, remove every temp dir. */
export function cleanupNow(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

let installed = false;

/**
 * Installs the exit hooks once: on `exit`, on SIGINT/SIGTERM (then exits 130/143) and on an uncaught
 * error (then exits 1).
 */
export function installCleanupHooks(): void {
  if (installed) return;
  installed = true;
  process.once('exit', cleanupNow);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal}, stopping children`);
      cleanupNow();
      process.exit(code);
    });
  }
  process.once('uncaughtException', (error) => {
    console.error('bench: uncaught error:', error);
    cleanupNow();
    process.exit(1);
  });
}
