import { SECRET_FIELD_NAMES } from '../destinations/registry.js';
import { REDACTED } from '../secrets/scrub-secrets.js';

/** What replaces a secret in the audit log and in anything else shown to people. */
export { REDACTED };

/** Credentials by name that are no destination field: passwords, API keys, private keys, authorization headers, `*Token`/`*_token`, `*Secret`/`*_secret`. */
const CREDENTIAL_NAMES = ['.*_token', '.*Token', '.*Secret', '.*_secret', 'password', 'passphrase', 'api_?key', 'private_?key', '.*PrivateKey', 'authorization'];

/** `clientKey` → `client_?key`: the camelCase name and its snake_case spelling. */
const eitherCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_?${c}`);

/**
 * Field names treated as secrets wherever they appear in an object: every destination's secret fields (from
 * the descriptors' `secret` markers: token, sharedKey, secret, clientSecret, clientKey, headers, in camelCase
 * or snake_case) and the credential names above.
 */
const SECRET_KEY = new RegExp(`^(${[...SECRET_FIELD_NAMES.map(eitherCase), ...CREDENTIAL_NAMES].join('|')})$`, 'i');

/**
 * Deep-copies `value` with every secret field replaced by `[REDACTED]` (a set value) or left absent (an unset one).
 *
 * @example
 * ```ts
 * redactSecrets({ endpoint: 'https://x', token: 'abc', tls: { clientKey: 'pem' } });
 * // { endpoint: 'https://x', token: '[REDACTED]', tls: { clientKey: '[REDACTED]' } }
 * ```
 */
export function redactSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v)) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    out[key] = SECRET_KEY.test(key) ? REDACTED : redactSecrets(v);
  }
  return out as T;
}
