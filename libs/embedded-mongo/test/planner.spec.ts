import { Decimal128, Double, ObjectId } from 'mongodb';
import type { Db, Document } from 'mongodb';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

let mongo: TestMongo;
let db: Db;
const oid = (i: number): ObjectId => new ObjectId((0x650000 * 2 ** 20 + i).toString(16).padStart(24, '0'));

function stages(plan: Document): string[] {
  const out: string[] = [];
  const walk = (p: Document | undefined): void => {
    if (!p) return;
    if (p.stage) out.push(p.indexName ? `${p.stage}:${p.indexName}` : p.stage);
    walk(p.inputStage);
    (p.inputStages as Document[] | undefined)?.forEach(walk);
    walk(p.queryPlan);
  };
  walk(plan.queryPlanner.winningPlan);
  return out;
}

beforeAll(async () => {
  mongo = await startTestMongo();
  db = mongo.db();
  const docs = Array.from({ length: 500 }, (_, i) => ({
    _id: oid(i),
    n: (i * 7) % 100,
    s: `k${String(i % 50).padStart(2, '0')}`,
    email: `u${i}@example.org`,
    tags: [i % 3, i % 5],
    ...(i % 10 === 0 ? {} : { opt: i % 4 }),
  }));
  await db.collection('p').insertMany(docs);
  await db.collection('p').createIndex({ n: 1 });
  await db.collection('p').createIndex({ email: 1 }, { unique: true });
  await db.collection('p').createIndex({ tags: 1 });
  await db.collection('p').createIndex({ opt: 1 }, { sparse: true });
});
afterAll(async () => {
  await mongo.close();
});

describe('explain shows the index used', () => {
  const cases: [string, Document, Document | undefined, string[]][] = [
    ['_id equality', { _id: oid(0) }, undefined, ['IDHACK']],
    ['_id $in', { _id: { $in: [oid(0), oid(1)] } }, undefined, ['FETCH', 'IXSCAN:_id_']],
    ['_id range', { _id: { $gte: oid(100) } }, undefined, ['FETCH', 'IXSCAN:_id_']],
    ['unique index equality', { email: 'u7@example.org' }, undefined, ['FETCH', 'IXSCAN:email_1']],
    ['secondary index $in', { n: { $in: [1, 2, 3] } }, undefined, ['FETCH', 'IXSCAN:n_1']],
    ['secondary index range', { n: { $gt: 10, $lte: 20 } }, undefined, ['FETCH', 'IXSCAN:n_1']],
    ['multikey equality', { tags: 4 }, undefined, ['FETCH', 'IXSCAN:tags_1']],
    ['sort on an indexed field', {}, { n: -1 }, ['FETCH', 'IXSCAN:n_1']],
    ['unindexed predicate', { s: 'k01' }, undefined, ['COLLSCAN']],
    ['unindexed sort', { s: 'k01' }, { s: 1 }, ['SORT', 'COLLSCAN']],
  ];
  it.each(cases)('%s', async (_name, filter, sort, expected) => {
    const cursor = db.collection('p').find(filter);
    if (sort) cursor.sort(sort as never);
    expect(stages(await cursor.explain('queryPlanner'))).toEqual(expected);
  });
});

describe('index-backed queries return exactly what a scan returns', () => {
  // $comment does not change the plan but the `$where`-free $expr forces a scan for the reference result.
  const reference = async (filter: Document, sort: Document): Promise<unknown[]> => {
    const all = await db.collection('p').find({}).toArray();
    const scanned = await db
      .collection('p')
      .find({ $and: [filter, { $expr: { $eq: [1, 1] } }] })
      .sort(sort as never)
      .toArray();
    expect(all.length).toBe(500);
    return scanned.map((d) => d._id.toHexString());
  };
  const queries: [string, Document, Document][] = [
    ['range', { n: { $gte: 30, $lt: 35 } }, { _id: 1 }],
    ['open range', { n: { $gt: 95 } }, { _id: 1 }],
    ['upper range', { n: { $lte: 2 } }, { _id: 1 }],
    ['$in', { n: { $in: [5, 6, 99] } }, { _id: 1 }],
    ['multikey', { tags: { $in: [4] } }, { _id: 1 }],
    ['sparse, non-null', { opt: 2 }, { _id: 1 }],
    ['sorted by index', {}, { n: 1, _id: 1 }],
    ['_id range', { _id: { $lt: oid(10) } }, { _id: -1 }],
  ];
  it.each(queries)('%s', async (_name, filter, sort) => {
    const got = (
      await db
        .collection('p')
        .find(filter)
        .sort(sort as never)
        .toArray()
    ).map((d) => d._id.toHexString());
    expect(got).toEqual(await reference(filter, sort));
    expect(got.length).toBeGreaterThan(0);
  });

  it('sort on an index puts documents missing the field first, as null', async () => {
    const first = await db
      .collection('p')
      .find({}, { projection: { opt: 1 } })
      .sort({ opt: 1 })
      .limit(3)
      .toArray();
    expect(first.every((d) => d.opt === undefined)).toBe(true);
  });

  it('$lookup resolves the foreign side through the _id index', async () => {
    await db
      .collection('refs')
      .insertMany([{ r: oid(0) }, { r: [oid(1), oid(2)] }, { r: new ObjectId() }, {}]);
    const out = await db
      .collection('refs')
      .aggregate([
        { $lookup: { from: 'p', localField: 'r', foreignField: '_id', as: 'hit' } },
        { $project: { _id: 0, n: { $size: '$hit' } } },
      ])
      .toArray();
    expect(out).toEqual([{ n: 1 }, { n: 2 }, { n: 0 }, { n: 0 }]);
  });
});

