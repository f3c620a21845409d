import type { Db, MongoClient } from 'mongodb';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

/**
 * Database-level aggregates (`{aggregate: 1}` with `$documents` or `$listLocalSessions`), the `$merge` duplicate-key
 * error, and write stages under a linearizable read concern, as the CRUD specification's tests use them.
 */
describe('aggregate: collectionless pipelines, $merge errors and read concerns', () => {
  let mongo: TestMongo;
  let client: MongoClient;
  let db: Db;

  beforeAll(async () => {
    mongo = await startTestMongo();
    client = mongo.client;
  });
  beforeEach(async () => {
    db = mongo.db();
    await db.collection('test').insertMany([
      { _id: 1, x: 1 },
      { _id: 2, x: 1 },
    ] as never[]);
  });
  afterAll(() => mongo.close());

  it('$listLocalSessions lists the sessions the server has seen, the later stages shaping them', async () => {
    const session = client.startSession();
    try {
      await db.collection('test').findOne({}, { session });
      const mine = await client
        .db('admin')
        .aggregate([{ $listLocalSessions: {} }, { $match: { '_id.id': session.id!.id } }])
        .toArray();
      expect(mine).toHaveLength(1);
      expect(Object.keys(mine[0])).toEqual(['_id', 'lastUse']);
      expect(Object.keys(mine[0]._id as object)).toEqual(['id', 'uid']);
      expect(mine[0].lastUse).toBeInstanceOf(Date);
    } finally {
      await session.endSession();
    }
    const shaped = await client
      .db('admin')
      .aggregate([
        { $listLocalSessions: {} },
        { $limit: 1 },
        { $addFields: { dummy: 'dummy field' } },
        { $project: { _id: 0, dummy: 1 } },
      ])
      .toArray();
    expect(shaped).toEqual([{ dummy: 'dummy field' }]);
  });

  it('$documents feeds a pipeline, and $merge into a collection writes the results', async () => {
    const out = await db
      .aggregate([{ $documents: [{ n: 1 }, { n: 2 }, { n: 3 }] }, { $match: { n: { $gte: 2 } } }])
      .toArray();
    expect(out).toEqual([{ n: 2 }, { n: 3 }]);
    await db.aggregate([{ $documents: [{ _id: 3, x: 9 }] }, { $merge: { into: 'test' } }]).toArray();
    expect(await db.collection('test').find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, x: 1 },
      { _id: 2, x: 1 },
      { _id: 3, x: 9 },
    ]);
  });

  it('$merge with whenMatched: fail reports the duplicate key with keyPattern and keyValue', async () => {
    const failing = db
      .aggregate([{ $documents: [{ _id: 2, x: 1 }] }, { $merge: { into: 'test', whenMatched: 'fail' } }])
      .toArray();
    await expect(failing).rejects.toMatchObject({
      code: 11000,
      errorResponse: { keyPattern: { _id: 1 }, keyValue: { _id: 2 } },
    });
  });

  it('a stage other than $documents or $listLocalSessions needs a collection', async () => {
    await expect(db.aggregate([{ $match: {} }]).toArray()).rejects.toMatchObject({ code: 73 });
  });

  it('$out and $merge refuse a linearizable read concern (InvalidOptions) and write nothing', async () => {
    const linearizable = db.collection('test', { readConcern: { level: 'linearizable' } });
    await expect(
      linearizable.aggregate([{ $match: { _id: { $gt: 1 } } }, { $out: 'other' }]).toArray(),
    ).rejects.toMatchObject({ code: 72, codeName: 'InvalidOptions' });
    await expect(linearizable.aggregate([{ $merge: { into: 'other' } }]).toArray()).rejects.toMatchObject({
      code: 72,
    });
    expect(await db.listCollections({ name: 'other' }).toArray()).toEqual([]);
    const majority = db.collection('test', { readConcern: { level: 'majority' } });
    await majority
      .aggregate([{ $sort: { x: 1 } }, { $match: { _id: { $gt: 1 } } }, { $out: 'other' }])
      .toArray();
    expect(await db.collection('other').find({}).toArray()).toEqual([{ _id: 2, x: 1 }]);
  });
});
