import { createHash, randomBytes } from 'node:crypto';

/** Roles an API key can hold. */
export const Role = {
  /** Everything in its organisation. */
  ADMIN: 'admin',
  /** Reads integrations, status and the audit log; never a secret; no mutation. */
  VIEWER: 'viewer',
  /** Only event ingestion. */
  INGEST: 'ingest',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

export const ROLES: readonly Role[] = [Role.ADMIN, Role.VIEWER, Role.INGEST];

/** Prefix of every generated token, so leaked tokens are recognisable by secret scanners. */
export const TOKEN_PREFIX = 'sg_';
const TOKEN_RANDOM_BYTES = 32;
/** How many leading characters of a token are kept in clear to tell keys apart. */
const VISIBLE_PREFIX_LENGTH = 10;

/**
 * Generates a new API token: `sg_` + 256 random bits, base64url.
 *
 * @example
 * ```ts
 * const token = generateApiToken(); // "sg_Vq3…"
 * ```
 */
export function generateApiToken(): string {
  return TOKEN_PREFIX + randomBytes(TOKEN_RANDOM_BYTES).toString('base64url');
}

/**
 * The stored form of a token: SHA-256 hex. Tokens carry 256 bits of entropy, so a fast hash is
 * sufficient (no dictionary to attack), and lookups stay O(1) by unique index.
 *
 * @example
 * ```ts
 * const row = await db.selectFrom('api_keys').where('token_hash', '=', hashApiToken(token));
 * ```
 */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The part of a token shown in listings (`sg_Vq3abc…`), enough to recognise a key, useless to use it.
 *
 * @example
 * ```ts
 * visibleTokenPrefix('sg_Vq3abcdefghij'); // "sg_Vq3abcd"
 * ```
 */
export function visibleTokenPrefix(token: string): string {
  return token.slice(0, VISIBLE_PREFIX_LENGTH);
}

/** The authorisation scopes fields declare (`authScopes: { reader: true }`), and which roles hold them. */
export interface RoleScopes {
  admin: boolean;
  reader: boolean;
  ingest: boolean;
}

/**
 * The scopes a role holds: the one mapping used both by the schema at execution and by the whole-document
 * check before execution.
 *
 * @example
 * ```ts
 * roleScopes('viewer'); // { admin: false, reader: true, ingest: false }
 * ```
 */
export function roleScopes(role: Role): RoleScopes {
  return {
    admin: role === Role.ADMIN,
    reader: role === Role.ADMIN || role === Role.VIEWER,
    ingest: role === Role.ADMIN || role === Role.INGEST,
  };
}
