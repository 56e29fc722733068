import { createArcSightAdapter } from './arcsight/adapter.js';
import { createCefAdapter } from './cef/adapter.js';
import { createCrowdStrikeAdapter } from './crowdstrike/adapter.js';
import { createSentinelAdapter } from './sentinel/adapter.js';
import { createSplunkAdapter } from './splunk/adapter.js';
import { createSyslogAdapter } from './syslog/adapter.js';
import type { ConfigOf, DESTINATIONS, SiemIntegrationType } from './registry.js';
import type { AdapterOptions, DestinationConfig, SiemAdapter } from './types.js';
import { createWebhookAdapter } from './webhook/adapter.js';

/** Builds the adapter of one destination from its validated config. */
export type AdapterFactory<C> = (config: C, options: AdapterOptions) => SiemAdapter<any>;

/**
 * The adapter of every destination in the registry, by type. Kept apart from the descriptors so that the
 * store, which uses descriptors, never reaches an adapter; the mapped type makes a destination without an
 * adapter a compile error.
 */
const ADAPTERS: { readonly [T in SiemIntegrationType]: AdapterFactory<ConfigOf<Extract<(typeof DESTINATIONS)[number], { type: T }>>> } = {
  SPLUNK: createSplunkAdapter,
  SENTINEL: createSentinelAdapter,
  SYSLOG: createSyslogAdapter,
  WEBHOOK: createWebhookAdapter,
  CROWDSTRIKE: createCrowdStrikeAdapter,
  ARCSIGHT: createArcSightAdapter,
  CEF: createCefAdapter,
};

/**
 * Creates the adapter for a destination config: one folder per destination, all behind {@link SiemAdapter}.
 * Usable as a library on its own, without the gateway.
 *
 * @example
 * ```ts
 * const adapter = createSiemAdapter(
 *   { type: 'SPLUNK', endpoint: 'https://splunk:8088/services/collector/event', token, sourcetype: '_json' },
 *   { egress: new EgressPolicy() },
 * );
 * const result = await adapter.send([adapter.transform(event)]);
 * await adapter.close();
 * ```
 */
export function createSiemAdapter(config: DestinationConfig, options: AdapterOptions): SiemAdapter {
  return (ADAPTERS[config.type] as AdapterFactory<DestinationConfig>)(config, options);
}
