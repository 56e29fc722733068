import { facilityRule, hostRule, portRule } from '../shared/config-rules.js';
import { defineDestination, HTTP_FIELDS, type Fields, type FieldsConfig } from '../shared/descriptor.js';

const FIELDS = {
  host: { type: 'String', required: true, rule: hostRule },
  port: { type: 'Int', rule: portRule, alwaysSet: true, description: '1..65535; unset means 514 (6514 for TLS).' },
  protocol: { type: { enum: 'SyslogProtocol', values: ['UDP', 'TCP', 'TLS'] }, default: 'TCP' },
  facility: { type: 'String', default: 'local0', rule: facilityRule, description: 'Facility name (kern … local7) or code 0..23.' },
  format: { type: { enum: 'SyslogFormat', values: ['RFC5424', 'RFC3164'] }, default: 'RFC5424' },
  tls: { type: 'Tls', description: 'Only with protocol TLS.' },
  timeoutSeconds: { ...HTTP_FIELDS.timeoutSeconds, outputDescription: undefined },
} as const satisfies Fields;

/** CEF over syslog (the product documentation's "Syslog (CEF)"). */
export type SyslogConfig = FieldsConfig<'SYSLOG', typeof FIELDS>;

/** The syslog port when none is given: 6514 for TLS, 514 otherwise. */
const defaultPort = (protocol: SyslogConfig['protocol']) => (protocol === 'TLS' ? 6514 : 514);

export const syslog = defineDestination<'SYSLOG', typeof FIELDS, SyslogConfig>({
  type: 'SYSLOG',
  typeName: 'Syslog',
  description: 'CEF over syslog (UDP, TCP or TLS).',
  configDescription: 'CEF over syslog.',
  fields: FIELDS,
  refine: (v, ctx) => {
    if (v.tls && v.protocol !== 'TLS') ctx.addIssue({ code: 'custom', path: ['tls'], message: 'applies only with protocol TLS' });
  },
  finish: (v) => ({ ...v, type: 'SYSLOG', port: v.port ?? defaultPort(v.protocol) }),
  // A protocol change moves a default port along with it; a port chosen by hand stays.
  merge: (stored, patch, merged) => {
    if (patch.protocol !== undefined && patch.port === undefined && patch.protocol !== stored.protocol && stored.port === defaultPort(stored.protocol)) {
      delete merged.port;
    }
  },
});
