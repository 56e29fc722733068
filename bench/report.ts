import type { ScaleOutResult } from './scenarios/scale-out.js';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { LIST_INTEGRATIONS, TARGETS } from './config.js';
import type { FanoutResult } from './scenarios/status-fanout.js';
import type { LatencyResult } from './scenarios/api-latency.js';
import type { MemoryResult } from './scenarios/memory.js';
import { medianRatio, type ComparisonResult, type ForwarderResult } from './scenarios/throughput.js';

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
  /** The head-to-head (`hec-1`), the fan-out (`hec-10`) and syslog TCP (`syslog-1`), each with its ceiling. */
  throughput: ComparisonResult[];
  ingestLatency?: LatencyResult;
  listLatency?: LatencyResult;
  statusFanout?: FanoutResult;
  memory?: MemoryResult;
  /** 1 and 3 replicas on PostgreSQL + Redis, and PostgreSQL's own append rate. */
  scaleOut?: ScaleOutResult;
  rows: ReportRow[];
  wallTimeMs: number;
}

/** One line of the printed table (and of `rows` in results.json). */
export interface ReportRow {
  figure: string;
  value: string;
  target: string;
  /**
   * `met`, `missed`, `invalid` (the receiver's strict check failed), `incomplete` (the time budget cut
   * the scenario short of what the target is about), or `-` when the figure has no target.
   */
  result: 'met' | 'missed' | 'invalid' | 'incomplete' | '-';
  /** Ratios (×) of this figure to the wire ceiling and to each peer in the same run; '' where none applies. */
  vsCeiling: string;
  vsSyslogNg: string;
  vsSplunkLogging: string;
  /** Throughput rows: the forwarder's own CPU time per delivered event (all its threads; median run). */
  cpuPerEvent: string;
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

const perSec = (n: number, unit = 'ev/s') => `${Math.round(n).toLocaleString('en-US')} ${unit}`;
const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 1)} ms`;
const mib = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`;
const times = (ratio: number | undefined) => (ratio === undefined || !Number.isFinite(ratio) ? '' : `${ratio.toFixed(ratio < 0.1 ? 3 : 2)}×`);
const count = (n: number) => n.toLocaleString('en-US');
const row = (r: Partial<ReportRow> & Pick<ReportRow, 'figure' | 'value' | 'runs'>): ReportRow => ({
  target: '',
  result: '-',
  vsCeiling: '',
  vsSyslogNg: '',
  vsSplunkLogging: '',
  cpuPerEvent: '',
  ...r,
});

/** `met`/`missed`, or `invalid` when the receiver's strict check failed on any run. */
function verdict(ok: boolean, forwarder?: ForwarderResult): ReportRow['result'] {
  if (forwarder?.runs.some((r) => r.invalid > 0 || r.checked === 0)) return 'invalid';
  return ok ? 'met' : 'missed';
}

/** The peers of the head-to-head, by kind (their ratios apply to every throughput row). */
function peersOf(throughput: readonly ComparisonResult[]): { syslogNg?: ForwarderResult; splunkLogging?: ForwarderResult } {
  const head = throughput.find((t) => t.key === 'hec-1');
  return {
    syslogNg: head?.forwarders.find((f) => f.name.startsWith('syslog-ng')),
    splunkLogging: head?.forwarders.find((f) => f.name.startsWith('splunk-logging')),
  };
}

