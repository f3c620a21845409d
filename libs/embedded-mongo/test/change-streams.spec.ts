import { MongoClient, Timestamp } from 'mongodb';
import type { ChangeStream, ChangeStreamDocument, Db, ResumeToken, MongoServerError } from 'mongodb';
import { EmbeddedMongo } from '@odtp/embedded-mongo';
import { FileJournal } from '../src/persistence';
import { Store } from '../src/store';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';
import { tempDir } from '../../../test/support/temp-dirs';

type Event = ChangeStreamDocument & { documentKey?: { _id: unknown } };

/** The next `n` events of a stream (each `next()` waits for the server; no fixed sleeps). */
async function take(stream: ChangeStream, n: number): Promise<Event[]> {
  const out: Event[] = [];
  while (out.length < n) out.push((await stream.next()) as Event);
  return out;
}

/** Open a stream eagerly (the driver sends its aggregate on first use): later writes are seen by it. */
async function opened(stream: ChangeStream): Promise<ChangeStream> {
  await (stream as unknown as { cursor: { cursorInit(): Promise<void> } }).cursor.cursorInit();
  return stream;
}

const keys = (events: Event[]): unknown[] => events.map((e) => [e.operationType, e.documentKey?._id]);

describe('change streams (on MONGODB_URI when set, else the embedded server)', () => {
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
    await db.createCollection('outputs');
  });

  it('resumes after any event with exactly the events that followed it, whether it was read or not', async () => {
    const coll = db.collection('outputs');
    const first = await opened(coll.watch());
    for (let i = 1; i <= 5; i++) await coll.insertOne({ _id: i as never });
    const seen = await take(first, 2);
    await first.close();
    expect(keys(seen)).toEqual([
      ['insert', 1],
      ['insert', 2],
    ]);
    await coll.deleteOne({ _id: 1 as never });
    const resumed = await opened(coll.watch([], { resumeAfter: seen[1]._id }));
    expect(keys(await take(resumed, 4))).toEqual([
      ['insert', 3],
      ['insert', 4],
      ['insert', 5],
      ['delete', 1],
    ]);
    expect(await resumed.tryNext()).toBeNull();
    await resumed.close();
  });

  it('a $match on the namespace and operation type returns exactly the matching events, invalidate included; a $match on the document too', async () => {
    const watched = db.collection('outputs');
    const other = db.collection('integrity_violations');
    const all = await opened(db.watch());
    const byHead = await opened(
      db.watch([
        {
          $match: {
            $or: [
              { 'ns.coll': { $in: ['outputs'] } },
              { operationType: { $in: ['invalidate', 'dropDatabase'] } },
            ],
          },
        },
      ]),
    );
    const byDocument = await opened(
      db.watch([{ $match: { 'ns.coll': 'outputs', 'fullDocument.kept': true } }]),
    );
    await other.insertMany([{ _id: 1 as never }, { _id: 2 as never }]);
    await watched.insertOne({ _id: 1 as never, kept: true });
    await other.updateOne({ _id: 1 as never }, { $set: { x: 1 } });
    await watched.insertOne({ _id: 2 as never, kept: false });
    await watched.updateOne({ _id: 1 as never }, { $set: { y: 1 } });
    await other.deleteOne({ _id: 2 as never });
    await watched.deleteOne({ _id: 2 as never });
    await db.dropDatabase();
    // every event up to the invalidate (a drop per collection, then dropDatabase, then invalidate)
    const everything: Event[] = [];
    while (everything.at(-1)?.operationType !== 'invalidate') everything.push(...(await take(all, 1)));
    const expected = everything.filter(
      (e) =>
        (e as { ns?: { coll?: string } }).ns?.coll === 'outputs' ||
        ['invalidate', 'dropDatabase'].includes(e.operationType),
    );
    expect(keys(expected)).toEqual([
      ['insert', 1],
      ['insert', 2],
      ['update', 1],
      ['delete', 2],
      ['drop', undefined],
      ['dropDatabase', undefined],
      ['invalidate', undefined],
    ]);
    // the same events, tokens and all
    expect(await take(byHead, expected.length)).toEqual(expected);
    expect(keys(await take(byDocument, 1))).toEqual([['insert', 1]]);
    for (const s of [all, byHead, byDocument]) await s.close();
  });

  it('every batch carries a resume token; resuming from it neither misses nor repeats an event', async () => {
    const coll = db.collection('outputs');
    const stream = await opened(coll.watch());
    await coll.insertOne({ _id: 'a' as never });
    expect(keys(await take(stream, 1))).toEqual([['insert', 'a']]);
    expect(await stream.tryNext()).toBeNull();
    const token = stream.resumeToken as ResumeToken;
    await stream.close();
    await coll.insertOne({ _id: 'b' as never });
    const resumed = await opened(coll.watch([], { resumeAfter: token }));
    expect(keys(await take(resumed, 1))).toEqual([['insert', 'b']]);
    await resumed.close();
  });

  it('startAtOperationTime starts at the change made at that time', async () => {
    const coll = db.collection('outputs');
    const stream = await opened(coll.watch());
    await coll.insertOne({ _id: 1 as never });
    await coll.insertOne({ _id: 2 as never });
    const [, second] = await take(stream, 2);
    await stream.close();
    const at = (second as { clusterTime: Timestamp }).clusterTime;
    const from = await opened(coll.watch([], { startAtOperationTime: at }));
    expect(keys(await take(from, 1))).toEqual([['insert', 2]]);
    await from.close();
  });

  it('a transaction is seen at its commit, write by write in order; an aborted one never', async () => {
    const coll = db.collection('outputs');
    const stream = await opened(coll.watch());
    const session = mongo.client.startSession();
    try {
      session.startTransaction();
      await coll.insertOne({ _id: 'aborted' as never }, { session });
      await session.abortTransaction();
      session.startTransaction();
      await coll.insertOne({ _id: 't1' as never }, { session });
      await coll.updateOne({ _id: 't1' as never }, { $set: { n: 1 } }, { session });
      await coll.insertOne({ _id: 'outside' as never });
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    expect(keys(await take(stream, 3))).toEqual([
      ['insert', 'outside'],
      ['insert', 't1'],
      ['update', 't1'],
    ]);
    await stream.close();
  });

  it('a $match on the namespace filters the events of one transaction over two collections; later stages still run', async () => {
    await db.createCollection('logs');
    const stream = await opened(
      db.watch([
        { $match: { 'ns.coll': 'logs' } },
        { $project: { operationType: 1, documentKey: 1, ns: 1 } },
      ]),
    );
    const session = mongo.client.startSession();
    try {
      session.startTransaction();
      await db.collection('outputs').insertOne({ _id: 'o1' as never }, { session });
      await db.collection('logs').insertOne({ _id: 'l1' as never, text: 'kept out' }, { session });
      await db.collection('outputs').insertOne({ _id: 'o2' as never }, { session });
      await db.collection('logs').deleteOne({ _id: 'l1' as never }, { session });
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    await db.collection('logs').insertOne({ _id: 'l2' as never });
    const events = await take(stream, 3);
    expect(keys(events)).toEqual([
      ['insert', 'l1'],
      ['delete', 'l1'],
      ['insert', 'l2'],
    ]);
    // the $project ran: no fullDocument, no clusterTime
    expect(events.map((e) => Object.keys(e).sort())).toEqual(
      Array(3).fill(['_id', 'documentKey', 'ns', 'operationType']),
    );
    await stream.close();
  });

  it('rename: a rename event with its target, then invalidate; startAfter the invalidate watches on', async () => {
    const coll = db.collection('outputs');
    const stream = await opened(coll.watch());
    await coll.rename('outputs_old');
    const [rename, invalidate] = await take(stream, 2);
    expect(rename).toMatchObject({
      operationType: 'rename',
      ns: { db: db.databaseName, coll: 'outputs' },
      to: { db: db.databaseName, coll: 'outputs_old' },
    });
    expect(invalidate.operationType).toBe('invalidate');
    await stream.close();
    const resumeAfter = await opened(coll.watch([], { resumeAfter: invalidate._id })).catch(
      (e: unknown) => e,
    );
    expect((resumeAfter as MongoServerError).code).toBe(260);
    const after = await opened(coll.watch([], { startAfter: invalidate._id }));
    await coll.insertOne({ _id: 'new' as never });
    expect(keys(await take(after, 1))).toEqual([['insert', 'new']]);
    await after.close();
  });

  it('a database stream reports drops and dropDatabase, then invalidates', async () => {
    await db.collection('steps').insertOne({ _id: 's' as never });
    const stream = await opened(db.watch());
    await db.dropDatabase();
    const events = await take(stream, 4);
    expect(events.map((e) => e.operationType).sort()).toEqual(['drop', 'drop', 'dropDatabase', 'invalidate']);
    expect(events.slice(2).map((e) => e.operationType)).toEqual(['dropDatabase', 'invalidate']);
    await stream.close();
  });

  it('an empty getMore waits for its maxTimeMS and keeps the cursor open with a resume token', async () => {
    const reply = await db.command({ aggregate: 'outputs', pipeline: [{ $changeStream: {} }], cursor: {} });
    const id = reply.cursor.id;
    expect(reply.cursor.firstBatch).toEqual([]);
    expect(Object.keys(reply.cursor.postBatchResumeToken)).toEqual(['_data']);
    const more = await db.command({ getMore: id, collection: 'outputs', maxTimeMS: 50 });
    expect([more.cursor.nextBatch, more.cursor.id.toString()]).toEqual([[], id.toString()]);
    expect(Object.keys(more.cursor.postBatchResumeToken)).toEqual(['_data']);
    await db.command({ killCursors: 'outputs', cursors: [id] });
  });

  it('refuses what mongod refuses: bad tokens, two resume options, unknown options, a transaction', async () => {
    const code = async (cmd: object): Promise<number | undefined> =>
      db.command(cmd).then(
        () => undefined,
        (e: MongoServerError) => Number(e.code),
      );
    const open = (spec: object) => ({
      aggregate: 'outputs',
      pipeline: [{ $changeStream: spec }],
      cursor: {},
    });
    expect(await code(open({ resumeAfter: { _data: 'not hex' } }))).toBe(mongoIs(260));
    expect(
      await code(open({ resumeAfter: { _data: '82' }, startAtOperationTime: new Timestamp({ t: 1, i: 1 }) })),
    ).toBe(40674);
    expect(await code(open({ noSuchOption: true }))).toBe(40415);
    expect(
      await code({ aggregate: 1, pipeline: [{ $changeStream: { allChangesForCluster: true } }], cursor: {} }),
    ).toBe(mongoIs(72));
    const session = mongo.client.startSession();
    try {
      session.startTransaction();
      await db.collection('outputs').insertOne({ _id: 'in-txn' as never }, { session });
      const inTxn = await db.command(open({}), { session }).then(
        () => undefined,
        (e: MongoServerError) => Number(e.code),
      );
      expect(inTxn).toBe(263);
      await session.abortTransaction().catch(() => undefined);
    } finally {
      await session.endSession();
    }
  });
});

