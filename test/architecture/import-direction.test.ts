import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Imports run one way: net ← destinations ← store ← delivery ← schema/http/service. Shared vocabulary
 * lives in neutral modules (events, secrets, crypto, errors) that anyone may import and that import none
 * of the layers. The store may use the destination descriptors (config types, schemas, secret fields),
 * never an adapter. Every `import`, `export … from`, `import type` and `import()` in src/ counts: a
 * type-only import ties two modules together as much as a value import does.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');

/** Folder → the folders it must not import from. */
const FORBIDDEN: Record<string, readonly string[]> = {
  net: ['destinations', 'delivery', 'store', 'schema', 'http', 'service'],
  destinations: ['store', 'delivery', 'schema', 'http', 'service'],
  store: ['delivery', 'schema', 'http', 'service'],
  delivery: ['schema', 'http', 'service'],
};

/** Shared vocabulary: imported by anyone, importing only other neutral modules. `errors` is src/errors.ts. */
const NEUTRAL = ['events', 'secrets', 'crypto', 'errors'];

/**
 * The destination descriptors: what a destination's config is (types, schema, field rules, secret fields,
 * merge): each folder's `descriptor.ts`, the registry that lists them, and the shared modules they build on.
 * The store seals, validates and audits configs through these; adapters (which open connections) stay out of
 * its reach. Descriptors import no adapter, so nothing of an adapter reaches the store. `syslog-format.ts` and
 * `cef-format.ts` are pure formatting; they are here because the facility rule uses the facility names and
 * the CEF descriptors the CEF header defaults.
 */
const DESTINATION_DESCRIPTOR_FILES = [
  'types.ts', 'registry.ts', 'destination-config.ts',
  'shared/descriptor.ts', 'shared/config-rules.ts', 'shared/syslog-format.ts', 'shared/cef-format.ts',
].map((f) => `src/destinations/${f}`);
const isDescriptor = (file: string) => DESTINATION_DESCRIPTOR_FILES.includes(file) || /^src\/destinations\/[^/]+\/descriptor\.ts$/.test(file);

/** `src/destinations/splunk/adapter.ts` → `splunk`; `shared`, and top-level files like `types.ts`, → undefined. */
function destinationFolderOf(file: string): string | undefined {
  const m = /^src\/destinations\/([^/]+)\//.exec(file);
  return m && m[1] !== 'shared' ? m[1] : undefined;
}

interface Edge {
  from: string;
  to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** `src/x/y.ts` → `x`; a top-level file `src/errors.ts` is its own unit, `errors`. */
function unitOf(file: string): string {
  const parts = file.split('/');
  return parts.length === 3 ? parts[1]! : parts[1]!.replace(/\.ts$/, '');
}

/** Every relative module specifier of every file in src/, resolved to a `src/…` path (the `.js` of NodeNext specifiers read as `.ts`). */
function importEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const path of sourceFiles(SRC)) {
    const from = relative(ROOT, path).split(sep).join('/');
    const info = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
    for (const imported of info.importedFiles) {
      if (!imported.fileName.startsWith('.')) continue;
      const target = resolve(dirname(path), imported.fileName).replace(/\.(js|mjs|cjs)$/, '.ts');
      edges.push({ from, to: relative(ROOT, target).split(sep).join('/') });
    }
  }
  return edges;
}

const inSrc = (file: string) => file.startsWith('src/');
const describeEdge = (e: Edge) => `${e.from} → ${e.to}`;

/** The folder-level import graph's strongly connected components with more than one folder (Tarjan). */
function folderCycles(edges: Edge[]): string[][] {
  const graph = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!inSrc(e.to)) continue;
    const a = unitOf(e.from);
    const b = unitOf(e.to);
    if (!graph.has(a)) graph.set(a, new Set());
    if (!graph.has(b)) graph.set(b, new Set());
    if (a !== b) graph.get(a)!.add(b);
  }
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components;
}

describe('import direction', () => {
  const edges = importEdges();

  it('reads the imports of src/ with the TypeScript parser', () => {
    // Guards the test itself: a parser that saw nothing would pass every rule below.
    expect(edges.length).toBeGreaterThan(200);
    expect(edges).toContainEqual({ from: 'src/gateway.ts', to: 'src/settings.ts' });
    // `import type` and `import('…')` type queries count too.
    expect(edges.some((e) => e.from === 'src/destinations/types.ts' && e.to === 'src/net/egress-policy.ts')).toBe(true);
  });

  it('runs one way: net ← destinations ← store ← delivery ← schema, http, service', () => {
    const wrong = edges.filter((e) => inSrc(e.to) && FORBIDDEN[unitOf(e.from)]?.includes(unitOf(e.to)));
    expect(wrong.map(describeEdge), 'imports against the direction').toEqual([]);
  });

  it('keeps the neutral modules (events, secrets, crypto, errors) free of every layer', () => {
    const wrong = edges.filter((e) => inSrc(e.to) && NEUTRAL.includes(unitOf(e.from)) && !NEUTRAL.includes(unitOf(e.to)));
    expect(wrong.map(describeEdge), 'neutral modules importing a layer').toEqual([]);
  });

  it('lets the store reach destination descriptors, never an adapter', () => {
    const wrong = edges.filter(
      (e) =>
        unitOf(e.to) === 'destinations' &&
        (unitOf(e.from) === 'store' || isDescriptor(e.from)) &&
        !isDescriptor(e.to),
    );
    expect(wrong.map(describeEdge), 'store or descriptor importing a destination adapter').toEqual([]);
  });

  it('finds the descriptor of every destination folder', () => {
    // Guards the rule above: a layout the predicate missed would let every edge through.
    const folders = new Set(edges.map((e) => destinationFolderOf(e.from)).filter((f) => f !== undefined));
    expect([...folders].sort()).toEqual(['arcsight', 'cef', 'crowdstrike', 'sentinel', 'splunk', 'syslog', 'webhook']);
    for (const folder of folders) expect(edges.some((e) => e.from === `src/destinations/${folder}/descriptor.ts`), folder).toBe(true);
  });

  it('keeps destination folders apart: each imports only its own files, destinations/shared and the top-level modules', () => {
    // What two destinations share (HEC framing, CEF over HTTP, CEF over syslog) lives in destinations/shared.
    const wrong = edges.filter((e) => {
      const from = destinationFolderOf(e.from);
      const to = destinationFolderOf(e.to);
      return from !== undefined && to !== undefined && from !== to;
    });
    expect(wrong.map(describeEdge), 'a destination importing another destination').toEqual([]);
    const sharedToFolder = edges.filter((e) => e.from.startsWith('src/destinations/shared/') && destinationFolderOf(e.to) !== undefined);
    expect(sharedToFolder.map(describeEdge), 'destinations/shared importing a destination').toEqual([]);
  });

  it('has no import cycle between folders', () => {
    const cycles = folderCycles(edges).map((component) => {
      const inside = edges.filter((e) => inSrc(e.to) && unitOf(e.from) !== unitOf(e.to) && component.includes(unitOf(e.from)) && component.includes(unitOf(e.to)));
      return `${component.join(' ⇄ ')}: ${inside.map(describeEdge).join(', ')}`;
    });
    expect(cycles, 'folders that import each other').toEqual([]);
  });
});
