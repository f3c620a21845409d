/**
 * The auditing side of bench/audit.ts, in its own process and from the build (dist/), so its peak RSS is the
 * audit's alone, without the TypeScript loader or the generator: streams the reference fields, then audits,
 * and prints one JSON line of figures.
 * Usage: node bench/support/audit-child.js URI DB PLANTED_FILE
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const dist = path.join(__dirname, '..', '..', 'dist', 'libs');
const { MongoClient } = require('mongodb');
const { runAudit } = require(path.join(dist, 'integrity', 'src'));
const { COLLECTION_NAMES, referenceGraph } = require(path.join(dist, 'schema', 'src'));

async function main() {
  const [uri, dbName, plantedFile] = process.argv.slice(2);
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
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const found = new Set();
  t = performance.now();
  const report = await runAudit(db, {
    onViolation: (v) => {
      if (v.check === 'dangling-reference') found.add(`${v.collection}|${String(v.docId)}|${v.path}`);
    },
  });
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
      maxRss: process.resourceUsage().maxRSS * 1024,
      missed: missed.slice(0, 5),
      missedCount: missed.length,
    }),
  );
  await client.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
