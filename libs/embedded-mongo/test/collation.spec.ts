import { MongoServerError } from 'mongodb';
import type { Collection } from 'mongodb';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

type Doc = { _id: number; x: string };
const CASE_INSENSITIVE = { locale: 'en_US', strength: 2 };

/** Collations as MongoDB documents them ("Collation"), through the official driver. */
describe('collation', () => {
  let mongo: TestMongo;
  let coll: Collection<Doc>;

  beforeAll(async () => (mongo = await startTestMongo()));
  beforeEach(async () => {
    coll = mongo.db().collection<Doc>('c');
    await coll.insertMany([
      { _id: 1, x: 'ping' },
      { _id: 2, x: 'PING' },
      { _id: 3, x: 'pong' },
    ]);
  });
  afterAll(() => mongo.close());

  it('find and count match case-insensitively at strength 2, exactly without a collation', async () => {
    expect(
      (await coll.find({ x: 'Ping' }, { collation: CASE_INSENSITIVE }).toArray()).map((d) => d._id),
    ).toEqual([1, 2]);
    expect(await coll.find({ x: 'Ping' }).toArray()).toEqual([]);
    expect(await coll.countDocuments({ x: { $in: ['PONG'] } }, { collation: CASE_INSENSITIVE })).toBe(1);
    expect(await coll.countDocuments({ x: { $ne: 'ping' } }, { collation: CASE_INSENSITIVE })).toBe(1);
    expect(await coll.countDocuments({ x: { $gt: 'PING' } }, { collation: CASE_INSENSITIVE })).toBe(1);
    expect(await coll.find({ x: 'ping' }, { collation: { locale: 'simple' } }).toArray()).toEqual([
      { _id: 1, x: 'ping' },
    ]);
  });

  it('distinct returns one value per collation-equal group', async () => {
    expect(await coll.distinct('x', {}, { collation: CASE_INSENSITIVE })).toHaveLength(2);
    expect(await coll.distinct('x')).toHaveLength(3);
  });

  it('update, replace, delete and findOneAndX select with the collation', async () => {
    expect(
      (await coll.updateMany({ x: 'PiNg' }, { $set: { y: 1 } }, { collation: CASE_INSENSITIVE }))
        .modifiedCount,
    ).toBe(2);
    expect(
      (await coll.replaceOne({ x: 'PONG' }, { x: 'pang' }, { collation: CASE_INSENSITIVE })).modifiedCount,
    ).toBe(1);
    expect(
      await coll.findOneAndUpdate(
        { x: 'PANG' },
        { $set: { z: 1 } },
        { collation: CASE_INSENSITIVE, returnDocument: 'after' },
      ),
    ).toEqual({
      _id: 3,
      x: 'pang',
      z: 1,
    });
    expect(
      (await coll.deleteOne({ x: 'PING' }, { collation: { locale: 'en', strength: 1 } })).deletedCount,
    ).toBe(1);
    expect((await coll.deleteMany({ x: 'PING' }, { collation: CASE_INSENSITIVE })).deletedCount).toBe(1);
    expect(await coll.findOneAndDelete({ x: 'Pang' }, { collation: CASE_INSENSITIVE })).toMatchObject({
      _id: 3,
    });
    expect(await coll.countDocuments()).toBe(0);
  });

  it('aggregate $match and $sort use it; numericOrdering sorts digits as numbers; strength 1 ignores accents', async () => {
    const agg = await coll
      .aggregate([{ $match: { x: 'PING' } }, { $sort: { _id: 1 } }], { collation: CASE_INSENSITIVE })
      .toArray();
    expect(agg.map((d) => d._id)).toEqual([1, 2]);
    await coll.insertMany([
      { _id: 4, x: '10' },
      { _id: 5, x: '9' },
      { _id: 6, x: 'café' },
    ]);
    const numeric = await coll
      .find({ _id: { $in: [4, 5] } }, { collation: { locale: 'en', numericOrdering: true } })
      .sort({ x: 1 })
      .toArray();
    expect(numeric.map((d) => d.x)).toEqual(['9', '10']);
    expect(
      (await coll.find({ x: 'cafe' }, { collation: { locale: 'fr', strength: 1 } }).toArray()).map(
        (d) => d._id,
      ),
    ).toEqual([6]);
    expect(await coll.find({ x: 'cafe' }, { collation: { locale: 'fr', strength: 2 } }).toArray()).toEqual(
      [],
    );
  });

  it('refuses an unknown locale and unknown options', async () => {
    const e = (await coll
      .find({}, { collation: { locale: 'xx-nope-123' } })
      .toArray()
      .catch((x: unknown) => x)) as MongoServerError;
    expect(e).toBeInstanceOf(MongoServerError);
    expect(e.code).toBe(2);
    const f = (await coll
      .find({}, { collation: { locale: 'en', strength: 9 } })
      .toArray()
      .catch((x: unknown) => x)) as MongoServerError;
    expect(f.code).toBe(2);
  });
});
