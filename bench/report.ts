import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { TARGETS } from './config.js';
import type { FanoutResult } from './scenarios/status-fanout.js';
import type { LatencyResult } from './scenarios/api-latency.js';
import type { MemoryResult } from './scenarios/memory.js';
import type { ThroughputResult } from './scenarios/throughput.js';

const MIB = 2 ** 20;

/** The machine the figures come from. */
export interface MachineFacts {
  cores: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  platform: string;
  kernel: string;
  date: string;
  /**
   * Share of the machine's CPU time that was busy during {@link BUSY_SAMPLE_MS} before the bench started
   * anything (from /proc/stat; null elsewhere): well above 0 means something else was running.
   */
  cpuBusyAtStart: number | null;
}

/** The code measured: the git commit, and whether src/ or db/ had uncommitted changes. */
export interface SourceState {
  commit: string;
  dirty: boolean;
}

/** Reads the git state of the working tree (read-only git commands); `unknown` outside a repository. */
export function sourceState(): SourceState {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return { commit: git('rev-parse', '--short', 'HEAD'), dirty: git('status', '--porcelain', '--', 'src', 'db', 'bin').length > 0 };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

/** Everything one `npm run bench` measured. Absent parts were not run (`BENCH_ONLY`). */
export interface BenchResults {
  machine: MachineFacts;
  /** The code at the start and at the end of the run (they differ if src/ changed meanwhile). */
  source: { atStart: SourceState; atEnd?: SourceState };
  settings: Record<string, unknown>;
  throughput: ThroughputResult[];
  ingestLatency?: LatencyResult;
  listLatency?: LatencyResult;
  statusFanout?: FanoutResult;
  memory?: MemoryResult;
  rows: ReportRow[];
  wallTimeMs: number;
}

/** One line of the printed table (and of `rows` in results.json). */
export interface ReportRow {
  figure: string;
  value: string;
  ceiling: string;
  ratio: string;
  target: string;
  /** `pass`, `miss`, or `-` when the figure has no target. */
  verdict: 'pass' | 'miss' | '-';
  runs: number;
}

/** How long the machine's idle CPU time is sampled before the bench starts. */
export const BUSY_SAMPLE_MS = 1_000;

/** Busy and total jiffies of all CPUs, from the first line of /proc/stat. */
function cpuTimes(): { busy: number; total: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** Share of CPU time busy over the next {@link BUSY_SAMPLE_MS} (null without /proc/stat). */
export async function sampleCpuBusy(): Promise<number | null> {
  const before = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, BUSY_SAMPLE_MS));
  const after = cpuTimes();
  if (!before || !after || after.total === before.total) return null;
  return Math.round(((after.busy - before.busy) / (after.total - before.total)) * 100) / 100;
}

/** Facts about this machine, for results.json. */
export async function machineFacts(): Promise<MachineFacts> {
  const cpu = cpus();
  return {
    cores: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel: release(),
    date: new Date().toISOString(),
    cpuBusyAtStart: await sampleCpuBusy(),
  };
}

const perSec = (n: number) => `${Math.round(n).toLocaleString('en-US')} ev/s`;
const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 1)} ms`;
const mib = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`;
const verdict = (ok: boolean): 'pass' | 'miss' => (ok ? 'pass' : 'miss');

