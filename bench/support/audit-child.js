/**
 * The measured side of bench/audit.ts, from the build (dist/) and in processes of its own, so that the audit's
 * peak RSS is the audit's alone (without the TypeScript loader, the generator, or the heap a stream of 10 million
 * documents leaves behind): `stream` streams the reference fields, `audit` audits; each prints one JSON line.
 * With --incremental, the full audit keeps its baseline; the child then prints {"baseline": true}, waits for a
 * line on stdin (the parent changed 0.1% of the documents meanwhile), runs an incremental audit and a full one of
 * the changed database, and adds their figures and whether their findings are equal.
 * Usage: node bench/support/audit-child.js URI DB stream | node bench/support/audit-child.js URI DB audit PLANTED_FILE
 *   [--incremental]
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const dist = path.join(__dirname, '..', '..', 'dist', 'libs');
const { MongoClient, ObjectId } = require('mongodb');
const { auditWithBaseline, runAudit } = require(path.join(dist, 'integrity', 'src'));
const { COLLECTION_NAMES, referenceGraph } = require(path.join(dist, 'schema', 'src'));
const { rawFind } = require(path.join(dist, 'integrity', 'src', 'raw-cursor'));

/** BENCH_MONOTONIC=1: each phase's start and end on the monotonic clock (µs, as CPU profiles of the server count). */
function phase(name, fn) {
  if (process.env.BENCH_MONOTONIC !== '1') return fn();
  const us = () => Number(process.hrtime.bigint() / 1000n);
  const start = us();
  return Promise.resolve(fn()).then((v) => {
    console.error(`(phase ${name}: ${start} .. ${us()} µs)`);
    return v;
  });
}

async function main() {
  const [uri, dbName, mode, plantedFile, flag] = process.argv.slice(2);
  const client = await MongoClient.connect(uri);
  const db = client.db(dbName);
  const figures =
    mode === 'stream' ? await streams(db) : await audit(db, plantedFile, flag === '--incremental');
  console.log(JSON.stringify(figures));
  await client.close();
}

/**
 * The reference fields streamed through the driver's cursor, as any reader of them would; and read as the audit
 * reads them (rawFind: the replies' bytes, each document decoded by decodeLean as it is read).
 */
async function streams(db) {
  const edges = referenceGraph();
  const stream = async (lean) => {
    let n = 0;
    for (const c of COLLECTION_NAMES) {
      const projection = { _id: 1 };
      for (const e of edges.filter((x) => x.from === c)) projection[e.path.split('.')[0]] = 1;
      if (lean) {
        for await (const batch of rawFind(db, c, { filter: {}, projection, batchSize: 1000 }))
          for (const doc of batch) if (doc._id !== undefined) n++;
        continue;
      }
      const cursor = db.collection(c).find({}, { projection, batchSize: 1000 });
      for await (const doc of cursor) if (doc._id !== undefined) n++;
    }
    return n;
  };
  // Warm both paths once (JIT), then time each.
  await stream(false);
  await stream(true);
  let t = performance.now();
  const streamed = await phase('stream', () => stream(false));
  const streamMs = performance.now() - t;
  t = performance.now();
  await phase('lean stream', () => stream(true));
  const leanStreamMs = performance.now() - t;
  return { streamed, streamMs, leanStreamMs, streamMaxRss: process.resourceUsage().maxRSS * 1024 };
}

/**
 * Warm-up of the code the measure runs (this process's JIT, and the embedded server's): a full audit of the warm-up
 * database; with --incremental, one that keeps its baseline, a few changes of each kind the measure makes, and an
 * incremental audit, as a scheduler that runs them in turn is warm.
 */
async function warmUp(warm, incremental) {
  if (!incremental) return void (await runAudit(warm));
  const full = await auditWithBaseline(warm, { app: 'target', id: 'warm-full', mode: 'full', fullEvery: 0 });
  const some = (c) =>
    warm
      .collection(c)
      .find({}, { projection: { _id: 1, stepRef: 1 }, limit: 60 })
      .toArray();
  const [logs, outputs, steps] = [await some('logs'), await some('outputs'), await some('steps')];
  for (const [i, l] of logs.entries()) {
    if (i < 20) await warm.collection('logs').deleteOne({ _id: l._id });
    else
      await warm
        .collection('logs')
        .insertOne({ stepRef: l.stepRef, timestamp: new Date(), logstring: 'warm' });
  }
  for (const o of outputs.slice(0, 10))
    await warm.collection('outputs').updateOne({ _id: o._id }, { $set: { stepRef: new ObjectId() } });
  for (const [i, d] of [...outputs.slice(10), ...steps].entries())
    await warm
      .collection(i < 50 ? 'outputs' : 'steps')
      .updateOne({ _id: d._id }, { $set: { bench_touch: i } });
  await auditWithBaseline(warm, {
    app: 'target',
    id: 'warm-incremental',
    mode: 'incremental',
    base: { report: full.report, baseline: full.baseline },
    fullEvery: 0,
  });
}

/** The full audit (and with --incremental the incremental part), in a process that did nothing else. */
async function audit(db, plantedFile, incremental) {
  const planted = JSON.parse(fs.readFileSync(plantedFile, 'utf8'));
  // JIT warm-up: a full audit of a small database of the same profile, the same at every size (a warm-up on the
  // measured database would grow with it, and its heap with it)
  await warmUp(db.client.db(`${db.databaseName}_warm`), incremental);
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
  const t = performance.now();
  const onViolation = (v) => {
    if (v.check === 'dangling-reference') found.add(`${v.collection}|${String(v.docId)}|${v.path}`);
  };
  // with --incremental the full audit keeps a baseline (its position and violation set), as scheduled audits do
  const full = await phase('audit', async () =>
    incremental
      ? await auditWithBaseline(db, {
          app: 'target',
          id: 'bench-full',
          mode: 'full',
          fullEvery: 0,
          onViolation,
        })
      : { report: await runAudit(db, { onViolation }) },
  );
  const report = full.report;
  const auditMs = performance.now() - t;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const maxRss = process.resourceUsage().maxRSS * 1024;
  const missed = planted.filter((p) => !found.has(`${p.collection}|${p.id}|${p.path}`));
  return {
    auditMs,
    scanned: report.summary.scanned,
    summary: report.summary,
    rssBefore,
    peakRss: peak,
    peakParts: parts,
    maxRss,
    missed: missed.slice(0, 5),
    missedCount: missed.length,
    ...(incremental ? await afterChanges(db, full) : {}),
  };
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
  const again = await phase('full again', () => runAudit(db, {}));
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
