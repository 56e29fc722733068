import { format } from 'node:util';
import { main } from '../../src/cli.js';
import type { RunCliOptions } from './gateway.js';

/** What a command printed and returned. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let running: Promise<unknown> = Promise.resolve();

/**
 * Runs `siemgate <args>` in this process: the very function `bin/siemgate.mjs` calls (`main` of src/cli.ts,
 * which hands `customer …` to the client commands), with its `console` output captured and its return value as
 * the exit code. For tests of what a command does and prints; the process boundary itself (the binary, signals,
 * the token block of `serve`, kill -9, the database lock between processes) is tested with {@link runCli} and
 * `spawnServe`, which start the real binary.
 *
 * Commands run one at a time (the console and, with `cwd`, the working directory are the process's). Not for
 * `serve` with valid settings: it would keep running in this process.
 */
export function runCliInProcess(args: string[], env: NodeJS.ProcessEnv, options: RunCliOptions = {}): Promise<CliResult> {
  const run = running.then(async () => {
    const inherited = options.isolated ? {} : process.env;
    let stdout = '';
    let stderr = '';
    const { log, info, error, warn } = console;
    const cwd = process.cwd();
    console.log = console.info = (...parts: unknown[]) => void (stdout += `${format(...parts)}\n`);
    console.error = console.warn = (...parts: unknown[]) => void (stderr += `${format(...parts)}\n`);
    try {
      if (options.cwd) process.chdir(options.cwd);
      const code = await main(args, { ...inherited, ...env });
      return { code, stdout, stderr };
    } finally {
      Object.assign(console, { log, info, error, warn });
      process.chdir(cwd);
    }
  });
  running = run.catch(() => undefined);
  return run;
}
