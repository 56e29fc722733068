import { scrubSecrets } from '../../secrets/scrub-secrets.js';
import { resolveTimeoutMs } from '../../net/timeouts.js';
import type { SecurityEvent, Severity } from '../../events/security-event.js';
import { classifyAnswer, classifyError, HttpDestination, HttpStatus, runConnectionTest, type HttpAnswer } from '../shared/http-destination.js';
import { buildSentinelSignature, decodeSentinelSharedKey, SentinelSignatureDefaults } from './signature.js';
import type {
  AdapterOptions,
  ConnectionTestResult,
  DeliveryResult,
  SendOptions,
  SentinelConfig,
  SentinelDataCollectorConfig,
  SentinelLogsIngestionConfig,
  SiemAdapter,
  TestStep,
} from '../types.js';

/** Constants of the (legacy) Azure Monitor HTTP Data Collector API. */
export const DataCollectorApi = {
  API_VERSION: '2016-04-01',
  /** Default endpoint host suffix: `https://<workspaceId>.ods.opinsights.azure.com`. */
  HOST_SUFFIX: 'ods.opinsights.azure.com',
  PATH: SentinelSignatureDefaults.RESOURCE,
  /**
   * Limit per post is 30 MB (Microsoft: "Maximum of 30 MB per post"); taken as decimal megabytes, the stricter reading.
   * (Field values over 32 KB are truncated by Azure, not rejected.)
   */
  MAX_POST_BYTES: 30_000_000,
  /**
   * Record field whose value becomes TimeGenerated (named in the `time-generated-field` header). It is not
   * `TimeGenerated` itself: Microsoft lists TimeGenerated as a reserved property of this API (payloads containing it
   * are refused or silently dropped), and a time-generated-field named TimeGenerated is ignored.
   */
  TIME_FIELD: 'EventTime',
  /** Log-Type: letters, digits and underscores, at most 100 characters. */
  LOG_TYPE_PATTERN: /^[A-Za-z0-9_]{1,100}$/,
} as const;

/** Constants of the Azure Monitor Logs Ingestion API and its Entra ID client-credentials token. */
export const LogsIngestionApi = {
  API_VERSION: '2023-01-01',
  /** Microsoft: "Maximum size of API call: 1 MB" (compressed and uncompressed); 1,000,000 bytes stays under either reading. */
  MAX_REQUEST_BYTES: 1_000_000,
  /** The scope of the Azure Monitor ingestion audience (the double slash is Microsoft's documented form). */
  SCOPE: 'https://monitor.azure.com//.default',
  GRANT_TYPE: 'client_credentials',
  /** @default authority host when the config has none. */
  DEFAULT_AUTHORITY_HOST: 'https://login.microsoftonline.com',
  /** A cached token is replaced this long before it expires. */
  TOKEN_REFRESH_MARGIN_MS: 5 * 60 * 1000,
  /** Lifetime assumed when the token answer has no usable `expires_in` (Entra ID's usual 3599 s is not guaranteed). */
  FALLBACK_TOKEN_LIFETIME_S: 600,
} as const;

/** Sentinel severities as Azure content shows them (title case; NONE as Sentinel's "Informational"). */
export const SENTINEL_SEVERITY: Readonly<Record<Severity, string>> = {
  NONE: 'Informational',
  LOW: 'Low',
  MEDIUM: 'Medium',
  HIGH: 'High',
  CRITICAL: 'Critical',
};

const JSON_CONTENT_TYPE = 'application/json';
const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';
const MS_PER_SECOND = 1000;
const HTTP_BAD_REQUEST = 400;
/** Token endpoint answers that mean "fix the app registration / secret / tenant", not "retry later". */
const TOKEN_AUTH_STATUSES = new Set<number>([HTTP_BAD_REQUEST, HttpStatus.UNAUTHORIZED, HttpStatus.FORBIDDEN]);
const ENTRA_ERROR_CODE = /AADSTS\d+/;

