import { unauthenticated } from '../errors.js';
import type { Principal, Store } from '../store/store.js';

const BEARER = /^Bearer\s+(\S{1,512})\s*$/i;

/**
 * Resolves an `Authorization` value (`Bearer <token>`) to the calling key, or throws UNAUTHENTICATED (HTTP 401).
 * The same message for a missing, malformed, unknown or revoked token: nothing to learn by probing.
 *
 * @example
 * ```ts
 * const principal = await authenticate(store, request.headers.get('authorization'));
 * ```
 */
export async function authenticate(store: Store, authorization: string | null | undefined): Promise<Principal> {
  const match = authorization ? BEARER.exec(authorization) : null;
  if (!match) throw unauthenticated();
  const principal = await store.authenticate(match[1]!);
  if (!principal) throw unauthenticated('The API key is invalid or revoked');
  return principal;
}
