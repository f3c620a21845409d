import { MongoServerError } from 'mongodb';
import type { Collection, Db, Document } from 'mongodb';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

/*
 * Attacks on the server through the wire (kept as tests): field names and paths that would write through a
 * prototype, expressions without bounds, documents nested deeper than mongod stores. Each asserts mongod's
 * documented answer (an error code) and that the server still answers correctly afterwards. The prototype checks
 * only mean something against the embedded server, which runs in this process; against a real mongod they pass.
 */

const POLLUTION_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'constructor.prototype',
  '__proto__.__proto__',
];

function prototypeState(): string[] {
  return [
    ...Object.getOwnPropertyNames(Object.prototype),
    ...Object.getOwnPropertyNames(Array.prototype),
  ].sort();
}

async function code(run: () => Promise<unknown>): Promise<number | 'ok'> {
  try {
    await run();
    return 'ok';
  } catch (e) {
    if (e instanceof MongoServerError) return e.code as number;
    throw e;
  }
}

describe('hardening of the embedded server (attacks through the wire)', () => {
  let mongo: TestMongo;
  let db: Db;
  let coll: Collection<Document>;
  beforeAll(async () => {
    mongo = await startTestMongo();
    db = mongo.db();
    coll = db.collection('c');
    await coll.insertMany([
      { _id: 1 as never, a: 1, s: 'x' },
      { _id: 2 as never, a: 2, s: 'y' },
    ]);
  });
  afterAll(() => mongo.close());

  it('no field name, path or command name writes through a prototype; the server answers correctly afterwards', async () => {
    const before = prototypeState();
    const attacks: [string, () => Promise<unknown>][] = [];
    for (const k of POLLUTION_KEYS) {
      const p = `${k}.polluted`;
      const t = db.collection<{ _id: number; [k: string]: unknown }>('t');
      attacks.push(
        ['upsert filter', () => t.updateOne({ [p]: 1, _id: 1 }, { $set: { a: 1 } }, { upsert: true })],
        [
          'upsert $eq filter',
          () => t.updateOne({ [p]: { $eq: 1 }, _id: 2 }, { $set: { a: 1 } }, { upsert: true }),
        ],
        ['$set', () => t.updateOne({ _id: 3 }, { $set: { [p]: 1 } }, { upsert: true })],
        ['$setOnInsert', () => t.updateOne({ _id: 4 }, { $setOnInsert: { [p]: 1 } }, { upsert: true })],
        ['$inc', () => t.updateOne({ _id: 5 }, { $inc: { [p]: 1 } } as Document, { upsert: true })],
        ['$push', () => t.updateOne({ _id: 6 }, { $push: { [p]: 1 } } as Document, { upsert: true })],
        ['$rename', () => t.updateOne({ _id: 3 }, { $rename: { a: p } })],
        ['pipeline update', () => t.updateOne({ _id: 7 }, [{ $set: { [p]: 1 } }], { upsert: true })],
        ['findAndModify upsert', () => t.findOneAndUpdate({ [p]: 1 }, { $set: { b: 1 } }, { upsert: true })],
        ['$addFields', () => coll.aggregate([{ $addFields: { [p]: 1 } }]).toArray()],
        ['$project', () => coll.aggregate([{ $project: { [p]: 1 } }]).toArray()],
        [
          '$group',
          () => coll.aggregate([{ $group: { _id: `$${k}`, [k.split('.')[0]]: { $sum: 1 } } }]).toArray(),
        ],
        ['projection', () => coll.find({}, { projection: { [p]: 1 } }).toArray()],
        [
          'sort',
          () =>
            coll
              .find({})
              .sort({ [p]: 1 })
              .toArray(),
        ],
        ['index', () => t.createIndex({ [p]: 1 })],
        ['distinct', () => coll.distinct(p)],
      );
    }
    const objectWith = (k: string): Document => JSON.parse(`{"${k}": {"polluted": 1}, "k": 1}`) as Document;
    attacks.push(
      [
        '$replaceWith $arrayToObject',
        () =>
          coll
            .aggregate([{ $replaceWith: { $arrayToObject: [[{ k: '__proto__', v: { polluted: 1 } }]] } }])
            .toArray(),
      ],
      [
        '$mergeObjects',
        () =>
          coll
            .aggregate([{ $replaceWith: { $mergeObjects: [{}, { $literal: objectWith('__proto__') }] } }])
            .toArray(),
      ],
      [
        'insert own __proto__',
        () => db.collection('own').insertOne({ _id: 'p' as never, ...objectWith('__proto__') }),
      ],
      [
        'update of a document with an own __proto__',
        () => db.collection('own').updateOne({ _id: 'p' as never }, { $set: { k: 2 } }),
      ],
      ['command constructor', () => db.command({ constructor: 1 })],
      ['command toString', () => db.command({ toString: 1 })],
      ['command hasOwnProperty', () => db.command({ hasOwnProperty: 1 })],
      ['command __proto__', () => db.command(objectWith('__proto__'))],
    );
    for (const [, attack] of attacks)
      await attack().catch((e: unknown) => {
        if (!(e instanceof MongoServerError)) throw e;
      });
    expect(prototypeState()).toEqual(before);
    expect(({} as Document).polluted).toBeUndefined();
    // commands named after Object.prototype's members are unknown commands (59), as on mongod
    expect(await code(() => db.command({ constructor: 1 }))).toBe(59);
    expect(await code(() => db.command({ toString: 1 }))).toBe(59);
    // queries and aggregation still answer what they should
    expect(await coll.find({ polluted: 1 }).toArray()).toEqual([]);
    expect(await coll.countDocuments({ polluted: { $exists: true } })).toBe(0);
    expect(await coll.aggregate([{ $group: { _id: null, n: { $sum: '$a' } } }]).toArray()).toEqual([
      { _id: null, n: 3 },
    ]);
    // a field named __proto__ is data: stored, read back and kept by updates
    const own = await db.collection('own').findOne({ _id: 'p' as never });
    expect(own && Object.keys(own)).toEqual(['_id', '__proto__', 'k']);
    expect(own && Object.getPrototypeOf(own)).toBe(Object.prototype);
    expect(own?.k).toBe(2);
  });

  it('an expression that would build a string or an array over the 16 MB BSON limit fails with 10334, and the server lives', async () => {
    const doubling = [
      {
        $project: {
          s: {
            $reduce: {
              input: { $range: [0, 40] },
              initialValue: 'x',
              in: { $concat: ['$$value', '$$value'] },
            },
          },
        },
      },
    ];
    expect(await code(() => coll.aggregate(doubling).toArray())).toBe(10334);
    expect(
      await code(() => coll.aggregate([{ $project: { r: { $range: [0, 10_000_000] } } }]).toArray()),
    ).toBe(10334);
    // within the limits the same operators answer as mongod
    expect(
      await coll
        .aggregate([
          { $match: { _id: 1 } },
          { $project: { r: { $range: [0, 4] }, c: { $concat: ['$s', '$s'] } } },
        ])
        .toArray(),
    ).toEqual([{ _id: 1, r: [0, 1, 2, 3], c: 'xx' }]);
  });

  it('maxTimeMS bounds expression evaluation: regex operators on long strings and long $range loops stop with 50', async () => {
    const long = db.collection('long');
    await long.insertOne({ _id: 1 as never, s: 'ab '.repeat(100_000) });
    expect(
      await code(() =>
        long
          .aggregate([{ $project: { m: { $regexFindAll: { input: '$s', regex: 'a' } } } }], { maxTimeMS: 1 })
          .toArray(),
      ),
    ).toBe(50);
    expect(
      await code(() =>
        coll
          .aggregate(
            [
              {
                $project: {
                  n: {
                    $reduce: {
                      input: { $range: [0, 1_000_000] },
                      initialValue: 0,
                      in: { $add: ['$$value', '$$this'] },
                    },
                  },
                },
              },
            ],
            { maxTimeMS: 1 },
          )
          .toArray(),
      ),
    ).toBe(50);
    // without a limit they complete with mongod's answer
    const [found] = await long
      .aggregate([{ $project: { n: { $size: { $regexFindAll: { input: '$s', regex: 'a' } } } } }])
      .toArray();
    expect(found).toEqual({ _id: 1, n: 100_000 });
  });

  it('blocking stages hold at most 100 MB: $push beyond it fails with 146, $sort and $group without disk use with 292', async () => {
    const big = db.collection('big');
    const chunk = 'z'.repeat(1_000_000);
    for (let i = 0; i < 15; i++)
      await big.insertMany(Array.from({ length: 10 }, (_, j) => ({ _id: i * 10 + j, chunk }) as Document));
    expect(
      await code(() => big.aggregate([{ $group: { _id: null, all: { $push: '$chunk' } } }]).toArray()),
    ).toBe(146);
    expect(
      await code(() => big.aggregate([{ $group: { _id: null, all: { $addToSet: '$$ROOT' } } }]).toArray()),
    ).toBe(146);
    expect(
      await code(() =>
        big.aggregate([{ $sort: { chunk: 1 } }, { $limit: 1 }], { allowDiskUse: false }).toArray(),
      ),
    ).toBe(292);
    expect(
      await code(() =>
        big
          .aggregate([{ $group: { _id: '$_id', c: { $first: '$chunk' } } }], { allowDiskUse: false })
          .toArray(),
      ),
    ).toBe(292);
    // under the limit, and small accumulators over the same data, run as usual
    expect(await big.aggregate([{ $group: { _id: null, n: { $sum: 1 } } }]).toArray()).toEqual([
      { _id: null, n: 150 },
    ]);
    expect(
      await big.aggregate([{ $sort: { _id: -1 } }, { $limit: 1 }, { $project: { _id: 1 } }]).toArray(),
    ).toEqual([{ _id: 149 }]);
    await big.drop();
  });

  it('a document nested deeper than 100 levels is refused (15 Overflow) by insert and update; 100 levels are stored', async () => {
    const nest = (depth: number): Document => {
      let d: Document = { leaf: 1 };
      for (let i = 1; i < depth; i++) d = { d };
      return d;
    };
    const deep = db.collection('deep');
    expect(await code(() => deep.insertOne({ _id: 'ok' as never, ...nest(99) }))).toBe('ok');
    expect(await code(() => deep.insertOne({ _id: 'deep' as never, ...nest(150) }))).toBe(15);
    expect(await code(() => deep.updateOne({ _id: 'ok' as never }, { $set: { more: nest(120) } }))).toBe(15);
    expect(await deep.countDocuments()).toBe(1);
    expect(await deep.find({}).toArray()).toHaveLength(1);
  });

  it("a find sorted without an index keeps only skip + limit documents (top-k), with the full sort's answer, ties in scan order", async () => {
    const sorted = db.collection('sorted');
    const docs = Array.from({ length: 500 }, (_, i) => ({
      _id: i as never,
      k: (i * 7919) % 50,
      a: i % 3 === 0 ? [i % 10, 100] : i % 10,
    }));
    await sorted.insertMany(docs);
    for (const [sort, skip, limit] of [
      [{ k: 1 }, 0, 5],
      [{ k: -1, _id: 1 }, 3, 7],
      [{ a: 1 }, 10, 20],
      [{ a: -1 }, 0, 1],
      [{ k: 1 }, 490, 50],
    ] as [Document, number, number][]) {
      const all = (await sorted.find({}).sort(sort).toArray()).map((d) => d._id);
      const top = (await sorted.find({}).sort(sort).skip(skip).limit(limit).toArray()).map((d) => d._id);
      expect([sort, skip, limit, top]).toEqual([sort, skip, limit, all.slice(skip, skip + limit)]);
    }
    const big = db.collection('bigsort');
    for (let k = 0; k < 10; k++)
      await big.insertMany(Array.from({ length: 10_000 }, (_, i) => ({ t: (i * 104729 + k) % 99991 })));
    expect(await code(() => big.find({}).sort({ t: 1 }).limit(1).maxTimeMS(1).toArray())).toBe(50);
    expect((await big.find({}).sort({ t: 1 }).limit(1).toArray())[0].t).toBe(0);
  });
});
