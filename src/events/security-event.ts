import { randomUUID } from 'node:crypto';

/**
 * Severity of a security event, from the product documentation's CEF mapping:
 * NONE → CEF 0 / syslog 6, LOW → 3 / 5, MEDIUM → 5 / 4, HIGH → 7 / 3, CRITICAL → 10 / 2.
 */
export const Severity = {
  NONE: 'NONE',
  LOW: 'LOW',
  MEDIUM: 'MEDIUM',
  HIGH: 'HIGH',
  CRITICAL: 'CRITICAL',
} as const;
export type Severity = (typeof Severity)[keyof typeof Severity];

/** Severities from least to most severe; index order is used for `minSeverity` filters. */
export const SEVERITY_ORDER: readonly Severity[] = ['NONE', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

/**
 * The canonical security event: the one shape every destination adapter maps from.
 *
 * `id` is the idempotency key. It travels to every destination (as `externalId` in CEF,
 * inside the record everywhere else) so that SIEM-side deduplication is possible.
 */
export interface SecurityEvent {
  /** UUID; the idempotency key. */
  id: string;
  /** When the event happened. */
  time: Date;
  /** Machine type, e.g. `scan`, `agent.deployed`, `siem.integration.created`. */
  type: string;
  /** Human-readable name, e.g. `Prompt Injection Detected`. */
  name: string;
  severity: Severity;
  /** e.g. `success`, `failure`, `blocked`. */
  outcome?: string;
  customerId?: string;
  msspId?: string;
  installationId?: string;
  agentId?: string;
  userEmail?: string;
  sourceIp?: string;
  threatDetected?: boolean;
  ruleIds?: string[];
  families?: string[];
  promptHash?: string;
  promptLength?: number;
  detectionCount?: number;
  scanDurationMs?: number;
  /** Free-form JSON object with anything else the producer wants to carry. */
  data?: Record<string, unknown>;
}

/**
 * Builds the clearly marked event that a connection test sends.
 *
 * @example
 * ```ts
 * const event = createTestEvent();
 * await adapter.send([adapter.transform(event)]);
 * ```
 */
export function createTestEvent(now: Date = new Date()): SecurityEvent {
  return {
    id: randomUUID(),
    time: now,
    type: 'siemgate.test',
    name: 'siemgate connection test',
    severity: 'NONE',
    outcome: 'success',
    threatDetected: false,
    data: { test: true, message: 'Test event from siemgate. Safe to ignore.' },
  };
}
