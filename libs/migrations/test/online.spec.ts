import * as fs from 'node:fs';
import * as path from 'node:path';
import { ObjectId } from 'bson';
import type { Db } from 'mongodb';
import { Migrator } from '@odtp/migrations';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';
import { tempDir } from '../../../test/support/temp-dirs';

/*
 * Online migrations (those that change what applications write): batches with checkpoints in the changelog,
 * writes that yield to an application's change, final passes, resume after a stop, progress in status.
 */

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

const NAME = '20270101000000-outputs-steprefs.ts';

/**
 * outputs.stepRef strings -> the application's form, through the real step; the rewriter of this test's copy can
 * be made to fail on one document (a crash mid-run) or to let an "application" write to the document it is
 * converting (a concurrent change).
 */
const SOURCE = `import { defineMigration, referencesToObjectId } from '@odtp/migrations';
import type { Step } from '@odtp/migrations';

const convert = referencesToObjectId('outputs', ['stepRef']);
const step: Step = {
  title: convert.title,
  async run(ctx) {
    const hooks = (globalThis as { onlineHooks?: { before?: (db: unknown, n: number) => Promise<void> } }).onlineHooks;
    let n = 0;
    const db = ctx.db;
    if (!hooks?.before) return convert.run(ctx);
    // the test's hook sees each document the step reads, before the step converts it
    const original = db.collection.bind(db);
    (db as { collection: unknown }).collection = (name: string) => {
      const coll = original(name);
      const find = coll.find.bind(coll);
      (coll as { find: unknown }).find = (...args: Parameters<typeof find>) => {
        const cursor = find(...args);
        const map = cursor.map(async (d) => {
          await hooks.before!(db, n++);
          return d;
        });
        return map;
      };
      return coll;
    };
    try {
      return await convert.run(ctx);
    } finally {
      (db as { collection: unknown }).collection = original;
    }
  },
};

export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'outputs.stepRef strings -> ObjectId',
  affects: [{ collection: 'outputs', path: 'stepRef', change: 'reference-to-objectid' }],
  up: [step],
  down: { irreversible: 'test' },
});
`;

interface Hooks {
  before?: (db: Db, n: number) => Promise<void>;
}
const hooks = globalThis as { onlineHooks?: Hooks };

async function setup(
  count: number,
  maxRate?: number,
): Promise<{ db: Db; migrator: Migrator; ids: ObjectId[] }> {
  const dir = tempDir('odtp-online-');
  fs.writeFileSync(path.join(dir, NAME), SOURCE);
  const db = mongo.db();
  const ids = Array.from({ length: count }, () => new ObjectId());
  await db
    .collection('outputs')
    .insertMany(ids.map((_id) => ({ _id, stepRef: new ObjectId().toHexString() })));
  return {
    db,
    migrator: new Migrator(db, mongo.client, { dir, app: 'target', batchSize: 10, maxRate }),
    ids,
  };
}

afterEach(() => delete hooks.onlineHooks);

describe('online migrations', () => {
  it('a run stopped part-way resumes after its last checkpoint; status shows how far it got; the checkpoint goes with the run', async () => {
    const { db, migrator } = await setup(100);
    hooks.onlineHooks = {
      before: async (_db, n) => {
        if (n === 45) throw new Error('crash');
      },
    };
    await expect(migrator.up()).rejects.toThrow(/crash/);
    // 4 batches of 10 were written before the document that failed
    expect(await db.collection('outputs').countDocuments({ stepRef: { $type: 'objectId' } })).toBe(40);
    const [row] = await migrator.status();
    expect([row.state, row.progress?.step, row.progress?.collection, row.progress?.processed]).toEqual([
      'pending',
      0,
      'outputs',
      40,
    ]);
    const seen: number[] = [];
    hooks.onlineHooks = { before: async (_db, n) => void seen.push(n) };
    const run = await migrator.up();
    expect(run.migrations.map((m) => [m.name, m.changes, m.transaction])).toEqual([
      [NAME, { outputs: 60 }, false],
    ]);
    // the resumed pass read the 60 documents after the checkpoint, not the 40 before it
    expect(seen.length).toBe(60);
    expect(await db.collection('outputs').countDocuments({ stepRef: { $type: 'string' } })).toBe(0);
    expect(await db.collection('changelog').countDocuments({ fileName: `${NAME}#checkpoint` })).toBe(0);
    expect((await migrator.status())[0]).toMatchObject({ state: 'applied' });
    expect((await migrator.status())[0].progress).toBeUndefined();
  });

  it('a document an application changes while it is converted keeps the change; a final pass converts what was written in the old shape meanwhile', async () => {
    const { db, migrator, ids } = await setup(30);
    const changed = new ObjectId();
    const lateId = new ObjectId('000000000000000000000001'); // before every other _id: behind the main pass
    hooks.onlineHooks = {
      before: async (d, n) => {
        if (n === 5) {
          // the application sets a new stepRef (a string, as ODTP 0.5 writes) between read and write
          await d
            .collection('outputs')
            .updateOne({ _id: ids[5] }, { $set: { stepRef: changed.toHexString() } });
          await d.collection('outputs').insertOne({ _id: lateId, stepRef: new ObjectId().toHexString() });
        }
      },
    };
    await migrator.up();
    // the conditional write of the main pass missed it; the final pass converted the application's value
    expect((await db.collection('outputs').findOne({ _id: ids[5] }))?.stepRef).toEqual(changed);
    expect((await db.collection('outputs').findOne({ _id: lateId }))?.stepRef).toBeInstanceOf(ObjectId);
    expect(await db.collection('outputs').countDocuments({ stepRef: { $type: 'string' } })).toBe(0);
  });

  it('--max-rate keeps a main pass at or under the rate: it waits between batches (a lower bound, whatever the machine)', async () => {
    const { migrator } = await setup(40, 100);
    const seen: number[] = [];
    const started = Date.now();
    hooks.onlineHooks = { before: async () => void seen.push(Date.now() - started) };
    await migrator.up();
    // 40 documents at 100/s: the fourth batch of 10 starts no sooner than 300 ms after the run started (measured
    // from before up(), which starts the rate's clock later; from the first document instead, a slow first read
    // would eat into the bound: 287 ms under test:slow). 10 ms of slack for timer rounding.
    expect(seen[30]).toBeGreaterThanOrEqual(290);
  });
});
