import type { Collection } from 'mongodb';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

/** `hint` as mongod takes it: an index by name or key pattern, or $natural; anything else is BadValue (2). */
describe('hint', () => {
  let mongo: TestMongo;
  let coll: Collection<{ _id: number; x: number; y?: number }>;
  beforeAll(async () => (mongo = await startTestMongo()));
  beforeEach(async () => {
    coll = mongo.db().collection('c');
    await coll.insertMany([
      { _id: 1, x: 1 },
      { _id: 2, x: 2 },
    ]);
    await coll.createIndex({ x: 1 });
  });
  afterAll(() => mongo.close());

  it('an existing index by name or key pattern, _id_ and $natural are taken', async () => {
    for (const hint of ['x_1', { x: 1 }, '_id_', { _id: 1 }, { $natural: 1 }])
      expect(
        (
          await coll
            .find({ x: { $gte: 1 } }, { hint })
            .sort({ _id: 1 })
            .toArray()
        ).map((d) => d._id),
      ).toEqual([1, 2]);
    expect(await coll.countDocuments({}, { hint: 'x_1' })).toBe(2);
    expect((await coll.updateOne({ _id: 1 }, { $set: { y: 1 } }, { hint: { x: 1 } })).modifiedCount).toBe(1);
  });

  it('a hint naming no index fails every read and write with BadValue, and nothing is written', async () => {
    const bad = { code: 2 };
    await expect(coll.find({}, { hint: 'nope' }).toArray()).rejects.toMatchObject(bad);
    await expect(coll.find({}, { hint: { y: 1 } }).toArray()).rejects.toMatchObject(bad);
    await expect(coll.countDocuments({}, { hint: 'nope' })).rejects.toMatchObject(bad);
    await expect(coll.aggregate([{ $match: {} }], { hint: 'nope' }).toArray()).rejects.toMatchObject(bad);
    await expect(coll.updateOne({ _id: 1 }, { $set: { y: 1 } }, { hint: 'nope' })).rejects.toMatchObject(bad);
    await expect(coll.deleteOne({ _id: 1 }, { hint: 'nope' })).rejects.toMatchObject(bad);
    await expect(
      coll.findOneAndUpdate({ _id: 1 }, { $set: { y: 1 } }, { hint: { y: 1 } }),
    ).rejects.toMatchObject(bad);
    expect(await coll.find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, x: 1 },
      { _id: 2, x: 2 },
    ]);
  });

  it('distinct takes a hint from MongoDB 7.1; a 7.0 server refuses the field', async () => {
    const { version } = await mongo.client.db('admin').command({ buildInfo: 1 });
    const [major, minor] = String(version).split('.').map(Number);
    const distinct = coll.distinct('x', {}, { hint: 'x_1' });
    if (major > 7 || (major === 7 && minor >= 1)) expect(await distinct).toEqual([1, 2]);
    else await expect(distinct).rejects.toMatchObject({ code: 40415 });
  });
  it('a hint of the wrong type is refused before anything runs', async () => {
    await expect(mongo.db(coll.dbName).command({ find: 'c', hint: [1] })).rejects.toMatchObject({ ok: 0 });
    await expect(mongo.db(coll.dbName).command({ find: 'c', hint: 5 })).rejects.toMatchObject({ ok: 0 });
    await expect(
      mongo.db(coll.dbName).command({ delete: 'c', deletes: [{ q: {}, limit: 0, hint: 7 }] }),
    ).rejects.toMatchObject({ code: 14 });
    expect(await coll.countDocuments()).toBe(2);
  });
});
