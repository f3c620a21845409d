/**
 * Seed benchmark: the large profile through the loader (validate + upsert by _id) against a plain insertMany
 * of the same generated documents, both on an embedded server in its own process.
 * Usage: npm run bench:seed -- [--scale 1000000] [--seed 1]
 */
import { MongoClient } from 'mongodb';
import { generateLarge, loadLarge } from '@odtp/seeding';
import { fmt, numberFlag, startServerProcess } from './support/harness';

const SCALE = numberFlag('scale', 1_000_000);
const SEED = numberFlag('seed', 1);

async function main(): Promise<void> {
  console.log(`seed benchmark: large profile, scale ${fmt(SCALE)}, seed ${SEED}, Node ${process.version}`);
  const server = await startServerProcess();
  const client = await MongoClient.connect(server.uri);
  // Warm up both paths (JIT, server structures) so neither timed run pays for the other's cold start.
  await loadLarge(client.db('warmup_seeded'), { scale: 20_000, seed: SEED + 1 });
  for (const batch of generateLarge({ scale: 20_000, seed: SEED + 1 })) {
    await client.db('warmup_plain').collection(batch.collection).insertMany(batch.docs, { ordered: false });
  }
  let peak = 0;
  const rssAt: string[] = [];
  // process.memoryUsage.rss() reads only the RSS (memoryUsage() also walks the heap spaces, ~1% of the loader's time).
  const sample = (): void => void (peak = Math.max(peak, process.memoryUsage.rss()));
  const timer = setInterval(sample, 50);
  let nextMark = 0.25;
  const t0 = performance.now();
  const loaded = await loadLarge(client.db('seeded'), {
    scale: SCALE,
    seed: SEED,
    onProgress: (n) => {
      sample();
      if (n >= nextMark * SCALE * 0.99) {
        rssAt.push(`${Math.round(nextMark * 100)}%: ${fmt(process.memoryUsage.rss() / 1024 / 1024)} MB`);
        nextMark += 0.25;
      }
    },
  });
  const seedMs = performance.now() - t0;
  const docs = loaded.inserted + loaded.modified + loaded.unchanged;
  const t1 = performance.now();
  let plain = 0;
  for (const batch of generateLarge({ scale: SCALE, seed: SEED })) {
    await client.db('plain').collection(batch.collection).insertMany(batch.docs, { ordered: false });
    plain += batch.docs.length;
  }
  const plainMs = performance.now() - t1;
  clearInterval(timer);
  const seedRate = docs / (seedMs / 1000);
  const plainRate = plain / (plainMs / 1000);
  console.log(
    `loader (validate + upsert): ${fmt(docs)} documents in ${fmt(seedMs / 1000, 1)} s = ${fmt(seedRate)} documents/s (target >= 20,000)`,
  );
  console.log(`plain insertMany of the same documents: ${fmt(plainRate)} documents/s`);
  console.log(`ratio loader / insertMany: ${fmt(seedRate / plainRate, 2)} (target >= 0.8)`);
  console.log(`bench process peak RSS: ${fmt(peak / 1024 / 1024)} MB; RSS by progress: ${rssAt.join(', ')}`);
  await client.close();
  await server.stop();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
