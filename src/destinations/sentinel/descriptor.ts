import { z } from 'zod';
import {
  base64KeyRule, dcrImmutableIdRule, guidRule, logTypeRule, secretRule, streamNameRule, tenantIdRule, urlRule,
} from '../shared/config-rules.js';
import { defineDestination, HTTP_FIELDS, type Fields, type HttpOptions, type ParsedFields } from '../shared/descriptor.js';

const FIELDS = {
  api: {
    type: {
      enum: 'SentinelApi', values: ['DATA_COLLECTOR', 'LOGS_INGESTION'],
      descriptions: {
        DATA_COLLECTOR: 'HTTP Data Collector API (shared key). Out of support since 14 September 2026: prefer LOGS_INGESTION.',
        LOGS_INGESTION: 'Logs Ingestion API (DCE + DCR, Entra ID client credentials).',
      },
    },
    derived: true, alwaysSet: true,
  },
  workspaceId: { type: 'String', rule: guidRule, description: 'Data Collector API: Log Analytics workspace id.' },
  sharedKey: { type: 'String', secret: true, rule: base64KeyRule, description: 'Data Collector API: workspace shared key (base64). Write-only.' },
  logType: { type: 'String', rule: logTypeRule, description: 'Data Collector API: custom log type (default ARXSecAudit; shows as ARXSecAudit_CL).' },
  endpoint: { type: 'String', rule: urlRule, description: 'Data Collector API: overrides https://<workspaceId>.ods.opinsights.azure.com.' },
  dceEndpoint: { type: 'String', rule: urlRule, description: 'Logs Ingestion API: data collection endpoint URL.' },
  dcrImmutableId: { type: 'String', rule: dcrImmutableIdRule, description: 'Logs Ingestion API: data collection rule immutable id (dcr-…).' },
  streamName: { type: 'String', rule: streamNameRule, description: 'Logs Ingestion API: stream, e.g. Custom-SiemGate_CL.' },
  tenantId: { type: 'String', rule: tenantIdRule, description: 'Logs Ingestion API: Entra ID tenant.' },
  clientId: { type: 'String', rule: guidRule, description: 'Logs Ingestion API: application (client) id.' },
  clientSecret: { type: 'String', secret: true, rule: secretRule, description: 'Logs Ingestion API: client secret. Write-only.' },
  authorityHost: { type: 'String', rule: urlRule, description: 'Logs Ingestion API: token authority (default https://login.microsoftonline.com).' },
  ...HTTP_FIELDS,
} as const satisfies Fields;

/** Sentinel through the (legacy) HTTP Data Collector API, signed with the workspace shared key. */
export interface SentinelDataCollectorConfig extends HttpOptions {
  type: 'SENTINEL';
  api: 'DATA_COLLECTOR';
  workspaceId: string;
  /** Base64 workspace shared key (secret). */
  sharedKey: string;
  /** Custom log type; shows as `<logType>_CL`. @default "ARXSecAudit" */
  logType: string;
  /** Overrides `https://<workspaceId>.ods.opinsights.azure.com`. */
  endpoint?: string;
}

/** Sentinel through the Logs Ingestion API (DCE + DCR), authenticated with Entra ID client credentials. */
export interface SentinelLogsIngestionConfig extends HttpOptions {
  type: 'SENTINEL';
  api: 'LOGS_INGESTION';
  /** Data collection endpoint, e.g. `https://my-dce.eastus-1.ingest.monitor.azure.com`. */
  dceEndpoint: string;
  dcrImmutableId: string;
  /** e.g. `Custom-SiemGate_CL`. */
  streamName: string;
  tenantId: string;
  clientId: string;
  /** Entra ID application secret (secret). */
  clientSecret: string;
  /** @default "https://login.microsoftonline.com" */
  authorityHost: string;
}

/**
 * Sentinel's config is two shapes told apart by `api`. The field table is flat (as admins type it); `finish`
 * picks the API from the fields given, so this union is written out: TypeScript cannot derive it from the table.
 */
export type SentinelConfig = SentinelDataCollectorConfig | SentinelLogsIngestionConfig;

