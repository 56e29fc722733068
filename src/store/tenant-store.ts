import type { Role } from '../auth/api-token.js';
import type { DestinationConfig } from '../destinations/types.js';
import type { PreparedEvents } from '../events/prepare-events.js';
import type { SecurityEvent } from '../events/security-event.js';
import { ApiKeyStore } from './api-key-store.js';
import { AuditStore } from './audit-store.js';
import { DeadLetterStore } from './dead-letter-store.js';
import { DeliveryStateStore } from './delivery-state-store.js';
import type { DeliveryOutcomeUpdate } from './error-tracking.js';
import { IngestStore } from './ingest-store.js';
import { IntegrationStore } from './integration-store.js';
import type {
  Actor, ApiKeyRecord, AuditPage, CreateIntegrationInput, DeadLetterPage, DeliveryCounters, IntegrationFilter,
  SiemIntegrationRecord, UpdateIntegrationInput,
} from './records.js';
import type { IngestJob, TenantShared } from './tenant-scope.js';

export * from './records.js';
export { AuditAction } from './audit-changes.js';
export { ApiKeyRevokedError } from './ingest-store.js';
export type { IngestJob, StoreNotifier, TenantShared } from './tenant-scope.js';
export type { DeliveryOutcomeUpdate };

type IngestResult = { accepted: number; duplicates: number };

/**
 * Everything one organisation may read and change. Every query filters on `organization_id`, so a
 * resolver holding a `TenantStore` cannot reach another organisation's rows, whatever id it is given:
 * tenant scoping lives here, not in resolvers.
 *
 * Every change and its audit entry are written in one transaction: a rejected change writes nothing.
 *
 * @example
 * ```ts
 * const tenant = store.tenant(principal.organizationId);
 * const created = await tenant.createIntegration({ name: 'Splunk', type: 'SPLUNK', config }, actor);
 * ```
 *
 * A thin facade: each concern is a store of its own, scoped to this organisation at construction
 * ({@link IntegrationStore}, {@link IngestStore}, {@link DeliveryStateStore}, {@link DeadLetterStore},
 * {@link ApiKeyStore}, {@link AuditStore}), sharing one transaction-and-audit helper (`TenantScoped`).
 */
export class TenantStore {
  readonly integrations: IntegrationStore;
  readonly events: IngestStore;
  readonly delivery: DeliveryStateStore;
  readonly deadLetterQueue: DeadLetterStore;
  readonly apiKeys: ApiKeyStore;
  readonly audit: AuditStore;

  constructor(
    shared: TenantShared,
    readonly organizationId: string,
  ) {
    this.integrations = new IntegrationStore(shared, organizationId);
    this.events = new IngestStore(shared, organizationId);
    this.delivery = new DeliveryStateStore(shared, organizationId);
    this.deadLetterQueue = new DeadLetterStore(shared, organizationId);
    this.apiKeys = new ApiKeyStore(shared, organizationId);
    this.audit = new AuditStore(shared, organizationId);
  }

  // ── integrations ────────────────────────────────────────────────────────────

  /** See {@link IntegrationStore.listIntegrations}. */
  listIntegrations(filter?: IntegrationFilter): Promise<SiemIntegrationRecord[]> {
    return this.integrations.listIntegrations(filter);
  }

  /** See {@link IntegrationStore.findIntegration}. */
  findIntegration(id: string): Promise<SiemIntegrationRecord | null> {
    return this.integrations.findIntegration(id);
  }

  /** See {@link IntegrationStore.getIntegration}. */
  getIntegration(id: string): Promise<SiemIntegrationRecord> {
    return this.integrations.getIntegration(id);
  }

  /** See {@link IntegrationStore.getDestinationConfig}. */
  getDestinationConfig(id: string): Promise<DestinationConfig> {
    return this.integrations.getDestinationConfig(id);
  }

  /** See {@link IntegrationStore.createIntegration}. */
  createIntegration(input: CreateIntegrationInput, actor: Actor): Promise<SiemIntegrationRecord> {
    return this.integrations.createIntegration(input, actor);
  }

  /** See {@link IntegrationStore.updateIntegration}. */
  updateIntegration(id: string, input: UpdateIntegrationInput, actor: Actor): Promise<SiemIntegrationRecord> {
    return this.integrations.updateIntegration(id, input, actor);
  }

  /** See {@link IntegrationStore.deleteIntegration}. */
  deleteIntegration(id: string, actor: Actor): Promise<string> {
    return this.integrations.deleteIntegration(id, actor);
  }

  /** See {@link IntegrationStore.recordDeliveryOutcome}. */
  recordDeliveryOutcome(id: string, outcome: DeliveryOutcomeUpdate): Promise<SiemIntegrationRecord> {
    return this.integrations.recordDeliveryOutcome(id, outcome);
  }

  // ── events ──────────────────────────────────────────────────────────────────

  /** See {@link IngestStore.ingest}. */
  ingest(events: readonly SecurityEvent[], options?: { keyId?: string }): Promise<IngestResult> {
    return this.events.ingest(events, options);
  }

  /** See {@link IngestStore.ingestPrepared}. */
  ingestPrepared(prepared: PreparedEvents, options?: { keyId?: string }): Promise<IngestResult> {
    return this.events.ingestPrepared(prepared, options);
  }

  /** See {@link IngestStore.commitIngests}. */
  commitIngests(jobs: readonly IngestJob[]): Promise<(IngestResult | Error)[]> {
    return this.events.commitIngests(jobs);
  }

  // ── delivery state and dead letters ─────────────────────────────────────────

  /** See {@link DeliveryStateStore.deliveryState}. */
  deliveryState(integrationId: string): Promise<DeliveryCounters> {
    return this.delivery.deliveryState(integrationId);
  }

  /** See {@link DeliveryStateStore.deliveryStates}. */
  deliveryStates(): Promise<Map<string, DeliveryCounters>> {
    return this.delivery.deliveryStates();
  }

  /** See {@link DeliveryStateStore.discardQueuedEvents}. */
  discardQueuedEvents(integrationId: string, actor: Actor): Promise<{ discarded: number; replaysCancelled: number }> {
    return this.delivery.discardQueuedEvents(integrationId, actor);
  }

  /** See {@link DeadLetterStore.deadLetters}. */
  deadLetters(integrationId: string, options: { first: number; after?: string | null }): Promise<DeadLetterPage> {
    return this.deadLetterQueue.deadLetters(integrationId, options);
  }

  /** See {@link DeadLetterStore.replayDeadLetters}. */
  replayDeadLetters(integrationId: string, actor: Actor): Promise<number> {
    return this.deadLetterQueue.replayDeadLetters(integrationId, actor);
  }

  // ── API keys ────────────────────────────────────────────────────────────────

  /** See {@link ApiKeyStore.listApiKeys}. */
  listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.apiKeys.listApiKeys();
  }

  /** See {@link ApiKeyStore.createApiKey}. */
  createApiKey(input: { name: string; role: Role; token?: string }, actor: Actor): Promise<{ key: ApiKeyRecord; token: string }> {
    return this.apiKeys.createApiKey(input, actor);
  }

  /** See {@link ApiKeyStore.revokeApiKey}. */
  revokeApiKey(id: string, actor: Actor): Promise<ApiKeyRecord> {
    return this.apiKeys.revokeApiKey(id, actor);
  }

  // ── audit log ───────────────────────────────────────────────────────────────

  /** See {@link AuditStore.auditLog}. */
  auditLog(options: { first: number; after?: string | null; action?: string | null }): Promise<AuditPage> {
    return this.audit.auditLog(options);
  }
}
