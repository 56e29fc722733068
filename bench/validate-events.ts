/**
 * Micro-benchmark of event validation, the CPU-bound step of every ingest request: 100k events of ≈ 320 bytes
 * in batches of 1,000 (parsed from JSON, as the endpoint sees them), validated by the zod path alone and by the
 * hand-written fast path (what `parseSecurityEventBatch` runs). Two shapes: canonical names, and the same events
 * sent with snake_case aliases and one unknown top-level field each (`--aliases`). Prints µs per event for each
 * path, wall-clock and CPU, medians of 7 rounds (after one warm-up round), and the speed-up.
 *
 * `--ingest`: where one `POST /v1/events` of 500 such events spends its time, per event, for a JSON array, NDJSON
 * and a gzip JSON array: the endpoint's own stages run in process (readBody over a stream, strict UTF-8 decoding,
 * parsing, validation), then whole requests to the real gateway on loopback (fresh SQLite, `synchronous=FULL`);
 * "other" is the rest of the request (HTTP, authentication, admission, the store's commit, the answer).
 * Run it under `node --cpu-prof` for the functions behind each figure.
 *
 * @example
 * ```sh
 * node --import tsx bench/validate-events.ts --aliases
 * node --import tsx bench/validate-events.ts --ingest
 * ```
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { integerLiteralsOf, parseSecurityEventBatch, validateEventBatch } from '../src/events/event-schema.js';
import { decodeUtf8Strict } from '../src/events/utf8.js';
import { startGateway } from '../src/gateway.js';
import { readBody, type ContentCoding } from '../src/http/read-body.js';
import { INGEST_PATH } from '../src/http/ingest-endpoint.js';
import { createLogger } from '../src/logger.js';
import { EgressPolicy } from '../src/net/egress-policy.js';
import { loadSettings } from '../src/settings.js';

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

/** The endpoint's body parsing (ingest-endpoint.ts `parseBody`, module-private there): a JSON array, or NDJSON. */
function parseBody(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as unknown[];
  return trimmed
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as unknown);
}

const INGEST_EVENTS = 500;
const INGEST_ROUNDS = 200;

interface IngestBody {
  label: string;
  body: Buffer;
  contentType: string;
  coding: ContentCoding;
}

/** One body of each kind, with fresh event ids in every round's body (a re-sent id would be a cheap duplicate). */
function ingestBodies(round: number): IngestBody[] {
  const events = Array.from({ length: INGEST_EVENTS }, (_, i) => canonical(round * INGEST_EVENTS + i));
  const array = Buffer.from(JSON.stringify(events));
  return [
    { label: 'JSON array', body: array, contentType: 'application/json', coding: 'identity' },
    { label: 'NDJSON', body: Buffer.from(events.map((e) => JSON.stringify(e)).join('\n')), contentType: 'application/x-ndjson', coding: 'identity' },
    { label: 'gzip JSON array', body: gzipSync(array), contentType: 'application/json', coding: 'gzip' },
  ];
}

/** One body through the endpoint's stages in process: µs per event of each (medians over the rounds). */
async function ingestStages({ body, coding }: IngestBody): Promise<Record<string, number>> {
  const stages: Record<string, number[]> = { read: [], decode: [], parse: [], validate: [], 'validate (zod path)': [] };
  const now = new Date();
  for (let round = 0; round < INGEST_ROUNDS; round++) {
    const req = Object.assign(Readable.from([body], { objectMode: false }), { headers: { 'content-length': String(body.length) }, complete: true }) as unknown as IncomingMessage;
    let t = process.hrtime.bigint();
    const lap = (stage: string) => {
      const next = process.hrtime.bigint();
      stages[stage]!.push(Number(next - t) / 1e3 / INGEST_EVENTS);
      t = next;
    };
    const bytes = await readBody(req, 16 * 1024 * 1024, { coding });
    lap('read');
    const text = decodeUtf8Strict(bytes);
    lap('decode');
    const raw = parseBody(text);
    lap('parse');
    parseSecurityEventBatch(raw, now, { integerLiteral: integerLiteralsOf(text) });
    lap('validate');
    validateEventBatch(raw, now, { fastPath: false, newId: randomUUID, integerLiteral: integerLiteralsOf(text) });
    lap('validate (zod path)');
  }
  return Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, median(v)]));
}

/**
 * Whole requests to the real gateway (each round's body with new ids): µs per event, wall-clock and CPU (the
 * process's; the fetch client runs in it too), medians over the rounds.
 */
async function ingestRequests(rounds: IngestBody[][]): Promise<Record<string, { wall: number; cpu: number }>> {
  const dir = mkdtempSync(join(tmpdir(), 'siemgate-validate-bench-'));
  const token = 'sg_bench_admin_token_0123456789abcdef';
  const settings = loadSettings({
    PORT: '0', HOST: '127.0.0.1', SIEMGATE_DB: join(dir, 'siemgate.db'), SIEMGATE_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
    SIEMGATE_BOOTSTRAP_TOKEN: token, SIEMGATE_LOG_LEVEL: 'silent',
  });
  const gateway = await startGateway({ settings, logger: createLogger({ level: 'silent' }), egress: new EgressPolicy({ allow: ['127.0.0.0/8'] }) });
  try {
    const times = new Map<string, { wall: number[]; cpu: number[] }>();
    for (const bodies of rounds) {
      for (const { label, body, contentType, coding } of bodies) {
        const cpu = process.cpuUsage();
        const started = process.hrtime.bigint();
        const response = await fetch(`${gateway.url}${INGEST_PATH}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': contentType, ...(coding === 'gzip' ? { 'content-encoding': 'gzip' } : {}) },
          body: new Uint8Array(body),
        });
        const answer = await response.text();
        if (response.status !== 202 || !answer.includes(`"accepted":${INGEST_EVENTS}`)) throw new Error(`ingest answered ${response.status} ${answer}`);
        const used = process.cpuUsage(cpu);
        const t = times.get(label) ?? { wall: [], cpu: [] };
        t.wall.push(Number(process.hrtime.bigint() - started) / 1e3 / INGEST_EVENTS);
        t.cpu.push((used.user + used.system) / INGEST_EVENTS);
        times.set(label, t);
      }
    }
    return Object.fromEntries([...times].map(([label, t]) => [label, { wall: median(t.wall), cpu: median(t.cpu) }]));
  } finally {
    await gateway.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureIngest(): Promise<void> {
  const rounds = Array.from({ length: INGEST_ROUNDS / 4 }, (_, round) => ingestBodies(round + 1));
  const requests = await ingestRequests(rounds);
  const bodies = ingestBodies(0);
  console.log(`one ingest of ${INGEST_EVENTS} events (≈ ${Math.round(bodies[0]!.body.length / INGEST_EVENTS)} B/event), µs/event, medians:`);
  for (const b of bodies) {
    const stages = await ingestStages(b);
    const own = stages.read! + stages.decode! + stages.parse! + stages.validate!;
    const whole = requests[b.label]!;
    const cells = Object.entries(stages).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
    console.log(`  ${b.label.padEnd(16)} ${cells}`);
    console.log(`  ${''.padEnd(16)} whole request ${whole.wall.toFixed(2)} (CPU ${whole.cpu.toFixed(2)}), other ${(whole.wall - own).toFixed(2)}`);
  }
}

if (process.argv.includes('--ingest')) await measureIngest();
else {
  measure('canonical names', canonical);
  if (process.argv.includes('--aliases')) measure('snake_case aliases + 1 unknown field', snake);
}
