import { identifierRule, secretRule, urlRule } from '../shared/config-rules.js';
import { defineDestination, HTTP_FIELDS, type Fields, type FieldsConfig } from '../shared/descriptor.js';

const FIELDS = {
  endpoint: { type: 'String', required: true, rule: urlRule, description: 'Full HEC URL, e.g. https://splunk.example.com:8088/services/collector/event.' },
  token: {
    type: 'String', required: true, secret: true, rule: secretRule, description: 'HEC token. Write-only.',
    outputDescription: 'Whether a HEC token is set. The token is never returned.',
  },
  index: { type: 'String', rule: identifierRule, description: 'Target index; unset means the token\'s default index.' },
  source: { type: 'String', rule: identifierRule },
  sourcetype: { type: 'String', default: '_json', rule: identifierRule },
  host: { type: 'String', rule: identifierRule, description: 'HEC host field; unset means the gateway\'s host name.' },
  indexerAck: {
    type: 'Boolean', default: false, defaultWhenUnset: true,
    description: 'Count a batch as delivered only once Splunk acknowledges it (HEC indexer acknowledgement).',
    outputDescription: 'Batches count as delivered only once Splunk acknowledges indexing.',
  },
  ...HTTP_FIELDS,
} as const satisfies Fields;

/** Splunk HTTP Event Collector: `Authorization: Splunk <token>`, HEC envelopes, optional indexer acknowledgement. */
export type SplunkConfig = FieldsConfig<'SPLUNK', typeof FIELDS>;

export const splunk = defineDestination<'SPLUNK', typeof FIELDS, SplunkConfig>({
  type: 'SPLUNK',
  typeName: 'Splunk',
  description: 'Splunk HTTP Event Collector (HEC).',
  configDescription: 'Splunk HEC.',
  fields: FIELDS,
});
