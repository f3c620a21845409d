import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ObjectId } from 'bson';
import type { Db } from 'mongodb';
import request from 'supertest';
import type { AppLevel } from '@odtp/config';
import { DatabaseService } from '@odtp/database';
import { importDump, readDump } from '@odtp/dump';
import { runAudit } from '@odtp/integrity';
import type { Violation } from '@odtp/integrity';
import { defaultMigrationsDir, MigrationFiles, Migrator } from '@odtp/migrations';
import { appContract, applySchema, idForm } from '@odtp/schema';
import { initializeDevelopmentDatabase } from '../../apps/admin-api/src/prepare-database';
import { createTestApp } from '../support/app';
import { startTestMongo } from '../support/mongo';
import type { TestMongo } from '../support/mongo';
import { OdtpClient } from '../../tools/odtp-replay/odtp-client';
import { OPERATIONS, replayLifecycle, replayOnExisting, resultTable } from '../../tools/odtp-replay/replay';
import type { OpResult } from '../../tools/odtp-replay/replay';

/*
 * ODTP 0.5's own operations (tools/odtp-replay/odtp-client.ts, from odtp-domain.md) against databases prepared by
 * odtp-db: a) npm start's sequence, b) the December 2023 dump imported and migrated, c) data ODTP wrote, then
 * migrated, d) the target level. Every operation must pass; the table of results goes to test-artifacts/.
 */

