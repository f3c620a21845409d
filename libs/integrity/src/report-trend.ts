import { CHECKS } from './findings';
import type { CheckName } from './findings';
import { xml } from './report-store';
import type { TrendPoint } from './report-store';

/** One line of the trend chart: a value per report. */
interface Series {
  key: string;
  label: string;
  colour: string;
  dashed: boolean;
  values: number[];
}

const CHECK_COLOURS: Record<CheckName, string> = {
  'dangling-reference': '#c5221f',
  'type-drift': '#8430ce',
  'query-mismatch': '#b06000',
  'broken-inverse': '#1967d2',
  orphan: '#e37400',
  duplicate: '#007b83',
  'schema-violation': '#5f6368',
};

/** The totals (errors, warnings) and every check that had violations in any of the reports. */
export function trendSeries(points: TrendPoint[]): Series[] {
  const series: Series[] = [
    {
      key: 'errors',
      label: 'errors (all checks)',
      colour: '#202124',
      dashed: false,
      values: points.map((p) => p.errors),
    },
    {
      key: 'warnings',
      label: 'warnings (all checks)',
      colour: '#80868b',
      dashed: true,
      values: points.map((p) => p.warnings),
    },
  ];
  for (const check of CHECKS) {
    const values = points.map((p) => (p.byCheck[check]?.errors ?? 0) + (p.byCheck[check]?.warnings ?? 0));
    if (values.some((v) => v > 0))
      series.push({ key: check, label: check, colour: CHECK_COLOURS[check], dashed: false, values });
  }
  return series;
}

/** A line chart of the trend (one point per report, oldest on the left) and the same figures as a table. */
export function trendHtml(points: TrendPoint[], currentId: string): string {
  if (!points.length) return '<p>No stored reports.</p>';
  const series = trendSeries(points);
  const W = 760;
  const H = 240;
  const pad = { left: 56, right: 16, top: 16, bottom: 40 };
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (i: number): number =>
    points.length === 1
      ? pad.left + (W - pad.left - pad.right) / 2
      : pad.left + (i * (W - pad.left - pad.right)) / (points.length - 1);
  const y = (v: number): number => pad.top + (H - pad.top - pad.bottom) * (1 - v / max);
  const svg: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" id="trend-svg" viewBox="0 0 ${W} ${H}" width="100%" style="max-width:${W}px" role="img" aria-label="Violations per check over the last ${points.length} report(s)">`,
    `<line x1="${pad.left}" y1="${y(0)}" x2="${W - pad.right}" y2="${y(0)}" stroke="#dadce0"/>`,
    `<line x1="${pad.left}" y1="${y(max)}" x2="${W - pad.right}" y2="${y(max)}" stroke="#f1f3f4"/>`,
    `<text x="${pad.left - 6}" y="${y(0) + 4}" text-anchor="end" class="axis">0</text>`,
    `<text x="${pad.left - 6}" y="${y(max) + 4}" text-anchor="end" class="axis">${max.toLocaleString('en-US')}</text>`,
  ];
  points.forEach((p, i) => {
    if (points.length <= 12 || i === 0 || i === points.length - 1 || p.id === currentId)
      svg.push(
        `<text x="${x(i)}" y="${H - pad.bottom + 16}" text-anchor="${points.length > 1 && i === 0 ? 'start' : points.length > 1 && i === points.length - 1 ? 'end' : 'middle'}" class="axis${p.id === currentId ? ' current' : ''}">${p.startedAt.toISOString().slice(5, 16).replace('T', ' ')}</text>`,
      );
  });
  for (const s of series) {
    svg.push(`<g class="series" data-series="${xml(s.key)}">`);
    svg.push(
      `<polyline fill="none" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ')}"/>`,
    );
    s.values.forEach((v, i) =>
      svg.push(
        `<circle class="point" cx="${x(i)}" cy="${y(v)}" r="${points[i].id === currentId ? 4.5 : 3}" fill="${s.colour}" data-report="${xml(points[i].id)}" data-value="${v}"><title>${xml(`${s.label}: ${v} on ${points[i].startedAt.toISOString()}`)}</title></circle>`,
      ),
    );
    svg.push('</g>');
  }
  svg.push('</svg>');
  const legend = series
    .map(
      (s) =>
        `<span class="legend-item"><span class="swatch" style="background:${s.colour}"></span>${xml(s.label)}</span>`,
    )
    .join(' ');
  const rows = series
    .map(
      (s) =>
        `<tr><th scope="row">${xml(s.label)}</th>${s.values.map((v) => `<td>${v.toLocaleString('en-US')}</td>`).join('')}</tr>`,
    )
    .join('\n');
  const head = points
    .map(
      (p) =>
        `<th scope="col"${p.id === currentId ? ' class="current"' : ''}>${p.startedAt.toISOString().slice(0, 16).replace('T', ' ')}</th>`,
    )
    .join('');
  return `${svg.join('\n')}
<p class="legend">${legend}</p>
<details><summary>The figures</summary><div class="scroll"><table class="trend-table"><thead><tr><th></th>${head}</tr></thead><tbody>${rows}</tbody></table></div></details>`;
}
