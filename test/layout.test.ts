// The shape of src/ (docs/design.md, "Source layout"): layers that import only downwards,
// no import cycles, and files small enough to hold one concept.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './helpers';

const src = join(root, 'src');
const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\\/g, '/'));

/** Every relative module a file imports or re-exports (type-only ones too), as src paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(src, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\b[^;]*?from\s+'(\.[^']+)'/gms)) {
    out.push(`${normalize(relative(src, join(src, dirname(file), m[1])))}.ts`.replace(/\\/g, '/'));
  }
  return out;
}
const graph = new Map(files.map((f) => [f, importsOf(f)]));

// Who may import whom: a layer imports its own and the ones below it.
const layers = ['native', 'os', 'lifecycle', 'start', 'supervisor', 'control', 'cli'];
const layerOf = (file: string) => (file.includes('/') ? file.split('/')[0] : 'top');

describe('src/', () => {
  it('has no import cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const g of graph.get(f) ?? []) visit(g, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('imports only downwards: native < os < lifecycle < start < supervisor < control < cli', () => {
    const upwards: string[] = [];
    for (const [f, deps] of graph) {
      const from = layerOf(f);
      if (from === 'top') continue; // index.ts, cli.ts and errors.ts
      for (const d of deps) {
        const to = layerOf(d);
        if (to === 'top') {
          // errors.ts for all; the public API (index.ts) for the command, built apart from it.
          if (d !== 'errors.ts' && !(from === 'cli' && d === 'index.ts')) upwards.push(`${f} -> ${d}`);
          continue;
        }
        if (layers.indexOf(to) > layers.indexOf(from)) upwards.push(`${f} -> ${d}`);
      }
    }
    expect(upwards).toEqual([]);
  });

  it('has no file over 300 lines', () => {
    const long = files.map((f) => [f, readFileSync(join(src, f), 'utf8').split('\n').length] as const).filter(([, n]) => n > 300);
    expect(long).toEqual([]);
  });

  it('cites only documents that are in the repository', () => {
    const cited = new Set<string>();
    for (const f of files) for (const m of readFileSync(join(src, f), 'utf8').matchAll(/\b([\w./-]+\.md)\b/g)) cited.add(m[1]);
    for (const doc of cited) expect(() => readFileSync(join(root, doc)), doc).not.toThrow();
  });
});
