/** PostgreSQL database URLs, without loading a driver (settings parse them at every start, `--help` included). */

/** PostgreSQL URL schemes, as libpq and `pg` accept them. */
const POSTGRES_PROTOCOLS = new Set(['postgres:', 'postgresql:']);

/** True for a `postgres://` or `postgresql://` URL. */
export function isPostgresUrl(url: string): boolean {
  try {
    return POSTGRES_PROTOCOLS.has(new URL(url).protocol);
  } catch {
    return false;
  }
}

/**
 * The URL with its password (and any `password` query parameter) replaced by `***`, for logs and error messages.
 * A string that is not a URL is replaced whole: it may be a password pasted in the wrong place.
 *
 * @example
 * ```ts
 * redactDatabaseUrl('postgres://app:s3cret@db:5432/siemgate'); // 'postgres://app:***@db:5432/siemgate'
 * ```
 */
export function redactDatabaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '***';
  }
  if (parsed.password) parsed.password = '***';
  for (const key of [...parsed.searchParams.keys()]) {
    if (/pass|secret|key/i.test(key)) parsed.searchParams.set(key, '***');
  }
  return parsed.toString().replaceAll('%2A%2A%2A', '***');
}
