/**
 * HTML report benchmark: a large-profile database with planted defects of every kind, audited, rendered as the
 * HTML report, and opened in Chromium. Prints the file size (samples are capped, so it stays small whatever the
 * database size), the time to render it in Node and the time Chromium takes to load and lay it out.
 * Usage: npm run bench:html -- [--docs 1000000] [--seed 1]   (needs Debian's chromium on PATH)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { MongoClient } from 'mongodb';
import { renderHtmlReport, ReportStore, runAudit } from '@odtp/integrity';
import { COLLECTION_NAMES, deriveIndexes } from '@odtp/schema';
import { generateLarge } from '@odtp/seeding';
import { chromiumPath } from '../test/support/browser';
import { fmt, numberFlag, startServerProcess, timed } from './support/harness';

const DOCS = numberFlag('docs', 1_000_000);
const SEED = numberFlag('seed', 1);

async function main(): Promise<void> {
  const executable = chromiumPath();
  if (!executable) throw new Error('needs chromium on PATH (apt-get install -y chromium)');
  console.log(
    `HTML report benchmark: ${fmt(DOCS)} documents, seed ${SEED}, 0.1% planted defects, Node ${process.version}`,
  );
  const server = await startServerProcess();
  const client = await MongoClient.connect(server.uri);
  const db = client.db('html_bench');
  for (const i of deriveIndexes())
    await db.collection(i.collection).createIndex(i.key, { name: i.name, unique: i.unique || undefined });
  const load = await timed(async () => {
    let n = 0;
    for (const batch of generateLarge({ scale: DOCS, seed: SEED, defects: 0.001 })) {
      await db.collection(batch.collection).insertMany(batch.docs, { ordered: false });
      n += batch.docs.length;
    }
    return n;
  });
  console.log(`generated ${fmt(load.value)} documents in ${fmt(load.ms / 1000, 1)} s`);
  // generateLarge writes the target shapes: audited as such
  const audit = await timed(() => runAudit(db, { app: 'target' }));
  const report = audit.value;
  const store = new ReportStore(db);
  await store.save(report);
  console.log(
    `audited in ${fmt(audit.ms / 1000, 1)} s: ${fmt(report.summary.errors)} errors, ${fmt(report.summary.warnings)} warnings, ${fmt(report.summary.scanned)} documents, ${report.findings.filter((f) => f.violations).length} findings with violations`,
  );
  const trend = await store.trend(report.startedAt);
  const render = await timed(async () => renderHtmlReport(report, { trend }));
  const file = path.join(os.tmpdir(), `odtp-report-bench-${process.pid}.html`);
  fs.writeFileSync(file, render.value);
  const browser = await chromium.launch({
    executablePath: executable,
    headless: true,
    args: ['--no-sandbox'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const open = await timed(async () => {
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    return (await page.locator('body').boundingBox())?.height ?? 0;
  });
  const shot = path.join(os.tmpdir(), `odtp-report-bench-${process.pid}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  await browser.close();
  console.log('');
  console.log(
    `HTML file                  : ${fmt(render.value.length / 1024, 1)} KiB (${fmt(render.value.length)} bytes; limit 2 MB)`,
  );
  console.log(`render in Node             : ${fmt(render.ms, 1)} ms`);
  console.log(`load and lay out (Chromium): ${fmt(open.ms, 0)} ms (page ${fmt(open.value)} px high)`);
  console.log(`screenshot                 : ${shot}`);
  fs.unlinkSync(file);
  for (const c of COLLECTION_NAMES)
    await db
      .collection(c)
      .drop()
      .catch(() => undefined);
  await client.close();
  await server.stop();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
