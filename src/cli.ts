import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ROLES, type Role } from './auth/api-token.js';
import { SecretBox } from './crypto/secret-box.js';
import type { Gateway } from './gateway.js';
import { createLogger, stdoutDestination } from './logger.js';
import { SettingsError, loadSettings, resolveSecretKey, settingsHelp, type Settings } from './settings.js';
import { DatabaseLockedError, acquireDatabaseLock } from './store/database-lock.js';
import { openDatabase } from './store/database.js';
import { migrateToLatest } from './store/sqlite-database.js';
import { InvalidSlugError, Store } from './store/store.js';
import { RecordNotFoundError } from './store/store-errors.js';
import { VERSION } from './version.js';

/** Exit codes (sysexits.h). */
export const ExitCode = {
  OK: 0,
  /** Wrong command line. */
  USAGE: 64,
  /** Bad input data (unknown id, bad slug). */
  DATA: 65,
  /** Internal software error. */
  SOFTWARE: 70,
  /** Bad configuration (a setting from the environment). */
  CONFIG: 78,
} as const;

/** The version in package.json. */
export { VERSION };

const USAGE = `Usage:
  siemgate serve                                    start the gateway (GraphiQL at http://localhost:$PORT/graphql)
  siemgate keys create --org <slug> --role <admin|viewer|ingest> [--name <name>]
                                                    create an API key (and the organisation if new); prints the token last
  siemgate keys list --org <slug>                   list an organisation's API keys
  siemgate keys revoke <id>                         revoke an API key
  siemgate customer siem configure|test|show|disable|enable|list …
                                                    per-customer SIEM integrations of a running gateway (siemgate customer --help)
  siemgate --version                                print the version
  siemgate --help                                   print this help

Every command but serve works on an existing database (SIEMGATE_DB): run it where serve runs.

Settings (environment; a bad value stops the command with exit 78 and one line naming the setting):
${settingsHelp()}

Exit codes: 0 ok, 64 usage, 65 bad input (unknown id or slug, no database), 70 internal error, 78 bad setting.`;

class UsageError extends Error {}

/** Input data the command cannot use (exit 65): e.g. no database at the configured path. */
class DataError extends Error {}

/**
 * Runs one `siemgate` command and returns its exit code. Output: results on stdout, diagnostics on stderr.
 *
 * @example
 * ```ts
 * process.exitCode = await main(['keys', 'create', '--org', 'acme', '--role', 'viewer']);
 * ```
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
  // A client of a running gateway: no local settings, and only its own modules.
  if (command === 'customer') return (await import('./cli/customer-siem.js')).customerCommand(rest, env);
  try {
    // Help and version need no settings: they work even when a setting is bad.
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? ExitCode.USAGE : ExitCode.OK;
      case 'version':
      case '--version':
      case '-v':
        console.log(`siemgate ${VERSION}`);
        return ExitCode.OK;
    }
    const settings = loadSettings(env);
    switch (command) {
      case 'serve':
        return await serve(settings);
      case 'keys':
        return await keys(settings, rest);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof SettingsError) {
      console.error(`siemgate: ${error.message}`);
      return ExitCode.CONFIG;
    }
    if (error instanceof DataError) {
      console.error(`siemgate: ${error.message}`);
      return ExitCode.DATA;
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`siemgate: ${(error as Error).message}\n\n${USAGE}`);
      return ExitCode.USAGE;
    }
    if (error instanceof RecordNotFoundError || error instanceof InvalidSlugError) {
      console.error(`siemgate: ${error.message}`);
      return ExitCode.DATA;
    }
    console.error(`siemgate: ${(error as Error).message ?? String(error)}`);
    return ExitCode.SOFTWARE;
  }
}

/** Listen errors that are the operator's to fix (the port or address), by errno code. */
function listenProblem(error: unknown, settings: Settings): string | undefined {
  const { code, syscall } = (error ?? {}) as { code?: string; syscall?: string };
  if (syscall !== 'listen' && code !== 'ENOTFOUND' && code !== 'EAI_AGAIN') return undefined;
  switch (code) {
    case 'EADDRINUSE':
      return `port ${settings.port} is already in use (set PORT)`;
    case 'EACCES':
      return `not allowed to listen on port ${settings.port} (set PORT to 1024 or above)`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${settings.host}: not an address of this machine (set HOST)`;
    default:
      return undefined;
  }
}

async function serve(settings: Settings): Promise<number> {
  // One writer per database file: a second `serve` exits 78 with one line naming the file and the holder.
  // (PostgreSQL is a server shared by replicas: no file to lock.)
  if (settings.databaseUrl) return serveLocked(settings);
  let lock: ReturnType<typeof acquireDatabaseLock>;
  try {
    lock = acquireDatabaseLock(settings.databasePath);
  } catch (error) {
    if (!(error instanceof DatabaseLockedError)) throw error;
    console.error(`siemgate: ${error.message}`);
    return ExitCode.CONFIG;
  }
  try {
    return await serveLocked(settings);
  } finally {
    lock.release();
  }
}

/**
 * `serve`'s output: JSON log lines (pino) on stdout, nothing else there — the start is the
 * `siemgate listening` line (bound address, port, local URL). Human text goes to stderr: on a first start
 * the new admin token (one sentence, then the token), or one line saying why the server cannot start.
 */
async function serveLocked(settings: Settings): Promise<number> {
  const log = createLogger({ level: settings.logLevel, destination: stdoutDestination() });
  let gateway: Gateway;
  try {
    // Loaded here: the other commands start without the server's modules (GraphQL, HTTP, delivery).
    const { startGateway } = await import('./gateway.js');
    gateway = await startGateway({ settings, logger: log });
  } catch (error) {
    const problem = listenProblem(error, settings);
    if (problem === undefined) throw error;
    console.error(`siemgate: ${problem}`);
    return ExitCode.CONFIG;
  }
  if (gateway.bootstrapToken) {
    process.stderr.write(`Created organisation "default" and its first admin API key. This token is shown only once; store it safely:\n${gateway.bootstrapToken}\n`);
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      gateway.close().then(resolve, (error: unknown) => {
        log.error({ err: error }, 'error during shutdown');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return ExitCode.OK;
}

/**
 * Opens the existing database for a command other than `serve`. Never creates one (nor a key file): a
 * command run from the wrong directory must not silently start an empty database there.
 */
async function withStore<T>(settings: Settings, fn: (store: Store) => Promise<T>): Promise<T> {
  if (!settings.databaseUrl && !existsSync(settings.databasePath)) {
    throw new DataError(
      `no database at ${settings.databasePath}; set SIEMGATE_DB to the file \`siemgate serve\` uses, or run from the directory it runs in`,
    );
  }
  const secretKey = resolveSecretKey(settings, { create: false });
  const db = openDatabase({ path: settings.databasePath, url: settings.databaseUrl });
  try {
    await migrateToLatest(db);
    return await fn(new Store(db, new SecretBox(secretKey.key)));
  } finally {
    await db.destroy();
  }
}

