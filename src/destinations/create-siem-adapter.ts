import { createArcSightAdapter } from './arcsight/adapter.js';
import { createCefAdapter } from './cef/adapter.js';
import { createCrowdStrikeAdapter } from './crowdstrike/adapter.js';
import { createSentinelAdapter } from './sentinel/adapter.js';
import { createSplunkAdapter } from './splunk/adapter.js';
import { createSyslogAdapter } from './syslog/adapter.js';
import type { AdapterOptions, DestinationConfig, SiemAdapter } from './types.js';
import { createWebhookAdapter } from './webhook/adapter.js';

/**
 * Creates the adapter for a destination config: one module per destination, all behind {@link SiemAdapter}.
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
  switch (config.type) {
    case 'SPLUNK':
      return createSplunkAdapter(config, options) as SiemAdapter;
    case 'SENTINEL':
      return createSentinelAdapter(config, options) as SiemAdapter;
    case 'SYSLOG':
      return createSyslogAdapter(config, options) as SiemAdapter;
    case 'WEBHOOK':
      return createWebhookAdapter(config, options) as SiemAdapter;
    case 'CROWDSTRIKE':
      return createCrowdStrikeAdapter(config, options) as SiemAdapter;
    case 'ARCSIGHT':
      return createArcSightAdapter(config, options) as SiemAdapter;
    case 'CEF':
      return createCefAdapter(config, options) as SiemAdapter;
  }
}
