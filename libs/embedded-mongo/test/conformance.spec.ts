import { Long, MongoBulkWriteError, MongoServerError, ObjectId } from 'mongodb';
import type { Db, Document } from 'mongodb';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

let mongo: TestMongo;
let db: Db;

beforeAll(async () => {
  mongo = await startTestMongo();
});
afterAll(async () => {
  await mongo.close();
});
beforeEach(() => {
  db = mongo.db();
});

async function serverError(p: Promise<unknown>): Promise<MongoServerError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof MongoServerError) return e;
    throw e;
  }
  throw new Error('expected a server error');
}

describe('handshake and server commands', () => {
  // The facts of the server under test (the embedded one, or MONGODB_URI's), checked against MongoDB's own tables.
  const WIRE_VERSION: Record<string, number> = { '5.0': 13, '6.0': 17, '7.0': 21, '8.0': 25 };
  const serverVersion = async (): Promise<string> =>
    ((await db.admin().command({ buildInfo: 1 })).versionArray as number[]).slice(0, 2).join('.');

  it('hello presents a writable primary with the wire version of its release; the embedded server a single-node replica set', async () => {
    const r = await db.admin().command({ hello: 1 });
    expect(r.isWritablePrimary).toBe(true);
    expect(r.maxWireVersion).toBe(WIRE_VERSION[await serverVersion()]);
    expect(r.logicalSessionTimeoutMinutes).toBe(30);
    if (typeof r.setName === 'string' || !process.env.MONGODB_URI) {
      expect(typeof r.setName).toBe('string');
      expect(r.primary).toBe(r.hosts[0]);
    }
    if (!process.env.MONGODB_URI) expect([await serverVersion(), r.hosts.length]).toEqual(['7.0', 1]);
  });

  it('isMaster answers with ismaster: true', async () => {
    const r = await db.admin().command({ isMaster: 1 });
    expect(r.ismaster).toBe(true);
  });

  it('ping, buildInfo and getParameter featureCompatibilityVersion (that of its release)', async () => {
    expect((await db.command({ ping: 1 })).ok).toBe(1);
    const version = await serverVersion();
    expect(Object.keys(WIRE_VERSION)).toContain(version);
    const p = await db.admin().command({ getParameter: 1, featureCompatibilityVersion: 1 });
    expect(p.featureCompatibilityVersion).toEqual({ version });
  });

  it('an unknown command is code 59 CommandNotFound', async () => {
    const e = await serverError(db.command({ noSuchThing: 1 }));
    expect(e.code).toBe(59);
    expect(e.codeName).toBe('CommandNotFound');
  });

  it('serves the streaming (awaitable hello) server monitor of the driver without heartbeat failures', async () => {
    const { MongoClient } = await import('mongodb');
    const client = new MongoClient(mongo.uri, { heartbeatFrequencyMS: 500, connectTimeoutMS: 300 });
    let failed = 0;
    let awaited = 0;
    client.on('serverHeartbeatFailed', () => failed++);
    client.on('serverHeartbeatSucceeded', (e) => {
      if (e.awaited) awaited++;
    });
    await client.connect();
    // Poll until the monitor has had three awaited heartbeats (at most 60 s: a bound for hangs, not a verdict).
    const deadline = Date.now() + 60_000;
    while (awaited < 3 && Date.now() < deadline) {
      await client.db('admin').command({ ping: 1 });
      await new Promise((r) => setTimeout(r, 100));
    }
    await client.close();
    expect(failed).toBe(0);
    expect(awaited).toBeGreaterThanOrEqual(3);
  });

  it('endSessions and killAllSessions succeed', async () => {
    expect((await db.admin().command({ endSessions: [{ id: new ObjectId() }] })).ok).toBe(1);
    expect((await db.admin().command({ killAllSessions: [] })).ok).toBe(1);
  });
});

