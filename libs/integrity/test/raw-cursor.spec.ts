import { ObjectId, serialize } from 'bson';
import type { Document } from 'bson';
import { MongoClient, MongoServerError } from 'mongodb';
import type { CommandStartedEvent } from 'mongodb';
import { runAudit } from '@odtp/integrity';
import { parseCursor, primaryReads, rawFind, rawFindAll } from '../src/raw-cursor';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';
import { defectsFixture } from '../../../test/fixtures/defects';

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

const docs = Array.from({ length: 50 }, (_, i) => ({
  _id: new ObjectId(),
  stepRef: i % 5 ? new ObjectId() : null,
  n: i,
}));

describe('rawFind', () => {
  it('reads every document of a find over several replies, decoded as the driver decodes them', async () => {
    const db = mongo.db();
    await db.collection('logs').insertMany(docs.map((d) => ({ ...d })));
    const batches: Document[][] = [];
    for await (const b of rawFind(db, 'logs', {
      filter: { n: { $gte: 3 } },
      projection: { stepRef: 1 },
      batchSize: 7,
    }))
      batches.push([...b]);
    expect(batches.map((b) => b.length)).toEqual([7, 7, 7, 7, 7, 7, 5]);
    const expected = await db
      .collection('logs')
      .find({ n: { $gte: 3 } }, { projection: { stepRef: 1 } })
      .toArray();
    expect(batches.flat()).toEqual(expected);
    expect(expected).toHaveLength(47);
    expect(
      await rawFindAll(db, 'logs', { filter: { n: 4 }, projection: { _id: 0, n: 1 }, batchSize: 1 }),
    ).toEqual([{ n: 4 }]);
  });

  it('sizes each getMore after the bytes of the last reply when asked for a number of bytes per reply', async () => {
    const db = mongo.db();
    // 100 bytes each (4 + _id 17 + pad 78 + 1); in a batch array 103 bytes each up to index 9, plus 5
    await db
      .collection('outputs')
      .insertMany(Array.from({ length: 50 }, () => ({ _id: new ObjectId(), pad: 'x'.repeat(68) })));
    const sizes = async (maxBatchSize: number): Promise<number[]> => {
      const out: number[] = [];
      for await (const b of rawFind(db, 'outputs', {
        filter: {},
        projection: {},
        batchSize: 3,
        replyBytes: 1000,
        maxBatchSize,
      }))
        out.push([...b].length === b.count ? b.count : -1);
      return out;
    };
    // 3 documents of 314 bytes: 9 next (1000 / 104.7); then 9 of 932 bytes: 9 again
    expect(await sizes(50)).toEqual([3, 9, 9, 9, 9, 9, 2]);
    expect(await sizes(5)).toEqual([3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 2]);
  });

  it('kills the cursor of a reader that stops early, and the server no longer knows it', async () => {
    const client = await MongoClient.connect(mongo.uri, { monitorCommands: true });
    const started: CommandStartedEvent[] = [];
    client.on('commandStarted', (e) => started.push(e));
    try {
      const db = client.db(mongo.db().databaseName);
      await db.collection('logs').insertMany(docs.map((d) => ({ ...d })));
      let read = 0;
      for await (const b of rawFind(db, 'logs', { filter: {}, projection: { _id: 1 }, batchSize: 10 })) {
        read += [...b].length;
        if (read >= 20) break;
      }
      expect(read).toBe(20);
      const find = started.find((e) => e.commandName === 'find')!;
      const gets = started.filter((e) => e.commandName === 'getMore');
      const kill = started.find((e) => e.commandName === 'killCursors');
      // a getMore was in flight for the third batch when the reader stopped; then the cursor was killed
      expect(gets).toHaveLength(2);
      expect(kill?.command.killCursors).toBe('logs');
      const id = (kill!.command.cursors as unknown[])[0];
      expect(String(id)).toBe(String(gets[0].command.getMore));
      // every command of the cursor ran in one session
      const lsids = [find, ...gets, kill!].map((e) => JSON.stringify(e.command.lsid));
      expect(new Set(lsids).size).toBe(1);
      const again = db.command({ getMore: id, collection: 'logs' });
      await expect(again).rejects.toBeInstanceOf(MongoServerError);
      await expect(again).rejects.toMatchObject({ code: 43 });
    } finally {
      await client.close();
    }
  });

  it('retries its find once after a retryable error (as the driver retries reads), not after another', async () => {
    const db = mongo.db();
    await db.collection('logs').insertMany(docs.map((d) => ({ ...d })));
    const failFind = (data: Document) =>
      mongo.client.db('admin').command({
        configureFailPoint: 'failCommand',
        mode: { times: 1 },
        data: { failCommands: ['find'], ...data },
      });
    const options = { filter: {}, projection: { _id: 1 }, batchSize: 20 };
    try {
      await failFind({ closeConnection: true });
      expect(await rawFindAll(db, 'logs', options)).toHaveLength(50);
      await failFind({ errorCode: 91 });
      expect(await rawFindAll(db, 'logs', options)).toHaveLength(50);
      await failFind({ errorCode: 8000 });
      await expect(rawFindAll(db, 'logs', options)).rejects.toMatchObject({ code: 8000 });
    } finally {
      await mongo.client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
    }
  });

  it("rejects with the server's error for a bad filter", async () => {
    const db = mongo.db();
    await db.collection('logs').insertOne({ n: 1 });
    const read = rawFindAll(db, 'logs', { filter: { n: { $bogus: 1 } }, projection: {}, batchSize: 5 });
    await expect(read).rejects.toBeInstanceOf(MongoServerError);
    await expect(read).rejects.toMatchObject({ code: 2 });
  });
});

