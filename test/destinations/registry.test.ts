import pino from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createSiemAdapter } from '../../src/destinations/create-siem-adapter.js';
import { parseDestinationConfig, secretValues, SECRET_FIELDS } from '../../src/destinations/destination-config.js';
import { DESTINATIONS, SECRET_FIELD_NAMES, type SiemIntegrationType } from '../../src/destinations/registry.js';
import { SiemIntegrationType as TYPES } from '../../src/destinations/types.js';
import { createLogger } from '../../src/logger.js';
import { EgressPolicy } from '../../src/net/egress-policy.js';
import { redactSecrets } from '../../src/store/redact.js';

/**
 * The registry of destination descriptors is the one source of every destination's config: these tests pin
 * what the rest of siemgate derives from it, and tell whoever adds a destination what it must provide.
 */

/** The smallest valid config of each destination, with every secret it can hold set (to `secret-<field>`). */
const MINIMAL: Record<SiemIntegrationType, Record<string, unknown>> = {
  SPLUNK: { endpoint: 'https://splunk.example.com:8088/services/collector/event', token: 'secret-token' },
  SENTINEL: { workspaceId: '00000000-0000-0000-0000-000000000001', sharedKey: Buffer.from('secret-sharedKey-0123456789').toString('base64') },
  SYSLOG: { host: 'siem.example.com' },
  WEBHOOK: { endpoint: 'https://hooks.example.com/x', secret: 'secret-secret', headers: [{ name: 'X-Api-Key', value: 'secret-header' }] },
  CROWDSTRIKE: { endpoint: 'https://cloud.community.humio.com/api/v1/ingest/hec', token: 'secret-token' },
  ARCSIGHT: { endpoint: 'https://arcsight.example.com/receiver', token: 'secret-token' },
  CEF: { endpoint: 'https://cef.example.com/in', token: 'secret-token' },
};

describe('destination registry', () => {
  it('lists every destination once, by its stored name', () => {
    const types = DESTINATIONS.map((d) => d.type);
    expect(types).toEqual(['SPLUNK', 'SENTINEL', 'SYSLOG', 'WEBHOOK', 'CROWDSTRIKE', 'ARCSIGHT', 'CEF']);
    expect(Object.values(TYPES)).toEqual(types);
    expect(new Set(DESTINATIONS.map((d) => d.typeName)).size).toBe(types.length);
    for (const d of DESTINATIONS) expect(d.member).toBe(d.type.toLowerCase());
  });

  it('derives the secret fields from the descriptors\' secret markers', () => {
    expect(SECRET_FIELDS).toEqual({
      SPLUNK: ['token', 'tls.clientKey'],
      SENTINEL: ['sharedKey', 'clientSecret', 'tls.clientKey'],
      SYSLOG: ['tls.clientKey'],
      WEBHOOK: ['secret', 'headers', 'tls.clientKey'],
      CROWDSTRIKE: ['token', 'tls.clientKey'],
      ARCSIGHT: ['token', 'tls.clientKey'],
      CEF: ['token', 'tls.clientKey'],
    });
    expect([...SECRET_FIELD_NAMES].sort()).toEqual(['clientKey', 'clientSecret', 'headers', 'secret', 'sharedKey', 'token']);
  });

  it.each(DESTINATIONS.map((d) => [d.type, d] as const))('%s: a minimal config validates, fills its defaults and builds its adapter', async (type, descriptor) => {
    const config = parseDestinationConfig(type, MINIMAL[type]);
    expect(config.type).toBe(type);
    for (const [field, spec] of Object.entries(descriptor.fields)) {
      if (spec.default !== undefined && !spec.defaultWhenUnset && spec.type !== 'Tls') expect((config as Record<string, unknown>)[field], field).toEqual(spec.default);
      if (spec.alwaysSet) expect((config as Record<string, unknown>)[field], field).toBeDefined();
    }
    const adapter = createSiemAdapter(config, { egress: new EgressPolicy({ allow: ['127.0.0.1/32'] }) });
    try {
      expect(adapter.type).toBe(type);
    } finally {
      await adapter.close();
    }
  });

  const withSecrets = DESTINATIONS.map((d) => d.type).filter((t) => t !== 'SYSLOG'); // SYSLOG's one secret is a TLS client key
  it.each(withSecrets.map((t) => [t] as const))('%s: every secret is redacted from audit entries and logs', (type) => {
    const config = parseDestinationConfig(type, MINIMAL[type]);
    const values = secretValues(config);
    expect(values.length).toBeGreaterThan(0);
    const json = JSON.stringify(redactSecrets(config));
    for (const v of values) expect(json).not.toContain(v);

    const lines: string[] = [];
    const log = createLogger({ level: 'info', destination: new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }) as pino.DestinationStream });
    log.info({ config }, 'config');
    for (const v of values) expect(lines.join('')).not.toContain(v);
  });
});
