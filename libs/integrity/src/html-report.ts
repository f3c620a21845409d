import { EJSON, ObjectId } from 'bson';
import type { Document } from 'bson';
import type { AuditReport, Finding } from './findings';
import { describeRepair } from './repair-rules';
import { graphSvg, STATUS_COLOURS } from './report-graph';
import { trendPoint, xml } from './report-store';
import type { TrendPoint } from './report-store';
import { trendHtml } from './report-trend';

export interface HtmlReportOptions {
  /** The reports of the trend, oldest first (the report itself included); default: the report alone. */
  trend?: TrendPoint[];
  /** Where the admin API is reached, for the sample links (default: paths only). */
  apiBase?: string;
  /** odtp-db's version, for the footer. */
  version?: string;
}

const num = (n: number): string => n.toLocaleString('en-US');

function idText(id: unknown): string {
  if (id instanceof ObjectId) return id.toHexString();
  if (typeof id === 'string') return id;
  return EJSON.stringify({ v: id as Document }, { relaxed: true }).slice(5, -1);
}

/** How to open a sample: the admin API route (ObjectId ids; the route takes no other kind). */
function openCommand(collection: string, id: unknown, apiBase: string): string {
  const hex =
    id instanceof ObjectId
      ? id.toHexString()
      : typeof id === 'string' && /^[0-9a-f]{24}$/i.test(id)
        ? id
        : '';
  if (!hex) return `<span class="muted">not an ObjectId: filter ${xml(collection)} by hand</span>`;
  return `<code>GET ${xml(apiBase)}/collections/${xml(collection)}/documents/${hex}</code>`;
}

function findingHtml(f: Finding, report: AuditReport, apiBase: string): string {
  const where = `${f.collection}.${f.path}${f.target ? ` → ${f.target}` : ''}`;
  const samples = f.samples.length
    ? `<table class="samples"><thead><tr><th>sample _id</th><th>open it</th></tr></thead><tbody>${f.samples
        .map(
          (s) =>
            `<tr><td><code>${xml(idText(s))}</code></td><td>${openCommand(f.collection, s, apiBase)}</td></tr>`,
        )
        .join(
          '',
        )}</tbody></table>${f.violations > f.samples.length ? `<p class="muted">${num(f.samples.length)} of ${num(f.violations)} shown (samples are capped).</p>` : ''}`
    : '';
  return `<details class="finding ${f.severity}" data-check="${f.check}" data-collection="${xml(f.collection)}" data-path="${xml(f.path)}" data-violations="${f.violations}">
<summary><span class="badge ${f.severity}">${f.severity}</span> <strong>${xml(f.check)}</strong> <code>${xml(where)}</code>: ${num(f.violations)} violation(s) in ${num(f.scanned)} document(s)${f.distinctMissing ? `, ${num(f.distinctMissing)} distinct missing id(s)` : ''}</summary>
${f.note ? `<p class="note">${xml(f.note)}</p>` : ''}
<p class="repair"><strong>repair plan:</strong> ${xml(describeRepair(f, report.app))}</p>
${samples}
</details>`;
}

