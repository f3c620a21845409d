/**
 * The auditing side of bench/audit.ts, in its own process and from the build (dist/), so its peak RSS is the
 * audit's alone, without the TypeScript loader or the generator: streams the reference fields, then audits,
 * and prints one JSON line of figures.
 * With --incremental, the full audit keeps its baseline; the child then prints {"baseline": true}, waits for a
 * line on stdin (the parent changed 0.1% of the documents meanwhile), runs an incremental audit and a full one of
 * the changed database, and adds their figures and whether their findings are equal.
 * Usage: node bench/support/audit-child.js URI DB PLANTED_FILE [--incremental]
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const dist = path.join(__dirname, '..', '..', 'dist', 'libs');
const { MongoClient } = require('mongodb');
const { auditWithBaseline, runAudit } = require(path.join(dist, 'integrity', 'src'));
const { COLLECTION_NAMES, referenceGraph } = require(path.join(dist, 'schema', 'src'));

async function main() {
  const [uri, dbName, plantedFile, flag] = process.argv.slice(2);
  const incremental = flag === '--incremental';
  const planted = JSON.parse(fs.readFileSync(plantedFile, 'utf8'));
  const client = await MongoClient.connect(uri);
  const db = client.db(dbName);
  const edges = referenceGraph();
  const stream = async () => {
    let n = 0;
    for (const c of COLLECTION_NAMES) {
      const projection = { _id: 1 };
      for (const e of edges.filter((x) => x.from === c)) projection[e.path.split('.')[0]] = 1;
      for await (const _doc of db.collection(c).find({}, { projection, batchSize: 1000 })) n++;
    }
    return n;
  };
  // Warm both paths once (JIT), then time each.
  await stream();
  await runAudit(db, { collections: ['steps', 'outputs'] });
  let t = performance.now();
  const streamed = await stream();
  const streamMs = performance.now() - t;
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  // where the memory is: the JS heap (used), or outside it (buffers of the driver)
  const parts = { heapUsed: 0, heapTotal: 0, external: 0 };
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    for (const k of Object.keys(parts)) parts[k] = Math.max(parts[k], m[k]);
  }, 20);
  const found = new Set();
  t = performance.now();
  const onViolation = (v) => {
    if (v.check === 'dangling-reference') found.add(`${v.collection}|${String(v.docId)}|${v.path}`);
  };
  // with --incremental the full audit keeps a baseline (its position and violation set), as scheduled audits do
  const full = incremental
    ? await auditWithBaseline(db, {
        app: 'target',
        id: 'bench-full',
        mode: 'full',
        fullEvery: 0,
        onViolation,
      })
    : { report: await runAudit(db, { onViolation }) };
  const report = full.report;
  const auditMs = performance.now() - t;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const missed = planted.filter((p) => !found.has(`${p.collection}|${p.id}|${p.path}`));
  console.log(
    JSON.stringify({
      streamed,
      streamMs,
      auditMs,
      scanned: report.summary.scanned,
      summary: report.summary,
      rssBefore,
      peakRss: peak,
      peakParts: parts,
      maxRss: process.resourceUsage().maxRSS * 1024,
      missed: missed.slice(0, 5),
      missedCount: missed.length,
      ...(incremental ? await afterChanges(db, full) : {}),
    }),
  );
  await client.close();
}

/** Wait for the parent's changes, then time an incremental audit and a full one of the changed database. */
async function afterChanges(db, full) {
  console.log(JSON.stringify({ baseline: true }));
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  let t = performance.now();
  const inc = await auditWithBaseline(db, {
    app: 'target',
    id: 'bench-incremental',
    mode: 'incremental',
    base: { report: full.report, baseline: full.baseline },
    fullEvery: 0,
  });
  const incrementalMs = performance.now() - t;
  clearInterval(sampler);
  t = performance.now();
  const again = await runAudit(db, {});
  const fullAgainMs = performance.now() - t;
  const shape = (r) =>
    r.findings.map((f) => `${f.check} ${f.collection}.${f.path} ${f.violations}`).join('\n');
  return {
    incrementalMs,
    incrementalPeakRss: peak,
    coverage: inc.report.coverage,
    fullAgainMs,
    incrementalSummary: inc.report.summary,
    fullAgainSummary: again.summary,
    equal: shape(inc.report) === shape(again),
  };
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
