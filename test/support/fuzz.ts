import fc from 'fast-check';
import type { SecurityEvent, Severity } from '../../src/events/security-event.js';

/**
 * fast-check arbitraries for the abuse suite (test/abuse): hostile values of every JSON type, and inputs shaped like
 * the API's (so that the fuzz gets past the first type check and reaches the validators and the store), with garbage
 * at any leaf. Endpoints only ever name closed loopback ports or `.invalid` hosts, so an input that happens to be
 * valid never reaches a real network.
 */

/** Strings that have broken parsers, validators, loggers and databases before. */
export const NASTY_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'x\ud83dy',
  '\u202eevil',
  '\ufeffbom',
  '\u2028\u2029',
  '\r\n',
  '\n\n\n',
  '|',
  '\\',
  '\\\\|=',
  'CEF:0|Evil|Inject|1|1|x|10|src=6.6.6.6',
  '<13>1 2026-01-01T00:00:00Z host app - - - fake',
  '"; DROP TABLE siem_integrations; --',
  "' OR '1'='1",
  '{{7*7}}',
  '${jndi:ldap://127.0.0.1/a}',
  '../../../../etc/passwd',
  '%s%s%s%n',
  '__proto__',
  'constructor',
  'http://169.254.169.254/latest/meta-data/',
  'file:///etc/passwd',
  'gopher://127.0.0.1:6379/_FLUSHALL',
  'javascript:alert(1)',
  'http://user:pass@127.0.0.1:9/',
  'http://127.0.0.1:9/#frag',
  'https://siem.invalid/x?token=abc',
  '🔥'.repeat(50),
  'ǅǈǋ\u0301\u0301\u0301',
  'ﷺ'.repeat(30),
  '\u{10ffff}',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  'null',
  'true',
  '[]',
  '{}',
  '00000000-0000-0000-0000-000000000000',
  'ADMIN',
  'admin',
  'local0',
  'TCP',
];

const ODD_UNITS = ['\u0000', '\ud800', '\udfff', '\u202e', '\ufeff', '\u2028', '\r', '\n', '\t', '|', '\\', '=', '"', "'", '<', '>', '%', '$', '{', '}', '🔥', 'é', 'a', ' '];

/** A short hostile string: arbitrary code points, lone surrogates, controls, injection payloads. */
export const shortOddString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...ODD_UNITS), maxLength: 30 }) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
);

/** A very long string (past every length rule; the largest stay under the 1 MiB body limit). */
export const longString: fc.Arbitrary<string> = fc.oneof(
  // Lengths shrink towards 0, so a failure found with a long string shrinks to the shortest one that still fails.
  fc.integer({ min: 0, max: 5_000 }).map((n) => 'A'.repeat(n)),
  fc.integer({ min: 0, max: 70_000 }).map((n) => 'é|='.repeat(n)),
);

/** A hostile string, sometimes a very long one. */
export const oddString: fc.Arbitrary<string> = fc.oneof({ weight: 9, arbitrary: shortOddString }, { weight: 1, arbitrary: longString });

/** Numbers at and past every boundary the API has (ports, batching, 32-bit GraphQL Int, safe integers). */
export const oddNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 0.5, 1.5, 100, 514, 1023, 65_535, 65_536, 70_000, 10_000, 10_001, 3_600, 3_601, 300, 301, 20, 21,
    2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e308, -1e308, Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON),
  fc.integer(),
  // NaN and ±Infinity become `null` in JSON, like a client would send them.
  fc.double(),
);

/** Arrays nested `depth` deep around a value. */
export const deepNest = (depth: number, leaf: unknown = 'x'): unknown => {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
};

/** Any JSON value, built from hostile strings and numbers, nested a few levels; sometimes very deep or very wide. */
export const garbage: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    oddNumber,
    shortOddString,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(shortOddString, tie('value'), { maxKeys: 5 }),
  ),
})).value.chain((v) =>
  fc.oneof(
    { weight: 30, arbitrary: fc.constant(v) },
    { weight: 2, arbitrary: longString },
    { weight: 1, arbitrary: fc.integer({ min: 50, max: 2_000 }).map((d) => deepNest(d, typeof v === 'string' ? v : 'x')) },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 5_000 }).map((n) => Array.from({ length: n }, (_, i) => (i % 2 ? null : 1))) },
  ),
);

/** Either `valid` or garbage: most draws look almost right, so validators (not only the type checker) get exercised. */
export function mostly<T>(valid: fc.Arbitrary<T>, validWeight = 2): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: validWeight, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: garbage });
}

