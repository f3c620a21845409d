/**
 * npm run conformance:unified -- --specs DIR [--json FILE] [--min-pass-rate P] [--filter TEXT]
 *
 * Runs MongoDB's unified-format CRUD tests (the `*.json` files of DIR: `source/crud/tests/unified` of a clone of
 * github.com/mongodb/specifications, or `test/spec/crud/unified` of the Node.js driver's repository) against
 * MONGODB_URI, or else against the embedded server started with test commands. Prints each failure and the figures:
 * passed, failed, driver (failing on the command the driver sent, which no server changes), skipped (requirements
 * the server does not meet), unsupported (what this runner does not implement), and the pass rate over the tests the
 * server decides (passed + failed). Exit 1 below --min-pass-rate.
 * The spec files are not part of this repository: see docs/embedded-mongo.md ("Conformance").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EmbeddedMongo } from '@odtp/embedded-mongo';
import { MongoClient } from 'mongodb';
import { runUnifiedFile, serverFacts } from './unified/runner';
import type { TestOutcome } from './unified/runner';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

export function summarize(outcomes: TestOutcome[]): Record<string, number> {
  const count = (s: string): number => outcomes.filter((o) => o.status === s).length;
  const passed = count('passed');
  const failed = count('failed');
  return {
    tests: outcomes.length,
    passed,
    failed,
    driver: count('driver'),
    skipped: count('skipped'),
    unsupported: count('unsupported'),
    passRate: passed + failed ? Math.round((passed / (passed + failed)) * 1000) / 10 : 0,
  };
}

async function main(): Promise<void> {
  const dir =
    arg('specs') ?? fail('--specs DIR is required (a folder of unified-format CRUD test files, *.json)');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) fail(`--specs: ${dir} is not a folder`);
  const minRate = arg('min-pass-rate') === undefined ? undefined : Number(arg('min-pass-rate'));
  if (minRate !== undefined && !(minRate >= 0 && minRate <= 100)) fail('--min-pass-rate expects 0-100');
  const filter = arg('filter');
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json') && (!filter || f.includes(filter)))
    .sort();
  if (!files.length) fail(`--specs: no .json files in ${dir}`);
  const server = process.env.MONGODB_URI
    ? undefined
    : await EmbeddedMongo.create({ enableTestCommands: true });
  const uri = process.env.MONGODB_URI ?? server!.getUri();
  const admin = await MongoClient.connect(uri);
  const facts = await serverFacts(admin);
  const outcomes: TestOutcome[] = [];
  try {
    for (const f of files) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      let found: TestOutcome[];
      try {
        found = await runUnifiedFile(f, text, uri, admin, facts);
      } catch (e) {
        found = [
          { file: f, test: '(file)', status: 'failed', reason: `unreadable: ${(e as Error).message}` },
        ];
      }
      for (const o of found)
        if (o.status !== 'passed' && o.status !== 'skipped')
          console.log(`${o.status.toUpperCase()} ${o.file} :: ${o.test}: ${o.reason}`);
      outcomes.push(...found);
    }
  } finally {
    await admin.close();
    await server?.stop();
  }
  const figures = summarize(outcomes);
  console.log(
    `unified CRUD: server ${facts.version} (${facts.topology}${server ? ', embedded' : ''}), ${files.length} files, ` +
      `${figures.tests} tests: ${figures.passed} passed, ${figures.failed} failed, ${figures.driver} driver-side, ` +
      `${figures.skipped} skipped (requirements), ${figures.unsupported} unsupported (runner); ` +
      `pass rate ${figures.passRate}% of passed + failed`,
  );
  const out = arg('json');
  if (out) fs.writeFileSync(out, JSON.stringify({ server: facts, figures, outcomes }, null, 2) + '\n');
  if (minRate !== undefined && figures.passRate < minRate) process.exit(1);
}

if (require.main === module)
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
