import { EJSON } from 'bson';
import type { Document } from 'bson';
import request from 'supertest';
import { LeaseLock } from '@odtp/database';
import { IntegrityService, JOURNAL_COLLECTION, RepairJournal, RUNS_COLLECTION } from '@odtp/integrity';
import { defectsFixture } from '../fixtures/defects';
import { createTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { startTestMongo } from '../support/mongo';
import type { TestMongo } from '../support/mongo';
import { runCli } from '../support/processes';

jest.setTimeout(180_000);

describe('security: undo never loses later edits, and one integrity job runs at a time', () => {
  let mongo: TestMongo;
  let t: TestApp;
  let dbName: string;
  const server = () => t.app.getHttpServer();
  const db = () => mongo.db(dbName);
  const cliEnv = () => ({ MONGODB_URI: mongo.uri, ODTP_DB_NAME: dbName, LOG_LEVEL: 'silent' });

  beforeAll(async () => {
    mongo = await startTestMongo();
    dbName = `security_repairs_${process.pid}`;
    t = await createTestApp({ env: { MONGODB_URI: mongo.uri, ODTP_DB_NAME: dbName } });
  });
  afterAll(async () => {
    await t.app.close();
    await mongo.close();
  });

  async function appliedRun(): Promise<string> {
    for (const [c, docs] of Object.entries(defectsFixture())) {
      await db().collection(c).deleteMany({});
      await db().collection(c).insertMany(docs);
    }
    const service = t.app.get(IntegrityService);
    const report = await service.audit();
    const started = await request(server())
      .post('/repairs')
      .set('authorization', t.admin)
      .send({ reportId: report.id, dryRun: false })
      .expect(202);
    await service.idle();
    return started.body.runId as string;
  }

  it('undo after a later edit reports the conflict and keeps the edit (409, CLI exit 2); nothing else is restored; force restores; a second undo is 409', async () => {
    const runId = await appliedRun();
    const journal = await db().collection(JOURNAL_COLLECTION).find({ runId }).sort({ seq: 1 }).toArray();
    const changed = journal.filter((e) => e.after !== null && e.after !== undefined);
    expect(changed.length).toBeGreaterThan(1);
    const [edited, untouched] = changed;
    await db()
      .collection(edited.collection as string)
      .updateOne({ _id: edited.docId }, { $set: { editedAfterRepair: 'keep me' } });
    const refused = await request(server())
      .post(`/repairs/${runId}/undo`)
      .set('authorization', t.admin)
      .send({})
      .expect(409);
    expect(refused.body.details).toEqual([
      {
        code: 'UNDO_CONFLICT',
        conflicts: [
          {
            collection: edited.collection,
            docId: EJSON.serialize({ id: edited.docId as Document }, { relaxed: true }).id,
            reason: 'changed after the repair run (undo would overwrite that change)',
          },
        ],
      },
    ]);
    expect(refused.body.message).toMatch(
      new RegExp(
        `^undo of repair run ${runId} refused, nothing restored: 1 document\\(s\\) changed since the run`,
      ),
    );
    const cli = await runCli(['repair', 'undo', runId], cliEnv());
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain(`undo of repair run ${runId} refused, nothing restored`);
    // the edit is kept, and the document that was not edited is still as the run left it
    const now = await db()
      .collection(edited.collection as string)
      .findOne({ _id: edited.docId });
    expect(now?.editedAfterRepair).toBe('keep me');
    expect(
      await db()
        .collection(untouched.collection as string)
        .findOne({ _id: untouched.docId }),
    ).toEqual(untouched.after);
    const forced = await request(server())
      .post(`/repairs/${runId}/undo`)
      .set('authorization', t.admin)
      .send({ force: true })
      .expect(200);
    expect(forced.body.restored).toBe(changed.length + journal.filter((e) => e.after === null).length);
    expect(forced.body.conflicts).toHaveLength(1);
    expect(
      await db()
        .collection(edited.collection as string)
        .findOne({ _id: edited.docId }),
    ).toEqual(edited.before);
    const again = await request(server())
      .post(`/repairs/${runId}/undo`)
      .set('authorization', t.admin)
      .send({ force: true })
      .expect(409);
    expect(again.body.details).toEqual([{ code: 'ALREADY_UNDONE' }]);
  });

  it('a run that stopped between journaling and changing is undone safely: unchanged documents need nothing, changed ones are conflicts', async () => {
    const users = db().collection('users');
    const [a, b] = await users.find({}).sort({ _id: 1 }).limit(2).toArray();
    const journal = new RepairJournal(db(), 'crashed-run');
    // a: journaled, then the process died before changing it
    await journal.before('users', a._id, a);
    // b: journaled and changed, then the process died before writing its after-image
    await journal.before('users', b._id, b);
    await users.updateOne({ _id: b._id }, { $set: { displayName: 'half-repaired' } });
    const refused = await request(server())
      .post('/repairs/crashed-run/undo')
      .set('authorization', t.admin)
      .send({})
      .expect(409);
    expect(refused.body.details[0].conflicts).toEqual([
      {
        collection: 'users',
        docId: { $oid: b._id.toHexString() },
        reason: 'the run stopped between journaling and changing it, and it differs from its before-image',
      },
    ]);
    const forced = await request(server())
      .post('/repairs/crashed-run/undo')
      .set('authorization', t.admin)
      .send({ force: true })
      .expect(200);
    expect(forced.body.restored).toBe(1);
    expect(await users.findOne({ _id: a._id })).toEqual(a);
    expect(await users.findOne({ _id: b._id })).toEqual(b);
  });

  it('while another process holds the integrity lease, API audits, repairs and undo and the CLI audit and repair are refused, naming the holder', async () => {
    const report = await t.app.get(IntegrityService).audit();
    const lease = await new LeaseLock(db(), { collection: 'integrity_lock', id: 'audit' }).acquire(
      0,
      'other-run',
    );
    try {
      const audit = await request(server())
        .post('/audits')
        .set('authorization', t.admin)
        .send({})
        .expect(409);
      expect(audit.body.details).toEqual([{ code: 'AUDIT_RUNNING', running: 'other-run' }]);
      const repair = await request(server())
        .post('/repairs')
        .set('authorization', t.admin)
        .send({ reportId: report.id })
        .expect(409);
      expect(repair.body.details).toEqual([{ code: 'AUDIT_RUNNING', running: 'other-run' }]);
      await request(server()).post('/repairs/any/undo').set('authorization', t.admin).send({}).expect(409);
      const cliAudit = await runCli(['audit'], cliEnv());
      const cliRepair = await runCli(['repair', 'apply', '--report', report.id, '--yes'], cliEnv());
      for (const exit of [cliAudit, cliRepair]) {
        expect(exit.code).toBe(2);
        expect(exit.stderr).toMatch(/an audit or repair is running: other-run \(on /);
      }
    } finally {
      await lease.release();
    }
    await request(server()).post('/audits').set('authorization', t.admin).send({}).expect(202);
    await t.app.get(IntegrityService).idle();
  });

  it('a run stored as running whose process died (no heartbeat for the lease TTL) is abandoned, in GET /repairs and the CLI list', async () => {
    const run: Document = {
      _id: 'dead-run',
      reportId: 'r',
      dryRun: false,
      status: 'running',
      trigger: 'cli',
      startedAt: new Date(Date.UTC(2020, 0, 1)),
      progress: { round: 1, applied: 3 },
      actions: 0,
      skippedActions: 0,
      rounds: [],
      skipped: [],
      truncated: false,
    };
    await db().collection(RUNS_COLLECTION).insertOne(run);
    const res = await request(server()).get('/repairs/dead-run').set('authorization', t.admin).expect(200);
    expect([res.body.status, res.body.error]).toEqual([
      'abandoned',
      'abandoned: the process running it stopped without finishing (no heartbeat for 60 s)',
    ]);
    const list = await runCli(['repair', 'list', '--json'], cliEnv());
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout).items.find((r: { runId: string }) => r.runId === 'dead-run');
    expect(listed.status).toBe('abandoned');
  });
});
