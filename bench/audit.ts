/**
 * Audit benchmark: a large-profile database (mostly steps, outputs and logs) with 0.1% of its references
 * replaced by dangling ones, audited with every check, against streaming exactly the reference fields the audit
 * reads, in the same run. The server runs in its own process; figures are for the auditing process, which first
 * warms up (JIT) on a database of 50,000 documents of the same profile, the same whatever --docs.
 * With --incremental: the full audit keeps its baseline, then 0.1% of the documents change (updates of plain
 * fields, new logs, deleted logs, new dangling references) and an incremental audit is timed against a full one
 * of the changed database (their findings must be equal).
 * Usage: npm run bench:audit -- [--docs 1000000] [--seed 1] [--incremental]   (builds first: the auditing process
 * runs from dist/)
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ObjectId } from 'bson';
import type { Document } from 'bson';
import type { Db, Filter } from 'mongodb';
import { MongoClient } from 'mongodb';
import { COLLECTION_NAMES } from '@odtp/schema';
import { generateLarge } from '@odtp/seeding';
import type { PlantedDefect } from '@odtp/seeding';
import { createSchemaIndexes, fmt, numberFlag, startServerProcess, timed } from './support/harness';
import { prng } from '../tools/wire-fuzz';

const DOCS = numberFlag('docs', 1_000_000);
const SEED = numberFlag('seed', 1);
const MB = 1024 * 1024;
const INCREMENTAL = process.argv.includes('--incremental');
/** The size of the database the auditing process warms up on (JIT) before the measure. */
const WARM_DOCS = 50_000;

/** Ids kept while loading, 1% of each collection's: the documents that will change. */
const SAMPLE_RATE = 0.01;
/** Ids kept while loading, by collection: the documents that will change. */
type Sample = Map<string, unknown[]>;

/**
 * Change 0.1% of the documents as an application does: 5% outputs whose stepRef is set to a missing step (new
 * dangling references), 10% deleted logs, 25% new logs of sampled steps, 60% updates of a plain field of documents
 * of every collection (a collection whose sampled ids ran out leaves its share to the others).
 */
async function changeOnePerMille(db: Db, sample: Sample, rnd: () => number): Promise<Record<string, number>> {
  const n = Math.max(10, Math.round(DOCS / 1000));
  const pick = (c: string): unknown => {
    const ids = sample.get(c) ?? [];
    return ids.length ? ids.splice(Math.floor(rnd() * ids.length), 1)[0] : undefined;
  };
  const done = { updated: 0, inserted: 0, deleted: 0, dangling: 0 };
  for (let i = 0; i < Math.round(n * 0.05); i++) {
    const id = pick('outputs');
    if (id === undefined) break;
    await db
      .collection('outputs')
      .updateOne({ _id: id } as Filter<Document>, { $set: { stepRef: new ObjectId() } });
    done.dangling++;
  }
  for (let i = 0; i < Math.round(n * 0.1); i++) {
    const id = pick('logs');
    if (id === undefined) break;
    await db.collection('logs').deleteOne({ _id: id } as Filter<Document>);
    done.deleted++;
  }
  const steps = sample.get('steps') ?? [];
  const logs = [];
  for (let i = 0; i < Math.round(n * 0.25); i++)
    logs.push({
      _id: new ObjectId(),
      stepRef: steps[Math.floor(rnd() * steps.length)],
      timestamp: new Date(),
      logstring: `bench log ${i}`,
    });
  if (logs.length) await db.collection('logs').insertMany(logs);
  done.inserted = logs.length;
  for (let i = 0; i < Math.round(n * 0.6); i++) {
    const left = [...sample.keys()].filter((c) => sample.get(c)!.length);
    if (!left.length) break;
    const c = left[Math.floor(rnd() * left.length)];
    await db.collection(c).updateOne({ _id: pick(c) } as Filter<Document>, { $set: { bench_touch: i } });
    done.updated++;
  }
  const total = done.updated + done.inserted + done.deleted + done.dangling;
  if (total < n) throw new Error(`changed ${total} documents, not ${n}: the sample ran out`);
  return done;
}

/** What the streaming process prints (bench/support/audit-child.js stream). */
type StreamFigures = { streamed: number; streamMs: number; leanStreamMs: number; streamMaxRss: number };

/** What the auditing process prints (bench/support/audit-child.js audit). */
type ChildFigures = {
  auditMs: number;
  scanned: number;
  summary: object;
  rssBefore: number;
  peakRss: number;
  peakParts: { heapUsed: number; heapTotal: number; external: number };
  maxRss: number;
  missed: PlantedDefect[];
  missedCount: number;
  incrementalMs?: number;
  incrementalPeakRss?: number;
  coverage?: object;
  fullAgainMs?: number;
  equal?: boolean;
};

