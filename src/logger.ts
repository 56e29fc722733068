import pino, { type DestinationStream, type Logger } from 'pino';
import { SECRET_FIELD_NAMES } from './destinations/registry.js';
import { REDACTED } from './secrets/scrub-secrets.js';

export type { Logger };

/**
 * Field names redacted wherever they appear one level down in a log line: the destination configs'
 * secret fields (from {@link SECRET_FIELD_NAMES}: the descriptors' `secret` markers, the one definition of what
 * is secret) and credentials of requests.
 */
const REDACTED_FIELDS = [...new Set([...SECRET_FIELD_NAMES, 'password', 'authorization'])];

/**
 * Creates the gateway's structured logger (JSON lines on stderr, or on `destination`). Secrets never
 * reach it: texts from SIEMs are scrubbed before they are logged, operations are logged without their
 * variables and literal values (plugins/mask-error.ts), and every secret field name is redacted as a
 * second line of defence.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: 'debug' });
 * log.info({ integrationId }, 'delivered');
 * ```
 */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.SIEMGATE_LOG_LEVEL ?? 'info',
      base: { service: 'siemgate' },
      redact: {
        paths: [...REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`]), 'req.headers.authorization'],
        censor: REDACTED,
      },
    },
    options.destination ?? pino.destination(2),
  );
}

/** Standard output, written synchronously (no line is lost when the process exits): `siemgate serve`'s log stream. */
export function stdoutDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: true });
}
