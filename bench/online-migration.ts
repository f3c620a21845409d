/**
 * Online migration benchmark: converting `logs.stepRef` id strings to ObjectIds for N documents, online (the
 * runner's batches, compare-and-set writes, checkpoints, final passes) against one `updateMany` pipeline, each on
 * its own copy of the data, with an "application" reading and writing beside it. It prints the throughput of both,
 * their ratio, and the latency the application sees during each (the price of the one-shot update is that
 * every other operation waits behind it on the embedded server, and that a stop loses all of it).
 * Usage: npm run bench:online -- [--docs 1000000] [--batch 1000]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ObjectId } from 'bson';
import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import { Migrator } from '@odtp/migrations';
import { fmt, numberFlag, percentile, startServerProcess, timed } from './support/harness';

const DOCS = numberFlag('docs', 1_000_000);
const BATCH = numberFlag('batch', 1000);
const NAME = '20990101000000-bench-logs-steprefs.ts';
const SOURCE = `import { defineMigration, referencesToObjectId } from '@odtp/migrations';

export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'logs.stepRef id strings -> ObjectId (benchmark)',
  affects: [{ collection: 'logs', path: 'stepRef', change: 'reference-to-objectid' }],
  up: [referencesToObjectId('logs', ['stepRef'])],
  down: { irreversible: 'benchmark' },
});
`;

async function load(db: Db): Promise<void> {
  const steps = Array.from({ length: Math.ceil(DOCS / 100) }, () => new ObjectId().toHexString());
  for (let i = 0; i < DOCS; i += 10_000) {
    const docs = [];
    for (let j = i; j < Math.min(DOCS, i + 10_000); j++)
      docs.push({
        _id: new ObjectId(),
        stepRef: steps[Math.floor(j / 100)],
        timestamp: new Date(1_700_000_000_000 + j * 1000),
        type: 'stdout',
        logstring: `line ${j} of the component's output`,
      });
    await db.collection('logs').insertMany(docs, { ordered: false });
  }
}

/** An application beside the conversion: one read and one insert after another, each timed, until stopped. */
function application(db: Db): { stop(): Promise<number[]> } {
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      await db.collection('executions').insertOne({ title: 'probe', created_at: new Date() });
      await db.collection('logs').findOne({}, { sort: { _id: -1 } });
      latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return latencies;
    },
  };
}

function latencyLine(label: string, l: number[]): string {
  return `${label}: ${fmt(l.length)} operations, p50 ${fmt(percentile(l, 50), 1)} ms, p99 ${fmt(percentile(l, 99), 1)} ms, max ${fmt(Math.max(...l), 0)} ms`;
}

async function main(): Promise<void> {
  console.log(
    `online migration benchmark: ${fmt(DOCS)} logs, stepRef id strings -> ObjectId, batches of ${fmt(BATCH)}, Node ${process.version}`,
  );
  const dir = fs.mkdtempSync(path.join(__dirname, '.work-'));
  fs.writeFileSync(path.join(dir, NAME), SOURCE);
  const server = await startServerProcess();
  // one updateMany of 1M documents holds the single-threaded embedded server for a minute: the driver's monitor
  // must not declare it gone meanwhile (it would interrupt the very operation being measured)
  const client = await MongoClient.connect(server.uri, {
    connectTimeoutMS: 600_000,
    serverMonitoringMode: 'poll',
    heartbeatFrequencyMS: 60_000,
  });
  try {
    const plainDb = client.db('online_bench_plain');
    const onlineDb = client.db('online_bench_online');
    const loaded = await timed(async () => {
      await load(plainDb);
      await load(onlineDb);
    });
    console.log(`loaded 2 x ${fmt(DOCS)} documents in ${fmt(loaded.ms / 1000, 1)} s`);

    let app = application(plainDb);
    const plain = await timed(() =>
      plainDb
        .collection('logs')
        .updateMany({ stepRef: { $type: 'string' } }, [{ $set: { stepRef: { $toObjectId: '$stepRef' } } }]),
    );
    const plainLatency = await app.stop();

    app = application(onlineDb);
    let checkpoints = 0;
    const migrator = new Migrator(onlineDb, client, {
      dir,
      app: 'target',
      batchSize: BATCH,
      onProgress: () => void checkpoints++,
    });
    const online = await timed(() => migrator.up());
    const onlineLatency = await app.stop();

    const left = {
      plain: await plainDb.collection('logs').countDocuments({ stepRef: { $type: 'string' } }),
      online: await onlineDb.collection('logs').countDocuments({ stepRef: { $type: 'string' } }),
    };
    const changed = online.value.migrations[0]?.changes.logs ?? 0;
    console.log('');
    console.log(
      `updateMany pipeline : ${fmt(plain.ms / 1000, 2)} s (${fmt(plain.value.modifiedCount)} changed, ${fmt(DOCS / (plain.ms / 1000))} docs/s), ${fmt(left.plain)} strings left`,
    );
    console.log(
      `online migration    : ${fmt(online.ms / 1000, 2)} s (${fmt(changed)} changed, ${fmt(DOCS / (online.ms / 1000))} docs/s, ${fmt(checkpoints)} progress reports), ${fmt(left.online)} strings left`,
    );
    console.log(`ratio online / updateMany: ${fmt(online.ms / plain.ms, 2)}`);
    console.log(latencyLine('application during updateMany', plainLatency));
    console.log(latencyLine('application during online   ', onlineLatency));
  } finally {
    await client.close().catch(() => undefined);
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
