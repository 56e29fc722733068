import { parseArgs } from 'node:util';
import { ROLES, type Role } from './auth/api-token.js';
import { SecretBox } from './crypto/secret-box.js';
import { startGateway } from './gateway.js';
import { createLogger } from './logger.js';
import { SettingsError, loadSettings, resolveSecretKey, type Settings } from './settings.js';
import { DatabaseLockedError, acquireDatabaseLock } from './store/database-lock.js';
import { migrateToLatest, openSqliteDatabase } from './store/sqlite-database.js';
import { InvalidSlugError, Store } from './store/store.js';
import { RecordNotFoundError } from './store/store-errors.js';

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

const USAGE = `Usage:
  siemgate serve                                    start the gateway (GraphiQL at http://localhost:$PORT/graphql)
  siemgate keys create --org <slug> --role <admin|viewer|ingest> [--name <name>]
                                                    create an API key (and the organisation if new); prints the token last
  siemgate keys list --org <slug>                   list an organisation's API keys
  siemgate keys revoke <id>                         revoke an API key

Settings (environment): PORT, SIEMGATE_DB, SIEMGATE_SECRET_KEY, SIEMGATE_BOOTSTRAP_TOKEN, SIEMGATE_GRAPHIQL,
SIEMGATE_EGRESS_ALLOW, SIEMGATE_EGRESS_DENY_PRIVATE, SIEMGATE_MAX_BODY_BYTES, SIEMGATE_LOG_LEVEL.`;

class UsageError extends Error {}

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
  try {
    const settings = loadSettings(env);
    switch (command) {
      case 'serve':
        return await serve(settings);
      case 'keys':
        return await keys(settings, rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? ExitCode.USAGE : ExitCode.OK;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof SettingsError) {
      console.error(`siemgate: ${error.message}`);
      return ExitCode.CONFIG;
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

async function serve(settings: Settings): Promise<number> {
  // One writer per database file: a second `serve` exits 78 with one line naming the file and the holder.
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

async function serveLocked(settings: Settings): Promise<number> {
  const log = createLogger({ level: settings.logLevel });
  const gateway = await startGateway({ settings, logger: log });
  console.log(`siemgate listening on ${gateway.url}/graphql${settings.graphiql ? ' (GraphiQL on)' : ''}`);
  if (gateway.bootstrapToken) {
    console.log('Created organisation "default" and its first admin API key. This token is shown only once; store it safely:');
    console.log(gateway.bootstrapToken);
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

async function withStore<T>(settings: Settings, fn: (store: Store) => Promise<T>): Promise<T> {
  const db = openSqliteDatabase(settings.databasePath);
  try {
    await migrateToLatest(db);
    return await fn(new Store(db, new SecretBox(resolveSecretKey(settings).key)));
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
