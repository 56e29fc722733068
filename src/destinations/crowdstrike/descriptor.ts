import { identifierRule, secretRule, urlRule } from '../shared/config-rules.js';
import { defineDestination, HTTP_FIELDS, type Fields, type FieldsConfig } from '../shared/descriptor.js';

const FIELDS = {
  endpoint: { type: 'String', required: true, rule: urlRule, description: 'e.g. https://cloud.community.humio.com/api/v1/ingest/hec.' },
  token: { type: 'String', required: true, secret: true, rule: secretRule, description: 'LogScale ingest token. Write-only.' },
  repository: { type: 'String', rule: identifierRule },
  parser: { type: 'String', rule: identifierRule },
  ...HTTP_FIELDS,
} as const satisfies Fields;

/** CrowdStrike Falcon LogScale (Humio) HEC-compatible ingest: `Authorization: Bearer <token>`. */
export type CrowdStrikeConfig = FieldsConfig<'CROWDSTRIKE', typeof FIELDS>;

export const crowdstrike = defineDestination<'CROWDSTRIKE', typeof FIELDS, CrowdStrikeConfig>({
  type: 'CROWDSTRIKE',
  typeName: 'CrowdStrike',
  description: 'CrowdStrike Falcon LogScale HEC-compatible ingest.',
  configDescription: 'CrowdStrike Falcon LogScale.',
  fields: FIELDS,
});