describe('databases and collections', () => {
  it('listDatabases shows a database once it has a collection; dropDatabase removes it', async () => {
    await db.collection('a').insertOne({ x: 1 });
    let names = (await db.admin().listDatabases()).databases.map((d) => d.name);
    expect(names).toContain(db.databaseName);
    await db.dropDatabase();
    names = (await db.admin().listDatabases()).databases.map((d) => d.name);
    expect(names).not.toContain(db.databaseName);
  });

  it('create of an existing collection is code 48 NamespaceExists', async () => {
    await db.createCollection('c');
    const e = await serverError(db.command({ create: 'c' }));
    expect(e.code).toBe(48);
  });

  it('collMod of a missing collection is code 26 NamespaceNotFound', async () => {
    const e = await serverError(db.command({ collMod: 'missing', validationLevel: 'moderate' }));
    expect(e.code).toBe(26);
  });

  it('drop removes a collection and reports nIndexesWas; dropping a missing one succeeds (MongoDB >= 7.0)', async () => {
    await db.collection('d').createIndex({ a: 1 });
    const r = await db.command({ drop: 'd' });
    expect(r.nIndexesWas).toBe(2);
    expect(await db.listCollections({ name: 'd' }).toArray()).toEqual([]);
    expect((await db.command({ drop: 'd' })).ok).toBe(1);
  });

  it('writes create collections implicitly', async () => {
    await db.collection('implicit').insertOne({ a: 1 });
    expect((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name)).toEqual([
      'implicit',
    ]);
  });

  it('listCollections filters and shows validator, level and action in options', async () => {
    const validator = { $jsonSchema: { bsonType: 'object', required: ['a'] } };
    await db.createCollection('v', { validator, validationLevel: 'moderate', validationAction: 'warn' });
    await db.createCollection('other');
    const [info] = await db.listCollections({ name: 'v' }).toArray();
    expect((info as { options?: unknown }).options).toEqual({
      validator,
      validationLevel: 'moderate',
      validationAction: 'warn',
    });
    expect(info.type).toBe('collection');
    const names = await db.listCollections({}, { nameOnly: true }).toArray();
    expect(names.map((c) => c.name).sort()).toEqual(['other', 'v']);
  });

  it('renameCollection moves documents and indexes; missing source is 26, existing target is 48', async () => {
    await db.collection('src').insertMany([{ a: 1 }, { a: 2 }]);
    await db.collection('src').createIndex({ a: 1 }, { name: 'a_1' });
    await db.collection('src').rename('dst');
    expect(await db.collection('dst').countDocuments()).toBe(2);
    expect((await db.collection('dst').indexes()).map((i) => i.name)).toEqual(['_id_', 'a_1']);
    expect((await serverError(db.collection('src').rename('x'))).code).toBe(26);
    await db.collection('y').insertOne({});
    expect((await serverError(db.collection('dst').rename('y'))).code).toBe(48);
    await db.collection('dst').rename('y', { dropTarget: true });
    expect(await db.collection('y').countDocuments()).toBe(2);
  });

  it('collStats, $collStats and dbStats report counts and sizes', async () => {
    await db.collection('s').insertMany([{ a: 1 }, { a: 2 }, { a: 3 }]);
    const stats = await db.command({ collStats: 's' });
    expect(stats.count).toBe(3);
    expect(stats.size).toBeGreaterThan(0);
    expect(stats.nindexes).toBe(1);
    const [cs] = await db
      .collection('s')
      .aggregate([{ $collStats: { count: {}, storageStats: {} } }])
      .toArray();
    expect(cs.count).toBe(3);
    expect(cs.storageStats.count).toBe(3);
    const dbs = await db.command({ dbStats: 1 });
    expect(dbs.collections).toBe(1);
    expect(dbs.objects).toBe(3);
  });
});