interface NumberedDoc {
  _id: number;
  [field: string]: unknown;
}

describe('equality through an index stays exact as documents change', () => {
  const ids = async (coll: string, filter: Document): Promise<unknown[]> =>
    (await db.collection(coll).find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);

  it('numbers of different types, Decimal128, updates, inserts and deletes', async () => {
    const q = db.collection<NumberedDoc>('eq');
    await q.createIndex({ v: 1 });
    await q.insertMany([
      { _id: 1, v: 1 },
      { _id: 2, v: new Double(1) },
      { _id: 3, v: Decimal128.fromString('1.00000000000000000000001') },
      { _id: 4, v: 'x' },
      { _id: 5, v: Decimal128.fromString('2') },
    ]);
    expect(await ids('eq', { v: 1 })).toEqual([1, 2]);
    expect(await ids('eq', { v: Decimal128.fromString('1.00000000000000000000001') })).toEqual([3]);
    expect(await ids('eq', { v: 2 })).toEqual([5]);
    expect(await ids('eq', { v: { $in: ['x', 1, 'nothing'] } })).toEqual([1, 2, 4]);
    expect(await ids('eq', { v: { $in: ['x', 1, 'x', 1] } })).toEqual([1, 2, 4]);
    expect(await ids('eq', { v: { $in: [Decimal128.fromString('2.0'), 2, 'x'] } })).toEqual([4, 5]);
    await q.updateOne({ _id: 4 }, { $set: { v: 'y' } });
    expect(await ids('eq', { v: 'x' })).toEqual([]);
    expect(await ids('eq', { v: 'y' })).toEqual([4]);
    await q.insertOne({ _id: 7, v: 'y' });
    expect(await ids('eq', { v: 'y' })).toEqual([4, 7]);
    await q.deleteOne({ _id: 4 });
    expect(await ids('eq', { v: 'y' })).toEqual([7]);
    await q.updateOne({ _id: 7 }, { $set: { v: 'z' } });
    expect(await ids('eq', { v: 'y' })).toEqual([]);
    expect(await ids('eq', { v: 'z' })).toEqual([7]);
    await q.deleteMany({ v: 1 });
    expect(await ids('eq', { v: 1 })).toEqual([]);
    expect(stages(await q.find({ v: 'z' }).explain('queryPlanner'))).toEqual(['FETCH', 'IXSCAN:v_1']);
  });

  it('a compound multikey index answers equality on its first field once per document', async () => {
    const c = db.collection<NumberedDoc>('eqc');
    await c.createIndex({ a: 1, b: 1 });
    await c.insertMany([
      { _id: 1, a: 1, b: [1, 2, 3] },
      { _id: 2, a: 2, b: 1 },
    ]);
    expect(await ids('eqc', { a: 1 })).toEqual([1]);
    await c.updateOne({ _id: 1 }, { $set: { b: [4] } });
    expect(await ids('eqc', { a: 1 })).toEqual([1]);
    await c.updateOne({ _id: 2 }, { $set: { a: 1 } });
    expect(await ids('eqc', { a: 1 })).toEqual([1, 2]);
    await c.deleteOne({ _id: 1 });
    expect(await ids('eqc', { a: { $in: [1, 2] } })).toEqual([2]);
  });

  it('a compound index answers equalities and $in on its leading fields, exactly, as documents change', async () => {
    const c = db.collection<NumberedDoc>('cmp');
    await c.createIndex({ set: 1 });
    await c.createIndex({ set: 1, kind: 1, d: 1 });
    await c.createIndex({ set: 1, tags: 1 });
    const docs = Array.from({ length: 300 }, (_, i) => ({
      _id: i,
      set: i % 3 === 0 ? 'A' : 'B',
      kind: i % 2 ? 'x' : 'y',
      d: oid(i),
      tags: [i % 4, i % 7],
      ...(i % 5 === 0 ? { gone: true } : {}),
    }));
    await c.insertMany(docs);
    const expected = (keep: (d: (typeof docs)[number]) => boolean): number[] =>
      docs.filter(keep).map((d) => d._id);
    const wanted = [oid(3), oid(6), oid(7), oid(9), oid(1000), new Double(5)];
    const inWanted = (d: (typeof docs)[number]): boolean =>
      wanted.some((w) => w instanceof ObjectId && w.equals(d.d));
    const filter = { set: 'A', kind: { $in: ['x', 'y'] }, d: { $in: wanted } };
    expect(await ids('cmp', filter)).toEqual(expected((d) => d.set === 'A' && inWanted(d)));
    expect(stages(await c.find(filter).explain('queryPlanner'))).toEqual([
      'FETCH',
      'IXSCAN:set_1_kind_1_d_1',
    ]);
    // a residual predicate beside the indexed fields is still applied
    expect(await ids('cmp', { ...filter, gone: { $exists: false } })).toEqual(
      expected((d) => d.set === 'A' && inWanted(d) && !d.gone),
    );
    // a gap in the leading fields: the prefix before it
    expect(await ids('cmp', { set: 'B', d: { $in: wanted } })).toEqual(
      expected((d) => d.set === 'B' && inWanted(d)),
    );
    // multikey second field: each document once
    expect(await ids('cmp', { set: 'A', tags: { $in: [0, 3] } })).toEqual(
      expected((d) => d.set === 'A' && d.tags.some((t) => t === 0 || t === 3)),
    );
    await c.updateOne({ _id: 3 }, { $set: { set: 'B' } });
    await c.deleteOne({ _id: 6 });
    expect(await ids('cmp', filter)).toEqual([9]);
    expect((await c.find(filter).limit(1).toArray()).map((d) => d._id)).toEqual([9]);
  });
});