/** Every field name any config member has (and a few that none has). */
const CONFIG_FIELDS = [
  'endpoint', 'token', 'index', 'source', 'sourcetype', 'host', 'indexerAck', 'gzip', 'timeoutSeconds', 'tls',
  'workspaceId', 'sharedKey', 'logType', 'dceEndpoint', 'dcrImmutableId', 'streamName', 'tenantId', 'clientId', 'clientSecret', 'authorityHost',
  'port', 'protocol', 'facility', 'format', 'secret', 'signatureScheme', 'headers', 'repository', 'parser', 'smartConnectorId',
  'deviceVendor', 'deviceProduct', 'transport', 'api', 'type', '__proto__', 'password',
] as const;
const CONFIG_MEMBERS = ['splunk', 'sentinel', 'syslog', 'webhook', 'crowdstrike', 'arcsight', 'cef', 'Splunk', 'bogus', ''] as const;

/** Plausible (safe) values for config fields: closed loopback ports and `.invalid` hosts only. */
const plausibleLeaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    'http://127.0.0.1:9/services/collector/event', 'https://siem.invalid/api', 'http://[::1]:9/x', 'ftp://127.0.0.1/x', 'not a url',
    'tok-123', '127.0.0.1', 'syslog.invalid', 'TCP', 'UDP', 'TLS', 'HTTP', 'RFC5424', 'RFC3164', 'local0', 'local9', 'kern', '23', '24',
    'ARX', 'STANDARD_WEBHOOKS', 'DATA_COLLECTOR', 'LOGS_INGESTION', 'dcr-0123456789abcdef0123456789abcdef', 'Custom-X_CL', 'c2VjcmV0',
    true, false, 1, 9, 514, 65_535,
  ),
  fc.record({ caCert: mostly(fc.constantFrom('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', 'not pem')), rejectUnauthorized: mostly(fc.boolean()) }, { requiredKeys: [] }),
  fc.array(fc.record({ name: mostly(fc.constantFrom('X-Api-Key', 'bad header', 'Host', 'Content-Length')), value: mostly(fc.constantFrom('v', 'a\r\nb')) }, { requiredKeys: [] }), { maxLength: 3 }),
);

const configMember: fc.Arbitrary<Record<string, unknown>> = fc.dictionary(fc.constantFrom(...CONFIG_FIELDS), fc.oneof({ weight: 3, arbitrary: plausibleLeaf }, { weight: 2, arbitrary: garbage }), { maxKeys: 8 });

/** A `SiemConfigInput`-like value: usually one (sometimes zero or two) members, with plausible or hostile fields. */
export const configInput: fc.Arbitrary<unknown> = mostly(fc.dictionary(fc.constantFrom(...CONFIG_MEMBERS), mostly(configMember, 4), { minKeys: 0, maxKeys: 2 }), 4);

const batchingInput = mostly(fc.record({
  batchSize: mostly(oddNumber),
  flushIntervalSeconds: mostly(oddNumber),
  retryCount: mostly(oddNumber),
  timeoutSeconds: mostly(oddNumber),
}, { requiredKeys: [] }));

const filterInput = mostly(fc.record({
  minSeverity: mostly(fc.constantFrom('NONE', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'low', 'EXTREME')),
  eventTypes: mostly(fc.array(oddString, { maxLength: 4 })),
}, { requiredKeys: [] }));

const integrationName = mostly(fc.oneof(oddString, fc.constantFrom('fuzz integration', 'x')));
const customerId = mostly(fc.oneof(oddString, fc.constantFrom('cust_acme', 'a:b@c-d.e')));

/** Sets `path` (dot-separated) in a deep copy of `base` to `value`. */
function setPath(base: unknown, path: string, value: unknown): unknown {
  const copy = structuredClone(base) as Record<string, unknown>;
  const keys = path.split('.');
  let holder: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) {
    if (typeof holder[k] !== 'object' || holder[k] === null) holder[k] = {};
    holder = holder[k] as Record<string, unknown>;
  }
  holder[keys.at(-1)!] = value;
  return copy;
}

/** A valid value with exactly one field (from `paths`) replaced by a hostile one: reaches the deepest validators. */
export function nearValid(base: unknown, paths: readonly string[], leaf: fc.Arbitrary<unknown> = fc.oneof(oddString, oddNumber, garbage, fc.constant(null))): fc.Arbitrary<unknown> {
  return fc.tuple(fc.constantFrom(...paths), leaf).map(([path, value]) => setPath(base, path, value));
}