describe('parseCursor', () => {
  const reply = (cursor: Document): Uint8Array => serialize(cursor);

  it('reads the id, the namespace and the batch, skipping the fields it does not need', () => {
    const first = reply({
      id: BigInt(42),
      ns: 'db.coll.with.dots',
      atClusterTime: { t: 1 },
      partialResultsReturned: false,
      firstBatch: [{ _id: docs[0]._id }, { _id: docs[1]._id, stepRef: null }],
    });
    const c = parseCursor(first);
    expect(c.id).toBe(42n);
    expect(c.ns).toBe('db.coll.with.dots');
    expect([...c.batch]).toEqual([{ _id: docs[0]._id }, { _id: docs[1]._id, stepRef: null }]);
  });

  it('refuses a truncated reply, a reply without a batch, and a batch of values that are not documents; skips other fields', () => {
    const ok = reply({ id: BigInt(0), nextBatch: [{ a: 1 }] });
    expect(() => parseCursor(ok.subarray(0, ok.length - 3))).toThrow(
      'a cursor reply is malformed: Parsed documentSize',
    );
    expect(() => parseCursor(reply({ id: BigInt(0) }))).toThrow('a cursor reply has no id or no batch');
    expect(() => [...parseCursor(reply({ id: BigInt(0), nextBatch: [1] })).batch]).toThrow(
      'a cursor batch holds a value of BSON type 16, not a document',
    );
    // hostile bytes inside the batch: an element name that runs on into its document
    const named = reply({ id: BigInt(0), nextBatch: [{ a: 1 }] });
    const at = Buffer.from(named).indexOf(Buffer.from('nextBatch\u0000')) + 10;
    const cut = Buffer.from(named);
    // the batch array's first element name "0" (at + 5) and its terminator (at + 6) become non-zero bytes
    cut[at + 6] = 0x41;
    const hostile = parseCursor(cut).batch;
    expect(() => [...hostile]).toThrow('a cursor batch holds a truncated document');
    const c = parseCursor(reply({ id: BigInt(7), nextBatch: [], re: /x/, n: 1.5 }));
    expect([c.id, [...c.batch]]).toEqual([7n, []]);
  });
});

describe('audits that read from secondaries', () => {
  it('go through the driver cursor (which pins its server) and find what the raw reads find', async () => {
    const db = mongo.db();
    for (const [c, list] of Object.entries(defectsFixture())) await db.collection(c).insertMany(list);
    expect(primaryReads(db, undefined)).toBe(true);
    expect(primaryReads(db, 'secondaryPreferred')).toBe(false);
    const shape = (r: Awaited<ReturnType<typeof runAudit>>) =>
      r.findings.map((f) => [f.check, f.collection, f.path, f.violations, f.samples.length]);
    const raw = await runAudit(db);
    const driver = await runAudit(db, { readPreference: 'secondaryPreferred' });
    expect(shape(driver)).toEqual(shape(raw));
    expect(raw.summary).toEqual(driver.summary);
    expect(raw.summary.errors).toBeGreaterThan(0);
  });
});
