import type { Store, Principal } from '../store/store.js';
import type { Actor, TenantStore } from '../store/tenant-store.js';
import type { IntegrationTester } from '../delivery/integration-tester.js';
import type { DeliveryEngine } from '../delivery/delivery-engine.js';
import type { DeliveryCounters } from '../store/tenant-store.js';
import type { IngestAdmission } from '../http/ingest-admission.js';

/** The services resolvers call. Resolvers stay thin: no SQL, no sockets, only calls into these. */
export interface GatewayServices {
  store: Store;
  tester: IntegrationTester;
  engine: DeliveryEngine;
  /** Ingestion limits and fair admission, shared with `POST /v1/events`. */
  ingest: IngestAdmission;
}

/**
 * Per-operation context. Created only for authenticated callers: an operation without a valid API
 * key is refused with 401 before any resolver runs.
 */
export interface GatewayContext {
  principal: Principal;
  /** The caller's organisation's store; the only store resolvers use. */
  tenant: TenantStore;
  /** Who the audit log names for changes made in this operation. */
  actor: Actor;
  services: GatewayServices;
  /** Per-operation cache, so a list of integrations loads delivery counters once, not once per row. */
  cache: { counters?: Promise<Map<string, DeliveryCounters>>; loadedCounters?: Map<string, DeliveryCounters> };
}