/** A Sentinel configuration that cannot be used as given. The message names the field, never a secret value. */
export class SentinelConfigError extends Error {
  readonly code = 'SIEMGATE_SENTINEL_CONFIG_INVALID';
  constructor(detail: string) {
    super(`Sentinel configuration: ${detail}`);
    this.name = 'SentinelConfigError';
  }
}

/** The PascalCase event fields both Sentinel APIs carry (the product documentation's "PascalCase for Azure conventions"). */
export interface SentinelEventFields {
  /** The canonical event id, the idempotency key. */
  EventId: string;
  EventType: string;
  EventName: string;
  /** See {@link SENTINEL_SEVERITY}, e.g. `Critical`. */
  Severity: string;
  Outcome?: string;
  ThreatDetected?: boolean;
  RuleIds?: string[];
  Families?: string[];
  PromptHash?: string;
  PromptLength?: number;
  DetectionCount?: number;
  ScanDurationMs?: number;
  CustomerId?: string;
  MsspId?: string;
  InstallationId?: string;
  AgentId?: string;
  UserEmail?: string;
  SourceIp?: string;
  Data?: Record<string, unknown>;
}

/** A Logs Ingestion record: the DCR stream gets `TimeGenerated` (ISO 8601) directly. */
export interface LogsIngestionRecord extends SentinelEventFields {
  TimeGenerated: string;
}

/** A Data Collector record: the event time travels as `EventTime` and becomes TimeGenerated via `time-generated-field`. */
export interface DataCollectorRecord extends SentinelEventFields {
  EventTime: string;
}

export type SentinelRecord = LogsIngestionRecord | DataCollectorRecord;

function eventFields(event: SecurityEvent): SentinelEventFields {
  const fields: SentinelEventFields = {
    EventId: event.id,
    EventType: event.type,
    EventName: event.name,
    Severity: SENTINEL_SEVERITY[event.severity] ?? event.severity,
    Outcome: event.outcome,
    ThreatDetected: event.threatDetected,
    RuleIds: event.ruleIds,
    Families: event.families,
    PromptHash: event.promptHash,
    PromptLength: event.promptLength,
    DetectionCount: event.detectionCount,
    ScanDurationMs: event.scanDurationMs,
    CustomerId: event.customerId,
    MsspId: event.msspId,
    InstallationId: event.installationId,
    AgentId: event.agentId,
    UserEmail: event.userEmail,
    SourceIp: event.sourceIp,
    Data: event.data,
  };
  return fields; // unset fields stay undefined: JSON.stringify leaves them out of the body
}

/**
 * Maps a canonical event to the Sentinel record of the given API. Absent optional fields are left out.
 *
 * @example
 * ```ts
 * toSentinelRecord(event, 'LOGS_INGESTION');
 * // { TimeGenerated: '2026-01-30T10:30:00.000Z', EventId: '5f0c…', EventType: 'scan', Severity: 'Critical', … }
 * ```
 */
export function toSentinelRecord(event: SecurityEvent, api: 'LOGS_INGESTION'): LogsIngestionRecord;
export function toSentinelRecord(event: SecurityEvent, api: 'DATA_COLLECTOR'): DataCollectorRecord;
export function toSentinelRecord(event: SecurityEvent, api: SentinelConfig['api']): SentinelRecord;
export function toSentinelRecord(event: SecurityEvent, api: SentinelConfig['api']): SentinelRecord {
  const time = event.time.toISOString();
  return api === 'DATA_COLLECTOR' ? { EventTime: time, ...eventFields(event) } : { TimeGenerated: time, ...eventFields(event) };
}

/** One request body: a JSON array of consecutive records. */
interface Chunk {
  body: Buffer;
  count: number;
}

/**
 * Packs records into JSON array bodies of at most `maxBytes` bytes each, keeping order. Returns the index of a record
 * that alone exceeds the limit instead, since it cannot be split.
 */
