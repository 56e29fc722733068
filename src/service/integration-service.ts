import { z } from 'zod';
import { Role } from '../auth/api-token.js';
import type { IntegrationTester } from '../delivery/integration-tester.js';
import type { RoutingFilter } from '../store/routing.js';
import {
  batchSizeRule, customerIdRule, flushIntervalRule, integrationNameRule, retryCountRule, timeoutSecondsRule,
} from '../destinations/shared/config-rules.js';
import type { ConnectionTestResult } from '../destinations/types.js';
import { forbidden } from '../errors.js';
import type { Principal, Store } from '../store/store.js';
import { InvalidInputError } from '../store/store-errors.js';
import type {
  Actor, Batching, CreateIntegrationInput, IntegrationFilter, SiemIntegrationRecord, TenantStore, UpdateIntegrationInput,
} from '../store/tenant-store.js';

/** What the service needs: the store (tenancy, validation of configs, secrets, audit, change notification) and the tester. */
export interface IntegrationServiceDeps {
  store: Store;
  tester: IntegrationTester;
}

const batching = z
  .object({
    batchSize: batchSizeRule.optional(),
    flushIntervalSeconds: flushIntervalRule.optional(),
    retryCount: retryCountRule.optional(),
    timeoutSeconds: timeoutSecondsRule.optional(),
  })
  .strict();

/** Rules of the fields around the config; the config itself is checked by the store (`parseDestinationConfig`). */
const createRules = z.object({
  name: integrationNameRule,
  config: z.record(z.unknown()),
  enabled: z.boolean().optional(),
  customerId: customerIdRule.nullable().optional(),
  batching: batching.optional(),
});
const updateRules = z.object({
  name: integrationNameRule.optional(),
  config: z.record(z.unknown()).optional(),
  enabled: z.boolean().optional(),
  customerId: customerIdRule.nullable().optional(),
  batching: batching.optional(),
});

function check(rules: z.ZodTypeAny, input: unknown): void {
  const result = rules.safeParse(input);
  if (!result.success) {
    throw new InvalidInputError(
      result.error.issues.map((issue) => ({
        path: issue.path.join('.'),
        message: issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message,
      })),
    );
  }
}

const stripUndefined = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;

/**
 * The one place where SIEM integrations are managed for an authenticated caller. GraphQL resolvers,
 * the REST API (`/v1/settings/siem`) and, through them, the CLI are thin front ends over it, so
 * tenancy, roles, validation, secret sealing, the audit trail and live status (the store notifies the
 * delivery engine after each commit) are the same whichever way a change arrives.
 *
 * Errors: `RecordNotFoundError` (no such id in the caller's organisation), `InvalidInputError` (paths
 * relative to the input, e.g. `name`, `batching.batchSize`, `config.splunk.endpoint`), a FORBIDDEN
 * GraphQLError for a role that may not do this, `StoreUnavailableError`.
 *
 * @example
 * ```ts
 * const service = new IntegrationService({ store, tester });
 * const created = await service.create(principal, { name: 'Splunk', type: 'SPLUNK', config: { endpoint, token } });
 * const result = await service.test(principal, created.id); // { success: true, message: 'Test event sent successfully', ... }
 * ```
 */
export class IntegrationService {
  constructor(private readonly deps: IntegrationServiceDeps) {}

  /** The caller's organisation's integrations, oldest first. Admin and viewer keys. */
  list(principal: Principal, filter: IntegrationFilter = {}): Promise<SiemIntegrationRecord[]> {
    return this.#reader(principal).listIntegrations(filter);
  }

  /** One integration. Admin and viewer keys. @throws RecordNotFoundError */
  get(principal: Principal, id: string): Promise<SiemIntegrationRecord> {
    return this.#reader(principal).getIntegration(id);
  }

  /** Creates an integration (`siem.integration.created`). Admin keys. */
  async create(principal: Principal, input: CreateIntegrationInput): Promise<SiemIntegrationRecord> {
    const tenant = this.#admin(principal);
    check(createRules, { name: input.name, config: input.config, enabled: input.enabled, customerId: input.customerId, batching: input.batching });
    return tenant.createIntegration(
      {
        ...input,
        customerId: input.customerId ?? null,
        batching: input.batching ? (stripUndefined(input.batching) as Partial<Batching>) : undefined,
        filter: input.filter ? cleanFilter(input.filter) : null,
      },
      actorOf(principal),
    );
  }

  /**
   * Partial update (`siem.integration.updated`): only given fields change; omitted config fields, secrets
   * included, keep their values; the type cannot change. Admin keys.
   */
  async update(principal: Principal, id: string, patch: UpdateIntegrationInput): Promise<SiemIntegrationRecord> {
    const tenant = this.#admin(principal);
    check(updateRules, { name: patch.name, config: patch.config, enabled: patch.enabled, customerId: patch.customerId, batching: patch.batching });
    return tenant.updateIntegration(
      id,
      {
        ...patch,
        batching: patch.batching ? (stripUndefined(patch.batching) as Partial<Batching>) : undefined,
        ...(patch.filter !== undefined ? { filter: patch.filter === null ? null : cleanFilter(patch.filter) } : {}),
      },
      actorOf(principal),
    );
  }

  /** Deletes an integration (`siem.integration.deleted`); returns its id. Admin keys. */
  delete(principal: Principal, id: string): Promise<string> {
    return this.#admin(principal).deleteIntegration(id, actorOf(principal));
  }

  /** Sends one real, clearly marked test event and records the outcome in error tracking. Admin keys. */
  test(principal: Principal, id: string): Promise<ConnectionTestResult> {
    return this.deps.tester.test(this.#admin(principal), id);
  }

  #reader(principal: Principal): TenantStore {
    if (principal.role !== Role.ADMIN && principal.role !== Role.VIEWER) throw forbidden(`Role ${principal.role} may not read SIEM integrations; use an admin or viewer key`);
    return this.deps.store.tenant(principal.organization.id);
  }

  #admin(principal: Principal): TenantStore {
    if (principal.role !== Role.ADMIN) throw forbidden(`Role ${principal.role} may not change SIEM integrations; use an admin key`);
    return this.deps.store.tenant(principal.organization.id);
  }
}

/** Who the audit log names for a principal's changes. */
export function actorOf(principal: Principal): Actor {
  return { keyId: principal.keyId, name: principal.keyName };
}

/** Drops empty filter parts; an empty filter is no filter. */
function cleanFilter(filter: { minSeverity?: string | null; eventTypes?: string[] | null }): RoutingFilter | null {
  const out: RoutingFilter = {};
  if (filter.minSeverity) out.minSeverity = filter.minSeverity as RoutingFilter['minSeverity'];
  if (filter.eventTypes?.length) out.eventTypes = filter.eventTypes;
  return Object.keys(out).length ? out : null;
}

const services = new WeakMap<object, IntegrationService>();

/**
 * The service over a gateway's services object (one instance per gateway).
 *
 * @example
 * ```ts
 * integrationService(ctx.services).list(ctx.principal);
 * ```
 */
export function integrationService(deps: IntegrationServiceDeps): IntegrationService {
  let service = services.get(deps);
  if (!service) services.set(deps, (service = new IntegrationService(deps)));
  return service;
}
