import type { Collection } from 'mongodb';
import { Timestamp } from 'mongodb';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

type Doc = {
  _id: number;
  a?: number[];
  s?: string;
  arr?: { k: number; v: string }[];
  t?: Timestamp;
  d?: Date;
};

/** Update and projection rules as mongod applies them (MongoDB manual: update operators, positional `$`). */
describe('update paths, $rename, arrayFilters, $currentDate and the positional projection', () => {
  let mongo: TestMongo;
  let coll: Collection<Doc>;
  const original: Doc = {
    _id: 1,
    a: [1, 2, 3],
    s: 'x',
    arr: [
      { k: 1, v: 'a' },
      { k: 2, v: 'b' },
    ],
  };
  beforeAll(async () => (mongo = await startTestMongo()));
  beforeEach(async () => {
    coll = mongo.db().collection<Doc>('c');
    await coll.insertOne({ ...original });
  });
  afterAll(() => mongo.close());

  it('refuses empty path parts, a $rename onto itself, unknown array filter identifiers and an unmatched positional $', async () => {
    await expect(coll.updateOne({ _id: 1 }, { $set: { 'a..b': 1 } as never })).rejects.toMatchObject({
      code: 56,
    });
    await expect(coll.updateOne({ _id: 1 }, { $rename: { s: 's' } })).rejects.toMatchObject({ code: 2 });
    await expect(coll.updateOne({ _id: 1 }, { $set: { 'a.$[j]': 0 } })).rejects.toMatchObject({ code: 2 });
    await expect(coll.updateOne({ _id: 1 }, { $set: { 'a.$': 0 } })).rejects.toMatchObject({ code: 2 });
    expect(await coll.findOne({ _id: 1 })).toEqual(original);
    await coll.updateOne({ _id: 1 }, { $set: { 'a.$[j]': 0 } }, { arrayFilters: [{ j: { $gte: 3 } }] });
    expect((await coll.findOne({ _id: 1 }))?.a).toEqual([1, 2, 0]);
  });

  it('$currentDate sets a date, or a BSON timestamp with {$type: "timestamp"}', async () => {
    const before = Date.now();
    await coll.updateOne({ _id: 1 }, { $currentDate: { t: { $type: 'timestamp' }, d: true } });
    const doc = await coll.findOne({ _id: 1 });
    expect(doc?.t).toBeInstanceOf(Timestamp);
    expect((doc?.t as Timestamp).high * 1000).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(doc?.d).toBeInstanceOf(Date);
    expect((doc?.d as Date).getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  it("the positional projection returns the first element matching the query's condition on the array", async () => {
    expect(await coll.find({ a: { $gt: 1 } }, { projection: { 'a.$': 1 } }).toArray()).toEqual([
      { _id: 1, a: [2] },
    ]);
    expect(await coll.find({ 'arr.k': 2 }, { projection: { 'arr.$': 1, s: 1 } }).toArray()).toEqual([
      { _id: 1, s: 'x', arr: [{ k: 2, v: 'b' }] },
    ]);
    expect(await coll.findOneAndUpdate({ a: 3 }, { $set: { s: 'y' } }, { projection: { 'a.$': 1 } })).toEqual(
      {
        _id: 1,
        a: [3],
      },
    );
  });
});
