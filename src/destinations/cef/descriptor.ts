import { CEF_DEFAULT_PRODUCT, CEF_DEFAULT_VENDOR } from '../shared/cef-format.js';
import { facilityRule, hostRule, portRule, secretRule, textRule, urlRule } from '../shared/config-rules.js';
import { defineDestination, HTTP_FIELDS, type Fields, type FieldsConfig } from '../shared/descriptor.js';

const FIELDS = {
  transport: { type: { enum: 'CefTransport', values: ['HTTP', 'UDP', 'TCP', 'TLS'] }, default: 'HTTP' },
  endpoint: { type: 'String', rule: urlRule, description: 'For transport HTTP.' },
  token: { type: 'String', secret: true, rule: secretRule, description: 'Bearer token for transport HTTP. Write-only.' },
  host: { type: 'String', rule: hostRule, description: 'For transports UDP, TCP and TLS.' },
  port: { type: 'Int', rule: portRule, description: 'Unset means 514 for UDP, 6514 for TCP and TLS.' },
  facility: { type: 'String', default: 'local0', rule: facilityRule },
  deviceVendor: { type: 'String', default: CEF_DEFAULT_VENDOR, rule: textRule(63) },
  deviceProduct: { type: 'String', default: CEF_DEFAULT_PRODUCT, rule: textRule(63) },
  ...HTTP_FIELDS,
} as const satisfies Fields;

/** Generic CEF: over HTTP with a Bearer token, or over syslog UDP/TCP/TLS. */
export type CefConfig = FieldsConfig<'CEF', typeof FIELDS>;

export const cef = defineDestination<'CEF', typeof FIELDS, CefConfig>({
  type: 'CEF',
  typeName: 'Cef',
  description: 'Generic CEF over HTTP or syslog.',
  configDescription: 'Generic CEF over HTTP or syslog.',
  fields: FIELDS,
  refine: (v, ctx) => {
    if (v.transport === 'HTTP') {
      if (!v.endpoint) ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'is required for transport HTTP' });
      if (v.host !== undefined) ctx.addIssue({ code: 'custom', path: ['host'], message: 'applies only to transports UDP, TCP and TLS; use endpoint for HTTP' });
      if (v.port !== undefined) ctx.addIssue({ code: 'custom', path: ['port'], message: 'applies only to transports UDP, TCP and TLS; put the port in the endpoint URL' });
    } else {
      if (!v.host) ctx.addIssue({ code: 'custom', path: ['host'], message: `is required for transport ${v.transport}` });
      if (v.endpoint !== undefined) ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'applies only to transport HTTP' });
      if (v.token !== undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: 'applies only to transport HTTP (syslog has no token)' });
      if (v.tls && v.transport !== 'TLS') ctx.addIssue({ code: 'custom', path: ['tls'], message: 'applies only to transports HTTP and TLS' });
    }
  },
  finish: (v) => ({ ...v, type: 'CEF', ...(v.transport === 'HTTP' ? {} : { port: v.port ?? (v.transport === 'UDP' ? 514 : 6514) }) }),
  // A transport change drops the fields of the old transport unless given again.
  merge: (stored, patch, merged) => {
    if (patch.transport === undefined || patch.transport === stored.transport) return;
    const dropped = patch.transport === 'HTTP' ? ['host', 'port'] : ['endpoint', 'token', 'port'];
    for (const f of dropped) if (patch[f] === undefined) delete merged[f];
  },
});