const VALID_CREATE = {
  name: 'near-valid',
  config: { webhook: { endpoint: 'http://127.0.0.1:9/hook', secret: 's3cret-value', headers: [{ name: 'X-Api-Key', value: 'k' }] } },
  batching: { batchSize: 10, flushIntervalSeconds: 5, retryCount: 1, timeoutSeconds: 5 },
  customerId: 'cust_fuzz',
  filter: { minSeverity: 'LOW', eventTypes: ['scan*'] },
  enabled: true,
};
const VALID_CREATE_SYSLOG = { name: 'near-valid syslog', config: { syslog: { host: '127.0.0.1', port: 9, protocol: 'TCP', facility: 'local0', format: 'RFC5424' } } };
const CREATE_PATHS = [
  'name', 'enabled', 'customerId', 'batching.batchSize', 'batching.flushIntervalSeconds', 'batching.retryCount', 'batching.timeoutSeconds',
  'filter.minSeverity', 'filter.eventTypes', 'config.webhook.endpoint', 'config.webhook.secret', 'config.webhook.headers', 'config.webhook.headers.0.name',
  'config.webhook.headers.0.value', 'config.webhook.signatureScheme', 'config.webhook.gzip', 'config.webhook.timeoutSeconds', 'config.webhook.tls',
  'config.webhook.tls.caCert', 'config.webhook.tls.clientKey', 'config.splunk', 'config.webhook.bogus',
] as const;
const SYSLOG_PATHS = ['config.syslog.host', 'config.syslog.port', 'config.syslog.protocol', 'config.syslog.facility', 'config.syslog.format', 'config.syslog.tls', 'config.syslog.timeoutSeconds'] as const;

/** `CreateSiemIntegrationInput`-like: near-valid inputs (one hostile field) and loosely shaped garbage. */
export const createIntegrationInput: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: nearValid(VALID_CREATE, CREATE_PATHS) },
  { weight: 1, arbitrary: nearValid(VALID_CREATE_SYSLOG, SYSLOG_PATHS) },
  { weight: 1, arbitrary: oddString.map((name) => ({ ...VALID_CREATE, name })) },
  { weight: 4, arbitrary: looseCreateIntegrationInput() },
);

function looseCreateIntegrationInput(): fc.Arbitrary<unknown> {
  return mostly(fc.record({
  name: integrationName,
  config: configInput,
  enabled: mostly(fc.boolean()),
  customerId,
  batching: batchingInput,
  filter: filterInput,
  extra: garbage,
}, { requiredKeys: [] }).map((r) => {
  const { extra, ...rest } = r as Record<string, unknown>;
  return extra !== undefined && typeof extra === 'object' && extra !== null && !Array.isArray(extra) ? { ...rest, ...extra } : rest;
}), 5);
}

/** `UpdateSiemIntegrationInput`-like: partial near-valid changes, or garbage. */
export const updateIntegrationInput: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: nearValid({}, CREATE_PATHS.filter((p) => !p.startsWith('config.webhook.headers.0'))) },
  { weight: 1, arbitrary: nearValid({ config: { syslog: {} } }, SYSLOG_PATHS) },
  { weight: 1, arbitrary: fc.constantFrom({ name: 'renamed by fuzz' }, { customerId: null }, { filter: null }, { enabled: false }, { enabled: true }) },
  { weight: 3, arbitrary: createIntegrationInput },
);

/** `CreateApiKeyInput`-like. */
export const createApiKeyInput: fc.Arbitrary<unknown> = mostly(fc.record({
  name: mostly(fc.oneof(oddString, fc.constant('fuzz key'))),
  role: mostly(fc.constantFrom('ADMIN', 'VIEWER', 'INGEST', 'admin', 'ROOT', '', 'SUPERUSER')),
  organizationId: garbage,
}, { requiredKeys: [] }), 4);

const SEVERITIES = ['NONE', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

/** A `SecurityEventInput`-like object: the canonical fields with plausible or hostile values, sometimes unknown keys. */
export const eventInput: fc.Arbitrary<unknown> = mostly(fc.record({
  id: mostly(fc.oneof(fc.uuid(), oddString)),
  time: mostly(fc.oneof(fc.constantFrom('2026-01-30T10:30:00Z', '2026-13-45T99:99:99Z', '1970-01-01T00:00:00+00:00', 'yesterday', '+275760-09-13T00:00:00.000Z'), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()))),
  type: mostly(fc.constantFrom('scan', 'agent.deployed', 'a b', '', 'x'.repeat(129))),
  name: mostly(oddString),
  severity: mostly(fc.constantFrom(...SEVERITIES, 'low', 'SEVERE', 5)),
  outcome: mostly(oddString),
  customerId,
  msspId: mostly(oddString),
  installationId: mostly(oddString),
  agentId: mostly(oddString),
  userEmail: mostly(oddString),
  sourceIp: mostly(fc.oneof(fc.ipV4(), fc.ipV6(), oddString)),
  threatDetected: mostly(fc.boolean()),
  ruleIds: mostly(fc.array(oddString, { maxLength: 4 })),
  families: mostly(fc.array(oddString, { maxLength: 4 })),
  promptHash: mostly(oddString),
  promptLength: mostly(oddNumber),
  detectionCount: mostly(oddNumber),
  scanDurationMs: mostly(oddNumber),
  data: mostly(fc.dictionary(oddString, garbage, { maxKeys: 4 })),
  bogusField: garbage,
}, { requiredKeys: [] }), 6);

