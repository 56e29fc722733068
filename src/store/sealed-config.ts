import type { SecretBox } from '../crypto/secret-box.js';
import { joinSecrets, splitSecrets } from '../destinations/destination-config.js';
import type { DestinationConfig } from '../destinations/types.js';

/** A destination config as stored: public JSON (with the names of the secrets it has) and the sealed secrets. */
export interface SealedConfig {
  /** JSON of the non-secret fields plus `secretFields`, the dotted paths of the secrets that are set. */
  config: string;
  /** The secret fields, JSON sealed with AES-256-GCM under the integration id. */
  secrets: string;
}

/**
 * Splits a config into its stored columns. The one place secrets are sealed.
 *
 * @example
 * ```ts
 * const { config, secrets } = sealDestinationConfig(parsed, integrationId, box);
 * ```
 */
export function sealDestinationConfig(config: DestinationConfig, integrationId: string, box: SecretBox): SealedConfig {
  const { publicConfig, secrets } = splitSecrets(config);
  return {
    config: JSON.stringify({ ...publicConfig, secretFields: Object.keys(secrets) }),
    secrets: box.seal(JSON.stringify(secrets), integrationId),
  };
}

/**
 * The inverse of {@link sealDestinationConfig}: the complete, decrypted config. The one place secrets are opened.
 *
 * @example
 * ```ts
 * const config = openDestinationConfig(row, box);
 * ```
 */
export function openDestinationConfig(row: SealedConfig & { id: string }, box: SecretBox): DestinationConfig {
  const { secretFields: _listed, ...publicConfig } = JSON.parse(row.config) as Record<string, unknown>;
  return joinSecrets(publicConfig, JSON.parse(box.open(row.secrets, row.id)) as Record<string, unknown>);
}
