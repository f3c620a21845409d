import * as path from 'node:path';
import { EJSON } from 'bson';
import type { Db } from 'mongodb';
import { LeaseLock, LeaseLostError } from '@odtp/database';
import { importDump, readDump } from '@odtp/dump';
import { JOURNAL_COLLECTION, REPORTS_COLLECTION, repair, runAudit, undoRepair } from '@odtp/integrity';
import { defaultMigrationsDir, Migrator } from '@odtp/migrations';
import { appContract, idForm } from '@odtp/schema';
import { loadLarge, loadSeed } from '@odtp/seeding';
import { demoSeed } from '@odtp/seeds';
import { defectsFixture } from './fixtures/defects';
import { runCli, waitFor } from './support/processes';
import { startTestMongo } from './support/mongo';
import type { TestMongo } from './support/mongo';

jest.setTimeout(180_000);

/*
 * odtp-db under injected faults (mongod's failCommand fail point). The embedded server of the tests has test
 * commands on; a real mongod needs `--setParameter enableTestCommands=1` and MONGODB_TEST_COMMANDS=1.
 */
const runnable = !process.env.MONGODB_URI || process.env.MONGODB_TEST_COMMANDS === '1';
const describeFaults = runnable ? describe : describe.skip;
const DEC_2023 = path.join(__dirname, 'fixtures', 'odtp-mock-2023-12.json');

/** Every collection of `db` (but the changelog and locks, which carry times), documents in canonical EJSON by _id. */
async function snapshot(db: Db, skip: string[] = []): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    if (['changelog', 'migrations_lock', 'integrity_lock', ...skip].includes(name)) continue;
    const docs = await db.collection(name).find({}).toArray();
    out[name] = docs.map((d) => EJSON.stringify(d, { relaxed: false })).sort();
  }
  return out;
}