function packIntoBodies(records: readonly unknown[], maxBytes: number): { chunks: Chunk[] } | { oversized: number; bytes: number } {
  const OVERHEAD = 2; // "[" and "]"
  const SEPARATOR = 1; // ","
  const chunks: Chunk[] = [];
  let parts: string[] = [];
  let size = OVERHEAD;
  for (let i = 0; i < records.length; i++) {
    const json = JSON.stringify(records[i]);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes + OVERHEAD > maxBytes) return { oversized: i, bytes };
    const added = bytes + (parts.length > 0 ? SEPARATOR : 0);
    if (parts.length > 0 && size + added > maxBytes) {
      chunks.push({ body: Buffer.from(`[${parts.join(',')}]`, 'utf8'), count: parts.length });
      parts = [];
      size = OVERHEAD;
    }
    size += bytes + (parts.length > 0 ? SEPARATOR : 0);
    parts.push(json);
  }
  if (parts.length > 0) chunks.push({ body: Buffer.from(`[${parts.join(',')}]`, 'utf8'), count: parts.length });
  return { chunks };
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function joinCodeAndText(code: unknown, text: unknown): string | undefined {
  const c = typeof code === 'string' && code.trim() !== '' ? code.trim() : undefined;
  const t = typeof text === 'string' && text.trim() !== '' ? text.trim() : undefined;
  if (c && t) return `${c}: ${t}`;
  return c ?? t;
}

/**
 * Azure's own error text: `{"error":{"code","message"}}` (Logs Ingestion, ARM style), `{"Error","Message"}` (Data Collector),
 * else the `x-ms-error-code` header, else a plain-text body. HTML yields nothing.
 */
function describeAzureError(answer: HttpAnswer): string | undefined {
  const body = answer.body.trim();
  const headerCode = answer.headers['x-ms-error-code'];
  if (body !== '') {
    try {
      const parsed = asRecord(JSON.parse(body));
      if (parsed) {
        const nested = asRecord(parsed.error);
        const text = nested
          ? joinCodeAndText(nested.code, nested.message)
          : joinCodeAndText(parsed.Error ?? parsed.error, parsed.Message ?? parsed.message);
        if (text) return text;
      }
    } catch {
      if (!/^<(!doctype|html)/i.test(body)) return body;
    }
  }
  return headerCode;
}

/** Entra ID's OAuth error answer: `invalid_client: AADSTS7000215: Invalid client secret provided. …` (first line only). */
function describeTokenError(answer: HttpAnswer): string | undefined {
  try {
    const parsed = asRecord(JSON.parse(answer.body));
    if (parsed) {
      const description = typeof parsed.error_description === 'string' ? parsed.error_description.split(/\r?\n/)[0] : undefined;
      const codes = Array.isArray(parsed.error_codes) ? parsed.error_codes : [];
      const aadsts =
        description && ENTRA_ERROR_CODE.test(description)
          ? description
          : codes.length > 0
            ? `AADSTS${String(codes[0])}${description ? `: ${description}` : ''}`
            : description;
      const text = joinCodeAndText(parsed.error, aadsts);
      if (text) return text;
    }
  } catch {
    // not JSON
  }
  return describeAzureError(answer);
}


