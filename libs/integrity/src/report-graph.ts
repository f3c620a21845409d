import { createRequire } from 'node:module';
import type * as Dagre from '@dagrejs/dagre' with { 'resolution-mode': 'import' };
import { COLLECTION_NAMES, referenceGraph } from '@odtp/schema';
import type { Edge } from '@odtp/schema';
import type { AuditReport, Finding } from './findings';
import { xml } from './report-store';

/** The colours of the report: the browser test reads them back. */
export const STATUS_COLOURS = { error: '#c5221f', warning: '#e37400', clean: '#188038' } as const;
export type EdgeStatus = keyof typeof STATUS_COLOURS;

// dagre ships an ES module typed as such and a CommonJS build (dist/dagre.cjs) that this CommonJS code loads.
const { Graph, layout } = createRequire(__filename)('@dagrejs/dagre') as typeof Dagre;

const EDGE_CHECKS = new Set(['dangling-reference', 'type-drift', 'query-mismatch', 'broken-inverse']);
const NODE_W = 170;
const NODE_H = 58;
const LABEL_H = 18;

export interface EdgeState {
  edge: Edge;
  errors: number;
  warnings: number;
  status: EdgeStatus;
  /** A number shared by the two edges of a two-way link (0: not paired). */
  pair: number;
}

const statusOf = (errors: number, warnings: number): EdgeStatus =>
  errors > 0 ? 'error' : warnings > 0 ? 'warning' : 'clean';

function sum(findings: Finding[], severity: Finding['severity']): number {
  return findings.filter((f) => f.severity === severity).reduce((n, f) => n + f.violations, 0);
}

/** Every edge of the reference graph with the violations the report found on it, two-way links numbered. */
export function edgeStates(report: AuditReport): EdgeState[] {
  const edges = referenceGraph();
  const pairs = new Map<string, number>();
  return edges.map((edge) => {
    const on = report.findings.filter(
      (f) => EDGE_CHECKS.has(f.check) && f.collection === edge.from && f.path === edge.path,
    );
    let pair = 0;
    const back = edge.inverse
      ? edges.find((e) => e.from === edge.to && e.path === edge.inverse && e.to === edge.from)
      : undefined;
    if (back) {
      const key = [`${edge.from}.${edge.path}`, `${back.from}.${back.path}`].sort().join('|');
      if (!pairs.has(key)) pairs.set(key, pairs.size + 1);
      pair = pairs.get(key)!;
    }
    const errors = sum(on, 'error');
    const warnings = sum(on, 'warning');
    return { edge, errors, warnings, status: statusOf(errors, warnings), pair };
  });
}

/** Documents per collection as the audit counted them (the largest `scanned` of its findings). */
function documentCounts(report: AuditReport): Map<string, number> {
  const counts = new Map<string, number>();
  for (const f of report.findings)
    counts.set(f.collection, Math.max(counts.get(f.collection) ?? 0, f.scanned));
  return counts;
}

const num = (n: number): string => n.toLocaleString('en-US');