describe('insert', () => {
  it('assigns _id, reports n, and ordered batches stop at the first duplicate', async () => {
    const c = db.collection('i');
    await c.insertOne({ _id: 2 as never });
    const e = await c.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }] as never[]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MongoBulkWriteError);
    const bulk = e as MongoBulkWriteError;
    expect(bulk.result.insertedCount).toBe(1);
    expect(bulk.writeErrors).toHaveLength(1);
    expect(await c.countDocuments()).toBe(2);
  });

  it('unordered batches continue and report every error with index, code, keyPattern and keyValue', async () => {
    const c = db.collection('u');
    await c.insertOne({ _id: 2 as never });
    const r = await db.command({
      insert: 'u',
      documents: [{ _id: 1 }, { _id: 2 }, { _id: 3 }, { _id: 2 }],
      ordered: false,
    });
    expect(r.n).toBe(2);
    expect(r.writeErrors).toEqual([
      {
        index: 1,
        code: 11000,
        errmsg: `E11000 duplicate key error collection: ${db.databaseName}.u index: _id_ dup key: { _id: 2 }`,
        keyPattern: { _id: 1 },
        keyValue: { _id: 2 },
      },
      {
        index: 3,
        code: 11000,
        errmsg: `E11000 duplicate key error collection: ${db.databaseName}.u index: _id_ dup key: { _id: 2 }`,
        keyPattern: { _id: 1 },
        keyValue: { _id: 2 },
      },
    ]);
    expect(await c.countDocuments()).toBe(3);
  });
});

describe('find, cursors, count, distinct', () => {
  beforeEach(async () => {
    await db.collection('f').insertMany(
      Array.from({ length: 250 }, (_, i) => ({
        _id: i,
        n: i % 10,
        s: `s${String(i).padStart(3, '0')}`,
        tags: i % 2 ? ['odd'] : ['even', 'x'],
      })) as never[],
    );
  });

  it('filters, projects, sorts, skips and limits', async () => {
    const docs = await db
      .collection('f')
      .find({ n: { $in: [1, 2] } }, { projection: { n: 1, _id: 0 } })
      .sort({ _id: -1 })
      .skip(1)
      .limit(3)
      .toArray();
    expect(docs).toEqual([{ n: 1 }, { n: 2 }, { n: 1 }]);
  });

  it('batchSize, getMore and killCursors work with cursor ids', async () => {
    const cursor = db.collection('f').find({}).batchSize(100);
    let n = 0;
    for await (const doc of cursor) {
      expect(doc._id).toBe(n);
      n++;
    }
    expect(n).toBe(250);
    const first = await db.command({ find: 'f', batchSize: 10 });
    expect(first.cursor.firstBatch).toHaveLength(10);
    expect(Number(first.cursor.id)).toBeGreaterThan(0);
    const raw = await db.command({ find: 'f', batchSize: 1 }, { promoteLongs: false });
    expect(raw.cursor.id).toBeInstanceOf(Long);
    const more = await db.command({ getMore: first.cursor.id, collection: 'f', batchSize: 5 });
    expect(more.cursor.nextBatch.map((d: Document) => d._id)).toEqual([10, 11, 12, 13, 14]);
    const killed = await db.command({ killCursors: 'f', cursors: [first.cursor.id] });
    expect(killed.cursorsKilled).toHaveLength(1);
    const e = await serverError(db.command({ getMore: first.cursor.id, collection: 'f' }));
    expect(e.code).toBe(43);
  });

  it('singleBatch returns one batch and no cursor', async () => {
    const r = await db.command({ find: 'f', batchSize: 5, singleBatch: true });
    expect(r.cursor.firstBatch).toHaveLength(5);
    expect(Number(r.cursor.id)).toBe(0);
  });

  it('$in and $nin follow MongoDB: array elements, null matching missing, regexes, numbers by value', async () => {
    const c = db.collection('inq');
    await c.insertMany([
      { _id: 1, v: 1 },
      { _id: 2, v: [2, 3] },
      { _id: 3, v: null },
      { _id: 4 },
      { _id: 5, v: 'abc' },
      { _id: 6, v: [[1, 2]] },
      { _id: 7, v: 2.0 },
    ] as never[]);
    const ids = async (filter: Document) =>
      (await c.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);
    expect(await ids({ v: { $in: [1, 3] } })).toEqual([1, 2]);
    expect(await ids({ v: { $in: [null] } })).toEqual([3, 4]);
    expect(await ids({ v: { $in: [/^ab/] } })).toEqual([5]);
    expect(await ids({ v: { $in: [[1, 2]] } })).toEqual([6]);
    expect(await ids({ v: { $in: [Long.fromNumber(2)] } })).toEqual([2, 7]);
    expect(await ids({ v: { $nin: [1, null, 'abc'] } })).toEqual([2, 6, 7]);
  });

  it('count and distinct', async () => {
    expect((await db.command({ count: 'f', query: { n: 3 } })).n).toBe(25);
    expect(await db.collection('f').countDocuments({ tags: 'odd' })).toBe(125);
    expect(await db.collection('f').distinct('tags')).toEqual(['even', 'odd', 'x']);
    expect(await db.collection('f').distinct('n', { n: { $lt: 3 } })).toEqual([0, 1, 2]);
  });

  it('sorts mixed types in BSON order and strings by code point without collation', async () => {
    const c = db.collection('mixed');
    const oid = new ObjectId('650000000000000000000001');
    const date = new Date(0);
    await c.insertMany([
      { _id: 1, v: 'b' },
      { _id: 2, v: true },
      { _id: 3, v: date },
      { _id: 4, v: oid },
      { _id: 5, v: { a: 1 } },
      { _id: 6, v: 10 },
      { _id: 7, v: null },
      { _id: 8, v: 'B' },
      { _id: 9, v: 2.5 },
      { _id: 10 },
    ] as never[]);
    const order = (await c.find({}).sort({ v: 1, _id: 1 }).toArray()).map((d) => d._id);
    expect(order).toEqual([7, 10, 9, 6, 8, 1, 5, 4, 2, 3]);
  });
});

