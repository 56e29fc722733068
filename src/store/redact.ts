import { REDACTED } from '../secrets/scrub-secrets.js';

/** What replaces a secret in the audit log and in anything else shown to people. */
export { REDACTED };

/**
 * Field names treated as secrets wherever they appear in an object: token, shared_key/sharedKey, secret,
 * password, api_key/apiKey, clientSecret, clientKey/private keys, authorization, and header lists (whose values may carry credentials).
 */
const SECRET_KEY = /^(token|.*_token|.*Token|shared_?key|secret|.*Secret|.*_secret|password|passphrase|api_?key|client_?key|private_?key|.*PrivateKey|authorization|headers)$/i;

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
