import { ObjectId } from 'bson';
import type { Db, Document } from 'mongodb';
import {
  REPORTS_COLLECTION,
  runAudit,
  VIOLATION_SETS_COLLECTION,
  VIOLATIONS_COLLECTION,
} from '@odtp/integrity';
import type { AuditReport } from '@odtp/integrity';
import { loadLarge } from '@odtp/seeding';
import { finished, runCli, spawnCli, waitFor } from './support/processes';
import { startTestMongo } from './support/mongo';
import type { TestMongo } from './support/mongo';

// Process tests spawn programs: the timeout is an upper bound for hangs, never a verdict on speed.
jest.setTimeout(300_000);

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

/** The embedded server of the tests has test commands on; a real mongod needs enableTestCommands=1. */
const runnable = !process.env.MONGODB_URI || process.env.MONGODB_TEST_COMMANDS === '1';
const APP_NAME = 'odtp-db-interrupted';

const findingsOf = (r: AuditReport): string[] =>
  r.findings.map((f) => `${f.check} ${f.collection}.${f.path} ${f.violations} ${f.distinctMissing ?? '-'}`);

const marks = (db: Db): Promise<number> =>
  db
    .collection(VIOLATIONS_COLLECTION)
    .countDocuments({ $or: [{ n: { $exists: true } }, { r: { $exists: true } }] });

/** A URI whose connections carry `appName` (the fail point below blocks only them). */
function withAppName(uri: string): string {
  return `${uri}${uri.includes('?') ? '&' : '?'}appName=${APP_NAME}`;
}

/** Lose 1,500 log references and 300 outputs, as ODTP 0.5 deletes do: many violations to add, many to retire. */
async function change(db: Db): Promise<void> {
  const logs = await db
    .collection('logs')
    .find({}, { projection: { _id: 1 }, limit: 1500 })
    .toArray();
  await db
    .collection('logs')
    .updateMany({ _id: { $in: logs.map((l) => l._id) } }, { $set: { stepRef: new ObjectId() } });
  const outputs = await db
    .collection('outputs')
    .find({}, { projection: { _id: 1 }, limit: 300 })
    .toArray();
  await db.collection('outputs').deleteMany({ _id: { $in: outputs.map((o) => o._id) } });
}

(runnable ? describe : describe.skip)(
  `incremental audits stopped part-way${runnable ? '' : ' [needs test commands: MONGODB_TEST_COMMANDS=1 with a mongod started with enableTestCommands=1]'}`,
  () => {
    const failPoint = (mode: unknown, data: Document = {}): Promise<Document> =>
      mongo.client.db('admin').command({ configureFailPoint: 'failCommand', mode, data });
    afterEach(async () => {
      await failPoint('off');
    });

    it.each(['SIGTERM', 'SIGKILL'] as const)(
      '%s while odtp-db audit --since last updates the violation set: the next incremental audit starts from the last complete one, rolls the stopped run back and equals a full audit',
      async (signal) => {
        const db = mongo.db();
        await loadLarge(db, { scale: 20_000, seed: 21, app: 'odtp-0.5' });
        const env = { MONGODB_URI: mongo.uri, ODTP_DB_NAME: db.databaseName, JOB_LEASE_TTL_MS: '2000' };
        const full = await runCli(['audit', '--json', '--fail-on', 'never'], env);
        expect(full.code).toBe(0);
        const base = JSON.parse(full.stdout) as AuditReport;
        await change(db);

        // the run's inserts hang from its third on (after its lease and its run record: the violations it adds), so
        // it is held inside its in-place update of the set, whatever the speed of the machine
        await failPoint(
          { skip: 2 },
          { failCommands: ['insert'], blockConnection: true, blockTimeMS: 600_000, appName: APP_NAME },
        );
        const child = spawnCli(['audit', '--since', 'last', '--json', '--fail-on', 'never'], {
          ...env,
          MONGODB_URI: withAppName(mongo.uri),
        });
        const done = finished(child);
        const run = await waitFor(
          async () => (await db.collection(REPORTS_COLLECTION).findOne({ status: 'running' })) ?? undefined,
        );
        const marking = await waitFor(async () => {
          const state = await db.collection(VIOLATION_SETS_COLLECTION).findOne({ _id: base.id as never });
          return state?.pending === run?._id && (await marks(db)) > 0 ? true : undefined;
        });
        expect(marking).toBe(true);
        child.kill(signal);
        const exit = await done;
        await failPoint('off');
        const stored = await db.collection(REPORTS_COLLECTION).findOne({ _id: run!._id });
        if (signal === 'SIGTERM') {
          expect(exit.code).toBe(0);
          expect(JSON.parse(exit.stdout)).toMatchObject({ status: 'interrupted', id: run!._id });
          expect(stored?.status).toBe('interrupted');
        } else expect(stored?.status).toBe('running'); // abandoned once its heartbeat expires
        // the set still holds the stopped run's marks: it never became a base
        expect(await marks(db)).toBeGreaterThan(0);
        // the next audit (once a killed run's lease has expired)
        const next = await waitFor(async () => {
          const r = await runCli(['audit', '--since', 'last', '--json', '--fail-on', 'never'], env);
          return r.code === 0 ? r : undefined;
        });
        const report = JSON.parse(next!.stdout) as AuditReport;
        expect(report.coverage).toMatchObject({ mode: 'incremental', base: base.id });
        const fresh = await runAudit(db, { app: 'odtp-0.5' });
        expect(findingsOf(report)).toEqual(findingsOf(fresh));
        // compacted once stored: one set, no marks, one violation per document of it
        expect(await marks(db)).toBe(0);
        expect(await db.collection(VIOLATIONS_COLLECTION).distinct('a')).toEqual([base.id]);
        expect(await db.collection(VIOLATIONS_COLLECTION).countDocuments()).toBe(
          fresh.summary.errors + fresh.summary.warnings,
        );
      },
    );
  },
);
