import type { Migration } from 'kysely';
import * as initial from './2026-11-22T0001-initial.js';
import * as delivery from './2026-11-22T0002-delivery.js';
import * as integrationTestedOkAt from './2026-11-22T0003-integration-tested-ok-at.js';
import * as segmentLog from './2026-11-30T0001-segment-log.js';
import * as deliveryLeases from './2026-11-30T0002-delivery-leases.js';

/**
 * Every migration, by name. Names sort in the order they apply (date-prefixed). Listed statically
 * because Node 20 cannot `import()` TypeScript files at run time the way `FileMigrationProvider` does.
 * Add a new file and a line here; never edit a migration that has shipped.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-22T0001-initial': initial,
  '2026-11-22T0002-delivery': delivery,
  '2026-11-22T0003-integration-tested-ok-at': integrationTestedOkAt,
  '2026-11-30T0001-segment-log': segmentLog,
  '2026-11-30T0002-delivery-leases': deliveryLeases,
};
