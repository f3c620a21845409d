/**
 * Embedded server benchmark (transactions, durability, index-backed queries, speed).
 * Usage: npm run bench:embedded -- [--docs 1000000]
 *
 * The server runs in its own process and is driven by the official driver over loopback. Each figure is
 * printed with its ratio to the same operation on an in-process JavaScript array/Map (the physical floor
 * of this design), measured afterwards in the same run so the floor's memory does not slow the client
 * during the server measurements. Each `$in` series and the scan start after the benchmark process collected
 * its garbage (the million documents it generated), a 2 s pause and 20 unmeasured queries, so they measure the
 * queries rather than the garbage collection the inserts left behind. Without that the driver's decoding of the
 * results was 2-3 ms slower per `$in` on 2 cores (the `raw: true` figures, which skip that decoding, barely
 * change).
 * No thresholds are asserted: compare the figures with the targets.
 */
import { calculateObjectSize, ObjectId } from 'bson';
import { MongoClient } from 'mongodb';
import type { Document } from 'mongodb';
import { fmt, median, numberFlag, percentile, startServerProcess, timed } from './support/harness';

const N = numberFlag('docs', 1_000_000);
const BATCH = 1000;
const RUNS = 100;
/** Unmeasured queries before each measured series (JIT warm-up), after a pause that lets the garbage collectors of
 * both processes finish the work the previous phase left (on 2 cores their threads compete with the queries). */
const WARMUP = 20;
const SETTLE_MS = 2000;
const STATUSES = ['active', 'deprecated', 'archived'];

function makeDoc(i: number, _id: ObjectId): Document {
  return {
    _id,
    i,
    name: `component-${i}`,
    email: `user${i}@example.org`,
    status: STATUSES[i % 3],
    tags: ['odtp', `t${i % 17}`, `g${i % 101}`],
    created_at: new Date(1_700_000_000_000 + i * 1000),
    ref: new ObjectId(),
    description:
      `Version ${i} of a component that runs a simulation step; output written to s3 bucket odtp under key ${i}`.padEnd(
        150,
        '.',
      ),
  };
}

/** Deterministic spread-out selections of 1,000 positions. */
function selection(k: number): number[] {
  return Array.from({ length: 1000 }, (_, j) => (k * 7919 + j * 104729) % N);
}

interface Figures {
  insertMs: number;
  inIdMs: number[];
  inIndexMs: number[];
  /** The same queries with `raw: true` (embedded only). */
  inIdRawMs?: number[];
  inIndexRawMs?: number[];
  scanMs: number;
  lookupMs: number;
}

async function measureEmbedded(
  ids: ObjectId[],
): Promise<Figures & { rssMb: number; dataBytes: number; indexMs: number; heap: string }> {
  const server = await startServerProcess();
  const client = await MongoClient.connect(server.uri, { maxPoolSize: 10 });
  const db = client.db('bench');
  const coll = db.collection('docs');
  let insertMs = 0;
  for (let start = 0; start < N; start += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, N - start) }, (_, k) =>
      makeDoc(start + k, ids[start + k]),
    );
    insertMs += (await timed(() => coll.insertMany(batch, { ordered: false }))).ms;
  }
  await settle(() => coll.find({ _id: { $in: selection(RUNS).map((p) => ids[p]) } }).toArray());
  const inIdMs: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const sel = selection(k).map((p) => ids[p]);
    const r = await timed(() => coll.find({ _id: { $in: sel } }).toArray());
    if (r.value.length !== new Set(sel.map(String)).size)
      throw new Error(`_id $in returned ${r.value.length}`);
    inIdMs.push(r.ms);
  }
  // The same queries with the driver's `raw` option (documents handed over as BSON, not decoded): what the server
  // and the transport cost, apart from the driver's decoding of 1,000 documents.
  const inIdRawMs: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const sel = selection(k).map((p) => ids[p]);
    inIdRawMs.push((await timed(() => coll.find({ _id: { $in: sel } }, { raw: true }).toArray())).ms);
  }
  const index = await timed(() => coll.createIndex({ i: 1 }));
  await settle(() => coll.find({ i: { $in: selection(RUNS) } }).toArray());
  const inIndexMs: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const sel = selection(k);
    const r = await timed(() => coll.find({ i: { $in: sel } }).toArray());
    if (r.value.length !== new Set(sel).size) throw new Error(`i $in returned ${r.value.length}`);
    inIndexMs.push(r.ms);
  }
  const inIndexRawMs: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const sel = selection(k);
    inIndexRawMs.push((await timed(() => coll.find({ i: { $in: sel } }, { raw: true }).toArray())).ms);
  }
  await settle(() =>
    coll
      .find({}, { projection: { i: 1, status: 1 } })
      .limit(10_000)
      .toArray(),
  );
  const scan = await timed(async () => {
    let n = 0;
    for await (const d of coll.find({}, { projection: { i: 1, status: 1 } })) if (d) n++;
    return n;
  });
  if (scan.value !== N) throw new Error(`scan returned ${scan.value}`);
  const refs = db.collection('refs');
  await refs.insertMany(Array.from({ length: 10_000 }, (_, k) => ({ k, target: ids[(k * 104729) % N] })));
  const lookup = await timed(() =>
    refs
      .aggregate([
        { $lookup: { from: 'docs', localField: 'target', foreignField: '_id', as: 't' } },
        { $project: { k: 1, n: { $size: '$t' } } },
      ])
      .toArray(),
  );
  if (lookup.value.length !== 10_000 || lookup.value.some((d) => d.n !== 1))
    throw new Error('$lookup result wrong');
  const [stats] = await coll.aggregate([{ $collStats: { storageStats: {} } }]).toArray();
  const status = await db.admin().command({ serverStatus: 1 });
  await client.close();
  await server.stop();
  return {
    insertMs,
    inIdMs,
    inIdRawMs,
    inIndexMs,
    inIndexRawMs,
    scanMs: scan.ms,
    lookupMs: lookup.ms,
    indexMs: index.ms,
    rssMb: status.mem.resident as number,
    heap: `V8 heap ${status.mem.heapUsedMB} MB used of ${status.mem.heapTotalMB} MB, ${status.mem.externalMB} MB outside the heap (document chunks)`,
    dataBytes: stats.storageStats.size as number,
  };
}

