import type { Db, Document } from 'mongodb';
import { applySchema, COLLECTION_NAMES, planSchema } from '@odtp/schema';
import { EJSON, ObjectId } from 'bson';
import {
  generateLarge,
  loadLarge,
  loadSeed,
  naturalKeyId,
  productionReason,
  ref,
  SeedError,
} from '@odtp/seeding';
import type { SeedFile } from '@odtp/seeding';
import { demoSeed } from '@odtp/seeds';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

let mongo: TestMongo;

beforeAll(async () => {
  mongo = await startTestMongo();
});
afterAll(async () => {
  await mongo.close();
});

async function snapshot(db: Db): Promise<Record<string, Document[]>> {
  const out: Record<string, Document[]> = {};
  for (const c of await db.listCollections().toArray())
    out[c.name] = await db.collection(c.name).find({}).sort({ _id: 1 }).toArray();
  return out;
}

describe('demo profile', () => {
  it('loads, and a second run reports 0 inserted and 0 modified and leaves the database the same', async () => {
    const db = mongo.db();
    const first = await loadSeed(db, demoSeed);
    expect(first.inserted).toBe(demoSeed.reduce((n, f) => n + f.documents.length, 0));
    expect(first.perCollection.users).toEqual({ inserted: 3, modified: 0, unchanged: 0 });
    expect(first.perCollection.digitalTwins.inserted).toBe(5);
    const before = await snapshot(db);
    const second = await loadSeed(db, demoSeed);
    expect([second.inserted, second.modified]).toEqual([0, 0]);
    expect(second.unchanged).toBe(first.inserted);
    expect(await snapshot(db)).toEqual(before);
  });

  it('restores a seeded document that was changed (1 modified) and inserts one that was deleted (1 inserted)', async () => {
    const db = mongo.db();
    await loadSeed(db, demoSeed);
    await db
      .collection('users')
      .updateOne({ _id: naturalKeyId('users', 'Ann Keller') }, { $set: { email: 'changed@x.org' } });
    await db.collection('logs').deleteOne({});
    const r = await loadSeed(db, demoSeed);
    expect([r.inserted, r.modified]).toEqual([1, 1]);
    expect(r.perCollection.users).toEqual({ inserted: 0, modified: 1, unchanged: 2 });
    expect((await db.collection('users').findOne({ _id: naturalKeyId('users', 'Ann Keller') }))?.email).toBe(
      'ann.keller@sdsc.example.org',
    );
  });

  it('passes schema plan with 0 violations in every collection, with the validators applied', async () => {
    const db = mongo.db();
    expect((await applySchema(db)).status).toBe('applied');
    await loadSeed(db, demoSeed);
    const plan = await planSchema(db);
    expect(plan.map((p) => [p.collection, p.exists, p.violations, p.duplicates.length])).toEqual(
      COLLECTION_NAMES.map((c) => [c, true, 0, 0]),
    );
  });

  it('under ODTP 0.5 writes what ODTP 0.5 writes, passes its validators, and reloads unchanged', async () => {
    const db = mongo.db();
    expect((await applySchema(db, { app: 'odtp-0.5' })).status).toBe('applied');
    const first = await loadSeed(db, demoSeed, { app: 'odtp-0.5' });
    expect(first.inserted).toBe(122);
    const plan = await planSchema(db, { app: 'odtp-0.5' });
    expect(plan.map((p) => [p.collection, p.violations])).toEqual(COLLECTION_NAMES.map((c) => [c, 0]));
    const step = (await db.collection('steps').findOne({}))!;
    expect([typeof step.component_version, step.executionRef instanceof ObjectId]).toEqual(['string', true]);
    expect(
      Object.keys(step)
        .filter((k) => /^(created|updated)_?[aA]t$/.test(k))
        .sort(),
    ).toEqual(['createdAt', 'updatedAt']);
    const execution = (await db.collection('executions').findOne({}))!;
    expect(execution.dt_id).toBe((execution.digitalTwinRef as ObjectId).toHexString());
    const output = (await db.collection('outputs').findOne({}))!;
    expect(typeof output.stepRef).toBe('string');
    expect(
      (output.access_control as { authorized_users: unknown[] }).authorized_users.map((u) => typeof u),
    ).toEqual(['string']);
    expect(typeof (await db.collection('digitalTwins').findOne({}))!.userRef).toBe('string');
    expect(typeof (await db.collection('logs').findOne({}))!.stepRef).toBe('string');
    // the target validators refuse exactly these shapes
    expect(
      (await planSchema(db, { app: 'target' })).filter((p) => p.violations).map((p) => p.collection),
    ).toEqual(['digitalTwins', 'workflows', 'executions', 'steps', 'outputs', 'logs']);
    const again = await loadSeed(db, demoSeed, { app: 'odtp-0.5' });
    expect([again.inserted, again.modified]).toEqual([0, 0]);
  });

  it('has the size the issue asks for and consistent two-way links', () => {
    const count = (c: string) => demoSeed.find((f) => f.collection === c)!.documents.length;
    expect(count('users')).toBeGreaterThanOrEqual(3);
    expect(count('digitalTwins')).toBeGreaterThanOrEqual(5);
    expect(count('components')).toBe(3);
    const stepsPerExecution = demoSeed
      .find((f) => f.collection === 'executions')!
      .documents.map((d) => (d.doc.steps as unknown[]).length);
    expect(Math.min(...stepsPerExecution)).toBe(1);
    expect(Math.max(...stepsPerExecution)).toBe(5);
    const outputTypes = new Set(
      demoSeed.find((f) => f.collection === 'outputs')!.documents.map((d) => d.doc.output_type),
    );
    expect([...outputTypes].sort()).toEqual(['output', 'snapshot']);
  });

  it('derives the same ids from the same natural keys', () => {
    expect(naturalKeyId('users', 'Ann Keller').toHexString()).toBe(
      naturalKeyId('users', 'Ann Keller').toHexString(),
    );
    expect(naturalKeyId('users', 'Ann Keller').toHexString()).toMatch(/^[0-9a-f]{24}$/);
    expect(naturalKeyId('users', 'Ann Keller').equals(naturalKeyId('digitalTwins', 'Ann Keller'))).toBe(
      false,
    );
  });
});

