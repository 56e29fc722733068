import { randomUUID } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { resolveTimeoutMs } from '../../net/timeouts.js';
import { DEFAULT_SOURCETYPE, hecAckUrl, hecEnvelope, sendHecBatch, type SplunkHecEvent } from '../shared/hec.js';
import { classifyError, HttpDestination, runConnectionTest } from '../shared/http-destination.js';
import type { AdapterOptions, ConnectionTestResult, DeliveryResult, SendOptions, SiemAdapter, SplunkConfig } from '../types.js';

/**
 * Splunk HTTP Event Collector adapter.
 *
 * - POST to `config.endpoint` (e.g. `https://splunk:8088/services/collector/event`) with `Authorization: Splunk <token>`.
 * - Body: HEC envelopes `{time, host, source, sourcetype, index, event}` one after another; `index`/`source` omitted when unset.
 * - HEC's JSON answer is classified by its `code` (see {@link HecCode}).
 * - `gzip`: `Content-Encoding: gzip`.
 * - `indexerAck`: sends `X-Splunk-Request-Channel: <uuid per adapter>`, then polls `<base>/services/collector/ack`
 *   with the returned `ackId`s; the batch counts as delivered only once all are acknowledged. Not acknowledged within
 *   the timeout → `timeout`, so the engine retries (events carry `id` for deduplication).
 *
 * @example
 * ```ts
 * const splunk = createSplunkAdapter(
 *   { type: 'SPLUNK', endpoint: 'https://splunk:8088/services/collector/event', token, sourcetype: '_json', index: 'security' },
 *   { egress: EgressPolicy.fromEnv(process.env) },
 * );
 * const result = await splunk.send(events.map((e) => splunk.transform(e)));
 * await splunk.close();
 * ```
 */
export function createSplunkAdapter(config: SplunkConfig, options: AdapterOptions): SiemAdapter<SplunkHecEvent | string> {
  const timeoutMs = resolveTimeoutMs(config.timeoutSeconds, options);
  const http = new HttpDestination({ egress: options.egress, tls: config.tls, timeoutMs, secrets: [config.token] });
  const host = config.host || options.hostname || osHostname();
  const sourcetype = config.sourcetype || DEFAULT_SOURCETYPE;
  const channel = config.indexerAck ? randomUUID() : undefined;
  let ackUrl: string | undefined;

  const hec = hecEnvelope({ host, source: config.source, sourcetype, index: config.index });
  const adapter: SiemAdapter<SplunkHecEvent | string> = {
    type: 'SPLUNK',
    fromStored: hec.fromStored,
    transform: hec.transform,
    async send(records: (SplunkHecEvent | string)[], sendOptions?: SendOptions): Promise<DeliveryResult> {
      if (config.indexerAck && ackUrl === undefined) {
        try {
          ackUrl = hecAckUrl(config.endpoint);
        } catch (err) {
          return classifyError(err, 0, records.length);
        }
      }
      return sendHecBatch(records, {
        http,
        url: config.endpoint,
        authorization: `Splunk ${config.token}`,
        gzip: config.gzip ?? false,
        timeoutMs,
        channel,
        ackUrl,
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
