import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

/** Field names with $ and dots, as MongoDB 5.0+ stores them (docs: "Field Names with Periods and Dollar Signs"). */
describe('dollar-prefixed and dotted field names', () => {
  let mongo: TestMongo;
  beforeAll(async () => (mongo = await startTestMongo()));
  afterAll(() => mongo.close());

  it('inserts and upserts store them at the top level and nested; a pipeline update sets them with $setField', async () => {
    const coll = mongo.db().collection<{ _id: number } & Record<string, unknown>>('c');
    await coll.insertOne({ _id: 1, $price: 50, quantity: 30 });
    await coll.insertOne({ _id: 2, location: { $db: 'novels', $ref: 'x', $inc: true }, 'a.b': 1 });
    await coll.replaceOne({ _id: 3 }, { nested: { $a: 1 } }, { upsert: true });
    await coll.updateOne(
      { _id: 4 },
      [{ $replaceWith: { $setField: { field: { $literal: '$b' }, value: 2, input: '$$ROOT' } } }],
      {
        upsert: true,
      },
    );
    expect(await coll.find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, $price: 50, quantity: 30 },
      { _id: 2, location: { $db: 'novels', $ref: 'x', $inc: true }, 'a.b': 1 },
      { _id: 3, nested: { $a: 1 } },
      { _id: 4, $b: 2 },
    ]);
    // reached with $getField, as the documentation says
    expect(await coll.countDocuments({ $expr: { $eq: [{ $getField: { $literal: '$price' } }, 50] } })).toBe(
      1,
    );
  });
  it('an _id may hold dotted names but no $-prefixed one, at any depth (DollarPrefixedFieldName, 52)', async () => {
    const coll = mongo.db().collection<{ _id: unknown }>('ids');
    await expect(coll.insertOne({ _id: { $a: 1 } })).rejects.toMatchObject({ code: 52 });
    await expect(coll.insertOne({ _id: { a: { $b: 1 } } })).rejects.toMatchObject({ code: 52 });
    await coll.insertOne({ _id: { 'a.b': 1 } });
    expect(await coll.find({}).toArray()).toEqual([{ _id: { 'a.b': 1 } }]);
  });
});
