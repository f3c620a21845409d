import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import request from 'supertest';
import { DatabaseService } from '@odtp/database';
import { IntegrityService, STATUS_COLOURS } from '@odtp/integrity';
import type { AuditReport } from '@odtp/integrity';
import { defectsFixture } from './fixtures/defects';
import { createTestApp } from './support/app';
import type { TestApp } from './support/app';
import { ARTIFACTS, describeBrowser, launchChromium, NEEDS_CHROMIUM } from './support/browser';

const EDGE_CHECKS = ['dangling-reference', 'type-drift', 'query-mismatch', 'broken-inverse'];
const HOSTILE_ID = '<img src=x onerror=alert(1)>';

/** Error violations per reference path of a report, from its findings (what the graph must show). */
function errorEdges(report: AuditReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of report.findings)
    if (EDGE_CHECKS.includes(f.check) && f.severity === 'error' && f.violations > 0)
      out[`${f.collection}.${f.path}`] = (out[`${f.collection}.${f.path}`] ?? 0) + f.violations;
  return out;
}

describeBrowser(`the HTML audit report in a real browser${NEEDS_CHROMIUM}`, () => {
  let t: TestApp;
  let browser: Browser;
  let report: AuditReport;
  let file: string;

  beforeAll(async () => {
    t = await createTestApp();
    const db = t.app.get(DatabaseService).db();
    for (const [c, docs] of Object.entries(defectsFixture())) await db.collection(c).insertMany(docs);
    const integrity = t.app.get(IntegrityService);
    // three stored reports: the planted defects, after a repair, after a hostile document arrived
    const first = await integrity.audit();
    await integrity.repair(first.id, { dryRun: false });
    await db.collection('logs').insertOne({ _id: HOSTILE_ID, stepRef: '0000000000000000000000ff' } as never);
    await integrity.audit();
    report = await integrity.audit();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    file = path.join(ARTIFACTS, 'audit-report.html');
    fs.writeFileSync(file, await integrity.htmlReport(report.id));
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.app.close();
  });

  it('draws the edges with errors in the error colour with their counts, the trend with one point per report, offline and without errors', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const requests: string[] = [];
    const problems: string[] = [];
    const url = `file://${file}`;
    await page.route('**/*', (route) => {
      if (route.request().url() === url) return route.continue();
      requests.push(route.request().url());
      return route.abort();
    });
    page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(url);

    const expected = errorEdges(report);
    expect(expected['logs.stepRef']).toBe(1); // the hostile document's dangling stepRef
    const drawn = await page.$$eval('#graph-svg g.edge', (edges) =>
      edges.map((g) => ({
        key: `${g.getAttribute('data-from')}.${g.getAttribute('data-path')}`,
        status: g.getAttribute('data-status'),
        stroke: g.querySelector('path')?.getAttribute('stroke'),
        label: g.querySelector('text')?.textContent ?? '',
      })),
    );
    const red = drawn.filter((e) => e.stroke === STATUS_COLOURS.error);
    expect(
      Object.fromEntries(red.map((e) => [e.key, Number(/ · ([\d,]+)/.exec(e.label)?.[1].replace(/,/g, ''))])),
    ).toEqual(expected);
    expect(red.every((e) => e.status === 'error')).toBe(true);
    expect(drawn).toHaveLength(20); // every edge of the reference graph
    expect(await page.locator('#graph-svg g.node').count()).toBe(10);

    const series = await page.$$eval('#trend-svg g.series', (gs) =>
      gs.map((g) => ({
        key: g.getAttribute('data-series'),
        points: g.querySelectorAll('circle.point').length,
      })),
    );
    expect(series.length).toBeGreaterThanOrEqual(2);
    for (const s of series) expect(s).toEqual({ key: s.key, points: 3 });
    const totals = await page.$$eval('#trend-svg g.series[data-series="errors"] circle.point', (cs) =>
      cs.map((c) => Number(c.getAttribute('data-value'))),
    );
    expect(totals[2]).toBe(report.summary.errors);

    // the hostile id is text, not markup
    expect(await page.locator(`code:text-is("${HOSTILE_ID}")`).count()).toBeGreaterThan(0);
    expect(await page.locator('img').count()).toBe(0);
    expect(requests).toEqual([]);
    expect(problems).toEqual([]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'audit-report.png'), fullPage: true });
    expect(fs.statSync(path.join(ARTIFACTS, 'audit-report.png')).size).toBeGreaterThan(20_000);
  });

  it('the API serves the same page as text/html to a viewer (GET /audits/:id/report and /audits/latest/report)', async () => {
    const server = t.app.getHttpServer();
    await request(server).get(`/audits/${report.id}/report`).expect(401);
    const res = await request(server)
      .get(`/audits/${report.id}/report`)
      .set('authorization', t.viewer)
      .expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const latest = await request(server)
      .get('/audits/latest/report')
      .set('authorization', t.viewer)
      .expect(200);
    const strip = (html: string) => html.replace(/generated [^<]+</, '');
    expect(strip(latest.text)).toBe(strip(res.text));
    expect(strip(res.text)).toBe(strip(fs.readFileSync(file, 'utf8')));
    await request(server).get('/audits/nope/report').set('authorization', t.viewer).expect(404);
  });
});
