import { describe, expect, it } from 'vitest';
import { DestinationConfigError, joinSecrets, mergeConfig, parseDestinationConfig, splitSecrets } from '../../src/destinations/destination-config.js';

describe('destination configs', () => {
  it('fills in the documented defaults', () => {
    expect(parseDestinationConfig('SPLUNK', { endpoint: 'https://s:8088/services/collector/event', token: 't' })).toMatchObject({ sourcetype: '_json' });
    expect(parseDestinationConfig('SYSLOG', { host: 'siem.example.com' })).toMatchObject({ port: 514, protocol: 'TCP', facility: 'local0', format: 'RFC5424' });
    expect(parseDestinationConfig('SYSLOG', { host: 'siem.example.com', protocol: 'TLS' })).toMatchObject({ port: 6514 });
    expect(parseDestinationConfig('CEF', { transport: 'UDP', host: 'h' })).toMatchObject({ port: 514, deviceVendor: 'RAXE', deviceProduct: 'ThreatDetection' });
    expect(parseDestinationConfig('SENTINEL', { workspaceId: '00000000-0000-0000-0000-000000000001', sharedKey: Buffer.alloc(32, 1).toString('base64') })).toMatchObject({
      api: 'DATA_COLLECTOR',
      logType: 'ARXSecAudit',
    });
  });

  it('tells the two Sentinel APIs apart and names the missing fields', () => {
    expect(() => parseDestinationConfig('SENTINEL', { dceEndpoint: 'https://dce.example.com' })).toThrow(/dcrImmutableId.*Logs Ingestion/);
    try {
      parseDestinationConfig('SENTINEL', { workspaceId: '00000000-0000-0000-0000-000000000001' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DestinationConfigError);
      expect((error as DestinationConfigError).issues).toEqual([expect.objectContaining({ path: 'sharedKey', message: expect.stringContaining('Data Collector') })]);
    }
  });

  it('splits secrets out and joins them back unchanged', () => {
    const config = parseDestinationConfig('WEBHOOK', {
      endpoint: 'https://hooks.example.com/x',
      secret: 'hmac-secret',
      headers: [{ name: 'X-Api-Key', value: 'header-secret' }],
    });
    const { publicConfig, secrets } = splitSecrets(config);
    expect(JSON.stringify(publicConfig)).not.toMatch(/hmac-secret|header-secret/);
    expect(publicConfig.headerNames).toEqual(['X-Api-Key']);
    expect(Object.keys(secrets).sort()).toEqual(['headers', 'secret']);
    expect(joinSecrets(publicConfig, secrets)).toEqual(config);
  });

  it('merges a partial update: given fields change, omitted ones (secrets too) stay', () => {
    const stored = parseDestinationConfig('SPLUNK', { endpoint: 'https://a:8088/services/collector/event', token: 'old-token', index: 'main' });
    const merged = parseDestinationConfig('SPLUNK', mergeConfig(stored, { index: 'security' }));
    expect(merged).toMatchObject({ endpoint: 'https://a:8088/services/collector/event', token: 'old-token', index: 'security', sourcetype: '_json' });
  });

  it('drops the old transport\'s fields when a CEF integration changes transport', () => {
    const stored = parseDestinationConfig('CEF', { transport: 'HTTP', endpoint: 'https://c.example.com/cef', token: 't' });
    const merged = parseDestinationConfig('CEF', mergeConfig(stored, { transport: 'TLS', host: 'syslog.example.com' }));
    expect(merged).toMatchObject({ transport: 'TLS', host: 'syslog.example.com', port: 6514 });
    expect(merged).not.toHaveProperty('endpoint');
    expect(merged).not.toHaveProperty('token');
  });

  it('refuses unknown fields and fields of the other transport', () => {
    expect(() => parseDestinationConfig('SPLUNK', { endpoint: 'https://a', token: 't', bogus: 1 })).toThrow(/unknown field/);
    expect(() => parseDestinationConfig('CEF', { transport: 'UDP', host: 'h', token: 't' })).toThrow(/token: applies only to transport HTTP/);
  });
});