function findingsHtml(report: AuditReport, apiBase: string): string {
  const collections = [...new Set(report.findings.map((f) => f.collection))];
  return collections
    .map((c) => {
      const all = report.findings.filter((f) => f.collection === c);
      const broken = all.filter((f) => f.violations > 0);
      const skipped = all.filter((f) => f.skipped);
      const clean = all.filter((f) => !f.violations && !f.skipped);
      return `<section class="collection" id="c-${xml(c)}"><h3>${xml(c)}</h3>
${broken.map((f) => findingHtml(f, report, apiBase)).join('\n')}
${clean.length ? `<p class="clean">clean: ${clean.map((f) => `${xml(f.check)} <code>${xml(f.path)}</code>`).join(', ')}</p>` : ''}
${skipped.map((f) => `<p class="muted">skipped ${xml(f.check)} <code>${xml(f.path)}</code>: ${xml(f.skipped!)}</p>`).join('\n')}
</section>`;
    })
    .join('\n');
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#202124;margin:0 auto;max-width:1200px;padding:16px 24px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;border-bottom:1px solid #dadce0;padding-bottom:4px;margin-top:28px}h3{font-size:15px;margin:18px 0 6px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}dl.meta dt{color:#5f6368}dl.meta dd{margin:0}
.totals{font-size:16px;margin:8px 0}.totals .error{color:${STATUS_COLOURS.error}}.totals .warning{color:${STATUS_COLOURS.warning}}
.scroll{overflow-x:auto}svg text{font:12px system-ui,sans-serif}.node-name{font-weight:600}.node-count{fill:#5f6368}.edge-label{font-size:11px}
.axis{fill:#5f6368;font-size:11px}.axis.current{fill:#202124;font-weight:600}
.legend-item{margin-right:14px;white-space:nowrap}.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}
details.finding{border:1px solid #dadce0;border-left:4px solid #dadce0;border-radius:4px;margin:6px 0;padding:6px 10px}
details.finding.error{border-left-color:${STATUS_COLOURS.error}}details.finding.warning{border-left-color:${STATUS_COLOURS.warning}}
summary{cursor:pointer}.badge{display:inline-block;border-radius:3px;padding:0 5px;font-size:12px;color:#fff}.badge.error{background:${STATUS_COLOURS.error}}.badge.warning{background:${STATUS_COLOURS.warning}}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #e8eaed;padding:2px 8px;text-align:left;font-size:13px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f1f3f4;padding:0 3px;border-radius:3px}
.muted{color:#5f6368}.clean{color:${STATUS_COLOURS.clean}}.note{background:#fef7e0;padding:4px 8px;border-radius:4px}
footer{margin-top:32px;color:#5f6368;font-size:12px}
`;

/**
 * The audit report as one self-contained HTML page (inline CSS and SVG, no script, no request to any server: a
 * Content-Security-Policy of default-src 'none' says so): the reference graph with its breakages, the trend over
 * the stored reports, and the findings with their samples, how to open each and what `repair plan` does.
 * Every value from the database is escaped.
 */
/** The upgrade backlog under a level other than target: what is still in an older form, per path (not findings). */
function upgradeSection(report: AuditReport): string {
  const backlog = report.upgrade?.backlog ?? [];
  if (!backlog.length) return '';
  const rows = backlog
    .map(
      (b) =>
        `<tr><td><code>${xml(b.collection)}.${xml(b.path)}</code></td><td>${b.form === 'both' ? '[ObjectId, id string] pairs' : 'id strings'}</td><td>${num(b.values)}</td></tr>`,
    )
    .join('');
  return `<section id="upgrade"><h2>Upgrade backlog</h2><p>Values in a form the configured application writes that is not the target's: not findings, what the upgrade converts (<code>odtp-db upgrade plan</code>).</p><table><thead><tr><th>path</th><th>form</th><th>values</th></tr></thead><tbody>${rows}</tbody></table></section>
`;
}

export function renderHtmlReport(report: AuditReport, options: HtmlReportOptions = {}): string {
  const trend = options.trend?.length ? options.trend : [trendPoint(report)];
  const apiBase = (options.apiBase ?? '').replace(/\/+$/, '');
  const seconds = (report.finishedAt.getTime() - report.startedAt.getTime()) / 1000;
  const broken = report.findings.filter((f) => f.violations > 0).length;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>odtp-db audit of ${xml(report.database)}: ${num(report.summary.errors)} error(s), ${num(report.summary.warnings)} warning(s)</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Integrity audit of <code>${xml(report.database)}</code></h1>
<p class="totals"><span class="error">${num(report.summary.errors)} error(s)</span> · <span class="warning">${num(report.summary.warnings)} warning(s)</span> · ${num(broken)} of ${num(report.findings.length)} checks with violations</p>
<dl class="meta">
<dt>application level</dt><dd><code>${xml(report.app)}</code></dd>
<dt>started</dt><dd>${report.startedAt.toISOString()}</dd>
<dt>finished</dt><dd>${report.finishedAt.toISOString()} (${seconds.toFixed(1)} s)</dd>
<dt>documents scanned</dt><dd>${num(report.summary.scanned)}</dd>
<dt>report id</dt><dd><code>${xml(report.id)}</code></dd>
</dl>
</header>
${upgradeSection(report)}<section id="graph"><h2>Reference graph</h2>
<p class="legend"><span class="legend-item"><span class="swatch" style="background:${STATUS_COLOURS.error}"></span>errors</span><span class="legend-item"><span class="swatch" style="background:${STATUS_COLOURS.warning}"></span>warnings only</span><span class="legend-item"><span class="swatch" style="background:${STATUS_COLOURS.clean}"></span>clean</span> Each arrow is a reference path, labelled with its violations; the two dashed arrows of a two-way link share a ⇄ number. Node borders show orphans, duplicates and schema violations.</p>
<div class="scroll">${graphSvg(report)}</div>
</section>
<section id="trend"><h2>Trend over the last ${num(trend.length)} report(s)</h2>
<div class="scroll">${trendHtml(trend, report.id)}</div>
</section>
<section id="findings"><h2>Findings</h2>
<p class="muted">Open a sample with the admin API (any API key) or the Swagger UI; <code>odtp-db repair plan --report ${xml(report.id)}</code> lists every action.</p>
${findingsHtml(report, apiBase)}
</section>
<footer>odtp-db${options.version ? ` ${xml(options.version)}` : ''} · generated ${new Date().toISOString()}</footer>
</body>
</html>
`;
}
