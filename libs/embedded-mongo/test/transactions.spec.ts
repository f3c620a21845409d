import { MongoServerError } from 'mongodb';
import type { Db } from 'mongodb';
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
beforeEach(async () => {
  db = mongo.db();
  await db.createCollection('acc');
  await db.collection('acc').insertMany([
    { _id: 'a', n: 0 },
    { _id: 'b', n: 0 },
  ] as never[]);
});

describe('transactions', () => {
  it('uncommitted writes are invisible to other sessions and visible inside the transaction; commit publishes them', async () => {
    const session = mongo.client.startSession();
    session.startTransaction();
    const acc = db.collection('acc');
    await acc.updateOne({ _id: 'a' as never }, { $inc: { n: 5 } }, { session });
    await acc.insertOne({ _id: 'c' as never, n: 1 }, { session });
    await acc.deleteOne({ _id: 'b' as never }, { session });
    expect(await acc.find({}, { session }).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', n: 5 },
      { _id: 'c', n: 1 },
    ]);
    expect(await acc.find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', n: 0 },
      { _id: 'b', n: 0 },
    ]);
    expect(await acc.countDocuments({ n: { $gt: 0 } })).toBe(0);
    await session.commitTransaction();
    await session.endSession();
    expect(await acc.find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', n: 5 },
      { _id: 'c', n: 1 },
    ]);
  });

  it('abort discards every write of the transaction', async () => {
    const session = mongo.client.startSession();
    session.startTransaction();
    const acc = db.collection('acc');
    await acc.updateMany({}, { $set: { n: 9 } }, { session });
    await acc.insertOne({ _id: 'z' as never, n: 1 }, { session });
    await session.abortTransaction();
    await session.endSession();
    expect(await acc.find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', n: 0 },
      { _id: 'b', n: 0 },
    ]);
  });

  it('ending the session discards an open transaction', async () => {
    const session = mongo.client.startSession();
    session.startTransaction();
    await db.collection('acc').insertOne({ _id: 'y' as never }, { session });
    await session.endSession();
    expect(await db.collection('acc').countDocuments({ _id: 'y' as never })).toBe(0);
  });

  it('a second transaction writing the same document gets WriteConflict (112) labelled TransientTransactionError', async () => {
    const s1 = mongo.client.startSession();
    const s2 = mongo.client.startSession();
    s1.startTransaction();
    s2.startTransaction();
    await db.collection('acc').updateOne({ _id: 'a' as never }, { $inc: { n: 1 } }, { session: s1 });
    const err = await db
      .collection('acc')
      .updateOne({ _id: 'a' as never }, { $inc: { n: 1 } }, { session: s2 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect((err as MongoServerError).code).toBe(112);
    expect((err as MongoServerError).hasErrorLabel('TransientTransactionError')).toBe(true);
    await s2.abortTransaction();
    await s1.commitTransaction();
    await Promise.all([s1.endSession(), s2.endSession()]);
    expect(await db.collection('acc').findOne({ _id: 'a' as never })).toEqual({ _id: 'a', n: 1 });
  });

  it('withTransaction retries after a WriteConflict and commits exactly once', async () => {
    const holder = mongo.client.startSession();
    holder.startTransaction();
    await db.collection('acc').updateOne({ _id: 'a' as never }, { $inc: { n: 100 } }, { session: holder });
    const retrier = mongo.client.startSession();
    let attempts = 0;
    await retrier.withTransaction(async () => {
      attempts++;
      if (attempts === 2) await holder.commitTransaction();
      await db.collection('acc').updateOne({ _id: 'a' as never }, { $inc: { n: 1 } }, { session: retrier });
      await db.collection('acc').updateOne({ _id: 'b' as never }, { $inc: { n: 1 } }, { session: retrier });
    });
    await Promise.all([holder.endSession(), retrier.endSession()]);
    expect(attempts).toBe(2);
    expect(await db.collection('acc').find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', n: 101 },
      { _id: 'b', n: 1 },
    ]);
  });

  it('an operation after the transaction was aborted fails with NoSuchTransaction (251)', async () => {
    const s1 = mongo.client.startSession();
    const s2 = mongo.client.startSession();
    s1.startTransaction();
    s2.startTransaction();
    await db.collection('acc').updateOne({ _id: 'a' as never }, { $inc: { n: 1 } }, { session: s1 });
    await db
      .collection('acc')
      .updateOne({ _id: 'a' as never }, { $inc: { n: 1 } }, { session: s2 })
      .catch(() => undefined);
    const err = (await db
      .collection('acc')
      .findOne({}, { session: s2 })
      .catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(251);
    await s2.abortTransaction().catch(() => undefined);
    await s1.abortTransaction();
    await Promise.all([s1.endSession(), s2.endSession()]);
  });
});
