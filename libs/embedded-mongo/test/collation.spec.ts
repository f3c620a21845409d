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

  it("a collection's default collation applies to operations without their own, and to its new indexes", async () => {
    const db = mongo.db();
    await db.createCollection('names', { collation: CASE_INSENSITIVE });
    const names = db.collection<Doc>('names');
    await names.insertMany([
      { _id: 1, x: 'Alpha' },
      { _id: 2, x: 'alpha' },
      { _id: 3, x: 'beta' },
    ]);
    expect((await names.find({ x: 'ALPHA' }).toArray()).map((d) => d._id)).toEqual([1, 2]);
    expect(await names.countDocuments({ x: 'ALPHA' })).toBe(2);
    expect(await names.find({ x: 'ALPHA' }, { collation: { locale: 'simple' } }).toArray()).toEqual([]);
    expect((await names.updateMany({ x: 'ALPHA' }, { $set: { x: 'gamma' } })).modifiedCount).toBe(2);
    expect((await names.deleteMany({ x: 'GAMMA' })).deletedCount).toBe(2);
    await names.createIndex({ x: 1 }, { name: 'x_1' });
    const [index] = (await names.indexes()).filter((i) => i.name === 'x_1');
    expect(index.collation).toMatchObject({ locale: 'en_US', strength: 2 });
  });

  it('a unique index with a collation refuses collation-equal keys; it never answers a binary query', async () => {
    const people = mongo.db().collection<Doc>('people');
    await people.insertOne({ _id: 1, x: 'anna' });
    await people.createIndex({ x: 1 }, { unique: true, collation: CASE_INSENSITIVE });
    await expect(people.insertOne({ _id: 2, x: 'ANNA' })).rejects.toMatchObject({ code: 11000 });
    await expect(people.updateOne({ _id: 1 }, { $set: { x: 'Anna' } })).resolves.toMatchObject({
      modifiedCount: 1,
    });
    // strength 2 tells accents apart
    await people.insertOne({ _id: 3, x: 'ánna' });
    expect(await people.find({ x: 'ANNA' }).toArray()).toEqual([]);
    expect(await people.find({ x: 'anna' }).toArray()).toEqual([]);
    expect(
      (await people.find({ x: 'ANNA' }, { collation: CASE_INSENSITIVE }).toArray()).map((d) => d._id),
    ).toEqual([1]);
    // documents that already collide: the index is not built
    const tags = mongo.db().collection<Doc>('tags');
    await tags.insertMany([
      { _id: 1, x: 'Red' },
      { _id: 2, x: 'red' },
    ]);
    await expect(
      tags.createIndex({ x: 1 }, { unique: true, collation: CASE_INSENSITIVE }),
    ).rejects.toMatchObject({
      code: 11000,
    });
    await tags.createIndex({ x: 1 }, { unique: true, collation: { locale: 'simple' } });
    await tags.insertOne({ _id: 3, x: 'RED' });
    expect(await tags.countDocuments()).toBe(3);
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
