import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Creates the gateway's structured logger (JSON lines on stderr). Secrets never reach it: every
 * known secret field name is redacted as a second line of defence.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: 'debug' });
 * log.info({ integrationId }, 'delivered');
 * ```
 */
export function createLogger(options: { level?: string; /** @default stderr (fd 2) */ destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.SIEMGATE_LOG_LEVEL ?? 'info',
      base: { service: 'siemgate' },
      redact: {
        paths: ['*.token', '*.sharedKey', '*.secret', '*.password', '*.clientSecret', '*.clientKey', '*.authorization', 'req.headers.authorization'],
        censor: '[REDACTED]',
      },
    },
    options.destination ?? pino.destination(2),
  );
}
