import { randomUUID } from 'node:crypto';
import { ROLES, generateApiToken, hashApiToken, visibleTokenPrefix, type Role } from '../auth/api-token.js';
import { AuditAction } from './audit-changes.js';
import { toApiKeyRecord, type Actor, type ApiKeyRecord } from './records.js';
import { InvalidInputError, RecordNotFoundError } from './store-errors.js';
import { TenantScoped, iso } from './tenant-scope.js';

/** One organisation's API keys (tokens are stored hashed; a token is shown once, at creation). */
export class ApiKeyStore extends TenantScoped {
  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const rows = await this.db.selectFrom('api_keys').selectAll().where('organization_id', '=', this.organizationId).orderBy('created_at').orderBy('id').execute();
    return rows.map(toApiKeyRecord);
  }

  /**
   * Creates an API key and returns its token, the only time it is ever available. Writes `api_key.created`.
   * With `token`, that exact token is used (the bootstrap token); otherwise a new one is generated.
   */
  async createApiKey(input: { name: string; role: Role; token?: string }, actor: Actor): Promise<{ key: ApiKeyRecord; token: string }> {
    if (!ROLES.includes(input.role)) throw new InvalidInputError([{ path: 'role', message: `must be one of ${ROLES.join(', ')}` }]);
    const token = input.token ?? generateApiToken();
    const row = {
      id: randomUUID(),
      organization_id: this.organizationId,
      name: input.name,
      role: input.role,
      token_hash: hashApiToken(token),
      token_prefix: visibleTokenPrefix(token),
      created_at: iso(this.now()),
      last_used_at: null,
      revoked_at: null,
    };
    await this.write(async (trx) => {
      await trx.insertInto('api_keys').values(row).execute();
      return this.audit(trx, actor, AuditAction.API_KEY_CREATED, 'ApiKey', row.id, { after: { name: row.name, role: row.role, tokenPrefix: row.token_prefix } });
    });
    return { key: toApiKeyRecord(row), token };
  }

  /** Revokes a key (idempotent for an already revoked key); writes `api_key.revoked`. @throws RecordNotFoundError */
  async revokeApiKey(id: string, actor: Actor): Promise<ApiKeyRecord> {
    let result: ApiKeyRecord | undefined;
    await this.write(async (trx) => {
      const row = await trx.selectFrom('api_keys').selectAll().where('id', '=', id).where('organization_id', '=', this.organizationId).executeTakeFirst();
      if (!row) throw new RecordNotFoundError('ApiKey', id);
      if (row.revoked_at) {
        result = toApiKeyRecord(row);
        return [];
      }
      const revokedAt = iso(this.now());
      await trx.updateTable('api_keys').set({ revoked_at: revokedAt }).where('id', '=', id).where('organization_id', '=', this.organizationId).execute();
      result = toApiKeyRecord({ ...row, revoked_at: revokedAt });
      return this.audit(trx, actor, AuditAction.API_KEY_REVOKED, 'ApiKey', id, { before: { name: row.name, role: row.role, tokenPrefix: row.token_prefix } });
    });
    this.notify.apiKeyRevoked?.(this.organizationId, id);
    return result!;
  }
}
