import type { MongoClient } from 'mongodb';
import { MongoServerError } from 'mongodb';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

/** Command-level `let` (MongoDB 5.0+) as the CRUD specification's tests use it, through the official driver. */
describe('let variables in find, update, delete and findAndModify', () => {
  let mongo: TestMongo;
  let client: MongoClient;
  const coll = () => client.db(dbName).collection<{ _id: number; x: number; y?: unknown }>('c');
  let dbName: string;

  beforeAll(async () => {
    mongo = await startTestMongo();
    client = mongo.client;
    dbName = mongo.db().databaseName;
  });
  beforeEach(async () => {
    await coll().deleteMany({});
    await coll().insertMany([
      { _id: 1, x: 11 },
      { _id: 2, x: 22 },
      { _id: 3, x: 33 },
    ]);
  });
  afterAll(() => mongo.close());

  it('find binds them in $expr, values and expressions alike', async () => {
    const found = await coll()
      .find({ $expr: { $eq: ['$_id', '$$id'] } }, { let: { id: 1 } })
      .toArray();
    expect(found).toEqual([{ _id: 1, x: 11 }]);
    const computed = await coll()
      .find({ $expr: { $gt: ['$x', '$$min.value'] } }, { let: { min: { value: { $add: [10, 10] } } } })
      .toArray();
    expect(computed.map((d) => d._id)).toEqual([2, 3]);
  });

  it('updateOne/updateMany bind them in the filter and in pipeline updates; replaceOne in the filter', async () => {
    await coll().updateOne({ $expr: { $eq: ['$_id', '$$id'] } }, [{ $set: { y: '$$v' } }], {
      let: { id: 1, v: 'bar' },
    });
    await coll().updateMany(
      { $expr: { $gte: ['$_id', '$$from'] } },
      [{ $set: { y: { $multiply: ['$x', '$$k'] } } }],
      {
        let: { from: 2, k: 2 },
      },
    );
    await coll().replaceOne({ $expr: { $eq: ['$_id', '$$id'] } }, { x: 0 }, { let: { id: 3 } });
    expect(await coll().find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, x: 11, y: 'bar' },
      { _id: 2, x: 22, y: 44 },
      { _id: 3, x: 0 },
    ]);
  });

  it('deleteOne/deleteMany and findOneAndUpdate/Delete bind them', async () => {
    const updated = await coll().findOneAndUpdate(
      { $expr: { $eq: ['$_id', '$$id'] } },
      [{ $set: { y: '$$v' } }],
      { let: { id: 2, v: 'z' }, returnDocument: 'after' },
    );
    expect(updated).toEqual({ _id: 2, x: 22, y: 'z' });
    expect(await coll().findOneAndDelete({ $expr: { $eq: ['$_id', '$$id'] } }, { let: { id: 3 } })).toEqual({
      _id: 3,
      x: 33,
    });
    expect(
      (await coll().deleteMany({ $expr: { $lt: ['$x', '$$max'] } }, { let: { max: 100 } })).deletedCount,
    ).toBe(2);
  });

  it('aggregate evaluates them once: in a leading $match $expr, and as values ($literal, $rand) in later stages', async () => {
    const [row] = await coll()
      .aggregate(
        [
          { $match: { $expr: { $eq: ['$_id', '$$id'] } } },
          { $project: { _id: 0, x: '$$x', y: '$$y', rand: '$$rand' } },
        ],
        { let: { id: 1, x: 'foo', y: { $literal: '$bar' }, rand: { $rand: {} } } },
      )
      .toArray();
    expect({ ...row, rand: typeof row.rand }).toEqual({ x: 'foo', y: '$bar', rand: 'number' });
    expect(row.rand).toBeGreaterThanOrEqual(0);
    expect(row.rand).toBeLessThan(1);
  });

  it('refuses variable names a user may not define', async () => {
    const e = (await coll()
      .find({ $expr: { $eq: ['$_id', '$$Id'] } }, { let: { Id: 1 } })
      .toArray()
      .catch((x: unknown) => x)) as MongoServerError;
    expect(e).toBeInstanceOf(MongoServerError);
    expect(e.message).toBe("'Id' starts with an invalid character for a user variable name");
  });

  it('a 7.0 server refuses sort on updateOne (MongoDB 8.0 added it)', async () => {
    const version = ((await client.db('admin').command({ buildInfo: 1 })).version as string)
      .split('.')
      .map(Number);
    const e = await coll()
      .updateOne({}, { $set: { y: 1 } }, { sort: { _id: -1 } } as never)
      .then(
        () => undefined,
        (x: unknown) => x as MongoServerError,
      );
    if (version[0] < 8) {
      expect(e?.code).toBe(40415);
      expect(e?.message).toBe("BSON field 'update.updates.sort' is an unknown field.");
    } else {
      // 8.0 and later: the last document by _id is the one updated
      expect(e).toBeUndefined();
      expect((await coll().findOne({ _id: 3 }))?.y).toBe(1);
    }
  });
});
