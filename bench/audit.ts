/**
 * Audit benchmark: a large-profile database (mostly steps, outputs and logs) with 0.1% of its references
 * replaced by dangling ones, audited with every check, against streaming exactly the reference fields the audit
 * reads, in the same run. The server runs in its own process; figures are for the auditing process.
 * Usage: npm run bench:audit -- [--docs 1000000] [--seed 1]
 */
import type { Document } from 'bson';
import { MongoClient } from 'mongodb';
import { runAudit } from '@odtp/integrity';
import type { Violation } from '@odtp/integrity';
import { COLLECTION_NAMES, deriveIndexes, referenceGraph } from '@odtp/schema';
import { generateLarge } from '@odtp/seeding';
import type { PlantedDefect } from '@odtp/seeding';
import { fmt, numberFlag, startServerProcess, timed } from './support/harness';

const DOCS = numberFlag('docs', 1_000_000);
const SEED = numberFlag('seed', 1);
const MB = 1024 * 1024;

async function main(): Promise<void> {
  console.log(
    `audit benchmark: ${fmt(DOCS)} documents, seed ${SEED}, 0.1% dangling references, Node ${process.version}`,
  );
  const server = await startServerProcess();
  const client = await MongoClient.connect(server.uri);
  const db = client.db('audit_bench');
  for (const i of deriveIndexes())
    await db.collection(i.collection).createIndex(i.key, { name: i.name, unique: i.unique || undefined });
  const planted: PlantedDefect[] = [];
  const load = await timed(async () => {
    let n = 0;
    for (const batch of generateLarge(
      { scale: DOCS, seed: SEED, defects: 0.001, defectKinds: ['dangling-reference'] },
      (d) => planted.push(d),
    )) {
      await db.collection(batch.collection).insertMany(batch.docs, { ordered: false });
      n += batch.docs.length;
    }
    return n;
  });
  const counts: Record<string, number> = {};
  for (const c of COLLECTION_NAMES) counts[c] = await db.collection(c).estimatedDocumentCount();
  console.log(
    `generated ${fmt(load.value)} documents in ${fmt(load.ms / 1000, 1)} s: ${JSON.stringify(counts)}`,
  );
  console.log(`planted ${fmt(planted.length)} dangling references`);

  // The floor: stream exactly the fields the audit reads (the reference paths; _id), collection by collection.
  const edges = referenceGraph();
  const stream = await timed(async () => {
    let n = 0;
    for (const c of COLLECTION_NAMES) {
      const projection: Document = { _id: 1 };
      for (const e of edges.filter((x) => x.from === c)) projection[e.path.split('.')[0]] = 1;
      for await (const _doc of db.collection(c).find({}, { projection, batchSize: 1000 })) n++;
    }
    return n;
  });

  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const found = new Set<string>();
  const audit = await timed(() =>
    runAudit(db, {
      onViolation: (v: Violation) => {
        if (v.check === 'dangling-reference') found.add(`${v.collection}|${String(v.docId)}|${v.path}`);
      },
    }),
  );
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const missed = planted.filter((p) => !found.has(`${p.collection}|${p.id}|${p.path}`));
  const report = audit.value;
  const byCheck = new Map<string, number>();
  for (const f of report.findings) byCheck.set(f.check, (byCheck.get(f.check) ?? 0) + f.durationMs);

  console.log('');
  console.log(
    `stream the reference fields : ${fmt(stream.ms / 1000, 2)} s (${fmt(stream.value)} documents, ${fmt(stream.value / (stream.ms / 1000))} docs/s)`,
  );
  console.log(
    `audit, every check          : ${fmt(audit.ms / 1000, 2)} s (${fmt(report.summary.scanned)} documents, ${fmt(report.summary.scanned / (audit.ms / 1000))} docs/s)`,
  );
  console.log(`ratio audit / stream        : ${fmt(audit.ms / stream.ms, 2)} (target <= 2.0)`);
  console.log(
    `peak RSS during the audit   : ${fmt(peak / MB)} MB (${fmt((peak - rssBefore) / MB)} MB above the ${fmt(rssBefore / MB)} MB before it; target < 300 MB)`,
  );
  console.log(`summary                     : ${JSON.stringify(report.summary)}`);
  console.log(
    `planted dangling found      : ${fmt(planted.length - missed.length)} of ${fmt(planted.length)}${missed.length ? ` MISSED ${JSON.stringify(missed.slice(0, 5))}` : ' (all)'}`,
  );
  await client.close();
  await server.stop();
  if (missed.length) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