const CLI_ACTOR = { keyId: null, name: 'cli' };

async function keys(settings: Settings, argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const { values } = parseArgs({ args: rest, options: { org: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' } }, strict: true });
    if (!values.org) throw new UsageError('keys create needs --org <slug>');
    if (!values.role || !ROLES.includes(values.role as Role)) throw new UsageError(`keys create needs --role ${ROLES.join('|')}`);
    const role = values.role as Role;
    return withStore(settings, async (store) => {
      const { organization, created } = await store.ensureOrganization(values.org!);
      if (created) console.log(`Created organisation ${organization.slug} (${organization.id})`);
      const { key, token } = await store.tenant(organization.id).createApiKey({ name: values.name ?? `${role} key`, role }, CLI_ACTOR);
      console.log(`Created ${key.role} key ${key.id} "${key.name}" for ${organization.slug}. The token is shown only once:`);
      console.log(token);
      return ExitCode.OK;
    });
  }
  if (sub === 'list') {
    const { values } = parseArgs({ args: rest, options: { org: { type: 'string' } }, strict: true });
    if (!values.org) throw new UsageError('keys list needs --org <slug>');
    return withStore(settings, async (store) => {
      const organization = await store.findOrganization(values.org!);
      if (!organization) throw new RecordNotFoundError('Organization', values.org!);
      const rows = await store.tenant(organization.id).listApiKeys();
      console.log(['ID', 'ROLE', 'NAME', 'PREFIX', 'CREATED', 'LAST USED', 'STATUS'].join('\t'));
      for (const k of rows) {
        console.log([k.id, k.role, k.name, `${k.tokenPrefix}…`, k.createdAt.toISOString(), k.lastUsedAt?.toISOString() ?? '-', k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active'].join('\t'));
      }
      return ExitCode.OK;
    });
  }
  if (sub === 'revoke') {
    const { positionals } = parseArgs({ args: rest, allowPositionals: true, strict: true });
    if (positionals.length !== 1) throw new UsageError('keys revoke needs exactly one key id');
    return withStore(settings, async (store) => {
      const key = await store.revokeApiKeyById(positionals[0]!, CLI_ACTOR);
      console.log(`Revoked key ${key.id} "${key.name}" (${key.role})`);
      return ExitCode.OK;
    });
  }
  throw new UsageError(`unknown keys command ${JSON.stringify(sub ?? '')}`);
}
