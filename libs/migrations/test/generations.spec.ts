import * as fs from 'node:fs';
import * as path from 'node:path';
import { EJSON, ObjectId } from 'bson';
import type { Document } from 'bson';
import { importDump, readDump } from '@odtp/dump';
import { defaultMigrationsDir, Migrator } from '@odtp/migrations';
import type { AppLevel } from '@odtp/config';
import { appContract, idForm, planSchema } from '@odtp/schema';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';
import { checkLeaves } from './leaves';

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

const fixtures = path.join(__dirname, 'fixtures');
const dec2023 = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'odtp-mock-2023-12.json');

async function migrate(dumpFile: string, legacyJson: boolean, app: AppLevel = 'target') {
  const db = mongo.db();
  const contract = appContract(app);
  await importDump(
    db,
    readDump(dumpFile, { legacyJson, keepStringIds: (c, p) => idForm(contract, c, p) === 'string' }),
  );
  const migrator = new Migrator(db, mongo.client, { dir: defaultMigrationsDir(), app });
  const run = await migrator.up();
  const plan = await planSchema(db, { app });
  return { db, run, plan, migrator };
}

/** Move a database migrated under ODTP 0.5 to the target application: the held migrations, then the plan. */
async function moveToTarget(db: ReturnType<TestMongo['db']>) {
  const migrator = new Migrator(db, mongo.client, { dir: defaultMigrationsDir(), app: 'target' });
  const run = await migrator.up();
  return { run, plan: await planSchema(db, { app: 'target' }), migrator };
}

const HELD_FOR_ODTP_05 = [
  '20261126081600-rename-camelcase-timestamps.ts',
  '20261126081700-application-references-to-objectid.ts',
  '20261126081800-fold-dt-id.ts',
  '20261204120000-finish-target-shapes.ts',
];

function schemaProblems(plan: Awaited<ReturnType<typeof planSchema>>): string[] {
  return plan.flatMap((p) => [
    ...(p.violations ? [`${p.collection}: ${p.violations} violation(s) ${EJSON.stringify(p.samples)}`] : []),
    ...p.missingIndexes.map((i) => `${p.collection}: index ${i} missing`),
    ...p.duplicates.map((d) => `${p.collection}: duplicates ${EJSON.stringify(d)}`),
  ]);
}

/** Every value of the fixture is still in the database (the null entries of authorized_users may go). */
async function expectLeavesKept(
  db: ReturnType<TestMongo['db']>,
  source: string,
  leafCount: number,
): Promise<void> {
  const raw = EJSON.parse(fs.readFileSync(source, 'utf8')) as Record<string, Document[]>;
  const leaves = await checkLeaves(
    db,
    raw,
    (c, p, v) => c === 'outputs' && p.join('.').startsWith('access_control.authorized_users.') && v === null,
  );
  expect(leaves.missing).toEqual([]);
  expect(leaves.checked).toBe(leafCount);
}

// file, documents per collection after migrating, number of leaves (values) in the fixture
const generations: [string, Record<string, number>, number][] = [
  ['gen1-2023-12.json', { logs: 2, outputs: 1, output: 0 }, 90],
  ['gen2-2024-01.json', { logs: 1, outputs: 1 }, 66],
  ['gen3-2024-02.json', { versions: 2, components: 1 }, 40],
  ['gen4-2024-06.json', { logs: 4, steps: 2 }, 75],
  ['gen5-v0.4.json', { executions: 1, steps: 1 }, 56],
  ['gen6-v0.5.json', { workflows: 1, logs: 1 }, 114],
];

describe('every ODTP generation migrates to what ODTP 0.5 reads, then to the target schema', () => {
  it.each(generations)(
    '%s: migrate up under odtp-0.5, then under target: 0 schema violations at each level, all indexes, every value kept',
    async (file, counts, leafCount) => {
      const source = path.join(fixtures, file);
      const { db, run, plan, migrator } = await migrate(source, false, 'odtp-0.5');
      expect(run.migrations).toHaveLength(migrator.files().length - HELD_FOR_ODTP_05.length);
      expect(run.held.map((h) => h.name)).toEqual(HELD_FOR_ODTP_05);
      expect(schemaProblems(plan)).toEqual([]);
      await expectLeavesKept(db, source, leafCount);
      const target = await moveToTarget(db);
      expect(target.run.migrations.map((m) => m.name)).toEqual(HELD_FOR_ODTP_05);
      expect(schemaProblems(target.plan)).toEqual([]);
      for (const [c, n] of Object.entries(counts))
        expect([c, await db.collection(c).countDocuments()]).toEqual([c, n]);
      await expectLeavesKept(db, source, leafCount);
      // A second run finds nothing to do.
      expect((await target.migrator.up()).migrations).toEqual([]);
      expect((await target.migrator.status()).every((s) => s.state === 'applied')).toBe(true);
    },
  );

  it.each(generations)(
    '%s: migrate up under target at once: 0 schema violations, every value kept',
    async (file, counts, leafCount) => {
      const source = path.join(fixtures, file);
      const { db, run, plan, migrator } = await migrate(source, false);
      expect(run.migrations).toHaveLength(migrator.files().length);
      expect(schemaProblems(plan)).toEqual([]);
      for (const [c, n] of Object.entries(counts))
        expect([c, await db.collection(c).countDocuments()]).toEqual([c, n]);
      await expectLeavesKept(db, source, leafCount);
    },
  );

  it('gen6 (v0.5): dt_id folded, string references are ObjectIds, null authorized users dropped, deprecated kept', async () => {
    const { db } = await migrate(path.join(fixtures, 'gen6-v0.5.json'), false);
    const execution = await db.collection('executions').findOne({});
    expect(execution).toMatchObject({ title: 'Run 1', created_at: new Date('2025-01-10T09:04:00Z') });
    expect(execution!.dt_id).toBeUndefined();
    expect(execution!.workflow_id.toHexString()).toBe('678000000000000000000010');
    expect(execution!.workflowSchema.component_versions[0].toHexString()).toBe('678000000000000000000003');
    const output = await db.collection('outputs').findOne({});
    expect(output!.access_control).toEqual({ public: false, authorized_users: [] });
    expect((await db.collection('logs').findOne({}))!.stepRef.toHexString()).toBe('678000000000000000000040');
  });
});

