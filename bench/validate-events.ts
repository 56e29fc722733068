/**
 * Micro-benchmark of event validation, the CPU-bound step of every ingest request: 100k events of ≈ 320 bytes
 * in batches of 1,000 (parsed from JSON, as the endpoint sees them), validated by the zod path alone and by the
 * hand-written fast path (what `parseSecurityEventBatch` runs). Two shapes: canonical names, and the same events
 * sent with snake_case aliases and one unknown top-level field each (`--aliases`). Prints µs per event for each
 * path, wall-clock and CPU, medians of 7 rounds (after one warm-up round), and the speed-up.
 *
 * @example
 * ```sh
 * node --import tsx bench/validate-events.ts --aliases
 * ```
 */
import { randomUUID } from 'node:crypto';
import { validateEventBatch } from '../src/events/event-schema.js';

const COUNT = 100_000;
const BATCH = 1_000;
const ROUNDS = 7;

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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * µs per event of one path over all batches, wall-clock and CPU (this process's user + system time, the steadier
 * figure on a shared machine): medians of {@link ROUNDS} rounds, after a warm-up round.
 */
function time(batches: unknown[][], fastPath: boolean): { wall: number; cpu: number } {
  const now = new Date();
  const run = () => {
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (const batch of batches) validateEventBatch(batch, now, { fastPath, newId: randomUUID });
    const used = process.cpuUsage(cpu);
    return { wall: Number(process.hrtime.bigint() - started) / 1e3 / COUNT, cpu: (used.user + used.system) / COUNT };
  };
  run();
  const rounds = Array.from({ length: ROUNDS }, run);
  return { wall: median(rounds.map((r) => r.wall)), cpu: median(rounds.map((r) => r.cpu)) };
}

function measure(label: string, make: (i: number) => Record<string, unknown>): void {
  const batches: unknown[][] = [];
  let bytes = 0;
  for (let b = 0; b < COUNT / BATCH; b++) {
    const text = JSON.stringify(Array.from({ length: BATCH }, (_, i) => make(b * BATCH + i)));
    bytes += text.length;
    batches.push(JSON.parse(text) as unknown[]);
  }
  const zod = time(batches, false);
  const fast = time(batches, true);
  const figure = (t: { wall: number; cpu: number }) => `${t.wall.toFixed(2)} µs/event (CPU ${t.cpu.toFixed(2)})`;
  console.log(`${label} (${Math.round(bytes / COUNT)} B/event, medians of ${ROUNDS} × ${COUNT} events):`);
  console.log(`  zod path  ${figure(zod)}`);
  console.log(`  fast path ${figure(fast)}  ${(zod.cpu / fast.cpu).toFixed(1)}× less CPU; target ≤ 3 µs/event`);
}

measure('canonical names', canonical);
if (process.argv.includes('--aliases')) measure('snake_case aliases + 1 unknown field', snake);
