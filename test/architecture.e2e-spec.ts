import * as fs from 'node:fs';
import * as path from 'node:path';

/*
 * No cyclic module imports in the libs and apps, type-only imports included: a cycle means a piece shared by two
 * modules should move down into one of its own (see docs/architecture.md).
 */

const ROOT = path.join(__dirname, '..');
const IMPORT = /^(?:import|export)\s+(?:type\s+)?[^'";]*?from\s+'([^']+)'/gms;

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) sources(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.spec.ts')) out.push(p);
  }
  return out;
}

/** The source file an import names (relative, or a lib's barrel); undefined for packages. */
function resolve(from: string, spec: string): string | undefined {
  const base = spec.startsWith('.')
    ? path.resolve(path.dirname(from), spec)
    : spec.startsWith('@odtp/')
      ? path.join(ROOT, 'libs', spec.slice('@odtp/'.length), 'src')
      : undefined;
  if (!base) return undefined;
  return [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
}

/** Strongly connected components with more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(path.relative(ROOT, w));
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('architecture', () => {
  it('has no import cycles among the modules of libs/ and apps/ (type-only imports included)', () => {
    const files = [...sources(path.join(ROOT, 'libs')), ...sources(path.join(ROOT, 'apps'))];
    const graph = new Map<string, string[]>();
    for (const file of files) {
      const deps: string[] = [];
      for (const m of fs.readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const target = resolve(file, m[1]);
        if (target) deps.push(target);
      }
      graph.set(file, deps);
    }
    expect(files.length).toBeGreaterThan(150);
    expect(cycles(graph)).toEqual([]);
  });
});
