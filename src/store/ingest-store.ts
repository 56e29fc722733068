import type { Transaction } from 'kysely';
import type { PreparedEvents } from '../events/prepare-events.js';
import type { SecurityEvent } from '../events/security-event.js';
import type { EventFacts } from '../events/stored-event.js';
import { isPostgres } from './database.js';
import type { AppendedEvent } from './event-log.js';
import type { Database } from './tables.js';
import { TenantScoped, type IngestJob } from './tenant-scope.js';

/** The API key that sent events was revoked (or deleted) before they could be committed; nothing was stored. */
export class ApiKeyRevokedError extends Error {
  readonly code = 'SIEMGATE_API_KEY_REVOKED';
  constructor() {
    super('The API key is invalid or revoked');
    this.name = 'ApiKeyRevokedError';
  }
}

/** Events one organisation sends, into its log: committed before acknowledged, ids stored once, only while the sending key is active. */
export class IngestStore extends TenantScoped {
  /**
   * Stores validated events in the organisation's log: committed before this resolves, so an
   * acknowledged event survives a crash. Ids already stored are skipped (idempotent re-sends).
   * With `keyId`, stores nothing and throws {@link ApiKeyRevokedError} unless that key is still active at commit.
   */
  async ingest(events: readonly SecurityEvent[], options: { keyId?: string } = {}): Promise<{ accepted: number; duplicates: number }> {
    let duplicates = 0;
    await this.write(async (trx) => {
      // The key that sent the events must still be valid when they commit: checked inside the same
      // transaction, so a key revoked while its upload was in progress stores nothing.
      if (options.keyId !== undefined) await this.checkKeyActive(trx, options.keyId);
      const result = await this.log.append(trx, this.organizationId, events, this.now());
      duplicates = result.duplicates;
      return result.appended;
    });
    return { accepted: events.length, duplicates };
  }

  /**
   * {@link ingest} for events prepared by `prepareEvents` (validated and serialised, possibly on another thread).
   * Same guarantees: committed before this resolves, ids stored once, nothing stored when `keyId` was revoked.
   */
  ingestPrepared(prepared: PreparedEvents, options: { keyId?: string } = {}): Promise<{ accepted: number; duplicates: number }> {
    return this.ingestCommits.submit(this.organizationId, { prepared, keyId: options.keyId });
  }

  /** Commits ingests of this organisation that arrived together in one transaction (see {@link GroupCommit}). */
  async commitIngests(jobs: readonly IngestJob[]): Promise<({ accepted: number; duplicates: number } | Error)[]> {
    const results: ({ accepted: number; duplicates: number } | Error)[] = [];
    await this.write(async (trx) => {
      results.length = 0;
      const appended: AppendedEvent[] = [];
      for (const { prepared, keyId } of jobs) {
        try {
          if (keyId !== undefined) await this.checkKeyActive(trx, keyId);
        } catch (error) {
          results.push(error as Error);
          continue;
        }
        const lines = prepared.lines.split('\n');
        const facts = JSON.parse(prepared.facts) as EventFacts[];
        const result = await this.log.appendStored(trx, this.organizationId, { lines, facts, joined: prepared.lines, factsJson: prepared.facts }, this.now());
        for (const a of result.appended) appended.push(a);
        results.push({ accepted: prepared.count, duplicates: result.duplicates });
      }
      return appended;
    });
    return results;
  }

  /** Throws {@link ApiKeyRevokedError} unless the key is still active in this organisation (inside the commit's transaction). */
  private async checkKeyActive(trx: Transaction<Database>, keyId: string): Promise<void> {
    const query = trx.selectFrom('api_keys').select('revoked_at').where('id', '=', keyId).where('organization_id', '=', this.organizationId);
    // PostgreSQL: a revocation committing meanwhile waits for this transaction, or this one sees it (SQLite has one writer).
    const key = await (isPostgres(this.db) ? query.forShare() : query).executeTakeFirst();
    if (!key || key.revoked_at !== null) throw new ApiKeyRevokedError();
  }

}
