/**
 * Audit benchmark: a large-profile database (mostly steps, outputs and logs) with 0.1% of its references
 * replaced by dangling ones, audited with every check, against streaming exactly the reference fields the audit
 * reads, in the same run. The server runs in its own process; figures are for the auditing process.
 * Usage: npm run bench:audit -- [--docs 1000000] [--seed 1]   (builds first: the auditing process runs from dist/)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MongoClient } from 'mongodb';
import { COLLECTION_NAMES, deriveIndexes } from '@odtp/schema';
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

  // The auditing process is separate, so its peak RSS is the audit's own (not the generator's).
  const plantedFile = path.join(os.tmpdir(), `odtp-audit-planted-${process.pid}.json`);
  fs.writeFileSync(plantedFile, JSON.stringify(planted));
  const child = spawnSync(
    process.execPath,
    [path.join(__dirname, 'support', 'audit-child.js'), server.uri, 'audit_bench', plantedFile],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  fs.unlinkSync(plantedFile);
  if (child.status !== 0) throw new Error(`audit process failed (${child.status})`);
  const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as {
    streamed: number;
    streamMs: number;
    auditMs: number;
    scanned: number;
    summary: object;
    rssBefore: number;
    peakRss: number;
    maxRss: number;
    missed: PlantedDefect[];
    missedCount: number;
  };
  console.log('');
  console.log(
    `stream the reference fields : ${fmt(r.streamMs / 1000, 2)} s (${fmt(r.streamed)} documents, ${fmt(r.streamed / (r.streamMs / 1000))} docs/s)`,
  );
  console.log(
    `audit, every check          : ${fmt(r.auditMs / 1000, 2)} s (${fmt(r.scanned)} documents, ${fmt(r.scanned / (r.auditMs / 1000))} docs/s)`,
  );
  console.log(`ratio audit / stream        : ${fmt(r.auditMs / r.streamMs, 2)} (target <= 2.0)`);
  console.log(
    `peak RSS of the audit process: ${fmt(r.maxRss / MB)} MB (sampled during the audit: ${fmt(r.peakRss / MB)} MB, ${fmt(r.rssBefore / MB)} MB before it; target < 300 MB)`,
  );
  console.log(`summary                     : ${JSON.stringify(r.summary)}`);
  console.log(
    `planted dangling found      : ${fmt(planted.length - r.missedCount)} of ${fmt(planted.length)}${r.missedCount ? ` MISSED ${JSON.stringify(r.missed)}` : ' (all)'}`,
  );
  const missed = r.missedCount;
  await client.close();
  await server.stop();
  if (missed) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
