import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MongoClient } from 'mongodb';
import { runUnifiedFile, serverFacts, unmetRequirement } from '../tools/unified/runner';
import { matchValue } from '../tools/unified/match';
import { startTestMongo } from './support/mongo';
import { tempDir } from './support/temp-dirs';
import type { TestMongo } from './support/mongo';

/**
 * The unified-format runner behind `npm run conformance:unified` (which measures the embedded server against
 * MongoDB's CRUD specification tests): it must report passes, failures, skips and unsupported tests exactly, or its
 * figures mean nothing. The fixture is odtp-db's own file, written in the format.
 */
describe('unified test format runner', () => {
  let mongo: TestMongo;
  let admin: MongoClient;

  beforeAll(async () => {
    mongo = await startTestMongo();
    admin = await MongoClient.connect(mongo.uri);
  });
  afterAll(async () => {
    await admin.db('unified-selftest').dropDatabase();
    await admin.db('unified-change-streams').dropDatabase();
    await admin.close();
    await mongo.close();
  });

  it('runs a file and reports every test with its status and reason', async () => {
    const file = path.join(__dirname, 'fixtures/unified/runner-selftest.json');
    const facts = await serverFacts(admin);
    const outcomes = await runUnifiedFile('selftest', fs.readFileSync(file, 'utf8'), mongo.uri, admin, facts);
    expect(outcomes.map((o) => [o.test, o.status, o.reason])).toEqual([
      ['results, events and outcome match', 'passed', undefined],
      ['an expected server error', 'passed', undefined],
      ['a requirement the server does not meet', 'skipped', 'needs server >= 99.0'],
      [
        'a wrong expectation is reported with its path',
        'failed',
        'find: [0].name: expected "fetched", got "fetch"',
      ],
      [
        'an outcome must hold exactly the expected documents',
        'failed',
        'outcome: steps[0]: unexpected fields ms',
      ],
      [
        "a command the driver did not send as expected is the driver's",
        'driver',
        'event 0.command.comment: missing',
      ],
      ['what the runner does not implement is counted apart', 'unsupported', 'collection operation watch'],
    ]);
  });

  it("change streams behave as MongoDB documents them (odtp-db's unified-format change-stream file)", async () => {
    const file = path.join(__dirname, 'fixtures/unified/change-streams.json');
    const facts = await serverFacts(admin);
    const outcomes = await runUnifiedFile(
      'change-streams',
      fs.readFileSync(file, 'utf8'),
      mongo.uri,
      admin,
      facts,
    );
    expect(outcomes.filter((o) => o.status !== 'passed').map((o) => [o.test, o.status, o.reason])).toEqual(
      [],
    );
    expect(outcomes.length).toBe(11);
  });

  it('reads requirements as the format defines them (any entry suffices; versions compare by the named parts)', () => {
    const facts = { version: '7.0.12', topology: 'replicaset' as const };
    expect(
      unmetRequirement([{ minServerVersion: '7.0' }, { maxServerVersion: '4.4' }], facts),
    ).toBeUndefined();
    expect(unmetRequirement([{ maxServerVersion: '7.0' }], facts)).toBeUndefined();
    expect(unmetRequirement([{ maxServerVersion: '6.99' }], facts)).toBe('needs server <= 6.99');
    expect(unmetRequirement([{ minServerVersion: '8.0' }, { topologies: ['sharded'] }], facts)).toBe(
      'needs server >= 8.0; needs topology sharded',
    );
    expect(
      unmetRequirement([{ serverless: 'forbid', topologies: ['single', 'replicaset'] }], facts),
    ).toBeUndefined();
  });

  it('matches with the special operators and root-level leniency', () => {
    expect(matchValue({ a: 1 }, { a: 1, b: 2 })).toBeUndefined();
    expect(matchValue({ x: { a: 1 } }, { x: { a: 1, b: 2 } })).toBe('x: unexpected fields b');
    // a root-level array's documents are root-level; their embedded documents are not
    expect(matchValue([{ a: 1 }], [{ a: 1, b: 2 }])).toBeUndefined();
    expect(matchValue([{ x: { a: 1 } }], [{ x: { a: 1, b: 2 } }])).toBe('[0].x: unexpected fields b');
    expect(matchValue({ a: { $$exists: false } }, { b: 1 })).toBeUndefined();
    expect(matchValue({ a: { $$exists: true } }, { b: 1 })).toBe('a: expected present');
    expect(matchValue({ a: { $$unsetOrMatches: 2 } }, {})).toBeUndefined();
    expect(matchValue({ a: { $$unsetOrMatches: 2 } }, { a: 3 })).toBe('a: expected 2, got 3');
    expect(matchValue({ n: { $$lte: 5 } }, { n: 5 })).toBeUndefined();
    expect(matchValue([1, 2], [1])).toBe(': expected 2 elements, got 1 ([1])');
  });
  it('a careless command line is refused with exit 2 and a message naming the flag, before any server starts', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['-r', '@swc-node/register', 'tools/unified-crud.ts', ...args], {
        cwd: path.join(__dirname, '..'),
        encoding: 'utf8',
      });
    const empty = tempDir('odtp-unified-');
    const cases: [string[], string][] = [
      [[], '--specs DIR is required'],
      [['--specs', path.join(empty, 'missing')], 'is not a folder'],
      [['--specs', empty], 'no .json files in'],
      [['--specs', empty, '--min-pass-rate', '101'], '--min-pass-rate expects 0-100'],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      expect([r.status, r.stderr.includes(message)]).toEqual([2, true]);
    }
  });
});
