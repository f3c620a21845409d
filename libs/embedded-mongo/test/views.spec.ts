import type { Db } from 'mongodb';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

/**
 * Views as MongoDB documents them (createCollection with viewOn and pipeline): read-only namespaces whose reads run
 * the view's pipeline over the collection (or view) they are defined on. Through the official driver, so that the
 * same tests run against a real mongod with MONGODB_URI.
 */
describe('views', () => {
  let mongo: TestMongo;
  let db: Db;
  type Step = { _id: number; name: string; state: string; ms: number; tags?: string[] };

  beforeAll(async () => {
    mongo = await startTestMongo();
  });
  beforeEach(async () => {
    db = mongo.db();
    await db.collection<Step>('steps').insertMany([
      { _id: 1, name: 'fetch', state: 'done', ms: 120, tags: ['io'] },
      { _id: 2, name: 'train', state: 'done', ms: 900, tags: ['cpu', 'gpu'] },
      { _id: 3, name: 'plot', state: 'failed', ms: 40 },
      { _id: 4, name: 'report', state: 'done', ms: 60, tags: ['io'] },
    ]);
    await db.createCollection('done', { viewOn: 'steps', pipeline: [{ $match: { state: 'done' } }] });
  });
  afterAll(() => mongo.close());

  it('listCollections shows a view with its definition, read-only', async () => {
    const infos = await db.listCollections({ name: 'done' }).toArray();
    expect(infos).toEqual([
      {
        name: 'done',
        type: 'view',
        options: { viewOn: 'steps', pipeline: [{ $match: { state: 'done' } }] },
        info: { readOnly: true },
      },
    ]);
    const names = (await db.listCollections({ type: 'view' }, { nameOnly: true }).toArray()).map(
      (i) => i.name,
    );
    expect(names).toEqual(['done']);
  });

  it('find runs the pipeline, then the filter, sort, skip, limit and projection', async () => {
    const view = db.collection<Step>('done');
    expect((await view.find({}).sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual([1, 2, 4]);
    expect(
      await view
        .find({ ms: { $lt: 500 } }, { projection: { _id: 0, name: 1 } })
        .sort({ ms: -1 })
        .toArray(),
    ).toEqual([{ name: 'fetch' }, { name: 'report' }]);
    expect((await view.find({}).sort({ ms: 1 }).skip(1).limit(1).toArray()).map((d) => d.name)).toEqual([
      'fetch',
    ]);
    expect(await view.findOne({ _id: 3 })).toBeNull();
  });

  it('counts and distinct read through the view', async () => {
    const view = db.collection<Step>('done');
    expect(await view.countDocuments({ ms: { $gte: 100 } })).toBe(2);
    expect(await view.estimatedDocumentCount()).toBe(3);
    expect(await view.distinct('tags')).toEqual(['cpu', 'gpu', 'io']);
    expect(await view.distinct('name', { ms: { $lt: 100 } })).toEqual(['report']);
  });

  it('aggregate appends its stages to the view pipeline; a view on a view stacks both', async () => {
    const total = await db
      .collection('done')
      .aggregate([{ $group: { _id: null, ms: { $sum: '$ms' } } }])
      .toArray();
    expect(total).toEqual([{ _id: null, ms: 1080 }]);
    await db.createCollection('slowDone', { viewOn: 'done', pipeline: [{ $match: { ms: { $gt: 100 } } }] });
    const slow = await db
      .collection('slowDone')
      .find({}, { projection: { name: 1 } })
      .sort({ _id: 1 })
      .toArray();
    expect(slow).toEqual([
      { _id: 1, name: 'fetch' },
      { _id: 2, name: 'train' },
    ]);
  });

  it('$lookup reads from a view', async () => {
    await db.collection('runs').insertOne({ _id: 'r1', steps: [1, 2, 3] } as never);
    const [run] = await db
      .collection('runs')
      .aggregate([
        { $lookup: { from: 'done', localField: 'steps', foreignField: '_id', as: 'finished' } },
        { $project: { n: { $size: '$finished' } } },
      ])
      .toArray();
    expect(run).toEqual({ _id: 'r1', n: 2 });
  });

  it('follows writes to the collection underneath', async () => {
    await db.collection<Step>('steps').updateOne({ _id: 3 }, { $set: { state: 'done' } });
    expect(await db.collection('done').countDocuments()).toBe(4);
  });

  it('refuses writes and indexes with CommandNotSupportedOnView (166), and changes nothing', async () => {
    const view = db.collection<Step>('done');
    // insert, update and delete answer with write errors (code only); the other commands fail as commands
    const writeError = { code: 166 };
    const onView = { code: 166, codeName: 'CommandNotSupportedOnView' };
    await expect(view.insertOne({ _id: 9, name: 'x', state: 'done', ms: 1 })).rejects.toMatchObject(
      writeError,
    );
    await expect(view.updateOne({ _id: 1 }, { $set: { ms: 0 } })).rejects.toMatchObject(writeError);
    await expect(view.deleteMany({})).rejects.toMatchObject(writeError);
    await expect(view.findOneAndUpdate({ _id: 1 }, { $set: { ms: 0 } })).rejects.toMatchObject(onView);
    await expect(view.findOneAndDelete({ _id: 1 })).rejects.toMatchObject(onView);
    await expect(view.createIndex({ ms: 1 })).rejects.toMatchObject(onView);
    await expect(view.indexes()).rejects.toMatchObject(onView);
    await expect(
      db
        .collection('steps')
        .aggregate([{ $out: 'done' }])
        .toArray(),
    ).rejects.toMatchObject(onView);
    expect(await db.collection('steps').countDocuments()).toBe(4);
    expect((await db.collection<Step>('steps').findOne({ _id: 1 }))?.ms).toBe(120);
  });

  it('refuses a second namespace of the same name, a cycle, write stages and collection options', async () => {
    await expect(db.createCollection('done', { viewOn: 'steps', pipeline: [] })).rejects.toMatchObject({
      code: 48,
    });
    await expect(db.createCollection('steps', { viewOn: 'done', pipeline: [] })).rejects.toMatchObject({
      code: 48,
    });
    await expect(db.createCollection('done')).rejects.toMatchObject({ code: 48 });
    await db.createCollection('a', { viewOn: 'b', pipeline: [] });
    await db.createCollection('b', { viewOn: 'c', pipeline: [] });
    await expect(db.command({ collMod: 'b', viewOn: 'a', pipeline: [] })).rejects.toMatchObject({
      code: 93,
      codeName: 'GraphContainsCycle',
    });
    await expect(db.createCollection('bad', { viewOn: 'a$b', pipeline: [] })).rejects.toMatchObject({
      code: 73,
    });
    // a cycle through the namespaces a pipeline reads counts too
    await expect(
      db.createCollection('self', {
        viewOn: 'steps',
        pipeline: [{ $lookup: { from: 'self', localField: '_id', foreignField: '_id', as: 'x' } }],
      }),
    ).rejects.toMatchObject({ code: 93 });
    await expect(
      db.command({ collMod: 'b', viewOn: 'steps', pipeline: [{ $unionWith: { coll: 'a' } }] }),
    ).rejects.toMatchObject({ code: 93 });
    await expect(
      db.createCollection('w', { viewOn: 'steps', pipeline: [{ $out: 'elsewhere' }] }),
    ).rejects.toMatchObject({ code: 167, codeName: 'OptionNotSupportedOnView' });
    expect((await db.listCollections({ name: { $in: ['w', 'elsewhere', 'self'] } }).toArray()).length).toBe(
      0,
    );
  });

  it('collMod redefines a view; drop removes it and leaves the collection', async () => {
    await db.command({ collMod: 'done', viewOn: 'steps', pipeline: [{ $match: { state: 'failed' } }] });
    expect((await db.collection('done').find({}).toArray()).map((d) => d._id)).toEqual([3]);
    expect(await db.collection('done').drop()).toBe(true);
    expect(await db.listCollections({ name: 'done' }).toArray()).toEqual([]);
    expect(await db.collection('done').countDocuments()).toBe(0);
    expect(await db.collection('steps').countDocuments()).toBe(4);
  });

  it('a view on a missing collection reads as empty', async () => {
    await db.createCollection('ghost', { viewOn: 'nothing', pipeline: [] });
    expect(await db.collection('ghost').find({}).toArray()).toEqual([]);
    expect(await db.collection('ghost').countDocuments()).toBe(0);
  });

  it('is a namespace of one database: the same name elsewhere is an ordinary collection', async () => {
    const other = mongo.db();
    await other.collection('done').insertOne({ _id: 1 } as never);
    expect(await other.collection('done').countDocuments()).toBe(1);
  });
  it('hostile view definitions are refused by name and nothing is defined', async () => {
    const create = (spec: Record<string, unknown>) => db.command({ create: 'evil', ...spec });
    await expect(create({ viewOn: 42, pipeline: [] })).rejects.toMatchObject({ code: 14 });
    await expect(create({ viewOn: 'steps', pipeline: { $match: {} } })).rejects.toMatchObject({ code: 14 });
    await expect(create({ viewOn: 'steps', pipeline: [{ $match: {}, $limit: 1 }] })).rejects.toMatchObject({
      code: 40323,
    });
    await expect(create({ viewOn: '', pipeline: [] })).rejects.toMatchObject({ code: 2 });
    await expect(create({ viewOn: 'steps', pipeline: [], validator: {} })).rejects.toMatchObject({
      code: 167,
    });
    await expect(
      create({ viewOn: 'steps', pipeline: [{ $merge: { into: 'steps' } }] }),
    ).rejects.toMatchObject({
      code: 167,
    });
    expect(await db.listCollections({ name: 'evil' }).toArray()).toEqual([]);
    expect(await db.collection('steps').countDocuments()).toBe(4);
  });
});
