/** What replaces a secret in the audit log and in anything else shown to people. */
export const REDACTED = '[REDACTED]';

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

/** Secrets shorter than this are not scrubbed from text (they would match ordinary words). */
export const MIN_SCRUBBED_SECRET_LENGTH = 4;

/**
 * Replaces every occurrence of each secret in `text` with `[REDACTED]`: for error texts a SIEM may have
 * built from our own request (an echoed token, header or key).
 *
 * @example
 * ```ts
 * scrubSecrets('Invalid token Splunk abc123', ['abc123']); // "Invalid token Splunk [REDACTED]"
 * ```
 */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  const list = secrets.filter((s): s is string => typeof s === 'string' && s.length >= MIN_SCRUBBED_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  for (const secret of list) out = out.split(secret).join(REDACTED);
  return out;
}