/** Throughput rows: every forwarder of every comparison; siemgate's beside its target and its ratios. */
function throughputRows(results: Omit<BenchResults, 'rows' | 'wallTimeMs'>): ReportRow[] {
  const rows: ReportRow[] = [];
  const peers = peersOf(results.throughput);
  for (const t of results.throughput) {
    const ceiling = t.forwarders.find((f) => f.role === 'ceiling');
    const posted = `${count(t.postedEvents)} events${t.integrations > 1 ? ` × ${t.integrations} integrations` : ''}`;
    rows.push(row({ figure: `${t.label} (${posted})`, value: '', runs: 0 }));
    for (const f of t.forwarders) {
      const runs = f.runs.length;
      const eps = f.median.eventsPerSec;
      const unit = t.integrations > 1 ? 'deliveries/s' : 'ev/s';
      const cpu = f.median.forwarderCpuMs;
      const cpuPerEvent = cpu === null ? '' : `${((cpu * 1000) / t.deliveredEvents).toFixed(1)} µs`;
      const base = row({ figure: `  ${f.name}`, value: perSec(eps, unit), cpuPerEvent, runs });
      if (f.role === 'ceiling') {
        rows.push(base);
        continue;
      }
      const sameRun = (peer: ForwarderResult | undefined) => (peer && t.key === 'hec-1' ? medianRatio(f, peer) : peer ? eps / peer.median.eventsPerSec : undefined);
      const ratios = {
        vsCeiling: times(ceiling ? medianRatio(f, ceiling) : undefined),
        vsSyslogNg: f.role === 'siemgate' ? times(sameRun(peers.syslogNg)) : '',
        vsSplunkLogging: f.role === 'siemgate' ? times(sameRun(peers.splunkLogging)) : '',
      };
      if (f.role === 'peer') {
        rows.push({ ...base, ...ratios, result: verdict(true, f) === 'invalid' ? 'invalid' : '-' });
        continue;
      }
      let target: string;
      let ok: boolean;
      if (t.key === 'hec-1') {
        const vs = [peers.syslogNg, peers.splunkLogging].filter((p): p is ForwarderResult => p !== undefined).map((p) => medianRatio(f, p));
        target = `≥ ${count(TARGETS.e2eEventsPerSec)} ev/s, ≥ ${TARGETS.e2eVersusPeers}× each peer`;
        ok = eps >= TARGETS.e2eEventsPerSec && vs.every((r) => r >= TARGETS.e2eVersusPeers);
      } else if (t.receiver === 'syslog') {
        target = `≥ ${count(TARGETS.syslogEventsPerSec)} ev/s`;
        ok = eps >= TARGETS.syslogEventsPerSec;
      } else {
        target = `≥ ${count(TARGETS.fanoutDeliveriesPerSec)} deliveries/s`;
        ok = eps >= TARGETS.fanoutDeliveriesPerSec;
      }
      const noTarget = f.name.includes('NORMAL');
      rows.push({ ...base, ...ratios, target: noTarget ? '' : target, result: noTarget ? '-' : verdict(ok, f) });
      if (f.median.ingestEventsPerSec !== undefined) {
        rows.push(row({ figure: '    of which ingest alone (POST /v1/events until 202, committed)', value: perSec(f.median.ingestEventsPerSec), runs }));
      }
    }
    const busiest = Math.max(...t.forwarders.flatMap((f) => f.runs.map((r) => r.receiverCoreShare)));
    rows.push(row({ figure: '  receiver (own process): busiest pass, share of one core', value: `${Math.round(busiest * 100)}%`, runs: 0 }));
    for (const s of t.skipped) rows.push(row({ figure: `  ${s.name}: skipped (${s.reason})`, value: '', runs: 0 }));
    for (const note of t.notes) rows.push(row({ figure: `  note: ${note}`, value: '', runs: 0 }));
  }
  return rows;
}