const dec2023 = path.join(__dirname, '..', 'fixtures', 'odtp-mock-2023-12.json');
const table: Record<string, OpResult[]> = {};

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(async () => {
  await mongo.close();
  const dir = path.join(__dirname, '..', '..', 'test-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'odtp-replay.md'), resultTable(table) + '\n');
});

function failures(results: OpResult[]): OpResult[] {
  return results.filter((r) => !r.ok);
}

async function importLegacy(db: Db, app: AppLevel): Promise<void> {
  const contract = appContract(app);
  await importDump(
    db,
    readDump(dec2023, {
      legacyJson: true,
      keepStringIds: (c, p) => idForm(contract, c, p) === 'string',
    }),
  );
}

async function violationsOf(db: Db, app: AppLevel): Promise<Violation[]> {
  const found: Violation[] = [];
  await runAudit(db, { app, onViolation: (v) => found.push(v) });
  return found;
}

const key = (v: Violation): string =>
  [v.check, v.collection, v.path, String(v.docId), String(v.value)].join(' ');

/**
 * The findings an audit reports after `work` that it did not report before, as "check collection path docId value".
 * Deleting an execution the way ODTP does leaves exactly the result documents pointing at it and at its outputs
 * (delete_execution skips results, by design: odtp-domain.md); nothing else may appear.
 */
async function newFindings(db: Db, app: AppLevel, work: () => Promise<unknown>): Promise<string[]> {
  const before = new Set((await violationsOf(db, app)).map(key));
  await work();
  return (await violationsOf(db, app)).map(key).filter((k) => !before.has(k));
}

/** What ODTP leaves pointing at a deleted execution: its result documents' executionRef and outputs. */
async function resultsOf(db: Db, executionId: ObjectId): Promise<string[]> {
  const results = await db.collection('results').find({ executionRef: executionId }).toArray();
  return results.flatMap((r) => [
    `dangling-reference results executionRef ${String(r._id)} ${executionId.toHexString()}`,
    ...(r.output as unknown[]).map((o) => `dangling-reference results output ${String(r._id)} ${String(o)}`),
  ]);
}

describe('ODTP 0.5 on databases odtp-db prepared (ODTP_APP=odtp-0.5)', () => {
  it('a) npm start’s sequence (migrations, validators, demo seed): every ODTP 0.5 operation passes, on new data and on a seeded execution', async () => {
    const db = mongo.db();
    const lines = await initializeDevelopmentDatabase(db, mongo.client, { app: 'odtp-0.5' });
    expect(lines[lines.length - 1]).toBe(
      'empty database: validators and indexes for odtp-0.5 applied, demo data loaded as odtp-0.5 writes it (122 documents)',
    );
    const client = new OdtpClient(db, 'odtp-0.5');
    const results = await replayLifecycle(client);
    // the seeded demo as ODTP 0.5 reads it: a seeded user's twins by userRef, a seeded execution's outputs
    const seededUser = (await db
      .collection('users')
      .findOne({ displayName: 'Ann Keller' }))!._id.toHexString();
    const seededTwins = await client.twinNames(seededUser);
    results.push({
      op: 'twin-name check on seeded data',
      ok: seededTwins.sort().join(',') === 'example-pipeline,zurich-traffic',
      detail: JSON.stringify(seededTwins),
    });
    const seeded = await db.collection('executions').findOne({ 'steps.1': { $exists: true } });
    const leftPointing = await resultsOf(db, seeded!._id as ObjectId);
    const appeared = await newFindings(db, 'odtp-0.5', async () =>
      results.push(...(await replayOnExisting(client, seeded!._id.toHexString()))),
    );
    table['a) npm start'] = results;
    expect(failures(results)).toEqual([]);
    expect(results).toHaveLength(OPERATIONS.length + 3);
    expect(leftPointing).toHaveLength(3);
    expect(appeared.sort()).toEqual(leftPointing.sort());
    // the validators that were applied are the ones ODTP 0.5's writes passed: none was bypassed
    const [info] = await db.listCollections({ name: 'outputs' }, { nameOnly: false }).toArray();
    expect((info as { options?: { validationAction?: string } }).options?.validationAction).toBe('error');
    const audit = await runAudit(db, { app: 'odtp-0.5' });
    expect(audit.summary.errors).toBe(leftPointing.length);
  });

  it('b) the December 2023 dump after import --legacy-json and migrate up: every operation passes, and deleting an execution of the dump takes its outputs and logs with it', async () => {
    const db = mongo.db();
    await importLegacy(db, 'odtp-0.5');
    const migrator = new Migrator(db, mongo.client, { dir: defaultMigrationsDir(), app: 'odtp-0.5' });
    await migrator.up();
    // the validators for ODTP 0.5 go on too: they accept the migrated dump
    expect((await applySchema(db, { app: 'odtp-0.5' })).status).toBe('applied');
    const client = new OdtpClient(db, 'odtp-0.5');
    const results = await replayLifecycle(client);
    const dumpExecution = '65701dc519b363fe3dea87a2';
    // its steps' outputs and the log lines the migration moved out of steps.logs (stepRef as ODTP 0.5 writes it)
    const stepsOfIt = ['65701dc519b363fe3dea87a3', '65701dc519b363fe3dea87a5'];
    expect(await db.collection('outputs').countDocuments({ stepRef: { $in: stepsOfIt } })).toBe(2);
    expect(await db.collection('logs').countDocuments({ stepRef: { $in: stepsOfIt } })).toBe(6);
    const appeared = await newFindings(db, 'odtp-0.5', async () =>
      results.push(...(await replayOnExisting(client, dumpExecution))),
    );
    table['b) Dec 2023 dump'] = results;
    expect(failures(results)).toEqual([]);
    // Nothing is left of its steps, outputs and logs, and no finding is about them; what still points at the
    // execution is its result document, which ODTP's delete_execution skips by design (odtp-domain.md).
    expect(await db.collection('outputs').countDocuments({ stepRef: { $in: stepsOfIt } })).toBe(0);
    expect(await db.collection('logs').countDocuments({ stepRef: { $in: stepsOfIt } })).toBe(0);
    expect(appeared.sort()).toEqual([
      `dangling-reference results executionRef 65701dc519b363fe3dea87a7 ${dumpExecution}`,
      'dangling-reference results output 65701dc519b363fe3dea87a7 65701dc519b363fe3dea87a6',
    ]);
  });

  it('c) data ODTP 0.5 wrote, then migrate up, then its reads and delete: nothing left behind, audit 0 errors', async () => {
    const db = mongo.db();
    const client = new OdtpClient(db, 'odtp-0.5');
    let migrated = 0;
    const results = await replayLifecycle(client, {
      afterWrites: async () => {
        const run = await new Migrator(db, mongo.client, {
          dir: defaultMigrationsDir(),
          app: 'odtp-0.5',
        }).up();
        migrated = run.migrations.length;
      },
    });
    table['c) written, then migrated'] = results;
    expect(migrated).toBe(new MigrationFiles(defaultMigrationsDir()).list().length - 4);
    expect(failures(results)).toEqual([]);
    for (const c of ['steps', 'outputs', 'logs', 'executions'])
      expect([c, await db.collection(c).countDocuments()]).toEqual([c, 0]);
    const audit = await runAudit(db, { app: 'odtp-0.5' });
    expect(audit.summary.errors).toBe(0);
  });
});

describe('the target level', () => {
  it('d) applying target rules while ODTP_APP=odtp-0.5 is refused naming every rule ODTP 0.5 would break (API 409), unless forced', async () => {
    const t = await createTestApp();
    try {
      const db = t.app.get(DatabaseService).db();
      await initializeDevelopmentDatabase(db, t.app.get(DatabaseService).client, { app: 'odtp-0.5' });
      const refused = await request(t.app.getHttpServer())
        .post('/schema/apply')
        .set('authorization', t.admin)
        .send({ rules: 'target' })
        .expect(409);
      const rules = [
        'digitalTwins.userRef: ODTP 0.5 writes a string',
        'workflows.versions: ODTP 0.5 writes a string',
        'executions.workflow_id: ODTP 0.5 writes a string',
        'executions.workflowSchema.component_versions: ODTP 0.5 writes a string',
        'steps.component_version: ODTP 0.5 writes a string',
        'outputs.stepRef: ODTP 0.5 writes a string',
        'outputs.access_control.authorized_users: ODTP 0.5 writes a string or null',
        'logs.stepRef: ODTP 0.5 writes a string',
      ];
      expect(refused.body.details.filter((d: string) => d.endsWith('would reject it'))).toEqual(
        rules.map((r) => `${r}: the target rules would reject it`),
      );
      // forced: applied, and ODTP 0.5's writes are rejected from then on (what the refusal protected)
      await request(t.app.getHttpServer())
        .post('/schema/apply')
        .set('authorization', t.admin)
        .send({ rules: 'target', force: true })
        .expect(200);
      const broken = await replayLifecycle(new OdtpClient(db, 'odtp-0.5'), { tag: 'forced' });
      expect(failures(broken).find((r) => r.op === 'add digital twin')?.detail).toMatch(/^code 121/);
      // back to the application's own rules
      await request(t.app.getHttpServer())
        .post('/schema/apply')
        .set('authorization', t.admin)
        .send({})
        .expect(200);
      const plan = await request(t.app.getHttpServer())
        .get('/schema/plan?rules=target')
        .set('authorization', t.viewer)
        .expect(200);
      expect(plan.body.flatMap((p: { conflicts: string[] }) => p.conflicts)).toEqual(rules);
      expect(new Set(plan.body.map((p: { app: string }) => p.app))).toEqual(new Set(['target']));
      // still the ODTP 0.5 validators: the replay passes
      expect(failures(await replayLifecycle(new OdtpClient(db, 'odtp-0.5'), { tag: 'still' }))).toEqual([]);
    } finally {
      await t.app.close();
    }
  });

  it('d) a replay written to the target shapes passes on a database migrated and seeded with ODTP_APP=target; ODTP 0.5 there fails exactly the operations the target validators and queries break', async () => {
    const db = mongo.db();
    await initializeDevelopmentDatabase(db, mongo.client, { app: 'target' });
    const target = await replayLifecycle(new OdtpClient(db, 'target'));
    const seeded = await db.collection('executions').findOne({ 'steps.1': { $exists: true } });
    target.push(...(await replayOnExisting(new OdtpClient(db, 'target'), seeded!._id.toHexString())));
    table['d) target replay, ODTP_APP=target'] = target;
    expect(failures(target)).toEqual([]);
    // 0 errors but the results ODTP leaves pointing at the deleted seeded execution
    expect((await runAudit(db, { app: 'target' })).summary.errors).toBe(3);
    // Why the guard exists: ODTP 0.5 itself on that database (the situation this issue started from).
    const old = await replayLifecycle(new OdtpClient(db, 'odtp-0.5'), { tag: 'old' });
    table['ODTP 0.5 on a target database (expected to fail)'] = old;
    expect(failures(old).map((r) => r.op)).toEqual([
      'workflow get-or-create by version ids',
      'add digital twin',
      'add execution with its steps',
      'run bookkeeping',
      'component client: logs and output upload',
      'sub-collection listing',
      'S3 keys by stepRef',
      'twin-name check by userRef',
      'delete_execution cascade',
      'raw delete of one document',
    ]);
    expect(failures(old)[0].detail).toMatch(/^code 121: Document failed validation/);
  });
});
