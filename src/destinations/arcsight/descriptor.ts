import { CEF_DEFAULT_PRODUCT, CEF_DEFAULT_VENDOR } from '../shared/cef-format.js';
import { identifierRule, secretRule, textRule, urlRule } from '../shared/config-rules.js';
import { defineDestination, HTTP_FIELDS, type Fields, type FieldsConfig } from '../shared/descriptor.js';

const FIELDS = {
  endpoint: { type: 'String', required: true, rule: urlRule },
  token: { type: 'String', required: true, secret: true, rule: secretRule, description: 'Connector token. Write-only.' },
  smartConnectorId: { type: 'String', rule: identifierRule },
  deviceVendor: { type: 'String', default: CEF_DEFAULT_VENDOR, rule: textRule(63) },
  deviceProduct: { type: 'String', default: CEF_DEFAULT_PRODUCT, rule: textRule(63) },
  ...HTTP_FIELDS,
} as const satisfies Fields;

/** CEF records over HTTP to an ArcSight SmartConnector receiver. */
export type ArcSightConfig = FieldsConfig<'ARCSIGHT', typeof FIELDS>;

export const arcsight = defineDestination<'ARCSIGHT', typeof FIELDS, ArcSightConfig>({
  type: 'ARCSIGHT',
  typeName: 'ArcSight',
  description: 'CEF over HTTP to an ArcSight SmartConnector.',
  configDescription: 'ArcSight SmartConnector (CEF over HTTP).',
  fields: FIELDS,
});