const DATA_COLLECTOR_FIELDS = ['workspaceId', 'sharedKey'] as const;
const LOGS_INGESTION_FIELDS = ['dceEndpoint', 'dcrImmutableId', 'streamName', 'tenantId', 'clientId', 'clientSecret'] as const;
const DATA_COLLECTOR_ONLY = ['workspaceId', 'sharedKey', 'logType', 'endpoint'] as const;
const LOGS_INGESTION_ONLY = [...LOGS_INGESTION_FIELDS, 'authorityHost'] as const;

/**
 * Told apart by which fields are present: workspaceId/sharedKey → HTTP Data Collector API;
 * dceEndpoint/dcrImmutableId/... → Logs Ingestion API.
 */
function finish(v: ParsedFields<typeof FIELDS>, ctx: z.RefinementCtx): SentinelConfig {
  const hasDc = DATA_COLLECTOR_FIELDS.some((f) => v[f] !== undefined) || v.logType !== undefined || v.endpoint !== undefined;
  const hasLi = LOGS_INGESTION_FIELDS.some((f) => v[f] !== undefined) || v.authorityHost !== undefined;
  const api = v.api ?? (hasLi && !hasDc ? 'LOGS_INGESTION' : 'DATA_COLLECTOR');
  const required = api === 'DATA_COLLECTOR' ? DATA_COLLECTOR_FIELDS : LOGS_INGESTION_FIELDS;
  const other = api === 'DATA_COLLECTOR' ? LOGS_INGESTION_ONLY : DATA_COLLECTOR_ONLY;
  const missing = required.filter((f) => v[f] === undefined);
  const apiName = api === 'DATA_COLLECTOR' ? 'the HTTP Data Collector API' : 'the Logs Ingestion API';
  for (const f of missing) ctx.addIssue({ code: 'custom', path: [f], message: `is required for ${apiName} (missing: ${missing.join(', ')})` });
  for (const f of other) {
    if (v[f] !== undefined) {
      ctx.addIssue({ code: 'custom', path: [f], message: `belongs to the other Sentinel API; give either workspaceId/sharedKey (Data Collector) or dceEndpoint/dcrImmutableId/streamName/tenantId/clientId/clientSecret (Logs Ingestion)` });
    }
  }
  if (missing.length > 0) return z.NEVER;
  const common = { tls: v.tls, timeoutSeconds: v.timeoutSeconds, gzip: v.gzip };
  if (api === 'DATA_COLLECTOR') {
    return { type: 'SENTINEL' as const, api, workspaceId: v.workspaceId!, sharedKey: v.sharedKey!, logType: v.logType ?? 'ARXSecAudit', endpoint: v.endpoint, ...common };
  }
  return {
    type: 'SENTINEL' as const, api, dceEndpoint: v.dceEndpoint!, dcrImmutableId: v.dcrImmutableId!, streamName: v.streamName!,
    tenantId: v.tenantId!, clientId: v.clientId!, clientSecret: v.clientSecret!, authorityHost: v.authorityHost ?? 'https://login.microsoftonline.com', ...common,
  };
}

/** Switching API by giving the other API's fields drops the stored fields of the old API. */
function merge(stored: SentinelConfig, patch: Readonly<Record<string, unknown>>, merged: Record<string, unknown>): void {
  const toLi = LOGS_INGESTION_FIELDS.some((f) => patch[f] !== undefined);
  const toDc = DATA_COLLECTOR_FIELDS.some((f) => patch[f] !== undefined);
  if (stored.api === 'DATA_COLLECTOR' && toLi && !toDc) {
    for (const f of DATA_COLLECTOR_ONLY) delete merged[f];
    delete merged.api;
  } else if (stored.api === 'LOGS_INGESTION' && toDc && !toLi) {
    for (const f of LOGS_INGESTION_ONLY) delete merged[f];
    delete merged.api;
  }
}

export const sentinel = defineDestination<'SENTINEL', typeof FIELDS, SentinelConfig>({
  type: 'SENTINEL',
  typeName: 'Sentinel',
  description: 'Microsoft Sentinel: HTTP Data Collector API or Logs Ingestion API.',
  configDescription: 'Microsoft Sentinel (Log Analytics).',
  fields: FIELDS,
  finish,
  merge,
});
