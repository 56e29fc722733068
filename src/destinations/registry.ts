import { arcsight } from './arcsight/descriptor.js';
import { cef } from './cef/descriptor.js';
import { crowdstrike } from './crowdstrike/descriptor.js';
import { sentinel } from './sentinel/descriptor.js';
import type { DestinationDescriptor } from './shared/descriptor.js';
import { splunk } from './splunk/descriptor.js';
import { syslog } from './syslog/descriptor.js';
import { webhook } from './webhook/descriptor.js';

/**
 * Every destination siemgate delivers to, one descriptor each (`src/destinations/<name>/descriptor.ts`), in
 * the order clients see them. Adding a destination: a new folder with `descriptor.ts` and `adapter.ts`, one
 * line here, one in `create-siem-adapter.ts` (the compiler asks for it), then `npm run schema`.
 */
export const DESTINATIONS = [splunk, sentinel, syslog, webhook, crowdstrike, arcsight, cef] as const;

type AnyDestination = (typeof DESTINATIONS)[number];

/** The kinds of SIEM destination, e.g. `SPLUNK`. Stored and exposed by these names. */
export type SiemIntegrationType = AnyDestination['type'];

/** The config type of one destination descriptor. */
export type ConfigOf<D> = D extends DestinationDescriptor<string, infer C> ? C : never;

/** The full, decrypted configuration of one destination. */
export type DestinationConfig = ConfigOf<AnyDestination>;

const BY_TYPE = new Map<string, DestinationDescriptor<string, DestinationConfig>>(
  DESTINATIONS.map((d) => [d.type, d as unknown as DestinationDescriptor<string, DestinationConfig>]),
);

/**
 * The descriptor of a destination type.
 *
 * @example
 * ```ts
 * descriptorOf('SPLUNK').secretFields; // ['token', 'tls.clientKey']
 * ```
 */
export function descriptorOf(type: SiemIntegrationType): DestinationDescriptor<string, DestinationConfig> {
  return BY_TYPE.get(type)!;
}

/**
 * Config fields that are secrets, per type, as dotted paths, from the descriptors' `secret` markers. They are
 * sealed at rest, never returned by the API (only `hasX` flags), redacted from the audit log and the logs.
 */
export const SECRET_FIELDS = Object.fromEntries(DESTINATIONS.map((d) => [d.type, d.secretFields])) as Readonly<
  Record<SiemIntegrationType, readonly string[]>
>;

/** The last segment of every secret path of every destination (`token`, `clientKey`, `headers`, …): what redaction looks for by name. */
export const SECRET_FIELD_NAMES: readonly string[] = [...new Set(Object.values(SECRET_FIELDS).flat().map((path) => path.split('.').at(-1)!))];