/** Codes the embedded server answers where mongod's may differ in detail (asserted on the embedded server only). */
function mongoIs(code: number): number | undefined {
  return process.env.MONGODB_URI ? expect.any(Number) : code;
}

describe('change history of the embedded server', () => {
  it('survives a restart (journal) and a compaction (snapshot): resume neither misses nor repeats', async () => {
    const dir = tempDir('odtp-changes-');
    let server = await EmbeddedMongo.create({ dbPath: dir });
    let client = await MongoClient.connect(server.getUri());
    let coll = client.db('p').collection('logs');
    const stream = await opened(coll.watch());
    await coll.insertOne({ _id: 1 as never });
    const [one] = await take(stream, 1);
    await stream.close();
    await coll.insertOne({ _id: 2 as never });
    await coll.updateOne({ _id: 2 as never }, { $set: { text: 'x' } });
    await client.close();
    await server.stop();

    // restart from the journal
    server = await EmbeddedMongo.create({ dbPath: dir });
    client = await MongoClient.connect(server.getUri());
    coll = client.db('p').collection('logs');
    await coll.insertOne({ _id: 3 as never });
    let resumed = await opened(coll.watch([], { resumeAfter: one._id }));
    const events = await take(resumed, 3);
    expect(keys(events)).toEqual([
      ['insert', 2],
      ['update', 2],
      ['insert', 3],
    ]);
    expect((events[1] as { updateDescription: unknown }).updateDescription).toEqual({
      updatedFields: { text: 'x' },
      removedFields: [],
      truncatedArrays: [],
    });
    await resumed.close();
    await client.close();
    await server.stop();

    // compaction rewrites the journal as a snapshot: the history goes with it
    const journal = FileJournal.open(dir, new Store());
    journal.compact();
    journal.close();
    server = await EmbeddedMongo.create({ dbPath: dir });
    client = await MongoClient.connect(server.getUri());
    coll = client.db('p').collection('logs');
    resumed = await opened(coll.watch([], { resumeAfter: one._id }));
    expect(keys(await take(resumed, 3))).toEqual([
      ['insert', 2],
      ['update', 2],
      ['insert', 3],
    ]);
    // the clock goes on from the history: a new change comes after every old one
    await coll.insertOne({ _id: 4 as never });
    const [four] = await take(resumed, 1);
    const last = (events[2] as { clusterTime: Timestamp }).clusterTime;
    expect((four as { clusterTime: Timestamp }).clusterTime.greaterThan(last)).toBe(true);
    await resumed.close();
    await client.close();
    await server.stop();
  });

  it('a resume point older than the history held fails with ChangeStreamHistoryLost (286), as on an oplog that rolled over', async () => {
    const server = await EmbeddedMongo.create({ changeLogBytes: 8 * 1024 });
    const client = await MongoClient.connect(server.getUri());
    try {
      const coll = client.db('p').collection('logs');
      const stream = await opened(coll.watch());
      await coll.insertOne({ _id: 0 as never });
      const [first] = await take(stream, 1);
      await stream.close();
      for (let i = 1; i <= 200; i++) await coll.insertOne({ _id: i as never, text: 'x'.repeat(100) });
      const lost = await opened(coll.watch([], { resumeAfter: first._id })).catch((e: unknown) => e);
      expect((lost as MongoServerError).code).toBe(286);
      expect(server.store.changes.heldBytes).toBeLessThanOrEqual(8 * 1024);
    } finally {
      await client.close();
      await server.stop();
    }
  });
});
