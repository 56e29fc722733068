import { DESTINATIONS, type SiemIntegrationType } from '../destinations/registry.js';
import { TLS_FIELDS, type FieldSpec } from '../destinations/shared/descriptor.js';

/**
 * Every destination's input fields (camelCase, as stored), derived from the destination descriptors
 * (`src/destinations/<name>/descriptor.ts`). Every front end builds on it: the GraphQL create and update
 * inputs (`src/schema/integration-inputs.ts`), the REST API's snake_case bodies (`src/http/settings-api.ts`)
 * and its OpenAPI document (`src/http/openapi.ts`). Fields set by validation alone (Sentinel `api`) are left out.
 */
export type { FieldSpec };
export { TLS_FIELDS };

/** Lower-case member names, as GraphQL's `SiemConfigInput` and REST's `integration_type` spell them. */
export type DestinationMember = Lowercase<SiemIntegrationType>;

/** `SPLUNK` → `splunk`. */
export const memberOf = (type: SiemIntegrationType): DestinationMember => type.toLowerCase() as DestinationMember;

export const DESTINATION_FIELDS = Object.fromEntries(
  DESTINATIONS.map((d) => [
    d.member,
    { typeName: d.typeName, fields: Object.fromEntries(Object.entries(d.fields).filter(([, f]) => !(f as FieldSpec).derived)) as Record<string, FieldSpec> },
  ]),
) as Record<DestinationMember, { typeName: string; fields: Record<string, FieldSpec> }>;