describeFaults(
  `odtp-db with injected faults${runnable ? '' : ' [needs test commands: MONGODB_TEST_COMMANDS=1 with a mongod started with enableTestCommands=1]'}`,
  () => {
    let mongo: TestMongo;
    const failPoint = (mode: unknown, data: object = {}) =>
      mongo.client.db('admin').command({ configureFailPoint: 'failCommand', mode, data });

    beforeAll(async () => (mongo = await startTestMongo()));
    afterEach(async () => {
      await failPoint('off');
    });
    afterAll(() => mongo.close());

    async function dec2023(): Promise<Db> {
      const db = mongo.db();
      const contract = appContract('odtp-0.5');
      await importDump(
        db,
        readDump(DEC_2023, {
          legacyJson: true,
          keepStringIds: (c, p) => idForm(contract, c, p) === 'string',
        }),
      );
      return db;
    }
    const migrator = (db: Db) =>
      new Migrator(db, mongo.client, { dir: defaultMigrationsDir(), app: 'odtp-0.5' });
    const changelog = async (db: Db) =>
      (await db.collection('changelog').find({}).sort({ appliedAt: 1, _id: 1 }).toArray()).map((e) => ({
        fileName: e.fileName as string,
        changes: e.changes as Record<string, number>,
      }));

    it.each([
      ['a transient error on the 1st update', { skip: 0 }, { errorCode: 89 }],
      ['a transient error on the 6th update', { skip: 5 }, { errorCode: 89 }],
      ['errors from the 12th update on', { skip: 11 }, { errorCode: 6 }],
    ])(
      'a migration run hit by %s fails; the re-run completes with every migration recorded once and the same data as an undisturbed run',
      async (_what, mode, fault) => {
        const reference = await dec2023();
        await migrator(reference).up();
        const expected = await changelog(reference);
        const db = await dec2023();
        await failPoint(mode, { failCommands: ['update'], ...fault });
        const failed = await migrator(db)
          .up()
          .then(
            () => undefined,
            (e: unknown) => e as Error,
          );
        await failPoint('off');
        expect(failed).toBeInstanceOf(Error);
        const before = await changelog(db);
        expect(before.length).toBeLessThan(expected.length);
        const rerun = await migrator(db).up();
        // what the first run applied is not applied again; what it did not finish is
        expect(rerun.migrations.map((m) => m.name)).toEqual(
          expected.slice(before.length).map((e) => e.fileName),
        );
        const after = await changelog(db);
        expect(after.map((e) => e.fileName)).toEqual(expected.map((e) => e.fileName));
        // a document is changed once: no migration reports more changes than in the undisturbed run
        after.forEach((e, i) => {
          for (const [collection, n] of Object.entries(e.changes))
            expect([e.fileName, collection, n <= (expected[i].changes[collection] ?? 0)]).toEqual([
              e.fileName,
              collection,
              true,
            ]);
        });
        expect(await snapshot(db)).toEqual(await snapshot(reference));
      },
    );

    it.each([
      ['a dropped connection', { closeConnection: true }],
      ['a transient transaction error', { errorCode: 112, errorLabels: ['TransientTransactionError'] }],
    ])(
      'a migration run hit once by %s retries the transaction and completes, with the data of an undisturbed run',
      async (_what, fault) => {
        const reference = await dec2023();
        await migrator(reference).up();
        const db = await dec2023();
        await failPoint({ times: 1 }, { failCommands: ['update'], ...fault });
        const run = await migrator(db).up();
        expect(await failPoint('off')).toEqual({ count: 1, ok: 1 });
        expect(run.migrations.map((m) => m.name)).toEqual(
          (await changelog(reference)).map((e) => e.fileName),
        );
        expect(await changelog(db)).toEqual(await changelog(reference));
        expect(await snapshot(db)).toEqual(await snapshot(reference));
      },
    );

    it("the lease lock: when its holder's connection drops, the next deploy takes over after expiry and the old holder aborts", async () => {
      const db = mongo.db();
      const options = { collection: 'migrations_lock', id: 'migrations', ttlMs: 1500, heartbeatMs: 300 };
      const held = await new LeaseLock(db, options).acquire(0, 'deploy-1');
      // the holder's heartbeats (updates) now fail with a dropped connection
      await failPoint('alwaysOn', { failCommands: ['update'], closeConnection: true });
      const next = await new LeaseLock(db, options).acquire(60_000, 'deploy-2');
      expect((await new LeaseLock(db, options).holder())?.owner.runId).toBe('deploy-2');
      await failPoint('off');
      // the old holder's next heartbeat finds the lease taken: its signal aborts
      expect(await waitFor(async () => (held.signal.aborted ? true : undefined))).toBe(true);
      expect(held.signal.reason).toBeInstanceOf(LeaseLostError);
      expect(next.signal.aborted).toBe(false);
      await held.release(); // releases nothing of deploy-2's
      expect((await new LeaseLock(db, options).holder())?.owner.runId).toBe('deploy-2');
      await next.release();
    });

    it('an audit whose connection drops once is retried and reports the same; one whose reads keep failing exits 1, stored as failed with no report', async () => {
      const db = mongo.db();
      await loadLarge(db, { scale: 3000, seed: 4, defects: 0.01 });
      const reference = await runAudit(db, { batchSize: 100 });
      await failPoint({ times: 1 }, { failCommands: ['find'], closeConnection: true });
      const retried = await runAudit(db, { batchSize: 100 });
      expect(retried.summary).toEqual(reference.summary);
      expect(retried.findings.map((f) => [f.check, f.collection, f.path, f.violations])).toEqual(
        reference.findings.map((f) => [f.check, f.collection, f.path, f.violations]),
      );
      await failPoint('alwaysOn', { failCommands: ['getMore'], errorCode: 89 });
      const cli = await runCli(['audit', '--batch-size', '100'], {
        MONGODB_URI: mongo.uri,
        ODTP_DB_NAME: db.databaseName,
        LOG_LEVEL: 'silent',
      });
      await failPoint('off');
      expect(cli.code).toBe(1);
      expect(cli.stderr).toContain("Failing command via 'failCommand' failpoint");
      const runs = await db.collection(REPORTS_COLLECTION).find({}).toArray();
      expect(runs.map((r) => [r.status, r.trigger, r.error, r.findings])).toEqual([
        ['failed', 'cli', 'internal error (details in the server log under this job id)', undefined],
      ]);
      expect(await db.collection('integrity_lock').countDocuments()).toBe(0);
    });

    it('the seed loader with a failing batch: the re-run converges to the database an undisturbed load gives', async () => {
      const reference = mongo.db();
      await loadSeed(reference, demoSeed);
      const db = mongo.db();
      await failPoint({ skip: 3 }, { failCommands: ['update', 'insert'], errorCode: 89 });
      await expect(loadSeed(db, demoSeed)).rejects.toThrow("Failing command via 'failCommand' failpoint");
      await failPoint('off');
      const partial = await snapshot(db);
      expect(partial).not.toEqual(await snapshot(reference));
      await loadSeed(db, demoSeed);
      expect(await snapshot(db)).toEqual(await snapshot(reference));
    });

    it.each([2, 9, 17])(
      'a repair failing half-way (after %i updates) is undone to exactly the documents before it',
      async (skip) => {
        const db = mongo.db();
        for (const [c, docs] of Object.entries(defectsFixture())) await db.collection(c).insertMany(docs);
        const original = await snapshot(db, [JOURNAL_COLLECTION]);
        const report = await runAudit(db, { app: 'odtp-0.5' });
        await failPoint({ skip }, { failCommands: ['update'], errorCode: 89 });
        await expect(
          repair(db, report, { dryRun: false, app: 'odtp-0.5', runId: `half-${skip}` }),
        ).rejects.toThrow("Failing command via 'failCommand' failpoint");
        await failPoint('off');
        const journaled = await db.collection(JOURNAL_COLLECTION).countDocuments({ runId: `half-${skip}` });
        expect(journaled).toBeGreaterThan(0);
        expect(await snapshot(db, [JOURNAL_COLLECTION])).not.toEqual(original);
        const undone = await undoRepair(db, `half-${skip}`);
        expect(undone.conflicts).toEqual([]);
        const restored = await snapshot(db, [JOURNAL_COLLECTION]);
        // quarantine collections the undo emptied are dropped
        expect(restored).toEqual(original);
      },
    );
  },
);