describe('the December 2023 ODTP dump', () => {
  it('plan (read-only) says what each migration would change and decide before anything runs', async () => {
    const db = mongo.db();
    await importDump(db, readDump(dec2023, { legacyJson: true }));
    const plan = await new Migrator(db, mongo.client, { dir: defaultMigrationsDir() }).plan();
    const byName = Object.fromEntries(plan.map((p) => [p.name, p]));
    expect(byName['20261126081200-move-step-logs.ts'].changes).toEqual({ steps: 4, logs: 12 });
    expect(byName['20261126081000-rebuild-component-versions.ts'].notes).toEqual({
      'components.repoLink: https://github.com/... is shared by 3 components: stored with #<component id>': 3,
    });
    const indexNotes = Object.keys(byName['20261126081500-schema-indexes.ts'].notes ?? {});
    expect(indexNotes.filter((n) => n.endsWith(': index to create'))).toHaveLength(22);
    // Each migration is planned against the database as it is now: the repoLinks the earlier pending migration
    // will derive do not exist yet, so the duplicate check sees the three components without one.
    expect(indexNotes.filter((n) => !n.endsWith(': index to create'))).toEqual([
      'components.repoLink_1: duplicate key {"repoLink":null}',
    ]);
    expect(await db.collection('changelog').countDocuments()).toBe(0);
    expect(await db.collection('logs').countDocuments()).toBe(0);
  });

  it('imports with --legacy-json, migrates to 0 violations in every collection, and keeps every value leaf by leaf', async () => {
    const { db, plan, run } = await migrate(dec2023, true);
    expect(plan.map((p) => [p.collection, p.violations])).toEqual([
      ['users', 0],
      ['digitalTwins', 0],
      ['components', 0],
      ['versions', 0],
      ['workflows', 0],
      ['executions', 0],
      ['steps', 0],
      ['outputs', 0],
      ['results', 0],
      ['logs', 0],
    ]);
    expect(schemaProblems(plan)).toEqual([]);
    const raw = JSON.parse(fs.readFileSync(dec2023, 'utf8')) as Record<string, Document[]>;
    const leaves = await checkLeaves(db, raw);
    expect(leaves.missing).toEqual([]);
    expect(leaves.checked).toBe(
      Object.values(raw)
        .flat()
        .reduce((n: number, d) => n + countLeaves(d), 0),
    );
    expect(leaves.checked).toBeGreaterThan(300);
    // What the run had to decide is in its report, not guessed silently.
    const notes = Object.fromEntries(run.migrations.map((m) => [m.name, m.report.counts]));
    expect(notes['20261126081000-rebuild-component-versions.ts']).toEqual({
      'components.repoLink: https://github.com/... is shared by 3 components: stored with #<component id>': 3,
    });
    expect(notes['20261126081400-fill-required-fields.ts']).toEqual({
      'digitalTwins.name: missing: set to "digital twin <id>"': 1,
    });
    expect(await db.collection('logs').countDocuments()).toBe(12);
  });
});

describe('the December 2023 ODTP dump under ODTP 0.5', () => {
  it('imports the ids ODTP 0.5 writes as strings as strings, migrates to 0 violations for odtp-0.5, keeps every value, then moves to target', async () => {
    const { db, plan, run } = await migrate(dec2023, true, 'odtp-0.5');
    expect(schemaProblems(plan)).toEqual([]);
    expect(run.held.map((h) => h.name)).toEqual(HELD_FOR_ODTP_05);
    const outputs = await db.collection('outputs').find({}).toArray();
    expect(outputs.map((o) => typeof o.stepRef)).toEqual(['string', 'string', 'string', 'string']);
    const logs = await db.collection('logs').find({}).toArray();
    expect(logs).toHaveLength(12);
    expect(logs.every((l) => typeof l.stepRef === 'string')).toBe(true);
    const steps = await db.collection('steps').find({}).toArray();
    expect(steps.every((st) => typeof st.component_version === 'string')).toBe(true);
    expect(steps.every((st) => st.executionRef instanceof ObjectId)).toBe(true);
    const raw = JSON.parse(fs.readFileSync(dec2023, 'utf8')) as Record<string, Document[]>;
    expect((await checkLeaves(db, raw)).missing).toEqual([]);
    const target = await moveToTarget(db);
    expect(target.run.migrations.map((m) => m.name)).toEqual(HELD_FOR_ODTP_05);
    expect(schemaProblems(target.plan)).toEqual([]);
    expect(
      (
        await db
          .collection('logs')
          .find({ stepRef: { $type: 'string' } })
          .toArray()
      ).length,
    ).toBe(0);
    expect((await checkLeaves(db, raw)).missing).toEqual([]);
  });
});

function countLeaves(v: unknown): number {
  if (Array.isArray(v)) return v.length ? v.reduce((n: number, x) => n + countLeaves(x), 0) : 1;
  if (v && typeof v === 'object') {
    const values = Object.values(v as Document);
    return values.length ? values.reduce((n: number, x) => n + countLeaves(x), 0) : 1;
  }
  return 1;
}
