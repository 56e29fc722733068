import { createSiemAdapter } from '../destinations/create-siem-adapter.js';
import { secretValues } from '../destinations/destination-config.js';
import { createSecretScrubber, scrubAndShorten } from '../secrets/scrub-secrets.js';
import { MAX_LAST_ERROR_LENGTH } from '../store/error-tracking.js';
import type { AdapterOptions, ConnectionTestResult, DestinationConfig, SiemAdapter } from '../destinations/types.js';
import type { EgressPolicy } from '../net/egress-policy.js';
import type { TenantStore } from '../store/tenant-store.js';

/** Options of {@link IntegrationTester}. */
export interface IntegrationTesterOptions {
  egress: EgressPolicy;
  /** Builds adapters. @default createSiemAdapter */
  createAdapter?: (config: DestinationConfig, options: AdapterOptions) => SiemAdapter;
}

/**
 * Runs an integration's connection test (one real, clearly marked test event) and records the outcome
 * in its error tracking: success resets `errorCount` and clears `lastError`; failure increments
 * `errorCount` and sets `lastError`/`lastErrorAt`.
 *
 * @example
 * ```ts
 * const tester = new IntegrationTester({ egress });
 * const result = await tester.test(store.tenant(orgId), integrationId);
 * result.message; // "Test event sent successfully"
 * ```
 */
export class IntegrationTester {
  readonly #egress: EgressPolicy;
  readonly #createAdapter: NonNullable<IntegrationTesterOptions['createAdapter']>;

  constructor(options: IntegrationTesterOptions) {
    this.#egress = options.egress;
    this.#createAdapter = options.createAdapter ?? createSiemAdapter;
  }

  /** @throws RecordNotFoundError when the integration is not in this tenant. */
  async test(tenant: TenantStore, integrationId: string): Promise<ConnectionTestResult> {
    const integration = await tenant.getIntegration(integrationId);
    const config = await tenant.getDestinationConfig(integrationId);
    const adapter = this.#createAdapter(config, {
      egress: this.#egress,
      defaultTimeoutMs: integration.batching.timeoutSeconds * 1000,
    });
    let result: ConnectionTestResult;
    try {
      result = await adapter.test();
    } finally {
      await adapter.close();
    }
    // Second line of defence: adapters scrub their own credentials, this scrubs every secret of the config
    // (whole or in part, in any encoding), then bounds the texts.
    const scrubber = createSecretScrubber(secretValues(config));
    result = {
      ...result,
      message: scrubAndShorten(result.message, scrubber, MAX_LAST_ERROR_LENGTH),
      steps: result.steps.map((step) => ({ ...step, detail: scrubAndShorten(step.detail, scrubber, MAX_LAST_ERROR_LENGTH) })),
    };
    await tenant.recordDeliveryOutcome(
      integrationId,
      result.success ? { success: true, eventsDelivered: false } : { success: false, error: result.message },
    );
    return result;
  }
}