describe('update', () => {
  it('applies $set $inc $mul $min $max $unset $rename $currentDate $push $pull $addToSet', async () => {
    const c = db.collection('up');
    await c.insertOne({
      _id: 1,
      a: 5,
      b: 2,
      lo: 5,
      hi: 5,
      gone: 1,
      old: 'x',
      arr: [1, 2, 3],
      set: ['a'],
    } as never);
    const r = await c.updateOne(
      { _id: 1 as never },
      {
        $set: { 'nested.x': 1 },
        $inc: { a: 2 },
        $mul: { b: 3 },
        $min: { lo: 1 },
        $max: { hi: 9 },
        $unset: { gone: '' },
        $rename: { old: 'renamed' },
        $currentDate: { touched: true },
        $push: { arr: 4 } as never,
        $addToSet: { set: 'a' },
      },
    );
    expect(r.matchedCount).toBe(1);
    expect(r.modifiedCount).toBe(1);
    await c.updateOne({ _id: 1 as never }, { $pull: { arr: { $gte: 3 } } as never });
    const doc = await c.findOne({ _id: 1 as never });
    expect(doc?.touched).toBeInstanceOf(Date);
    delete doc?.touched;
    expect(doc).toEqual({
      _id: 1,
      a: 7,
      b: 6,
      lo: 1,
      hi: 9,
      arr: [1, 2],
      set: ['a'],
      nested: { x: 1 },
      renamed: 'x',
    });
  });

  it('reports nModified 0 for a no-op update', async () => {
    const c = db.collection('noop');
    await c.insertOne({ _id: 1, a: 1 } as never);
    const r = await c.updateOne({ _id: 1 as never }, { $set: { a: 1 } });
    expect([r.matchedCount, r.modifiedCount]).toEqual([1, 0]);
  });

  it('upserts with $setOnInsert and query equality fields, reporting upserted[]', async () => {
    const c = db.collection('ups');
    const r = await db.command({
      update: 'ups',
      updates: [
        {
          q: { k: 'a', n: { $gt: 1 } },
          u: { $set: { v: 1 }, $setOnInsert: { created: true } },
          upsert: true,
        },
      ],
    });
    expect(r.n).toBe(1);
    expect(r.nModified).toBe(0);
    expect(r.upserted).toHaveLength(1);
    expect(r.upserted[0].index).toBe(0);
    const doc = await c.findOne({ k: 'a' }, { projection: { _id: 0 } });
    expect(doc).toEqual({ k: 'a', v: 1, created: true });
    await c.updateOne({ k: 'a' }, { $set: { v: 2 }, $setOnInsert: { created: false } }, { upsert: true });
    expect(await c.findOne({ k: 'a' }, { projection: { _id: 0 } })).toEqual({ k: 'a', v: 2, created: true });
  });

  it('multi updates and arrayFilters', async () => {
    const c = db.collection('multi');
    await c.insertMany([
      { g: 1, grades: [80, 95, 100] },
      { g: 1, grades: [100, 60] },
      { g: 2, grades: [100] },
    ]);
    const r = await c.updateMany(
      { g: 1 },
      { $set: { 'grades.$[el]': 0 } },
      { arrayFilters: [{ el: { $gte: 100 } }] },
    );
    expect([r.matchedCount, r.modifiedCount]).toEqual([2, 2]);
    expect((await c.find({}, { projection: { _id: 0, grades: 1 } }).toArray()).map((d) => d.grades)).toEqual([
      [80, 95, 0],
      [0, 60],
      [100],
    ]);
  });

  it('pipeline-style updates', async () => {
    const c = db.collection('pipe');
    await c.insertOne({ _id: 1, a: 2, b: 3 } as never);
    await c.updateOne({ _id: 1 as never }, [{ $set: { sum: { $add: ['$a', '$b'] } } }, { $unset: 'b' }]);
    expect(await c.findOne({ _id: 1 as never })).toEqual({ _id: 1, a: 2, sum: 5 });
  });

  it('modifying _id is code 66 ImmutableField; conflicting paths are code 40', async () => {
    const c = db.collection('imm');
    await c.insertOne({ _id: 1, a: 1 } as never);
    expect((await serverError(c.updateOne({ _id: 1 as never }, { $set: { _id: 2 as never } }))).code).toBe(
      66,
    );
    expect(
      (await serverError(c.updateOne({ _id: 1 as never }, { $set: { a: 1 }, $inc: { a: 1 } }))).code,
    ).toBe(40);
  });

  it('$inc on a string is code 14 TypeMismatch', async () => {
    const c = db.collection('tm');
    await c.insertOne({ _id: 1, s: 'x' } as never);
    expect((await serverError(c.updateOne({ _id: 1 as never }, { $inc: { s: 1 } as never }))).code).toBe(14);
  });

  it('replaceOne keeps _id', async () => {
    const c = db.collection('rep');
    await c.insertOne({ _id: 1, a: 1 } as never);
    await c.replaceOne({ _id: 1 as never }, { b: 2 });
    expect(await c.findOne({})).toEqual({ _id: 1, b: 2 });
  });
});

