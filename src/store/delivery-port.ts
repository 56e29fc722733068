import type { SecretBox } from '../crypto/secret-box.js';
import type { Kysely } from 'kysely';
import { DeliveryStore, type DeliveryFence } from './delivery-store.js';
import type { EventLog } from './event-log.js';
import { LeaseStore } from './lease-store.js';
import type { Database } from './tables.js';
import type { StoreNotifier, TenantStore } from './tenant-store.js';

/** The reads of one organisation the delivery engine needs for live status and figures. */
export type DeliveryReads = Pick<TenantStore, 'findIntegration' | 'listIntegrations' | 'deliveryState' | 'deliveryStates'>;

/**
 * The delivery engine's narrow access to the store (see `Store.delivery`): no database handle, no secret box,
 * no writes an API request could make. Cross-organisation work goes through {@link DeliveryStore} and
 * {@link LeaseStore}; per-organisation reads through {@link DeliveryPort.tenant}.
 */
export interface DeliveryPort {
  /** A delivery store; with a fence, cursor moves commit only while the fence's owner holds the lease. */
  deliveryStore(fence?: DeliveryFence): DeliveryStore;
  /** The delivery leases as seen by replica `replicaId`. */
  leaseStore(replicaId: string): LeaseStore;
  /** Subscribes to committed changes. Returns an unsubscribe function. */
  subscribe(listener: StoreNotifier): () => void;
  /** The reads of one organisation. */
  tenant(organizationId: string): DeliveryReads;
}

/** Builds the {@link DeliveryPort} of a store from its parts. */
export function deliveryPort(parts: {
  db: Kysely<Database>;
  box: SecretBox;
  log: EventLog;
  subscribe: DeliveryPort['subscribe'];
  tenant: DeliveryPort['tenant'];
}): DeliveryPort {
  const { db, box, log } = parts;
  return {
    deliveryStore: (fence) => new DeliveryStore(db, box, log, fence),
    leaseStore: (replicaId) => new LeaseStore(db, replicaId),
    subscribe: parts.subscribe,
    tenant: parts.tenant,
  };
}
