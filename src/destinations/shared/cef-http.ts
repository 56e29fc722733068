import type { SecurityEvent } from '../../events/security-event.js';
import { CEF_DEFAULT_PRODUCT, CEF_DEFAULT_VENDOR, formatCef, type CefHeader } from './cef-format.js';
import { classifyAnswer, classifyError, HttpDestination, runConnectionTest } from './http-destination.js';
import { VERSION } from '../../version.js';
import type { AdapterOptions, ConnectionTestResult, DeliveryResult, SendOptions, SiemAdapter, TlsOptions } from '../types.js';

/** siemgate's own version (package.json, read once): the CEF Device Version of the generic CEF and ArcSight adapters. */
export const CEF_DEVICE_VERSION: string = VERSION;

/**
 * The CEF header of the generic CEF and ArcSight adapters: the configured vendor and product (defaults RAXE /
 * ThreatDetection) and siemgate's version.
 *
 * @example
 * ```ts
 * cefHeaderOf({ deviceProduct: 'Gateway' }); // { deviceVendor: 'RAXE', deviceProduct: 'Gateway', deviceVersion: '0.1.0' }
 * ```
 */
export function cefHeaderOf(config: { deviceVendor?: string; deviceProduct?: string }): CefHeader {
  return {
    deviceVendor: config.deviceVendor ?? CEF_DEFAULT_VENDOR,
    deviceProduct: config.deviceProduct ?? CEF_DEFAULT_PRODUCT,
    deviceVersion: CEF_DEVICE_VERSION,
  };
}

/** `Content-Type` of CEF bodies posted over HTTP. */
export const CEF_CONTENT_TYPE = 'text/plain; charset=utf-8';

/**
 * The HTTP body of a CEF batch: every record followed by one LF (`line\nline\n`), UTF-8. CEF lines never contain
 * a raw line end (see `formatCef`), so every line is exactly one event.
 *
 * @example
 * ```ts
 * cefHttpBody(['CEF:0|a|b|1|x|y|0|', 'CEF:0|a|b|1|x|y|0|']); // "CEF:0|a|b|1|x|y|0|\nCEF:0|a|b|1|x|y|0|\n"
 * ```
 */
export function cefHttpBody(records: readonly string[]): string {
  return records.map((line) => `${line}\n`).join('');
}

/** What {@link postCefLines} needs to post one batch. */
export interface CefPostSpec {
  http: HttpDestination;
  url: string;
  /** Extra headers, e.g. `Authorization` and `X-SmartConnector-Id`. `Content-Type` is set here. */
  headers: Record<string, string>;
  /** Gzip the body (`Content-Encoding: gzip`). */
  gzip: boolean;
  signal?: AbortSignal;
}

/**
 * POSTs CEF lines as one `text/plain` body ({@link cefHttpBody}) and classifies the answer (2xx success, 401/403 auth,
 * 429/503+Retry-After throttled, 5xx server, other 4xx rejected) or the error. Never throws.
 *
 * @example
 * ```ts
 * const result = await postCefLines(lines, { http, url, headers: { authorization: `Bearer ${token}` }, gzip: false });
 * ```
 */
export async function postCefLines(records: readonly string[], spec: CefPostSpec): Promise<DeliveryResult> {
  const started = performance.now();
  if (records.length === 0) return { kind: 'success', ok: true, message: 'nothing to send', latencyMs: 0, recordCount: 0 };
  try {
    const answer = await spec.http.request({
      url: spec.url,
      method: 'POST',
      headers: { ...spec.headers, 'content-type': CEF_CONTENT_TYPE },
      body: cefHttpBody(records),
      gzip: spec.gzip,
      ...(spec.signal ? { signal: spec.signal } : {}),
    });
    return classifyAnswer(answer, records.length);
  } catch (err) {
    return classifyError(err, performance.now() - started, records.length);
  }
}


/** What {@link createCefHttpAdapter} needs. */
export interface CefHttpAdapterOptions {
  endpoint: string;
  /** Request headers, e.g. `authorization`. */
  headers: Record<string, string>;
  tls?: TlsOptions;
  gzip: boolean;
  timeoutMs: number;
  header: CefHeader;
  /** Reported as `dvchost`. */
  hostname: string;
  egress: AdapterOptions['egress'];
  /** Credentials in `headers`, scrubbed from answers. */
  secrets: readonly (string | undefined)[];
}

/**
 * CEF lines over HTTP(S): one POST per batch, each line ended by LF, answers classified like every HTTP
 * destination. Shared by generic CEF (transport HTTP) and ArcSight.
 *
 * @example
 * ```ts
 * const adapter = createCefHttpAdapter('CEF', { endpoint, headers: { authorization: `Bearer ${token}` }, gzip: false,
 *   timeoutMs: 30_000, header, hostname: 'gw-1', egress });
 * ```
 */
export function createCefHttpAdapter(type: 'CEF' | 'ARCSIGHT', options: CefHttpAdapterOptions): SiemAdapter<string> {
  const http = new HttpDestination({ egress: options.egress, ...(options.tls ? { tls: options.tls } : {}), timeoutMs: options.timeoutMs, secrets: options.secrets });
  const adapter: SiemAdapter<string> = {
    type,
    transform(event: SecurityEvent): string {
      return formatCef(event, options.header, { deviceHostName: options.hostname });
    },
    send(records: string[], sendOptions?: SendOptions): Promise<DeliveryResult> {
      return postCefLines(records, {
        http,
        url: options.endpoint,
        headers: options.headers,
        gzip: options.gzip,
        ...(sendOptions?.signal ? { signal: sendOptions.signal } : {}),
      });
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