describe('delete and findAndModify', () => {
  it('deleteOne and deleteMany report n', async () => {
    const c = db.collection('del');
    await c.insertMany([{ a: 1 }, { a: 1 }, { a: 2 }]);
    expect((await c.deleteOne({ a: 1 })).deletedCount).toBe(1);
    expect((await c.deleteMany({})).deletedCount).toBe(2);
  });

  it('findOneAndUpdate with sort, new, fields and upsert', async () => {
    const c = db.collection('fam');
    await c.insertMany([
      { k: 1, v: 'a' },
      { k: 2, v: 'b' },
    ]);
    const r = await db.command({
      findAndModify: 'fam',
      query: {},
      sort: { k: -1 },
      update: { $set: { v: 'z' } },
      new: true,
      fields: { _id: 0 },
    });
    expect(r.value).toEqual({ k: 2, v: 'z' });
    expect(r.lastErrorObject).toEqual({ n: 1, updatedExisting: true });
    const up = await db.command({
      findAndModify: 'fam',
      query: { k: 3 },
      update: { $set: { v: 'c' } },
      upsert: true,
      new: true,
    });
    expect(up.lastErrorObject.n).toBe(1);
    expect(up.lastErrorObject.updatedExisting).toBe(false);
    expect(up.lastErrorObject.upserted).toEqual(up.value._id);
    const removed = await c.findOneAndDelete({ k: 1 }, { projection: { _id: 0 } });
    expect(removed).toEqual({ k: 1, v: 'a' });
  });
});