/** Builds the table rows from whatever was measured. */
export function buildRows(results: Omit<BenchResults, 'rows' | 'wallTimeMs'>): ReportRow[] {
  const rows = throughputRows(results);
  const latency = (label: string, r: LatencyResult | { median: { p50Ms: number; p99Ms: number }; runs: unknown[] } | undefined, targetMs: number) => {
    if (!r) return;
    rows.push(row({ figure: `${label} p50`, value: ms(r.median.p50Ms), runs: r.runs.length }));
    rows.push(row({ figure: `${label} p99`, value: ms(r.median.p99Ms), target: `< ${targetMs} ms`, result: verdict(r.median.p99Ms < targetMs), runs: r.runs.length }));
    for (const note of 'notes' in r ? r.notes : []) rows.push(row({ figure: `  note: ${note}`, value: '', runs: 0 }));
  };
  latency('ingestEvents (1 event)', results.ingestLatency, TARGETS.ingestP99Ms);
  latency(`siemIntegrations (${count(LIST_INTEGRATIONS)} integrations, dashboard fields)`, results.listLatency, TARGETS.listP99Ms);
  if (results.statusFanout) latency(`siemIntegrationStatus fan-out (${results.statusFanout.subscribers} graphql-ws subscribers)`, results.statusFanout, TARGETS.statusFanoutP99Ms);
  const scale = results.scaleOut;
  if (scale) {
    for (const r of scale.runs) {
      rows.push(row({ figure: `scale-out: ${r.replicas} replica${r.replicas > 1 ? 's' : ''} on PostgreSQL + Redis, 3 integrations (ingest ${count(Math.round(r.ingestPerSec))} ev/s)`, value: `${count(Math.round(r.deliveriesPerSec))} deliveries/s`, runs: 1 }));
    }
    if (scale.wakeUp) {
      rows.push(row({ figure: 'scale-out: event posted to one replica, delivered by the owner on another (wake-up over Redis) p50', value: ms(scale.wakeUp.p50Ms), runs: 1 }));
      rows.push(row({ figure: 'scale-out: event posted to one replica, delivered by the owner on another (wake-up over Redis) p99', value: ms(scale.wakeUp.p99Ms), target: `< ${TARGETS.wakeUpP99Ms} ms`, result: verdict(scale.wakeUp.p99Ms < TARGETS.wakeUpP99Ms), runs: 1 }));
    }
    if (scale.append) rows.push(row({ figure: `scale-out: PostgreSQL alone, log appends (pgbench, ${scale.append.clients} clients, ${scale.append.eventsPerSegment}-event segments)`, value: `${count(Math.round(scale.append.eventsPerSec))} ev/s`, runs: 1 }));
    for (const note of scale.notes) rows.push(row({ figure: `  note: ${note}`, value: '', runs: 0 }));
  }
  const m = results.memory;
  if (m) {
    rows.push(row({ figure: 'idle RSS (started, one integration, nothing queued)', value: mib(m.baselineRssBytes), target: `< ${mib(TARGETS.idleRssBytes)}`, result: verdict(m.baselineRssBytes < TARGETS.idleRssBytes), runs: 1 }));
    const complete = m.events >= m.plannedEvents;
    const stopped = complete ? '' : ` (stopped at ${count(m.events)} of ${count(m.plannedEvents)}: time budget)`;
    rows.push(
      row({
        figure: `peak RSS, ${count(m.plannedEvents)} events queued behind a dead SIEM${stopped}`,
        value: mib(m.peakRssBytes),
        target: `< ${mib(TARGETS.peakRssBytes)}`,
        // A backlog cut short by the time budget proves nothing when under the target.
        result: m.peakRssBytes >= TARGETS.peakRssBytes ? 'missed' : complete ? 'met' : 'incomplete',
        runs: 1,
      }),
    );
    rows.push(row({ figure: '  RSS at 0 / 25 / 50 / 75 / 100% queued', value: `${m.milestones.map((s) => (s.rssBytes / MIB).toFixed(0)).join(' / ')} MiB`, runs: 1 }));
    rows.push(row({ figure: `  time to accept the ${count(m.events)} events`, value: `${(m.ingestMs / 1000).toFixed(1)} s (${perSec(m.ingestEventsPerSec)})`, runs: 1 }));
    rows.push(row({ figure: '  backlog in the store: stats.queued, DB + WAL', value: `${count(m.queued)}, ${mib(m.dbBytes + m.walBytes)}`, runs: 1 }));
  }
  const peers = peersOf(results.throughput);
  for (const peer of [peers.syslogNg, peers.splunkLogging]) {
    const rss = peer?.runs.map((r) => r.peakRssBytes ?? 0);
    if (peer && rss) rows.push(row({ figure: `${peer.name}: peak RSS in the head-to-head`, value: mib(Math.max(...rss)), runs: rss.length }));
  }
  return rows;
}

/** The table as text, columns padded. */
export function formatTable(rows: readonly ReportRow[]): string {
  const header = ['Figure', 'Median', 'Target', 'Result', '× ceiling', '× syslog-ng', '× splunk-logging', 'CPU/event', 'Runs'];
  const cells = rows.map((r) => [
    r.figure,
    r.value,
    r.target,
    r.result === '-' ? '' : r.result.toUpperCase(),
    r.vsCeiling,
    r.vsSyslogNg,
    r.vsSplunkLogging,
    r.cpuPerEvent,
    r.runs > 0 ? String(r.runs) : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** Writes results as pretty JSON. */
export function writeResults(path: string, results: BenchResults): void {
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
