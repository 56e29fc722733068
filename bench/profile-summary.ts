/**
 * Summarises V8 CPU profiles (`.cpuprofile`, as written by `node --cpu-prof`): self time per function
 * and per file or package, and inclusive time of the heaviest frames. Used to find the gateway's hot
 * spots after `BENCH_CPU_PROF=<dir> npm run bench`.
 *
 * Usage: `node --import tsx bench/profile-summary.ts <file.cpuprofile> [top=25]`
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** The parts of a `.cpuprofile` the summary reads. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One line of a summary: a function, file or package and its share of the profile. */
export interface ProfileEntry {
  name: string;
  ms: number;
  share: number;
}

/** A profile's self and inclusive times. */
export interface ProfileSummary {
  totalMs: number;
  /** Share of samples in V8's `(idle)` node: time the event loop waited. */
  idleShare: number;
  selfByFunction: ProfileEntry[];
  selfByLocation: ProfileEntry[];
  inclusiveByFunction: ProfileEntry[];
  /** Self time attributed to the innermost project function (`src/…`) on the stack: what the gateway's own code costs, libraries included. */
  byProjectFrame: ProfileEntry[];
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function location(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '').replace(ROOT, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  return url.startsWith('node:') ? url : url;
}

function functionLabel(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '').replace(ROOT, '');
  const where = url ? ` ${url.replace(/^.*node_modules\//, '')}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'}${where}`;
}

/**
 * Self and inclusive time per function, self time per file/package.
 *
 * @example
 * ```ts
 * const summary = summarizeProfile(JSON.parse(readFileSync(path, 'utf8')));
 * summary.selfByFunction.slice(0, 10);
 * ```
 */
export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
  const selfFn = new Map<string, number>();
  const selfLoc = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const project = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') idleUs += us;
    add(selfFn, functionLabel(frame), us);
    add(selfLoc, location(frame), us);
    // Inclusive: every distinct function on the stack gets the sample once.
    const seen = new Set<string>();
    let owner: string | undefined;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const callFrame = byId.get(at)!.callFrame;
      const label = functionLabel(callFrame);
      if (owner === undefined && callFrame.url.includes('/src/') && !callFrame.url.includes('node_modules')) owner = label;
      if (seen.has(label)) continue;
      seen.add(label);
      add(inclusive, label, us);
    }
    add(project, owner ?? (frame.functionName.startsWith('(') ? frame.functionName : `(outside src) ${location(frame)}`), us);
  }
  const entries = (map: Map<string, number>) =>
    [...map.entries()].map(([name, us]) => ({ name, ms: us / 1000, share: us / totalUs })).sort((a, b) => b.ms - a.ms);
  return {
    totalMs: totalUs / 1000,
    idleShare: idleUs / totalUs,
    selfByFunction: entries(selfFn),
    selfByLocation: entries(selfLoc),
    inclusiveByFunction: entries(inclusive),
    byProjectFrame: entries(project),
  };
}

function print(summary: ProfileSummary, top: number) {
  const pct = (s: number) => `${(s * 100).toFixed(1).padStart(5)}%`;
  console.log(`total ${summary.totalMs.toFixed(0)} ms, idle ${pct(summary.idleShare)}`);
  for (const [title, list] of [
    ['self time by function', summary.selfByFunction],
    ['self time by file / package', summary.selfByLocation],
    ['inclusive time by function', summary.inclusiveByFunction],
    ['self time by innermost src/ function', summary.byProjectFrame],
  ] as const) {
    console.log(`\n${title}:`);
    for (const e of list.slice(0, top)) console.log(`  ${pct(e.share)} ${e.ms.toFixed(0).padStart(7)} ms  ${e.name}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [path, top = '25'] = process.argv.slice(2);
  if (!path) {
    console.error('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]');
    process.exit(64);
  }
  print(summarizeProfile(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile), Number(top));
}
