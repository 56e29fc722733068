import { secretRule, urlRule } from '../shared/config-rules.js';
import { defineDestination, HTTP_FIELDS, type Fields, type FieldsConfig } from '../shared/descriptor.js';

const FIELDS = {
  endpoint: { type: 'String', required: true, rule: urlRule },
  secret: {
    type: 'String', secret: true, rule: secretRule, description: 'HMAC-SHA256 signing secret. Write-only.',
    outputDescription: 'Whether an HMAC signing secret is set.',
  },
  signatureScheme: {
    type: {
      enum: 'WebhookSignatureScheme', values: ['ARX', 'STANDARD_WEBHOOKS'],
      descriptions: {
        ARX: '`X-ARX-Signature: sha256=<hex HMAC-SHA256 of the body>`.',
        STANDARD_WEBHOOKS: 'Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`; adds replay protection.',
      },
    },
    default: 'ARX',
  },
  headers: {
    type: 'Headers', secret: true, description: 'Extra request headers. Write-only; replaced as a whole on update.',
    outputDescription: 'Names of the extra headers sent. Their values may hold credentials and are never returned.',
  },
  ...HTTP_FIELDS,
} as const satisfies Fields;

/** Any HTTP endpoint, HMAC-signed (`ARX`: `X-ARX-Signature: sha256=<hex>`; `STANDARD_WEBHOOKS`: `webhook-signature: v1,<base64>`). */
export type WebhookConfig = FieldsConfig<'WEBHOOK', typeof FIELDS>;

export const webhook = defineDestination<'WEBHOOK', typeof FIELDS, WebhookConfig>({
  type: 'WEBHOOK',
  typeName: 'Webhook',
  description: 'Any HTTP endpoint, with HMAC signatures.',
  configDescription: 'Generic webhook.',
  fields: FIELDS,
  refine: (v, ctx) => {
    const seen = new Set<string>();
    v.headers.forEach((h, i) => {
      const key = h.name.toLowerCase();
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['headers', i, 'name'], message: `duplicates header ${h.name}` });
      seen.add(key);
    });
  },
});