/** Builds the table rows from whatever was measured. */
export function buildRows(results: Omit<BenchResults, 'rows' | 'wallTimeMs'>): ReportRow[] {
  const rows: ReportRow[] = [];
  for (const t of results.throughput) {
    rows.push({
      figure: `${t.scenario.label} (${t.runs[0]!.postedEvents.toLocaleString('en-US')} posted${t.scenario.integrations > 1 ? `, ${t.runs[0]!.deliveredEvents.toLocaleString('en-US')} delivered` : ''})`,
      value: perSec(t.median.gatewayEventsPerSec),
      ceiling: perSec(t.median.ceilingEventsPerSec),
      ratio: `${(t.median.ratio * 100).toFixed(1)}%`,
      target: `≥ ${TARGETS.throughputRatio * 100}% of ceiling`,
      verdict: verdict(t.median.ratio >= TARGETS.throughputRatio),
      runs: t.runs.length,
    });
    rows.push({
      figure: `  of which ingest alone (POST /v1/events, 202 = committed)`,
      value: perSec(t.median.ingestEventsPerSec),
      ceiling: '',
      ratio: '',
      target: '',
      verdict: '-',
      runs: t.runs.length,
    });
  }
  const latencyRows = (label: string, r: LatencyResult | undefined) => {
    if (!r) return;
    rows.push({ figure: `${label} p50`, value: ms(r.median.p50Ms), ceiling: '', ratio: '', target: '', verdict: '-', runs: r.runs.length });
    rows.push({
      figure: `${label} p99`,
      value: ms(r.median.p99Ms),
      ceiling: '',
      ratio: '',
      target: `< ${TARGETS.queryP99Ms} ms`,
      verdict: verdict(r.median.p99Ms < TARGETS.queryP99Ms),
      runs: r.runs.length,
    });
  };
  latencyRows('ingestEvents (1 event)', results.ingestLatency);
  latencyRows('siemIntegrations (1,000 integrations)', results.listLatency);
  const f = results.statusFanout;
  if (f) {
    const label = `siemIntegrationStatus fan-out (${f.subscribers} subscribers)`;
    rows.push({ figure: `${label} p50`, value: ms(f.median.p50Ms), ceiling: '', ratio: '', target: '', verdict: '-', runs: f.runs.length });
    rows.push({
      figure: `${label} p99`,
      value: ms(f.median.p99Ms),
      ceiling: '',
      ratio: '',
      target: `< ${TARGETS.fanoutP99Ms} ms`,
      verdict: verdict(f.median.p99Ms < TARGETS.fanoutP99Ms),
      runs: f.runs.length,
    });
  }
  const m = results.memory;
  if (m) {
    rows.push({
      figure: `peak RSS, ${m.events.toLocaleString('en-US')} events queued (destination down)`,
      value: mib(m.peakRssBytes),
      ceiling: '',
      ratio: '',
      target: `< ${mib(TARGETS.maxRssBytes)}`,
      verdict: verdict(m.peakRssBytes < TARGETS.maxRssBytes),
      runs: 1,
    });
    rows.push({
      figure: `  RSS at 0 / 25 / 50 / 75 / 100% queued`,
      value: m.milestones.map((s) => (s.rssBytes / MIB).toFixed(0)).join(' / ') + ' MiB',
      ceiling: '',
      ratio: '',
      target: 'flat',
      verdict: '-',
      runs: 1,
    });
    rows.push({
      figure: `  RSS at rest, everything queued, ${m.events.toLocaleString('en-US')} in the backlog`,
      value: mib(m.restingRssBytes),
      ceiling: '',
      ratio: '',
      target: '',
      verdict: '-',
      runs: 1,
    });
    rows.push({
      figure: `  backlog in the store: stats.queued, DB + WAL`,
      value: `${m.queued.toLocaleString('en-US')}, ${mib(m.dbBytes + m.walBytes)}`,
      ceiling: '',
      ratio: '',
      target: '',
      verdict: '-',
      runs: 1,
    });
  }
  return rows;
}

/** The table as text, columns padded. */
export function formatTable(rows: readonly ReportRow[]): string {
  const header = ['Figure', 'Median', 'Ceiling (same run)', 'Ratio', 'Target', 'Result', 'Runs'];
  const cells = rows.map((r) => [r.figure, r.value, r.ceiling, r.ratio, r.target, r.verdict === '-' ? '' : r.verdict.toUpperCase(), String(r.runs)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** Writes results as pretty JSON. */
export function writeResults(path: string, results: BenchResults): void {
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
