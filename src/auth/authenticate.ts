import { unauthenticated } from '../errors.js';

/**
 * What authentication needs of the store (`Store` is one): a token lookup. Declared here, so that `auth`
 * does not import the store, which imports `auth/api-token.ts`.
 */
export interface TokenLookup<TPrincipal> {
  authenticate(token: string): Promise<TPrincipal | null>;
}

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
export async function authenticate<TPrincipal>(store: TokenLookup<TPrincipal>, authorization: string | null | undefined): Promise<TPrincipal> {
  const match = authorization ? BEARER.exec(authorization) : null;
  if (!match) throw unauthenticated();
  const principal = await store.authenticate(match[1]!);
  if (!principal) throw unauthenticated('The API key is invalid or revoked');
  return principal;
}