const VALID_EVENT = { type: 'scan', severity: 'LOW', customerId: 'cust_fuzz' };
const EVENT_PATHS = [
  'id', 'time', 'type', 'name', 'severity', 'outcome', 'customerId', 'msspId', 'installationId', 'agentId', 'userEmail', 'sourceIp',
  'threatDetected', 'ruleIds', 'families', 'promptHash', 'promptLength', 'detectionCount', 'scanDurationMs', 'data', 'data.nested', 'unknownField',
] as const;

/** A valid event with one hostile field. */
export const nearValidEvent: fc.Arbitrary<unknown> = nearValid(VALID_EVENT, EVENT_PATHS, fc.oneof(
  { weight: 2, arbitrary: fc.oneof(fc.string({ maxLength: 20 }), fc.nat(), fc.boolean(), fc.constant(null)) },
  { weight: 3, arbitrary: fc.oneof(oddString, oddNumber, garbage) },
));

/** `[SecurityEventInput!]!`-like: a short list of (near-valid or loose) events, or garbage. */
export const eventList: fc.Arbitrary<unknown> = mostly(fc.array(fc.oneof(nearValidEvent, eventInput), { maxLength: 8 }), 5);

/** A `POST /v1/events` body: raw bytes, a JSON value, or NDJSON lines of mixed quality; and a content type. */
export const ingestBody: fc.Arbitrary<{ body: Buffer; contentType: string | null }> = fc.record({
  body: fc.oneof(
    fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b)),
    garbage.map((v) => Buffer.from(JSON.stringify(v) ?? 'undefined', 'utf8')),
    eventList.map((v) => Buffer.from(JSON.stringify(v) ?? '', 'utf8')),
    fc.array(nearValidEvent, { minLength: 1, maxLength: 3 }).map((v) => Buffer.from(JSON.stringify(v), 'utf8')),
    fc.array(fc.record({ type: fc.constant('scan'), severity: fc.constantFrom(...SEVERITIES), name: shortOddString, data: fc.dictionary(shortOddString, shortOddString, { maxKeys: 3 }) }), { minLength: 1, maxLength: 5 })
      .map((v) => Buffer.from(JSON.stringify(v), 'utf8')),
    fc.tuple(fc.array(nearValidEvent, { minLength: 1, maxLength: 3 }), fc.constantFrom('\n', '\r\n', '\n\n')).map(([v, sep]) => Buffer.from(v.map((e) => JSON.stringify(e)).join(sep), 'utf8')),
    fc.array(fc.oneof(
      eventInput.map((v) => JSON.stringify(v) ?? ''),
      garbage.map((v) => JSON.stringify(v) ?? ''),
      oddString,
      fc.constantFrom('', ' ', '\r', '\ufeff{"type":"scan","severity":"LOW"}', '{"type":"scan","severity":"LOW"}', '{"type":"scan",', ']'),
    ), { maxLength: 10 }).map((lines) => Buffer.from(lines.join('\n'), 'utf8')),
  ),
  contentType: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(null, 'application/json', 'application/x-ndjson', 'application/ndjson', 'text/plain', 'application/json; charset=latin1', 'APPLICATION/JSON') },
    { weight: 1, arbitrary: fc.constantFrom('application/xml', 'multipart/form-data; boundary=x', 'application/jsonx', '*/*', 'application/x-www-form-urlencoded') },
  ),
});

/**
 * Canonical events (already validated) whose every text field is drawn from `value`; `message`, when drawn, sits
 * in `data.message`. For formatter properties (CEF, syslog): what the wire formats must carry for any text.
 */
export function securityEventArb(value: fc.Arbitrary<string>, options: { maxTimeMs?: number; minTimeMs?: number; maxList?: number } = {}): fc.Arbitrary<SecurityEvent> {
  const optional = fc.option(value, { nil: undefined });
  const list = fc.option(fc.array(value, { maxLength: options.maxList ?? 4 }), { nil: undefined });
  return fc
    .record({
      id: value,
      time: fc.integer({ min: options.minTimeMs ?? 0, max: options.maxTimeMs ?? 4_102_444_800_000 }).map((ms) => new Date(ms)),
      type: value,
      name: value,
      severity: fc.constantFrom<Severity>('NONE', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'),
      outcome: optional,
      customerId: optional,
      msspId: optional,
      installationId: optional,
      agentId: optional,
      userEmail: optional,
      sourceIp: optional,
      promptHash: optional,
      ruleIds: list,
      families: list,
      message: optional,
    })
    .map(({ message, ...rest }) => ({ ...rest, ...(message !== undefined ? { data: { message } } : {}) }) as SecurityEvent);
}
