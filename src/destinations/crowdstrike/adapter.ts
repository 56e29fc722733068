import { hostname as osHostname } from 'node:os';
import { HttpDestination, runConnectionTest } from '../shared/http-destination.js';
import { resolveTimeoutMs } from '../../net/timeouts.js';
import { hecEnvelope, sendHecBatch } from '../shared/hec.js';
import type {
  AdapterOptions,
  ConnectionTestResult,
  CrowdStrikeConfig,
  DeliveryResult,
  SendOptions,
  SiemAdapter,
} from '../types.js';

/** `source` reported on every event (LogScale stores it as the `@source` metadata field). */
export const LOGSCALE_SOURCE = 'siemgate';

/**
 * One LogScale HEC envelope. LogScale's HEC API ("Ingesting with HTTP Event Collector (HEC)", library.humio.com)
 * takes whitespace-delimited JSON objects with these members:
 * - `time`: epoch seconds, integer or float for milliseconds → `@timestamp`.
 * - `index`: the repository → `#repo` tag. On public (cloud) LogScale it must, if present, equal the repository the
 *   ingest token belongs to; only private clusters can be configured to allow a different one.
 * - `sourcetype`: → `#type` tag; when set it chooses the LogScale parser that extracts fields. A parser in the
 *   repository is named directly (`raxe`), one from an installed package as `scope/package:parser`.
 * - `source` → `@source`, `host` → `@host`, `event`: the payload.
 */
export interface LogScaleHecEvent {
  time: number;
  host: string;
  source: string;
  /** The parser name (`config.parser`), omitted when unset so the token's assigned parser applies. */
  sourcetype?: string;
  /** The repository (`config.repository`), omitted when unset so the token's repository applies. */
  index?: string;
  /** The canonical event in snake_case, including `id`. */
  event: Record<string, unknown>;
}

/**
 * CrowdStrike Falcon LogScale (Humio) adapter through its HEC-compatible ingest endpoint.
 *
 * - POST to `config.endpoint` (e.g. `https://cloud.community.humio.com/api/v1/ingest/hec`) with
 *   `Authorization: Bearer <ingest token>`.
 * - `repository` is sent as HEC `index` (LogScale: `#repo`, must match the token's repository on cloud LogScale),
 *   `parser` as HEC `sourcetype` (LogScale: `#type`, selects the parser). Both are omitted when unset, which leaves
 *   the choice to the ingest token (the LogScale-recommended setup: assign the parser to the token).
 * - LogScale answers in HEC style (`{"text":"Success","code":0}`); answers are classified like Splunk's.
 * - No indexer acknowledgement: LogScale's HEC API does not offer the ack endpoint.
 *
 * @example
 * ```ts
 * const logscale = createCrowdStrikeAdapter(
 *   { type: 'CROWDSTRIKE', endpoint: 'https://cloud.community.humio.com/api/v1/ingest/hec', token, repository: 'security', parser: 'raxe' },
 *   { egress },
 * );
 * const result = await logscale.send(events.map((e) => logscale.transform(e)));
 * ```
 */
export function createCrowdStrikeAdapter(config: CrowdStrikeConfig, options: AdapterOptions): SiemAdapter<LogScaleHecEvent | string> {
  const timeoutMs = resolveTimeoutMs(config.timeoutSeconds, options);
  const http = new HttpDestination({ egress: options.egress, tls: config.tls, timeoutMs, secrets: [config.token] });
  const host = options.hostname || osHostname();

  // The parser as HEC `sourcetype`, the repository as `index`; omitted when unset, so the token's own apply.
  const hec = hecEnvelope({ host, source: LOGSCALE_SOURCE, sourcetype: config.parser, index: config.repository });
  const adapter: SiemAdapter<LogScaleHecEvent | string> = {
    type: 'CROWDSTRIKE',
    fromStored: hec.fromStored,
    transform: (event) => hec.transform(event) as LogScaleHecEvent,
    send(records: (LogScaleHecEvent | string)[], sendOptions?: SendOptions): Promise<DeliveryResult> {
      return sendHecBatch(records, {
        http,
        url: config.endpoint,
        authorization: `Bearer ${config.token}`,
        gzip: config.gzip ?? false,
        timeoutMs,
        signal: sendOptions?.signal,
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
