import { parseArgs } from 'node:util';
import { CliError, CliExit, GatewayClient } from './gateway-client.js';

/**
 * `siemgate customer siem configure|test|show|disable|enable|list`: the per-customer SIEM commands of
 * the product documentation, run against a running gateway over its REST API (and GraphQL for the
 * connection test's steps and the key's organisation). Each customer's integration is routed by its
 * `customer_id`; `configure` creates it or, when the customer already has one of that type, updates it.
 */

export const CUSTOMER_USAGE = `Usage:
  siemgate customer siem configure <customer_id> [--mssp <org>] --type <type> [--url <url>] [--token <token>] [options]
  siemgate customer siem test <customer_id> [--mssp <org>] [--type <type>]
  siemgate customer siem show <customer_id> [--mssp <org>] [--type <type>] [--json]
  siemgate customer siem disable|enable <customer_id> [--mssp <org>] [--type <type>]
  siemgate customer siem list [--mssp <org>] [--json]

Types: splunk, crowdstrike, sentinel, arcsight, cef, syslog, webhook.
Configure options:
  splunk       --url <HEC URL> --token <HEC token> [--index] [--source] [--sourcetype] [--host]
  crowdstrike  --url <ingest URL> --token <ingest token> [--repository] [--parser]
  sentinel     --url <https://<workspace>.ods.opinsights.azure.com/api/logs> --token <base64 shared key> --workspace-id <id> [--log-type]
  arcsight     --url <receiver URL> --token <connector token> [--smart-connector-id] [--device-vendor] [--device-product]
  cef          --url https://… [--token]   or   --url syslog://host[:port] [--transport udp|tcp] [--port] [--tls] [--facility]
               [--device-vendor] [--device-product]
  syslog       --url syslog://host[:port] [--transport udp|tcp] [--port] [--tls] [--facility]
  webhook      --url <endpoint> [--token <HMAC secret>]
  all types    [--name <name>] [--batch-size <n>] [--flush-interval <s>] [--retry-count <n>] [--timeout <s>]

Gateway: --server <url> or SIEMGATE_URL (default http://localhost:4000); --api-key <admin API key> or SIEMGATE_TOKEN.
Exit codes: 0 ok, 1 test failed, 64 usage, 65 unknown customer or refused input, 69 gateway unreachable, 77 unauthorised.`;

const TYPES = ['splunk', 'crowdstrike', 'sentinel', 'arcsight', 'cef', 'syslog', 'webhook'] as const;
type Type = (typeof TYPES)[number];

const OPTIONS = {
  server: { type: 'string' },
  'api-key': { type: 'string' },
  mssp: { type: 'string' },
  type: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  name: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  index: { type: 'string' },
  source: { type: 'string' },
  sourcetype: { type: 'string' },
  host: { type: 'string' },
  'workspace-id': { type: 'string' },
  'log-type': { type: 'string' },
  repository: { type: 'string' },
  parser: { type: 'string' },
  'smart-connector-id': { type: 'string' },
  'device-vendor': { type: 'string' },
  'device-product': { type: 'string' },
  transport: { type: 'string' },
  port: { type: 'string' },
  tls: { type: 'boolean' },
  facility: { type: 'string' },
  'batch-size': { type: 'string' },
  'flush-interval': { type: 'string' },
  'retry-count': { type: 'string' },
  timeout: { type: 'string' },
} as const;

type Values = Partial<Record<keyof typeof OPTIONS, string | boolean>>;

/** Which configure options each type takes, and the REST config field each sets (`url`, `transport`, `port`, `tls` are handled apart). */
const TYPE_OPTIONS: Record<Type, Record<string, string>> = {
  splunk: { token: 'token', index: 'index', source: 'source', sourcetype: 'sourcetype', host: 'host' },
  crowdstrike: { token: 'token', repository: 'repository', parser: 'parser' },
  sentinel: { token: 'shared_key', 'workspace-id': 'workspace_id', 'log-type': 'log_type' },
  arcsight: { token: 'token', 'smart-connector-id': 'smart_connector_id', 'device-vendor': 'device_vendor', 'device-product': 'device_product' },
  cef: { token: 'token', facility: 'facility', 'device-vendor': 'device_vendor', 'device-product': 'device_product' },
  syslog: { facility: 'facility' },
  webhook: { token: 'secret' },
};
const SYSLOG_OPTIONS = ['transport', 'port', 'tls'];
const CONFIG_OPTIONS = new Set(['url', ...SYSLOG_OPTIONS, ...Object.values(TYPE_OPTIONS).flatMap((o) => Object.keys(o))]);
const BATCHING_OPTIONS: Record<string, string> = { 'batch-size': 'batch_size', 'flush-interval': 'flush_interval_seconds', 'retry-count': 'retry_count', timeout: 'timeout_seconds' };