/** The full audit's figures against the stream, and the issue's targets. */
function printFull(s: StreamFigures, r: ChildFigures, plantedCount: number): void {
  console.log('');
  console.log(
    `stream the reference fields : ${fmt(s.streamMs / 1000, 2)} s (${fmt(s.streamed)} documents, ${fmt(s.streamed / (s.streamMs / 1000))} docs/s; peak RSS of that process ${fmt(s.streamMaxRss / MB)} MB)`,
  );
  console.log(
    `  read as the audit reads   : ${fmt(s.leanStreamMs / 1000, 2)} s (rawFind: reply bytes, each document decoded as it is read)`,
  );
  console.log(
    `audit, every check          : ${fmt(r.auditMs / 1000, 2)} s (${fmt(r.scanned)} documents, ${fmt(r.scanned / (r.auditMs / 1000))} docs/s)`,
  );
  console.log(
    `ratio audit / stream        : ${fmt(r.auditMs / s.streamMs, 2)} (target <= 1.25); to the stream read as the audit reads: ${fmt(r.auditMs / s.leanStreamMs, 2)}`,
  );
  console.log(
    `peak RSS of the audit process: ${fmt(r.maxRss / MB, 1)} MB (sampled during the audit: ${fmt(r.peakRss / MB, 1)} MB, ${fmt(r.rssBefore / MB)} MB before it, after its warm-up; target: at 10M no more than at 1M + 10%)`,
  );
  console.log(
    `peaks during the audit      : JS heap used ${fmt(r.peakParts.heapUsed / MB)} MB of ${fmt(r.peakParts.heapTotal / MB)} MB, external ${fmt(r.peakParts.external / MB)} MB`,
  );
  console.log(`summary                     : ${JSON.stringify(r.summary)}`);
  console.log(
    `planted dangling found      : ${fmt(plantedCount - r.missedCount)} of ${fmt(plantedCount)}${r.missedCount ? ` MISSED ${JSON.stringify(r.missed)}` : ' (all)'}`,
  );
}

/** The incremental part of the figures (with --incremental). */
function printIncremental(
  r: {
    incrementalMs?: number;
    incrementalPeakRss?: number;
    coverage?: object;
    fullAgainMs?: number;
    equal?: boolean;
  },
  changed: Record<string, number> | undefined,
): void {
  if (r.incrementalMs === undefined) return;
  {
    console.log('');
    console.log(`changed (0.1% of the documents): ${JSON.stringify(changed)}`);
    console.log(
      `incremental audit           : ${fmt(r.incrementalMs / 1000, 2)} s, coverage ${JSON.stringify(r.coverage)}, peak RSS ${fmt(r.incrementalPeakRss! / MB)} MB`,
    );
    console.log(`full audit of the same state: ${fmt(r.fullAgainMs! / 1000, 2)} s`);
    console.log(
      `ratio incremental / full    : ${fmt(r.incrementalMs / r.fullAgainMs!, 3)} (target < 0.1); findings equal: ${r.equal}`,
    );
    if (!r.equal) process.exitCode = 1;
  }
}

async function main(): Promise<void> {
  console.log(
    `audit benchmark: ${fmt(DOCS)} documents, seed ${SEED}, 0.1% dangling references, Node ${process.version}`,
  );
  const server = await startServerProcess();
  const client = await MongoClient.connect(server.uri);
  const db = client.db('audit_bench');
  await createSchemaIndexes(db);
  const planted: PlantedDefect[] = [];
  const sample: Sample = new Map();
  const rnd = prng(SEED);
  const load = await timed(async () => {
    let n = 0;
    for (const batch of generateLarge(
      { scale: DOCS, seed: SEED, defects: 0.001, defectKinds: ['dangling-reference'] },
      (d) => planted.push(d),
    )) {
      await db.collection(batch.collection).insertMany(batch.docs, { ordered: false });
      if (INCREMENTAL) {
        const kept = sample.get(batch.collection) ?? [];
        sample.set(batch.collection, kept);
        for (const d of batch.docs) if (rnd() < SAMPLE_RATE) kept.push(d._id);
      }
      n += batch.docs.length;
    }
    return n;
  });
  // the auditing process warms up on a small database of the same profile, of the same size whatever --docs
  const warm = client.db('audit_bench_warm');
  await createSchemaIndexes(warm);
  const warmOptions = {
    scale: WARM_DOCS,
    seed: SEED + 1,
    defects: 0.001,
    defectKinds: ['dangling-reference'] as const,
  };
  for (const batch of generateLarge(warmOptions, () => undefined))
    await warm.collection(batch.collection).insertMany(batch.docs, { ordered: false });
  const counts: Record<string, number> = {};
  for (const c of COLLECTION_NAMES) counts[c] = await db.collection(c).estimatedDocumentCount();
  console.log(
    `generated ${fmt(load.value)} documents in ${fmt(load.ms / 1000, 1)} s: ${JSON.stringify(counts)}`,
  );
  console.log(`planted ${fmt(planted.length)} dangling references`);

  // The streams and the audit run in processes of their own, so the audit's peak RSS is its own.
  const streams = JSON.parse(await runChild(server.uri, ['stream'])) as StreamFigures;
  const plantedFile = path.join(os.tmpdir(), `odtp-audit-planted-${process.pid}.json`);
  fs.writeFileSync(plantedFile, JSON.stringify(planted));
  let changed: Record<string, number> | undefined;
  const out = await runChild(
    server.uri,
    ['audit', plantedFile, ...(INCREMENTAL ? ['--incremental'] : [])],
    (sofar, stdin) => {
      if (INCREMENTAL && !changed && sofar.includes('{"baseline":true}')) {
        changed = {};
        void changeOnePerMille(db, sample, rnd).then((c) => {
          changed = c;
          stdin.end('go\n');
        });
      }
    },
  );
  fs.unlinkSync(plantedFile);
  const r = JSON.parse(out) as ChildFigures;
  printFull(streams, r, planted.length);
  printIncremental(r, changed);
  const missed = r.missedCount;
  await client.close();
  await server.stop();
  if (missed) process.exitCode = 1;
}

/** Run bench/support/audit-child.js with these arguments; resolves with its last line of output. */
async function runChild(
  uri: string,
  args: string[],
  onOutput?: (sofar: string, stdin: NodeJS.WritableStream) => void,
): Promise<string> {
  const child = spawn(
    process.execPath,
    [path.join(__dirname, 'support', 'audit-child.js'), uri, 'audit_bench', ...args],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d;
    onOutput?.(out, child.stdin);
  });
  const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (status !== 0) throw new Error(`${args[0]} process failed (${status})`);
  return out.trim().split('\n').pop()!;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