describe('indexes', () => {
  it('createIndexes, listIndexes and dropIndexes with their error codes', async () => {
    const c = db.collection('ix');
    const r = await db.command({
      createIndexes: 'ix',
      indexes: [{ key: { a: 1 }, name: 'a_1', unique: true }],
    });
    expect(r).toMatchObject({
      numIndexesBefore: 1,
      numIndexesAfter: 2,
      createdCollectionAutomatically: true,
      ok: 1,
    });
    expect(
      (await db.command({ createIndexes: 'ix', indexes: [{ key: { a: 1 }, name: 'a_1', unique: true }] }))
        .note,
    ).toBe('all indexes already exist');
    expect(
      (await serverError(db.command({ createIndexes: 'ix', indexes: [{ key: { b: 1 }, name: 'a_1' }] })))
        .code,
    ).toBe(86);
    expect(
      (
        await serverError(
          db.command({ createIndexes: 'ix', indexes: [{ key: { a: 1 }, name: 'other', unique: true }] }),
        )
      ).code,
    ).toBe(85);
    expect(await c.indexes()).toEqual([
      { v: 2, key: { _id: 1 }, name: '_id_' },
      { v: 2, key: { a: 1 }, name: 'a_1', unique: true },
    ]);
    expect((await serverError(c.dropIndex('nope'))).code).toBe(27);
    expect((await serverError(c.dropIndex('_id_'))).code).toBe(72);
    expect((await db.command({ dropIndexes: 'ix', index: 'a_1' })).nIndexesWas).toBe(2);
    expect((await serverError(db.command({ listIndexes: 'missing' }))).code).toBe(26);
  });

  it('enforces compound, sparse and partial unique indexes on insert, update and upsert', async () => {
    const c = db.collection('uq');
    await c.createIndex({ a: 1, b: 1 }, { unique: true });
    await c.createIndex({ s: 1 }, { unique: true, sparse: true });
    await c.createIndex({ p: 1 }, { unique: true, partialFilterExpression: { active: true } });
    await c.insertMany([
      { a: 1, b: 1 },
      { a: 1, b: 2 },
      { a: 2, b: 1, p: 'x', active: false },
      { a: 3, b: 1, p: 'x', active: true },
    ]);
    const dup = await serverError(c.insertOne({ a: 1, b: 1 }));
    expect(dup.code).toBe(11000);
    expect(dup.message).toBe(
      `E11000 duplicate key error collection: ${db.databaseName}.uq index: a_1_b_1 dup key: { a: 1, b: 1 }`,
    );
    expect(dup.keyValue).toEqual({ a: 1, b: 1 });
    expect((await serverError(c.updateOne({ a: 1, b: 2 }, { $set: { b: 1 } }))).code).toBe(11000);
    expect(
      (await serverError(c.updateOne({ a: 9, b: 9 }, { $set: { a: 1, b: 1 } }, { upsert: true }))).code,
    ).toBe(11000);
    expect((await serverError(c.findOneAndUpdate({ a: 1, b: 2 }, { $set: { b: 1 } }))).code).toBe(11000);
    expect((await serverError(c.insertOne({ a: 5, b: 5, p: 'x', active: true }))).code).toBe(11000);
    await c.insertOne({ a: 6, b: 6, p: 'x', active: false });
    await c.insertOne({ a: 7, b: 7 });
    expect(await c.countDocuments()).toBe(6);
  });

  it('creating a unique index over duplicates fails with 11000 and builds nothing', async () => {
    const c = db.collection('dupidx');
    await c.insertMany([{ a: 1 }, { a: 1 }]);
    expect((await serverError(c.createIndex({ a: 1 }, { unique: true }))).code).toBe(11000);
    expect((await c.indexes()).map((i) => i.name)).toEqual(['_id_']);
  });
});

