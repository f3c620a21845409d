/**
 * npm run fuzz:wire -- --iterations N [--seed S] [--concurrency C]
 *
 * Fuzzes the embedded server's wire protocol in this process (see tools/wire-fuzz.ts) and prints the figures:
 * iterations, replies, connections the server closed, bystander failures (must be 0), whether a prototype changed
 * (must not), peak RSS. Exit 1 when the bystander connection ever went unanswered or a prototype changed.
 */
import { EmbeddedMongo } from '@odtp/embedded-mongo';
import { MongoClient } from 'mongodb';
import { fuzzWire } from './wire-fuzz';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} expects a positive integer (got "${process.argv[i + 1] ?? ''}")`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const iterations = flag('iterations', 10_000);
  const seed = flag('seed', Date.now() % 1_000_000_000);
  const concurrency = flag('concurrency', 8);
  const server = await EmbeddedMongo.create();
  const port = Number(new URL(server.getUri()).port);
  const started = Date.now();
  const startRss = process.memoryUsage().rss;
  // The fuzz messages store documents (legitimately): every 10,000 messages the data is dropped, so what the RSS
  // figures show is the server's own memory, not the data it was asked to keep.
  const client = await MongoClient.connect(server.getUri());
  let last = 0;
  let cleaning = Promise.resolve();
  const clean = async (): Promise<void> => {
    const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
    for (const { name } of databases)
      if (!['admin', 'local', 'config'].includes(name)) await client.db(name).dropDatabase();
  };
  const result = await fuzzWire(port, {
    iterations,
    seed,
    concurrency,
    onBatch: (done) => {
      if (done - last >= 10_000) {
        last = done;
        cleaning = cleaning.then(clean);
        console.log(`  ${done} messages, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
      }
    },
  });
  await cleaning;
  await client.close();
  await server.stop();
  const seconds = (Date.now() - started) / 1000;
  console.log(
    [
      `wire fuzz, seed ${result.seed}, ${concurrency} connections at a time`,
      `iterations:          ${result.iterations}`,
      `replies:             ${result.replies}`,
      `closed by server:    ${result.closed}`,
      `bystander failures:  ${result.bystanderFailures}`,
      `prototypes changed:  ${result.prototypesChanged ? 'YES' : 'no'}`,
      `RSS at start / peak: ${(startRss / 2 ** 20).toFixed(0)} / ${(result.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
      `time:                ${seconds.toFixed(1)} s (${(result.iterations / seconds).toFixed(0)} messages/s)`,
    ].join('\n'),
  );
  if (result.prototypesChanged) {
    console.error('a fuzz message changed Object.prototype, Array.prototype or Function.prototype');
    process.exit(1);
  }
  if (result.bystanderFailures) {
    console.error(`the bystander connection went unanswered after: ${result.firstFailure}`);
    process.exit(1);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