function pathOf(points: { x: number; y: number }[]): string {
  const [first, ...rest] = points;
  if (rest.length === 1) return `M${first.x},${first.y} L${rest[0].x},${rest[0].y}`;
  // a smooth curve through dagre's points: quadratic segments between midpoints
  let d = `M${first.x},${first.y}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const mid = { x: (rest[i].x + rest[i + 1].x) / 2, y: (rest[i].y + rest[i + 1].y) / 2 };
    d += ` Q${rest[i].x},${rest[i].y} ${mid.x},${mid.y}`;
  }
  const last = rest[rest.length - 1];
  return `${d} L${last.x},${last.y}`;
}

/**
 * The reference graph as an SVG picture: collections as nodes (with their document counts and their collection
 * findings), each reference path as an edge coloured by its findings and labelled with the violation count; the
 * two edges of a two-way link carry the same ⇄ number and are drawn dashed. Laid out by dagre (layered, Sugiyama).
 */
export function graphSvg(report: AuditReport): string {
  const states = edgeStates(report);
  const counts = documentCounts(report);
  const g = new Graph({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 30, ranksep: 70, edgesep: 14, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const name of COLLECTION_NAMES) g.setNode(name, { width: NODE_W, height: NODE_H });
  states.forEach((s, i) => {
    const label = edgeLabel(s);
    g.setEdge(
      s.edge.from,
      s.edge.to,
      { width: label.length * 6.4 + 8, height: LABEL_H, labelpos: 'c' },
      `e${i}`,
    );
  });
  layout(g);
  const { width = 0, height = 0 } = g.graph();
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" id="graph-svg" viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}" width="100%" style="max-width:${Math.ceil(width)}px" role="img" aria-label="Reference graph of the audited collections">`,
    '<defs>',
    ...Object.entries(STATUS_COLOURS).map(
      ([status, colour]) =>
        `<marker id="arrow-${status}" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${colour}"/></marker>`,
    ),
    '</defs>',
  ];
  states.forEach((s, i) => {
    const laid = g.edge({ v: s.edge.from, w: s.edge.to, name: `e${i}` }) as {
      points: { x: number; y: number }[];
      x: number;
      y: number;
    };
    const colour = STATUS_COLOURS[s.status];
    const title = `${s.edge.from}.${s.edge.path} → ${s.edge.to}${s.edge.inverse ? ` (two-way with ${s.edge.to}.${s.edge.inverse})` : ''}: ${num(s.errors)} error(s), ${num(s.warnings)} warning(s)`;
    const label = edgeLabel(s);
    parts.push(
      `<g class="edge ${s.status}" data-from="${xml(s.edge.from)}" data-path="${xml(s.edge.path)}" data-to="${xml(s.edge.to)}" data-status="${s.status}" data-errors="${s.errors}" data-warnings="${s.warnings}" data-pair="${s.pair}">`,
      `<title>${xml(title)}</title>`,
      `<path d="${pathOf(laid.points)}" fill="none" stroke="${colour}" stroke-width="${s.status === 'clean' ? 1.5 : 2.5}"${s.pair ? ' stroke-dasharray="7 3"' : ''} marker-end="url(#arrow-${s.status})"/>`,
      `<rect x="${laid.x - (label.length * 6.4 + 8) / 2}" y="${laid.y - LABEL_H / 2}" width="${label.length * 6.4 + 8}" height="${LABEL_H}" rx="4" fill="#fff" stroke="${colour}" stroke-width="1"/>`,
      `<text class="edge-label" x="${laid.x}" y="${laid.y + 4}" text-anchor="middle" fill="${colour}">${xml(label)}</text>`,
      '</g>',
    );
  });
  for (const name of COLLECTION_NAMES) {
    const node = g.node(name) as { x: number; y: number };
    const own = report.findings.filter((f) => f.collection === name && !EDGE_CHECKS.has(f.check));
    const errors = sum(own, 'error');
    const warnings = sum(own, 'warning');
    const status = statusOf(errors, warnings);
    const findings = [errors ? `${num(errors)} error(s)` : '', warnings ? `${num(warnings)} warning(s)` : '']
      .filter(Boolean)
      .join(', ');
    parts.push(
      `<g class="node ${status}" data-collection="${name}" data-documents="${counts.get(name) ?? 0}" data-status="${status}">`,
      `<title>${xml(`${name}: ${num(counts.get(name) ?? 0)} document(s); orphans, duplicates, schema: ${findings || 'clean'}`)}</title>`,
      `<rect x="${node.x - NODE_W / 2}" y="${node.y - NODE_H / 2}" width="${NODE_W}" height="${NODE_H}" rx="8" fill="#f8f9fa" stroke="${STATUS_COLOURS[status]}" stroke-width="${status === 'clean' ? 1.5 : 3}"/>`,
      `<text x="${node.x}" y="${node.y - 8}" text-anchor="middle" class="node-name">${name}</text>`,
      `<text x="${node.x}" y="${node.y + 8}" text-anchor="middle" class="node-count">${num(counts.get(name) ?? 0)} docs</text>`,
      `<text x="${node.x}" y="${node.y + 22}" text-anchor="middle" class="node-findings" fill="${STATUS_COLOURS[status]}">${findings}</text>`,
      '</g>',
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** `path · <errors>` (errors first: they colour the edge), `+ <warnings> warn.` when there are warnings too. */
function edgeLabel(s: EdgeState): string {
  const counts =
    s.status === 'error'
      ? ` · ${num(s.errors)}${s.warnings ? ` + ${num(s.warnings)} warn.` : ''}`
      : s.status === 'warning'
        ? ` · ${num(s.warnings)}`
        : '';
  return `${s.pair ? `⇄${s.pair} ` : ''}${s.edge.path}${counts}`;
}