function validUrl(value: string, field: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SentinelConfigError(`${field} must be an absolute http or https URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SentinelConfigError(`${field} must be an http or https URL`);
  if (url.username || url.password) throw new SentinelConfigError(`${field} must not carry credentials`);
  return url;
}

function withoutTrailingSlash(url: URL): string {
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * Waits for `work`, but stops waiting (rejecting with an abort error) when `signal` aborts. The work itself goes on:
 * it is a token request other sends may share.
 */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(Object.assign(new Error('request aborted'), { code: 'SIEMGATE_HTTP_ABORTED' }));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** Outcome of one token lookup. */
type TokenOutcome =
  | { ok: true; token: string; cached: boolean; expiresInSeconds: number }
  | { ok: false; result: DeliveryResult };

/** Entra ID client-credentials tokens for one app registration, cached until shortly before expiry. */
class EntraTokenCache {
  private cached: { token: string; refreshAt: number; expiresAt: number } | undefined;
  private inflight: Promise<TokenOutcome> | undefined;

  constructor(
    private readonly http: HttpDestination,
    private readonly tokenUrl: string,
    private readonly form: string,
    private readonly redactList: () => (string | undefined)[],
  ) {}

  /** The current token, if any (for redaction). */
  get current(): string | undefined {
    return this.cached?.token;
  }

  /** Forgets the cached token (after the DCE refused it). */
  invalidate(): void {
    this.cached = undefined;
  }

  async get(signal?: AbortSignal): Promise<TokenOutcome> {
    const now = Date.now();
    if (this.cached && now < this.cached.refreshAt) {
      return { ok: true, token: this.cached.token, cached: true, expiresInSeconds: Math.round((this.cached.expiresAt - now) / MS_PER_SECOND) };
    }
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = undefined;
    });
    const started = performance.now();
    try {
      return await untilAborted(this.inflight, signal);
    } catch (err) {
      return { ok: false, result: this.failure(classifyError(err, performance.now() - started, 0)) };
    }
  }

  private failure(result: DeliveryResult): DeliveryResult {
    return { ...result, message: scrubSecrets(`Entra ID token request failed: ${result.message}`, this.redactList()) };
  }

  private async fetchToken(): Promise<TokenOutcome> {
    const started = performance.now();
    let answer: HttpAnswer;
    try {
      answer = await this.http.request({
        url: this.tokenUrl,
        headers: { 'Content-Type': FORM_CONTENT_TYPE, Accept: JSON_CONTENT_TYPE },
        body: this.form,
      });
    } catch (err) {
      return { ok: false, result: this.failure(classifyError(err, performance.now() - started, 0)) };
    }
    const classified = classifyAnswer(answer, 0, describeTokenError);
    if (!classified.ok) {
      const kind = TOKEN_AUTH_STATUSES.has(answer.status) ? 'auth' : classified.kind;
      return { ok: false, result: this.failure({ ...classified, kind }) };
    }
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = asRecord(JSON.parse(answer.body));
    } catch {
      parsed = undefined;
    }
    const token = parsed?.access_token;
    if (typeof token !== 'string' || token === '') {
      return {
        ok: false,
        result: this.failure({ ...classified, kind: 'server', ok: false, message: `HTTP ${answer.status}: answer has no access_token` }),
      };
    }
    const rawExpiry = Number(parsed?.expires_in);
    const lifetimeMs = (Number.isFinite(rawExpiry) && rawExpiry > 0 ? rawExpiry : LogsIngestionApi.FALLBACK_TOKEN_LIFETIME_S) * MS_PER_SECOND;
    const obtained = Date.now();
    // Refresh 5 minutes early, or halfway through very short lifetimes.
    const margin = Math.min(LogsIngestionApi.TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 2);
    this.cached = { token, expiresAt: obtained + lifetimeMs, refreshAt: obtained + lifetimeMs - margin };
    return { ok: true, token, cached: false, expiresInSeconds: Math.round(lifetimeMs / MS_PER_SECOND) };
  }
}

function oversizedResult(records: readonly SentinelEventFields[], index: number, bytes: number, limit: number, api: string, started: number): DeliveryResult {
  return {
    kind: 'rejected',
    ok: false,
    message: `event ${records[index]?.EventId ?? `#${index + 1}`} is ${bytes} bytes as JSON, over the ${limit}-byte limit of one ${api} request; it cannot be split`,
    latencyMs: Math.round(performance.now() - started),
    recordCount: records.length,
  };
}

/** Adds "after N of M records were accepted" to a failure that followed successful requests of the same batch. */
function partial(result: DeliveryResult, accepted: number, total: number, started: number): DeliveryResult {
  const note = accepted > 0 ? ` (after ${accepted} of ${total} records were accepted in earlier requests)` : '';
  return { ...result, message: `${result.message}${note}`, latencyMs: Math.round(performance.now() - started), recordCount: total };
}

function delivered(total: number, requests: number, status: number | undefined, started: number): DeliveryResult {
  return {
    kind: 'success',
    ok: true,
    ...(status !== undefined ? { status } : {}),
    message: `delivered ${total} record(s) in ${requests} request(s)${status !== undefined ? ` (HTTP ${status})` : ''}`,
    latencyMs: Math.round(performance.now() - started),
    recordCount: total,
  };
}

function createDataCollectorAdapter(config: SentinelDataCollectorConfig, options: AdapterOptions): SiemAdapter<DataCollectorRecord> {
  if (!/^[A-Za-z0-9-]{1,63}$/.test(config.workspaceId ?? '')) {
    throw new SentinelConfigError('workspaceId must be the workspace GUID (letters, digits and dashes)');
  }
  try {
    decodeSentinelSharedKey(config.sharedKey ?? '');
  } catch (err) {
    throw new SentinelConfigError(`sharedKey ${(err as Error).message.replace(/^Sentinel shared key: /, '')}`);
  }
  const logType = config.logType ?? 'ARXSecAudit';
  if (!DataCollectorApi.LOG_TYPE_PATTERN.test(logType)) {
    throw new SentinelConfigError('logType may contain only letters, digits and underscores (at most 100)');
  }
  const base = validUrl(config.endpoint ?? `https://${config.workspaceId}.${DataCollectorApi.HOST_SUFFIX}`, 'endpoint');
  const basePath = withoutTrailingSlash(base);
  const url = `${basePath.endsWith(DataCollectorApi.PATH) ? basePath : `${basePath}${DataCollectorApi.PATH}`}?api-version=${DataCollectorApi.API_VERSION}`;
  const http = new HttpDestination({ egress: options.egress, tls: config.tls, timeoutMs: resolveTimeoutMs(config.timeoutSeconds, options), secrets: [config.sharedKey] });
  const secrets = [config.sharedKey];

  const adapter: SiemAdapter<DataCollectorRecord> = {
    type: 'SENTINEL',
    transform: (event) => toSentinelRecord(event, 'DATA_COLLECTOR'),
    async send(records: DataCollectorRecord[], sendOptions?: SendOptions): Promise<DeliveryResult> {
      const started = performance.now();
      if (records.length === 0) return delivered(0, 0, undefined, started);
      const packed = packIntoBodies(records, DataCollectorApi.MAX_POST_BYTES);
      if ('oversized' in packed) {
        return oversizedResult(records, packed.oversized, packed.bytes, DataCollectorApi.MAX_POST_BYTES, 'Data Collector', started);
      }
      let accepted = 0;
      let lastStatus: number | undefined;
      for (const chunk of packed.chunks) {
        // The signature covers the exact Content-Length, so the Data Collector body is never gzip-encoded.
        const date = new Date().toUTCString();
        const authorization = buildSentinelSignature({
          workspaceId: config.workspaceId,
          sharedKey: config.sharedKey,
          date,
          contentLength: chunk.body.length,
        });
        let result: DeliveryResult;
        try {
          const answer = await http.request({
            url,
            headers: {
              'Content-Type': JSON_CONTENT_TYPE,
              'Log-Type': logType,
              [SentinelSignatureDefaults.DATE_HEADER]: date,
              'time-generated-field': DataCollectorApi.TIME_FIELD,
              Authorization: authorization,
            },
            body: chunk.body,
            signal: sendOptions?.signal,
          });
          result = classifyAnswer(answer, chunk.count, describeAzureError);
        } catch (err) {
          result = classifyError(err, performance.now() - started, chunk.count);
        }
        if (!result.ok) return partial({ ...result, message: scrubSecrets(result.message, secrets) }, accepted, records.length, started);
        accepted += chunk.count;
        lastStatus = result.status;
      }
      return delivered(records.length, packed.chunks.length, lastStatus, started);
    },
    test(): Promise<ConnectionTestResult> {
      return runConnectionTest(adapter);
    },
    close(): Promise<void> {
      return http.close();
    },
  };
  return adapter;
}

function createLogsIngestionAdapter(config: SentinelLogsIngestionConfig, options: AdapterOptions): SiemAdapter<LogsIngestionRecord> {
  for (const field of ['dcrImmutableId', 'streamName', 'tenantId', 'clientId'] as const) {
    if (!/^[A-Za-z0-9._-]+$/.test(config[field] ?? '')) throw new SentinelConfigError(`${field} must be a non-empty identifier`);
  }
  if (!config.clientSecret) throw new SentinelConfigError('clientSecret must not be empty');
  const dce = withoutTrailingSlash(validUrl(config.dceEndpoint, 'dceEndpoint'));
  const authority = withoutTrailingSlash(validUrl(config.authorityHost || LogsIngestionApi.DEFAULT_AUTHORITY_HOST, 'authorityHost'));
  const ingestUrl =
    `${dce}/dataCollectionRules/${encodeURIComponent(config.dcrImmutableId)}/streams/${encodeURIComponent(config.streamName)}` +
    `?api-version=${LogsIngestionApi.API_VERSION}`;
  const tokenUrl = `${authority}/${encodeURIComponent(config.tenantId)}/oauth2/v2.0/token`;
  const form = new URLSearchParams({
    grant_type: LogsIngestionApi.GRANT_TYPE,
    client_id: config.clientId,
    client_secret: config.clientSecret,
    scope: LogsIngestionApi.SCOPE,
  }).toString();

  const timeoutMs = resolveTimeoutMs(config.timeoutSeconds, options);
  // The DCE's answers are scrubbed of the client secret and of the bearer token current at the time.
  const http = new HttpDestination({ egress: options.egress, tls: config.tls, timeoutMs, secrets: () => secretList() });
  // Entra ID is a public endpoint: system roots and no client certificate, whatever the DCE's TLS settings are.
  const tokenHttp = new HttpDestination({ egress: options.egress, timeoutMs, secrets: [config.clientSecret] });
  // The secret as typed and as form-encoded on the wire, plus the current bearer token.
  const encodedSecret = new URLSearchParams({ s: config.clientSecret }).toString().slice('s='.length);
  const secretList = () => [config.clientSecret, encodedSecret, tokens.current];
  const tokens = new EntraTokenCache(tokenHttp, tokenUrl, form, secretList);

  const adapter: SiemAdapter<LogsIngestionRecord> = {
    type: 'SENTINEL',
    transform: (event) => toSentinelRecord(event, 'LOGS_INGESTION'),
    async send(records: LogsIngestionRecord[], sendOptions?: SendOptions): Promise<DeliveryResult> {
      const started = performance.now();
      if (records.length === 0) return delivered(0, 0, undefined, started);
      const packed = packIntoBodies(records, LogsIngestionApi.MAX_REQUEST_BYTES);
      if ('oversized' in packed) {
        return oversizedResult(records, packed.oversized, packed.bytes, LogsIngestionApi.MAX_REQUEST_BYTES, 'Logs Ingestion', started);
      }
      let accepted = 0;
      let lastStatus: number | undefined;
      let refreshedAfter401 = false;
      for (const chunk of packed.chunks) {
        let result: DeliveryResult;
        for (;;) {
          const token = await tokens.get(sendOptions?.signal);
          if (!token.ok) return partial({ ...token.result, recordCount: records.length }, accepted, records.length, started);
          try {
            const answer = await http.request({
              url: ingestUrl,
              headers: { Authorization: `Bearer ${token.token}`, 'Content-Type': JSON_CONTENT_TYPE },
              body: chunk.body,
              gzip: config.gzip ?? false,
              signal: sendOptions?.signal,
            });
            if (answer.status === HttpStatus.UNAUTHORIZED && !refreshedAfter401) {
              // The token may have been revoked or rotated early: fetch a fresh one, once per send.
              refreshedAfter401 = true;
              tokens.invalidate();
              continue;
            }
            result = classifyAnswer(answer, chunk.count, describeAzureError);
          } catch (err) {
            result = classifyError(err, performance.now() - started, chunk.count);
          }
          break;
        }
        if (!result.ok) return partial({ ...result, message: scrubSecrets(result.message, secretList()) }, accepted, records.length, started);
        accepted += chunk.count;
        lastStatus = result.status;
      }
      return delivered(records.length, packed.chunks.length, lastStatus, started);
    },
    async test(): Promise<ConnectionTestResult> {
      const started = performance.now();
      tokens.invalidate();
      const token = await tokens.get();
      if (!token.ok) {
        const step: TestStep = { name: 'token', ok: false, detail: token.result.message };
        return {
          success: false,
          message: `Connection test failed: ${token.result.message}`,
          ...(token.result.status !== undefined ? { httpStatus: token.result.status } : {}),
          latencyMs: Math.round(performance.now() - started),
          steps: [step],
        };
      }
      const tokenStep: TestStep = {
        name: 'token',
        ok: true,
        detail: `access token acquired from ${new URL(authority).host} (valid for ${token.expiresInSeconds} s)`,
      };
      const result = await runConnectionTest(adapter);
      return { ...result, latencyMs: Math.round(performance.now() - started), steps: [tokenStep, ...result.steps] };
    },
    async close(): Promise<void> {
      await Promise.all([http.close(), tokenHttp.close()]);
    },
  };
  return adapter;
}

/**
 * Creates the Microsoft Sentinel adapter for `config.api`:
 *
 * - `DATA_COLLECTOR`: POST `https://<workspaceId>.ods.opinsights.azure.com/api/logs?api-version=2016-04-01` (or
 *   `<endpoint>/api/logs`), headers `Log-Type`, `x-ms-date` (RFC 1123), `time-generated-field`, and
 *   `Authorization: SharedKey <workspaceId>:<signature>`; batches split below 30 MB per post; never gzip-encoded.
 * - `LOGS_INGESTION`: Entra ID client-credentials token (cached until 5 minutes before expiry, refreshed once when
 *   the DCE answers 401), then POST `{dceEndpoint}/dataCollectionRules/{dcrImmutableId}/streams/{streamName}?api-version=2023-01-01`
 *   with `Authorization: Bearer`; batches split so each body stays under 1 MB.
 *
 * A batch split into several requests is sent in order; a failure stops it and says how many records were already
 * accepted (a retry of the whole batch duplicates those; `EventId` lets Sentinel queries deduplicate). A single record
 * over the limit rejects the batch before anything is sent. Throws {@link SentinelConfigError} for unusable settings.
 *
 * @example
 * ```ts
 * const sentinel = createSentinelAdapter(
 *   { type: 'SENTINEL', api: 'DATA_COLLECTOR', workspaceId, sharedKey, logType: 'ARXSecAudit' },
 *   { egress: EgressPolicy.fromEnv(process.env) },
 * );
 * const result = await sentinel.send(events.map((e) => sentinel.transform(e)));
 * await sentinel.close();
 * ```
 */
export function createSentinelAdapter(config: SentinelConfig, options: AdapterOptions): SiemAdapter<SentinelRecord> {
  if (config.api === 'LOGS_INGESTION') return createLogsIngestionAdapter(config, options) as SiemAdapter<SentinelRecord>;
  if (config.api === 'DATA_COLLECTOR') return createDataCollectorAdapter(config, options) as SiemAdapter<SentinelRecord>;
  throw new SentinelConfigError(`api must be DATA_COLLECTOR or LOGS_INGESTION`);
}