describe('validation', () => {
  const schema = {
    bsonType: 'object',
    required: ['name'],
    properties: {
      name: { bsonType: 'string', minLength: 2, description: 'name must be a string of 2+ characters' },
      age: { bsonType: 'int', minimum: 0, description: 'age must be a non-negative int' },
    },
  };

  it('rejects with code 121 and errInfo naming the failing property and its description', async () => {
    await db.createCollection('val', { validator: { $jsonSchema: schema } });
    const e = await serverError(db.collection('val').insertOne({ _id: 1 as never, name: 'x', age: -1 }));
    expect(e.code).toBe(121);
    expect(e.message).toBe('Document failed validation');
    const info = e.errInfo as Document;
    expect(info.failingDocumentId).toBe(1);
    expect(info.details.operatorName).toBe('$jsonSchema');
    const props = info.details.schemaRulesNotSatisfied[0];
    expect(props.operatorName).toBe('properties');
    expect(props.propertiesNotSatisfied.map((p: Document) => [p.propertyName, p.description])).toEqual([
      ['name', 'name must be a string of 2+ characters'],
      ['age', 'age must be a non-negative int'],
    ]);
    const missing = await serverError(db.collection('val').insertOne({ age: 3 }));
    expect((missing.errInfo as Document).details.schemaRulesNotSatisfied[0]).toEqual({
      operatorName: 'required',
      specifiedAs: { required: ['name'] },
      missingProperties: ['name'],
    });
  });

  it('validates updates; moderate lets already-invalid documents be updated; warn lets writes pass', async () => {
    const c = db.collection('lvl');
    await c.insertMany([
      { _id: 1, name: 'ok' },
      { _id: 2, name: 5 },
    ] as never[]);
    await db.command({ collMod: 'lvl', validator: { $jsonSchema: schema }, validationLevel: 'strict' });
    expect((await serverError(c.updateOne({ _id: 1 as never }, { $set: { name: 7 } }))).code).toBe(121);
    expect((await serverError(c.updateOne({ _id: 2 as never }, { $set: { age: 1 } }))).code).toBe(121);
    await db.command({ collMod: 'lvl', validationLevel: 'moderate' });
    expect((await c.updateOne({ _id: 2 as never }, { $set: { age: 1 } })).modifiedCount).toBe(1);
    await db.command({ collMod: 'lvl', validationAction: 'warn' });
    expect((await c.insertOne({ name: 1 })).acknowledged).toBe(true);
  });

  it('bypassDocumentValidation skips the validator', async () => {
    await db.createCollection('byp', { validator: { $jsonSchema: schema } });
    await db.collection('byp').insertOne({ bad: true }, { bypassDocumentValidation: true });
    expect(await db.collection('byp').countDocuments()).toBe(1);
  });

  it('$jsonSchema works as a query operator in find, count and $match, including with $nor', async () => {
    const c = db.collection('q');
    await c.insertMany([{ name: 'ok' }, { name: 1 }, { other: true }]);
    const violators = await c.find({ $nor: [{ $jsonSchema: schema }] }, { projection: { _id: 0 } }).toArray();
    expect(violators).toEqual([{ name: 1 }, { other: true }]);
    expect(await c.countDocuments({ $jsonSchema: schema })).toBe(1);
    expect(
      await c.aggregate([{ $match: { $jsonSchema: schema } }, { $project: { _id: 0 } }]).toArray(),
    ).toEqual([{ name: 'ok' }]);
  });
});