describe('bad seed files fail naming file, document and field, and write nothing', () => {
  const now = new Date('2024-01-01T00:00:00Z');
  const user = (name: string, extra: Document = {}) => ({
    key: name,
    doc: { displayName: name, digitalTwins: [], created_at: now, updated_at: now, ...extra },
  });
  const cases: [string, SeedFile[], string][] = [
    [
      'a wrong type',
      [
        {
          file: 'seeds/bad/users.ts',
          collection: 'users',
          documents: [user('ok'), user('Eve', { email: 42 })],
        },
      ],
      'seeds/bad/users.ts: document "Eve", field email: must be ["string","null"], got int (rule: email (e-mail address): must be a string or null, matching /^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$/)',
    ],
    [
      'a missing required field',
      [
        {
          file: 'seeds/bad/users.ts',
          collection: 'users',
          documents: [{ key: 'NoDates', doc: { displayName: 'NoDates', digitalTwins: [] } }],
        },
      ],
      'seeds/bad/users.ts: document "NoDates", field created_at: is required but missing',
    ],
    [
      'a reference to an unknown key',
      [
        { file: 'seeds/bad/users.ts', collection: 'users', documents: [user('Ann')] },
        {
          file: 'seeds/bad/twins.ts',
          collection: 'digitalTwins',
          documents: [
            {
              key: 'Ann/t',
              doc: {
                userRef: ref('users', 'Bob'),
                name: 't',
                executions: [],
                created_at: now,
                updated_at: now,
              },
            },
          ],
        },
      ],
      'seeds/bad/twins.ts: document "Ann/t", field userRef: references unknown users key "Bob"',
    ],
  ];
  it.each(cases)('%s', async (_name, files, message) => {
    const db = mongo.db();
    await loadSeed(db, demoSeed);
    const before = await snapshot(db);
    const err = await loadSeed(db, files).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SeedError);
    expect((err as Error).message).toBe(message);
    expect(await snapshot(db)).toEqual(before);
  });
});