async function settle(query: () => Promise<unknown>): Promise<void> {
  // The benchmark's own garbage (a million generated documents) is collected before measuring (npm run
  // bench:embedded starts Node with --expose-gc); the server process is left as it is.
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  for (let k = 0; k < WARMUP; k++) await query();
}

async function measureFloor(ids: ObjectId[]): Promise<Figures> {
  const docs: Document[] = [];
  const insert = await timed(async () => {
    for (let start = 0; start < N; start += BATCH) {
      for (let k = start; k < Math.min(start + BATCH, N); k++) docs.push(makeDoc(k, ids[k]));
    }
  });
  const byId = new Map(docs.map((d) => [(d._id as ObjectId).toHexString(), d]));
  const byI = new Map(docs.map((d) => [d.i as number, d]));
  const inIdMs: number[] = [];
  const inIndexMs: number[] = [];
  await settle(async () => selection(RUNS).map((p) => [byId.get(ids[p].toHexString()), byI.get(p)]));
  for (let k = 0; k < RUNS; k++) {
    const sel = selection(k);
    inIdMs.push((await timed(async () => sel.map((p) => byId.get(ids[p].toHexString())))).ms);
    inIndexMs.push((await timed(async () => sel.map((p) => byI.get(p)))).ms);
  }
  const scan = await timed(async () => docs.map((d) => ({ _id: d._id, i: d.i, status: d.status })).length);
  const lookup = await timed(
    async () =>
      Array.from({ length: 10_000 }, (_, k) => ({ k, t: [byId.get(ids[(k * 104729) % N].toHexString())] }))
        .length,
  );
  return { insertMs: insert.ms, inIdMs, inIndexMs, scanMs: scan.ms, lookupMs: lookup.ms };
}

function row(label: string, ours: string, floor: string, ratio: number, target: string): void {
  console.log(
    `${label.padEnd(44)} ${ours.padStart(12)} ${floor.padStart(14)} ${fmt(ratio, 1).padStart(9)}x   ${target}`,
  );
}

async function main(): Promise<void> {
  const ids = Array.from({ length: N }, () => new ObjectId());
  console.log(
    `embedded-mongo benchmark: ${fmt(N)} documents of ~${calculateObjectSize(makeDoc(0, ids[0]))} bytes BSON, Node ${process.version}`,
  );
  const e = await measureEmbedded(ids);
  const f = await measureFloor(ids);
  console.log(
    `${'operation'.padEnd(44)} ${'embedded'.padStart(12)} ${'JS floor'.padStart(14)} ${'slower by'.padStart(10)}   target`,
  );
  row(
    'insertMany, batches of 1,000 (docs/s)',
    fmt(N / (e.insertMs / 1000)),
    fmt(N / (f.insertMs / 1000)),
    e.insertMs / f.insertMs,
    '>= 50,000 docs/s',
  );
  row(
    'find _id $in 1,000 ids (median ms)',
    fmt(median(e.inIdMs), 2),
    fmt(median(f.inIdMs), 3),
    median(e.inIdMs) / median(f.inIdMs),
    '< 10 ms',
  );
  row(
    'find i $in 1,000, secondary index (median ms)',
    fmt(median(e.inIndexMs), 2),
    fmt(median(f.inIndexMs), 3),
    median(e.inIndexMs) / median(f.inIndexMs),
    '< 10 ms',
  );
  row(
    'full scan, 2-field projection (docs/s)',
    fmt(N / (e.scanMs / 1000)),
    fmt(N / (f.scanMs / 1000)),
    e.scanMs / f.scanMs,
    '>= 200,000 docs/s',
  );
  row(
    '$lookup 10,000 docs on _id (ms)',
    fmt(e.lookupMs),
    fmt(f.lookupMs, 2),
    e.lookupMs / f.lookupMs,
    '< 1,000 ms',
  );
  console.log(
    `  of which server + transport (same queries with raw: true, the driver not decoding the documents): _id $in ${fmt(median(e.inIdRawMs!), 2)} ms, secondary $in ${fmt(median(e.inIndexRawMs!), 2)} ms`,
  );
  const spread = (v: number[]): string => `${fmt(percentile(v, 10), 2)}-${fmt(percentile(v, 90), 2)} ms`;
  console.log(
    `  spread of the ${RUNS} runs after ${WARMUP} unmeasured ones (10th-90th percentile): _id $in ${spread(e.inIdMs)}, secondary $in ${spread(e.inIndexMs)}`,
  );
  console.log(`createIndex {i: 1} over ${fmt(N)} documents: ${fmt(e.indexMs)} ms`);
  const ratio = (e.rssMb * 1024 * 1024) / e.dataBytes;
  console.log(
    `server resident memory: ${fmt(e.rssMb)} MB for ${fmt(e.dataBytes / 1024 / 1024)} MB of BSON data: ${fmt(ratio, 2)}x (target <= 3x); ${e.heap}`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
