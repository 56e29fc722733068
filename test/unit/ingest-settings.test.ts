import { describe, expect, it } from 'vitest';
import { SettingsError, loadSettings } from '../../src/settings.js';

describe('ingest fairness settings', () => {
  it('default to 4 reads and 20 MiB per organisation and a 10 s body timeout per MiB', () => {
    const s = loadSettings({});
    expect(s).toMatchObject({ ingestReadsPerOrganization: 4, ingestBufferBytesPerOrganization: 20 * 1024 * 1024, ingestBodyTimeoutMs: 10_000, ingestConcurrency: 2 });
  });

  it('keep the per-organisation buffer at least as large as the largest body', () => {
    expect(loadSettings({ SIEMGATE_MAX_INGEST_BYTES: String(64 * 1024 * 1024) }).ingestBufferBytesPerOrganization).toBe(64 * 1024 * 1024);
    expect(() => loadSettings({ SIEMGATE_MAX_INGEST_BYTES: '1048576', SIEMGATE_INGEST_BUFFER_BYTES_PER_ORG: '4096' })).toThrow(
      /^SIEMGATE_INGEST_BUFFER_BYTES_PER_ORG: must be at least SIEMGATE_MAX_INGEST_BYTES/,
    );
  });

  it.each([
    ['SIEMGATE_INGEST_BODY_TIMEOUT_MS', '0'],
    ['SIEMGATE_INGEST_BODY_TIMEOUT_MS', 'soon'],
    ['SIEMGATE_INGEST_READS_PER_ORG', '0'],
  ])('refuses %s=%s naming the setting', (name, value) => {
    expect(() => loadSettings({ [name]: value })).toThrow(SettingsError);
    expect(() => loadSettings({ [name]: value })).toThrow(new RegExp(`^${name}: `));
  });
});