describe('large profile', () => {
  const collect = (seed: number, defects = 0) => {
    const planted: unknown[] = [];
    const docs = [...generateLarge({ scale: 5000, seed, defects }, (d) => planted.push(d))].flatMap((b) =>
      b.docs.map((d) => ({ c: b.collection, d })),
    );
    return { docs, planted };
  };

  it('is deterministic for a seed and scale, with ODTP ratios', () => {
    const a = collect(7);
    expect(EJSON.stringify(a.docs)).toBe(EJSON.stringify(collect(7).docs));
    expect(EJSON.stringify(collect(8).docs)).not.toBe(EJSON.stringify(a.docs));
    const count = (c: string) => a.docs.filter((x) => x.c === c).length;
    expect(a.docs.length).toBeGreaterThan(4500);
    expect(a.docs.length).toBeLessThan(5500);
    expect(count('steps') / count('executions')).toBeCloseTo(3, 0);
    expect(count('outputs') / count('steps')).toBeCloseTo(1.5, 0);
    expect(count('logs') / count('steps')).toBeGreaterThan(10);
    expect(count('logs') / count('steps')).toBeLessThan(200);
  });

  it('loads with validation, and a second run changes nothing; planted defects are listed', async () => {
    const db = mongo.db();
    const planted: unknown[] = [];
    const first = await loadLarge(db, {
      scale: 3000,
      seed: 3,
      defects: 0.01,
      onDefect: (d) => planted.push(d),
    });
    expect(first.inserted).toBeGreaterThan(2500);
    const regenerated: unknown[] = [];
    for (const _ of generateLarge({ scale: 3000, seed: 3, defects: 0.01 }, (d) => regenerated.push(d)))
      void _;
    expect(planted.length).toBeGreaterThan(0);
    expect(planted).toEqual(regenerated);
    const second = await loadLarge(db, { scale: 3000, seed: 3, defects: 0.01 });
    expect([second.inserted, second.modified]).toEqual([0, 0]);
  });

  it('under ODTP 0.5 writes its shapes and passes its validators', async () => {
    const db = mongo.db();
    await loadLarge(db, { scale: 3000, seed: 4, app: 'odtp-0.5' });
    const plan = await planSchema(db, { app: 'odtp-0.5' });
    expect(plan.map((p) => [p.collection, p.violations])).toEqual(COLLECTION_NAMES.map((c) => [c, 0]));
    expect(await db.collection('logs').countDocuments({ stepRef: { $type: 'objectId' } })).toBe(0);
    expect(await db.collection('logs').countDocuments({ stepRef: { $type: 'string' } })).toBeGreaterThan(
      1000,
    );
    expect(await db.collection('executions').countDocuments({ createdAt: { $type: 'date' } })).toBe(
      await db.collection('executions').countDocuments(),
    );
  });
});

describe('production guard', () => {
  it.each([
    ['mongodb://127.0.0.1:27017/odtp', undefined, undefined],
    ['mongodb://localhost/odtp', 'development', undefined],
    ['mongodb://127.0.0.1:27017/odtp', 'production', 'NODE_ENV=production'],
    [
      'mongodb://db.internal.example:27017/odtp',
      undefined,
      'the database host db.internal.example is not local',
    ],
    [
      'mongodb://localhost:1,db2.example:2/?replicaSet=rs',
      undefined,
      'the database host db2.example is not local',
    ],
  ])('%s with NODE_ENV=%s -> %s', (uri, env, reason) => {
    expect(productionReason(uri, env)).toBe(reason);
  });
});