describe('aggregation', () => {
  it('$lookup in localField/foreignField and pipeline forms', async () => {
    const u = new ObjectId();
    await db.collection('users').insertOne({ _id: u, name: 'ann' });
    await db.collection('twins').insertMany([
      { _id: 1, userRef: u },
      { _id: 2, userRef: new ObjectId() },
    ] as never[]);
    const joined = await db
      .collection('twins')
      .aggregate([
        { $lookup: { from: 'users', localField: 'userRef', foreignField: '_id', as: 'user' } },
        { $project: { n: { $size: '$user' } } },
      ])
      .toArray();
    expect(joined).toEqual([
      { _id: 1, n: 1 },
      { _id: 2, n: 0 },
    ]);
    const piped = await db
      .collection('twins')
      .aggregate([
        {
          $lookup: {
            from: 'users',
            let: { ref: '$userRef' },
            pipeline: [{ $match: { $expr: { $eq: ['$_id', '$$ref'] } } }, { $project: { _id: 0, name: 1 } }],
            as: 'user',
          },
        },
        { $project: { user: 1 } },
      ])
      .toArray();
    expect(piped).toEqual([
      { _id: 1, user: [{ name: 'ann' }] },
      { _id: 2, user: [] },
    ]);
  });

  it('$cond, $dateToString, $toObjectId, $toString and $type in $project', async () => {
    const hex = '650000000000000000000001';
    await db.collection('p').insertOne({
      _id: 1,
      n: 5,
      d: new Date('2024-02-03T04:05:06Z'),
      s: hex,
      o: new ObjectId(hex),
    } as never);
    const [r] = await db
      .collection('p')
      .aggregate([
        {
          $project: {
            big: { $cond: [{ $gt: ['$n', 3] }, 'yes', 'no'] },
            day: { $dateToString: { format: '%Y-%m-%d', date: '$d' } },
            oid: { $toObjectId: '$s' },
            str: { $toString: '$o' },
            t: { $type: '$o' },
          },
        },
      ])
      .toArray();
    expect(r).toEqual({
      _id: 1,
      big: 'yes',
      day: '2024-02-03',
      oid: new ObjectId(hex),
      str: hex,
      t: 'objectId',
    });
  });

  it('$out replaces a collection and $merge upserts into one', async () => {
    await db.collection('src').insertMany([
      { _id: 1, g: 'a' },
      { _id: 2, g: 'a' },
      { _id: 3, g: 'b' },
    ] as never[]);
    await db
      .collection('src')
      .aggregate([{ $group: { _id: '$g', n: { $sum: 1 } } }, { $out: 'counts' }])
      .toArray();
    expect(await db.collection('counts').find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', n: 2 },
      { _id: 'b', n: 1 },
    ]);
    await db
      .collection('src')
      .aggregate([
        { $match: { g: 'b' } },
        { $project: { extra: { $literal: true } } },
        { $merge: { into: 'counts' } },
      ])
      .toArray();
    expect(await db.collection('counts').countDocuments()).toBe(3);
  });

  it('$type query operator matches ObjectId and BSON number types', async () => {
    await db
      .collection('ty')
      .insertMany([{ r: new ObjectId() }, { r: '650000000000000000000001' }, { r: 3 }, { r: 2.5 }]);
    expect(await db.collection('ty').countDocuments({ r: { $type: 'objectId' } })).toBe(1);
    expect(await db.collection('ty').countDocuments({ r: { $type: 'string' } })).toBe(1);
    expect(await db.collection('ty').countDocuments({ r: { $type: 'number' } })).toBe(2);
    expect(await db.collection('ty').countDocuments({ r: { $type: 'double' } })).toBe(1);
  });
});

describe('concurrency', () => {
  it('a pool of 100 connections running mixed reads and writes loses and duplicates nothing', async () => {
    const { MongoClient } = await import('mongodb');
    const client = await MongoClient.connect(mongo.uri, { maxPoolSize: 100, minPoolSize: 20 });
    const c = client.db(db.databaseName).collection('conc');
    await c.insertOne({ _id: 'counter' as never, n: 0 });
    const ops = Array.from({ length: 600 }, (_, i) =>
      i % 3 === 0
        ? c.insertOne({ i })
        : i % 3 === 1
          ? c.updateOne({ _id: 'counter' as never }, { $inc: { n: 1 } })
          : c.find({ i: { $lt: 50 } }).toArray(),
    );
    await Promise.all(ops);
    expect(await c.countDocuments({ i: { $exists: true } })).toBe(200);
    expect((await c.findOne({ _id: 'counter' as never }))?.n).toBe(200);
    expect((await c.distinct('i')).length).toBe(200);
    await client.close();
  });
});