const usage = (message: string) => new CliError(CliExit.USAGE, message);

/**
 * Runs `siemgate customer …` and returns the exit code. Results on stdout, diagnostics on stderr.
 *
 * @example
 * ```ts
 * process.exitCode = await customerCommand(['siem', 'test', 'cust_acme', '--mssp', 'mssp_partner'], process.env);
 * ```
 */
export async function customerCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    return await run(argv, env);
  } catch (error) {
    if (error instanceof CliError) {
      console.error(`siemgate: ${error.message}${error.exitCode === CliExit.USAGE ? `\n\n${CUSTOMER_USAGE}` : ''}`);
      return error.exitCode;
    }
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`siemgate: ${(error as Error).message}\n\n${CUSTOMER_USAGE}`);
      return CliExit.USAGE;
    }
    console.error(`siemgate: ${(error as Error).message ?? String(error)}`);
    return CliExit.SOFTWARE;
  }
}

async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [group, sub, ...rest] = argv;
  if (group === undefined || group === 'help' || group === '--help' || group === '-h' || sub === '--help' || sub === '-h' || sub === 'help') {
    console.log(CUSTOMER_USAGE);
    return group === undefined ? CliExit.USAGE : CliExit.OK;
  }
  if (group !== 'siem') throw usage(`unknown command "customer ${group}"`);
  const { values, positionals } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  if (values.help) {
    console.log(CUSTOMER_USAGE);
    return CliExit.OK;
  }
  const commands = ['configure', 'test', 'show', 'disable', 'enable', 'list'];
  if (!sub || !commands.includes(sub)) throw usage(`unknown command "customer siem ${sub ?? ''}" (one of ${commands.join(', ')})`);
  if (sub === 'list' ? positionals.length !== 0 : positionals.length !== 1) {
    throw usage(sub === 'list' ? 'customer siem list takes no customer id' : `customer siem ${sub} needs exactly one customer id`);
  }
  const customer = positionals[0]!;
  const type = values.type as string | undefined;
  if (type !== undefined && !(TYPES as readonly string[]).includes(type)) throw usage(`--type must be one of ${TYPES.join(', ')}`);
  if (sub !== 'configure') {
    const misplaced = Object.keys(values).filter((k) => CONFIG_OPTIONS.has(k) || k in BATCHING_OPTIONS || k === 'name');
    if (misplaced.length > 0) throw usage(`--${misplaced[0]} applies only to customer siem configure`);
  }
  if (values.json && sub !== 'show' && sub !== 'list') throw usage('--json applies only to show and list');

  const server = (values.server as string | undefined) ?? env.SIEMGATE_URL ?? 'http://localhost:4000';
  try {
    new URL(server);
  } catch {
    throw usage(`--server must be a URL like http://localhost:4000, got ${JSON.stringify(server)}`);
  }
  const apiKey = (values['api-key'] as string | undefined) ?? env.SIEMGATE_TOKEN;
  if (!apiKey) throw usage('a gateway API key is needed: --api-key <token> or SIEMGATE_TOKEN (an admin key)');
  const client = new GatewayClient(server, apiKey);
  if (values.mssp !== undefined) await checkOrganisation(client, values.mssp as string);

  switch (sub) {
    case 'configure':
      return configure(client, customer, type as Type | undefined, values);
    case 'test':
      return test(client, customer, type);
    case 'show':
      return show(client, customer, type, values.json === true);
    case 'list':
      return list(client, values.json === true);
    default:
      return setEnabled(client, customer, type, sub === 'enable');
  }
}

