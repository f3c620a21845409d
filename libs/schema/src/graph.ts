import type { SchemaType } from 'mongoose';
import { COLLECTIONS, INVERSE_PAIRS, OWNERSHIP } from './registry';
import type { CollectionDefinition, CollectionName } from './registry';

/** One reference path: documents of `from` hold at `path` the `_id` of a document of `to` (an array of them when `many`). */
export interface Edge {
  from: CollectionName;
  path: string;
  to: CollectionName;
  many: boolean;
  /** The path in `to` that must point back (two-way links). */
  inverse?: string;
}

interface ArraySchemaType extends SchemaType {
  embeddedSchemaType?: SchemaType;
}

function refOf(type: SchemaType | undefined): string | undefined {
  const ref = (type?.options as { ref?: unknown } | undefined)?.ref;
  return typeof ref === 'string' ? ref : undefined;
}

/** Every reference path of the given collections, derived from the `ref` of their ObjectId paths. */
export function referenceGraph(definitions: readonly CollectionDefinition[] = COLLECTIONS): Edge[] {
  const names = new Set(definitions.map((d) => d.name));
  const edges: Edge[] = [];
  for (const def of definitions) {
    def.schema.eachPath((path, type) => {
      if (path === '_id') return;
      let to: string | undefined;
      let many = false;
      if (type.instance === 'ObjectId') to = refOf(type);
      else if (type.instance === 'Array') {
        const element = (type as ArraySchemaType).embeddedSchemaType;
        if (element?.instance === 'ObjectId') {
          to = refOf(element);
          many = true;
        }
      }
      if (!to) return;
      if (!names.has(to as CollectionName))
        throw new Error(`${def.name}.${path} references unknown collection ${to}`);
      edges.push({ from: def.name, path, to: to as CollectionName, many });
    });
  }
  for (const [a, b] of INVERSE_PAIRS) {
    const ea = edges.find((e) => e.from === a.collection && e.path === a.path);
    const eb = edges.find((e) => e.from === b.collection && e.path === b.path);
    if (!ea || !eb || ea.to !== b.collection || eb.to !== a.collection) {
      throw new Error(
        `inverse pair ${a.collection}.${a.path} <-> ${b.collection}.${b.path} does not match the schemas`,
      );
    }
    ea.inverse = b.path;
    eb.inverse = a.path;
  }
  checkOwnership(edges, names);
  return edges;
}

/** Every ownership declared in the registry must be a reference path of the schemas, in the right direction. */
function checkOwnership(edges: readonly Edge[], names: ReadonlySet<string>): void {
  const has = (from: string, path: string, to: string): boolean =>
    edges.some((e) => e.from === from && e.path === path && e.to === to);
  for (const o of OWNERSHIP) {
    if (!names.has(o.child)) continue;
    const links =
      o.kind === 'lists'
        ? o.parents.map((p) => [p.collection, p.path, o.child] as const)
        : [[o.child, o.path, o.parent] as const];
    for (const [from, path, to] of links)
      if (names.has(from) && names.has(to) && !has(from, path, to))
        throw new Error(
          `ownership of ${o.child}: ${from}.${path} -> ${to} is not a reference of the schemas`,
        );
  }
}

/** The graph as a Mermaid flowchart (for docs/schema.md). */
export function graphToMermaid(edges: readonly Edge[]): string {
  const lines = ['flowchart LR'];
  for (const e of edges) lines.push(`  ${e.from} -->|"${e.path}${e.many ? '[]' : ''}"| ${e.to}`);
  return lines.join('\n');
}

/** The graph as a plain-text table. */
export function graphToTable(edges: readonly Edge[]): string {
  const rows = edges.map((e) => [
    `${e.from}.${e.path}`,
    e.to,
    e.many ? 'many' : 'one',
    e.inverse ? `${e.to}.${e.inverse}` : '',
  ]);
  const header = ['reference', 'target', 'cardinality', 'inverse'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n');
}
