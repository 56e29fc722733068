/**
 * Micro-benchmark of event validation (`parseSecurityEvents`), the CPU-bound step of every ingest request:
 * 100k events of ≈ 320 bytes in batches of 1,000, canonical names only, then the same events sent with
 * snake_case aliases and one unknown top-level field each. Prints µs per event (best of 5 rounds).
 *
 * @example
 * ```sh
 * node --import tsx bench/validate-events.ts
 * ```
 */
import { randomUUID } from 'node:crypto';
import { parseSecurityEvents } from '../src/events/event-schema.js';

const COUNT = 100_000;
const BATCH = 1_000;

function canonical(i: number): Record<string, unknown> {
  return {
    id: randomUUID(),
    time: new Date(Date.UTC(2026, 0, 30, 10) + i).toISOString(),
    type: 'scan',
    name: 'Prompt Injection Detected',
    severity: 'HIGH',
    customerId: 'cust_acme',
    agentId: `agent-${i % 1013}`,
    sourceIp: `10.0.${(i >> 8) & 255}.${i & 255}`,
    threatDetected: true,
    ruleIds: ['pi-001', 'pi-003'],
    promptHash: 'sha256:abc123',
    promptLength: 100 + (i % 900),
    data: { model: 'gpt-4o' },
  };
}

/** The same event as the product documentation's producers send it: snake_case names, one extra field. */
function snake(i: number): Record<string, unknown> {
  const { type, time, customerId, agentId, sourceIp, threatDetected, ruleIds, promptHash, promptLength, ...rest } = canonical(i);
  return {
    ...rest, event_type: type, timestamp: time, customer_id: customerId, agent_id: agentId, source_ip: sourceIp, threat_detected: threatDetected,
    rule_ids: ruleIds, prompt_hash: promptHash, prompt_length: promptLength, host: 'raxe-agent-01',
  };
}

function measure(label: string, make: (i: number) => Record<string, unknown>): void {
  // Parsed from JSON, as the endpoint sees them.
  const batches: unknown[][] = [];
  let bytes = 0;
  for (let b = 0; b < COUNT / BATCH; b++) {
    const text = JSON.stringify(Array.from({ length: BATCH }, (_, i) => make(b * BATCH + i)));
    bytes += text.length;
    batches.push(JSON.parse(text) as unknown[]);
  }
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const started = process.hrtime.bigint();
    for (const batch of batches) parseSecurityEvents(batch);
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e3 / COUNT);
  }
  console.log(`${label}: ${best.toFixed(2)} µs/event (${Math.round(bytes / COUNT)} B/event, best of 5 × ${COUNT} events)`);
}

measure('canonical names', canonical);
if (process.argv.includes('--aliases')) measure('snake_case aliases + 1 unknown field', snake);