/** `--mssp` names the organisation the commands act in: it must be the API key's. */
async function checkOrganisation(client: GatewayClient, slug: string): Promise<void> {
  const data = await client.graphql<{ viewer: { organization: { slug: string } } }>('{ viewer { organization { slug } } }');
  const actual = data.viewer.organization.slug;
  if (actual !== slug) {
    throw new CliError(CliExit.NOPERM, `--mssp ${slug}: the API key belongs to organisation "${actual}", not "${slug}"; use a key of ${slug} (or --mssp ${actual})`);
  }
}

async function integrationsOf(client: GatewayClient, customer: string, type?: string): Promise<any[]> {
  const query = new URLSearchParams({ customer_id: customer, ...(type ? { integration_type: type } : {}) });
  const { json } = await client.rest('GET', `/v1/settings/siem?${query}`);
  if (json.length === 0) {
    throw new CliError(CliExit.DATA, `customer ${customer} has no${type ? ` ${type}` : ''} SIEM integration (configure one with: siemgate customer siem configure ${customer} --type <type> --url <url>)`);
  }
  return json;
}

function integer(values: Values, option: string): number | undefined {
  const raw = values[option as keyof Values];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw usage(`--${option} must be a whole number, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Translates configure's options into the REST API's snake_case config for `type`. */
export function configFromOptions(type: Type, values: Values): Record<string, unknown> {
  const allowed = new Set(['url', ...Object.keys(TYPE_OPTIONS[type]), ...(type === 'cef' || type === 'syslog' ? SYSLOG_OPTIONS : [])]);
  for (const option of Object.keys(values)) {
    if (CONFIG_OPTIONS.has(option) && !allowed.has(option)) throw usage(`--${option} does not apply to --type ${type}`);
  }
  const config: Record<string, unknown> = {};
  for (const [option, field] of Object.entries(TYPE_OPTIONS[type])) {
    if (values[option as keyof Values] !== undefined) config[field] = values[option as keyof Values];
  }
  const url = values.url as string | undefined;
  if (type !== 'cef' && type !== 'syslog') {
    if (url !== undefined) config.endpoint = url;
    return config;
  }
  // CEF over HTTP, or CEF/syslog over syslog://host[:port] with --transport udp|tcp, --port and --tls.
  const transport = values.transport as string | undefined;
  if (transport !== undefined && !['http', 'udp', 'tcp'].includes(transport)) throw usage('--transport must be http, udp or tcp');
  const port = integer(values, 'port');
  const syslogUrl = url?.startsWith('syslog://');
  if (type === 'cef' && !syslogUrl && url !== undefined) {
    if (transport !== undefined && transport !== 'http') throw usage(`--transport ${transport} needs --url syslog://<host>`);
    if (port !== undefined || values.tls) throw usage('--port and --tls apply to --url syslog://<host>; for HTTP put the port in the URL');
    config.transport = 'http';
    config.endpoint = url;
    return config;
  }
  if (type === 'syslog' && transport === 'http') throw usage('--type syslog has no http transport; use --type cef for CEF over HTTP');
  if (values.tls && transport === 'udp') throw usage('--tls needs --transport tcp (TLS runs over TCP)');
  if (url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw usage(`--url must be syslog://<host>[:port], got ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== 'syslog:' || !parsed.hostname) throw usage(`--url must be syslog://<host>[:port]${type === 'cef' ? ' or an https:// URL' : ''}, got ${JSON.stringify(url)}`);
    config.host = parsed.hostname.replace(/^\[|\]$/g, '');
    if (parsed.port) config.port = Number(parsed.port);
  }
  if (port !== undefined) config.port = port;
  const protocol = values.tls ? 'tls' : transport;
  if (protocol !== undefined || url !== undefined) config[type === 'cef' ? 'transport' : 'protocol'] = protocol ?? (type === 'cef' ? 'udp' : 'tcp');
  return config;
}

function batchingFromOptions(values: Values): Record<string, number> | undefined {
  const batching: Record<string, number> = {};
  for (const [option, field] of Object.entries(BATCHING_OPTIONS)) {
    const n = integer(values, option);
    if (n !== undefined) batching[field] = n;
  }
  return Object.keys(batching).length ? batching : undefined;
}

async function configure(client: GatewayClient, customer: string, type: Type | undefined, values: Values): Promise<number> {
  if (!type) throw usage(`customer siem configure needs --type (${TYPES.join(', ')})`);
  const config = configFromOptions(type, values);
  const batching = batchingFromOptions(values);
  const query = new URLSearchParams({ customer_id: customer, integration_type: type });
  const existing = (await client.rest('GET', `/v1/settings/siem?${query}`)).json as any[];
  if (existing.length > 0) {
    const target = existing[0];
    const { json } = await client.rest('PUT', `/v1/settings/siem/${encodeURIComponent(target.id)}`, {
      ...(Object.keys(config).length ? { config } : {}),
      ...(batching ? { batching } : {}),
      ...(values.name !== undefined ? { name: values.name } : {}),
    });
    console.log(`Updated SIEM integration ${json.integration_type} for ${customer} (${json.id})`);
    return CliExit.OK;
  }
  if (values.url === undefined) throw usage(`--url is required to configure a new ${type} integration for ${customer}`);
  const { json } = await client.rest('POST', '/v1/settings/siem', {
    integration_type: type,
    name: (values.name as string | undefined) ?? `${customer} ${type}`,
    customer_id: customer,
    enabled: true,
    config,
    ...(batching ? { batching } : {}),
  });
  console.log(`Configured SIEM integration ${json.integration_type} for ${customer} (${json.id})`);
  console.log(`Test it with: siemgate customer siem test ${customer}`);
  return CliExit.OK;
}

const STEP_LABELS: Record<string, string> = {
  transform: 'Test event',
  resolve: 'DNS resolution',
  connect: 'Connection',
  tls: 'TLS handshake',
  authenticate: 'Authentication',
  deliver: 'Test event delivery',
  send: 'Test event delivery',
};

/** The lines the product documentation prints for a connection test. */
export function testLines(result: { success: boolean; message: string; httpStatus: number | null; steps: { name: string; ok: boolean; detail: string }[] }): string[] {
  const lines: string[] = [];
  for (const step of result.steps) {
    if (!step.ok) {
      lines.push(`✗ ${STEP_LABELS[step.name] ?? step.name}: ${step.detail}`);
      continue;
    }
    if (step.name === 'connect') lines.push(`✓ Connection successful (${result.httpStatus !== null ? `HTTP ${result.httpStatus}` : step.detail})`);
    else if (step.name === 'authenticate') lines.push('✓ Authentication valid');
    else if (step.name === 'deliver' || step.name === 'send') lines.push('✓ Test event delivered');
    else if (step.name === 'tls') lines.push(`✓ TLS handshake (${step.detail})`);
  }
  if (!result.success && !result.steps.some((s) => !s.ok)) lines.push(`✗ Test: ${result.message.replace(/^Connection test failed: /, '')}`);
  return lines;
}

async function test(client: GatewayClient, customer: string, type?: string): Promise<number> {
  const integrations = await integrationsOf(client, customer, type);
  let failed = false;
  for (const integration of integrations) {
    const suffix = integrations.length > 1 ? ` (${integration.integration_type} ${integration.id})` : '';
    console.log(`Testing SIEM connection for ${customer}${suffix}...`);
    const { testSiemIntegration: result } = await client.graphql(
      'mutation($id: ID!) { testSiemIntegration(id: $id) { success message httpStatus steps { name ok detail } } }',
      { id: integration.id },
    );
    for (const line of testLines(result)) console.log(line);
    if (!result.success) failed = true;
  }
  return failed ? CliExit.TEST_FAILED : CliExit.OK;
}

/** The URL a configuration sends to, as the documentation's `URL:` line shows it. */
function urlOf(i: any): string {
  const c = i.config;
  if (i.integration_type === 'syslog' || (i.integration_type === 'cef' && c.transport !== 'http')) return `syslog://${c.host}:${c.port}`;
  if (i.integration_type === 'sentinel') {
    if (c.api === 'logs_ingestion') return c.dce_endpoint;
    return c.endpoint ?? `https://${c.workspace_id}.ods.opinsights.azure.com/api/logs`;
  }
  return c.endpoint;
}

/** `log_type` → `Log type`. */
const label = (field: string) => {
  const words = field.replace(/^has_/, '').split('_');
  const text = words.join(' ').replace(/\bid\b/, 'ID').replace(/\burl\b/, 'URL');
  return text.charAt(0).toUpperCase() + text.slice(1);
};

/** Fields shown right after `URL:`, before `Enabled:`, per type (the documentation shows Splunk's index and source there). */
const LEAD_FIELDS: Record<string, string[]> = {
  splunk: ['index', 'source'],
  crowdstrike: ['repository', 'parser'],
  sentinel: ['workspace_id', 'log_type'],
  arcsight: ['smart_connector_id', 'device_vendor', 'device_product'],
  cef: ['transport'],
  syslog: ['protocol'],
  webhook: [],
};

const shown = (v: unknown) => (v === undefined || v === null ? '-' : Array.isArray(v) ? v.join(', ') || '-' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** The documentation's `show` block, then the type's other settings, health, errors and last delivery. Never a secret. */
export function showLines(customer: string, i: any): string[] {
  const c = i.config as Record<string, unknown>;
  const lead = LEAD_FIELDS[i.integration_type] ?? [];
  const lines = [`SIEM Configuration: ${customer}`, `Type: ${i.integration_type}`, `URL: ${urlOf(i)}`];
  for (const f of lead) lines.push(`${label(f)}: ${shown(c[f])}`);
  lines.push(`Enabled: ${i.enabled}`);
  const skip = new Set([...lead, 'endpoint', 'host', 'port', 'dce_endpoint', 'tls', 'header_names']);
  for (const [f, v] of Object.entries(c)) {
    if (skip.has(f)) continue;
    if (f.startsWith('has_')) lines.push(`${label(f)}: ${v ? 'set' : 'not set'}`);
    else lines.push(`${label(f)}: ${shown(v)}`);
  }
  if (Array.isArray(c.header_names) && c.header_names.length) lines.push(`Header names: ${(c.header_names as string[]).join(', ')}`);
  lines.push(
    `Name: ${i.name}`,
    `ID: ${i.id}`,
    `Batching: ${i.batching.batch_size} events, flush ${i.batching.flush_interval_seconds}s, ${i.batching.retry_count} retries, timeout ${i.batching.timeout_seconds}s`,
    `Health: ${i.health}`,
    `Errors: ${i.error_count}`,
    `Last error: ${i.last_error ?? '-'}${i.last_error_at ? ` (${i.last_error_at})` : ''}`,
    `Last delivery: ${i.last_event_at ?? 'never'}`,
  );
  return lines;
}

async function show(client: GatewayClient, customer: string, type: string | undefined, json: boolean): Promise<number> {
  const integrations = await integrationsOf(client, customer, type);
  if (json) {
    console.log(JSON.stringify(integrations, null, 2));
    return CliExit.OK;
  }
  console.log(integrations.map((i) => showLines(customer, i).join('\n')).join('\n\n'));
  return CliExit.OK;
}

async function setEnabled(client: GatewayClient, customer: string, type: string | undefined, enabled: boolean): Promise<number> {
  const integrations = await integrationsOf(client, customer, type);
  for (const integration of integrations) {
    const { json } = await client.rest('PUT', `/v1/settings/siem/${encodeURIComponent(integration.id)}`, { enabled });
    console.log(`${enabled ? 'Enabled' : 'Disabled'} SIEM integration ${json.integration_type} for ${customer} (${json.id})`);
  }
  return CliExit.OK;
}

async function list(client: GatewayClient, json: boolean): Promise<number> {
  const { json: integrations } = await client.rest('GET', '/v1/settings/siem');
  if (json) {
    console.log(JSON.stringify(integrations, null, 2));
    return CliExit.OK;
  }
  console.log(['CUSTOMER', 'TYPE', 'ENABLED', 'HEALTH', 'ERRORS', 'LAST DELIVERY', 'URL', 'ID'].join('\t'));
  for (const i of integrations as any[]) {
    console.log([i.customer_id ?? '(all customers)', i.integration_type, i.enabled, i.health, i.error_count, i.last_event_at ?? 'never', urlOf(i), i.id].join('\t'));
  }
  return CliExit.OK;
}
