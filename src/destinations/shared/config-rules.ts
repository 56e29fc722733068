import { createPrivateKey, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { SYSLOG_FACILITIES, parseFacility, type SyslogFacilityName } from './syslog-format.js';

/**
 * Field rules shared by the GraphQL inputs (through @pothos/plugin-validation) and by
 * {@link parseDestinationConfig}, so a rule is written once and holds on every path.
 * Each rule's message says what is expected, e.g. `must be an http or https URL`.
 */

/** Longest URL accepted. */
export const MAX_URL_LENGTH = 2048;

export const urlRule = z
  .string()
  .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute http or https URL' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `must be an http or https URL, not ${url.protocol.replace(':', '')}` });
    } else if (url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: 'must not carry credentials; use the token field' });
    } else if (url.hash) {
      ctx.addIssue({ code: 'custom', message: 'must not have a #fragment' });
    }
  });

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export const hostRule = z
  .string()
  .min(1, 'must not be empty')
  .max(253, 'must be at most 253 characters')
  .refine((v) => isIP(v) !== 0 || HOSTNAME.test(v), 'must be a host name or an IP address');

export const portRule = z.number().int('must be a whole number').min(1, 'must be between 1 and 65535').max(65535, 'must be between 1 and 65535');

const FACILITY_NAME_BY_CODE = new Map<number, SyslogFacilityName>(
  Object.entries(SYSLOG_FACILITIES).map(([name, code]) => [code, name as SyslogFacilityName]),
);

/** A facility name (kern … local7, or an alias like `kernel`) or code 0..23, stored as its canonical name. */
export const facilityRule = z.string().transform((v, ctx) => {
  try {
    return FACILITY_NAME_BY_CODE.get(parseFacility(v))!;
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be a syslog facility name (kern, user, …, local0…local7) or code 0..23, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
});

/** A non-empty single-line string of at most `max` characters. */
export function textRule(max: number) {
  return z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((v) => !/[\r\n\0]/.test(v), 'must be a single line');
}

/** A credential: non-empty, at most 4096 characters, no whitespace at the ends, no line breaks. */
export const secretRule = textRule(4096).refine((v) => v.trim() === v, 'must not start or end with whitespace');

/** Names of resources in a SIEM: indexes, repositories, sources. */
export const identifierRule = textRule(255);

export const customerIdRule = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9._:@-]+$/, 'may contain only letters, digits and . _ : @ -');

export const integrationNameRule = textRule(200).refine((v) => v.trim().length > 0, 'must not be blank');

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const guidRule = z.string().regex(GUID, 'must be a GUID like 00000000-0000-0000-0000-000000000000');
export const tenantIdRule = z
  .string()
  .refine((v) => GUID.test(v) || (HOSTNAME.test(v) && v.includes('.')), 'must be a tenant GUID or a domain like contoso.onmicrosoft.com');
export const base64KeyRule = z
  .string()
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64 (the workspace primary or secondary key)')
  .refine((v) => Buffer.from(v, 'base64').length >= 16, 'must decode to at least 16 bytes');
/** Azure custom log type: letters, digits and underscores, at most 100 characters. */
export const logTypeRule = z.string().regex(/^[A-Za-z0-9_]{1,100}$/, 'may contain only letters, digits and underscores (at most 100)');
export const dcrImmutableIdRule = z.string().regex(/^dcr-[0-9a-f]{32}$/, 'must look like dcr-<32 hex digits>');
export const streamNameRule = z.string().regex(/^(Custom|Microsoft)-[A-Za-z0-9_]{1,100}$/, 'must be Custom-<Table> or Microsoft-<Table>');

export const timeoutSecondsRule = z.number().int('must be a whole number').min(1, 'must be between 1 and 300').max(300, 'must be between 1 and 300');

/** Request headers the gateway sets itself; an integration's extra headers may not replace them. */
export const RESERVED_HEADER_NAMES = new Set([
  'host', 'content-length', 'content-type', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive',
  'upgrade', 'te', 'trailer', 'proxy-authorization', 'x-arx-signature', 'webhook-id', 'webhook-timestamp', 'webhook-signature',
]);

export const headerNameRule = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'must be an HTTP header name (letters, digits and !#$%&\'*+.^_`|~-)')
  .refine((v) => !RESERVED_HEADER_NAMES.has(v.toLowerCase()), 'is set by the gateway and cannot be overridden');

export const headerValueRule = z
  .string()
  .max(4096, 'must be at most 4096 characters')
  .refine((v) => !/[\r\n\0]/.test(v), 'must not contain line breaks');

export const pemCertificateRule = z
  .string()
  .max(65536, 'must be at most 64 KiB')
  .refine((v) => {
    try {
      new X509Certificate(v);
      return true;
    } catch {
      return false;
    }
  }, 'must be a PEM certificate (-----BEGIN CERTIFICATE-----)');

export const pemPrivateKeyRule = z
  .string()
  .max(65536, 'must be at most 64 KiB')
  .refine((v) => {
    try {
      createPrivateKey(v);
      return true;
    } catch {
      return false;
    }
  }, 'must be an unencrypted PEM private key');

export const batchSizeRule = z.number().int('must be a whole number').min(1, 'must be between 1 and 10000').max(10000, 'must be between 1 and 10000');
export const flushIntervalRule = z.number().int('must be a whole number').min(1, 'must be between 1 and 3600').max(3600, 'must be between 1 and 3600');
export const retryCountRule = z.number().int('must be a whole number').min(0, 'must be between 0 and 20').max(20, 'must be between 0 and 20');
