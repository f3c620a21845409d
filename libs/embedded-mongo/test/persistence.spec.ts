import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MongoClient } from 'mongodb';
import { CorruptDataError, DbPathLockedError, EmbeddedMongo } from '@odtp/embedded-mongo';
import { FileJournal } from '../src/persistence';
import { Store } from '../src/store';
import { tempDir } from '../../../test/support/temp-dirs';

function dbDir(): string {
  return tempDir('odtp-embedded-');
}

async function withClient<T>(server: EmbeddedMongo, fn: (c: MongoClient) => Promise<T>): Promise<T> {
  const client = await MongoClient.connect(server.getUri());
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

describe('dbPath persistence', () => {
  it('keeps documents, indexes and validators across a restart', async () => {
    const dir = dbDir();
    let server = await EmbeddedMongo.create({ dbPath: dir });
    await withClient(server, async (c) => {
      const db = c.db('p');
      await db.createCollection('v', { validator: { $jsonSchema: { required: ['a'] } } });
      await db.collection('v').createIndex({ a: 1 }, { unique: true });
      await db.collection('v').insertMany([
        { _id: 1, a: 1 },
        { _id: 2, a: 2 },
      ] as never[]);
      await db.collection('v').updateOne({ _id: 1 as never }, { $set: { b: true } });
      await db.collection('v').deleteOne({ _id: 2 as never });
    });
    await server.stop();
    server = await EmbeddedMongo.create({ dbPath: dir });
    await withClient(server, async (c) => {
      const db = c.db('p');
      expect(await db.collection('v').find({}).toArray()).toEqual([{ _id: 1, a: 1, b: true }]);
      expect((await db.collection('v').indexes()).map((i) => i.name)).toEqual(['_id_', 'a_1']);
      await expect(db.collection('v').insertOne({ b: 1 })).rejects.toMatchObject({ code: 121 });
      await expect(db.collection('v').insertOne({ a: 1 })).rejects.toMatchObject({ code: 11000 });
    });
    await server.stop();
  });

  it('keeps views across a restart, and after a compaction rewrote the journal as a snapshot', async () => {
    const dir = dbDir();
    let server = await EmbeddedMongo.create({ dbPath: dir });
    await withClient(server, async (c) => {
      const db = c.db('p');
      await db.collection('steps').insertMany([
        { _id: 1, ok: true },
        { _id: 2, ok: false },
      ] as never[]);
      await db.createCollection('good', { viewOn: 'steps', pipeline: [{ $match: { ok: true } }] });
      await db.createCollection('gone', { viewOn: 'steps', pipeline: [] });
      await db.collection('gone').drop();
    });
    await server.stop();
    const reopened = async (): Promise<void> => {
      server = await EmbeddedMongo.create({ dbPath: dir });
      await withClient(server, async (c) => {
        const db = c.db('p');
        const views = await db.listCollections({ type: 'view' }).toArray();
        expect(views.map((v) => [v.name, (v as { options?: unknown }).options])).toEqual([
          ['good', { viewOn: 'steps', pipeline: [{ $match: { ok: true } }] }],
        ]);
        expect(await db.collection('good').find({}).toArray()).toEqual([{ _id: 1, ok: true }]);
      });
      await server.stop();
    };
    await reopened();
    // compaction writes the store as a snapshot: the view must be in it
    const journal = FileJournal.open(dir, new Store());
    journal.compact();
    journal.close();
    expect(fs.statSync(path.join(dir, 'journal.bson')).size).toBe(0);
    expect(fs.statSync(path.join(dir, 'snapshot.bson')).size).toBeGreaterThan(0);
    await reopened();
  });

  it('journals a transaction at commit and never an aborted one', async () => {
    const dir = dbDir();
    let server = await EmbeddedMongo.create({ dbPath: dir });
    await withClient(server, async (c) => {
      const coll = c.db('p').collection('t');
      await coll.insertOne({ _id: 'base' } as never);
      const committed = c.startSession();
      await committed.withTransaction(async () => {
        await coll.insertOne({ _id: 'kept' } as never, { session: committed });
        await coll.deleteOne({ _id: 'base' } as never, { session: committed });
      });
      await committed.endSession();
      const aborted = c.startSession();
      aborted.startTransaction();
      await coll.insertOne({ _id: 'dropped' } as never, { session: aborted });
      await aborted.abortTransaction();
      await aborted.endSession();
    });
    await server.stop();
    server = await EmbeddedMongo.create({ dbPath: dir });
    await withClient(server, async (c) =>
      expect(await c.db('p').collection('t').find({}).toArray()).toEqual([{ _id: 'kept' }]),
    );
    await server.stop();
  });

  it('a second server on the same dbPath is refused', async () => {
    const dir = dbDir();
    const server = await EmbeddedMongo.create({ dbPath: dir });
    await expect(EmbeddedMongo.create({ dbPath: dir })).rejects.toBeInstanceOf(DbPathLockedError);
    await server.stop();
    const again = await EmbeddedMongo.create({ dbPath: dir });
    await again.stop();
  });

  it('drops a torn last record and loads everything before it', async () => {
    const dir = dbDir();
    const server = await EmbeddedMongo.create({ dbPath: dir });
    await withClient(server, (c) =>
      c
        .db('p')
        .collection('t')
        .insertMany([{ _id: 1 }, { _id: 2 }] as never[]),
    );
    await server.stop();
    const journal = path.join(dir, 'journal.bson');
    const size = fs.statSync(journal).size;
    fs.appendFileSync(journal, Buffer.from([0x40, 0, 0, 0, 1, 2, 3, 4, 9, 9]));
    const restarted = await EmbeddedMongo.create({ dbPath: dir });
    await withClient(restarted, async (c) =>
      expect(await c.db('p').collection('t').countDocuments()).toBe(2),
    );
    await restarted.stop();
    expect(fs.statSync(journal).size).toBe(size);
  });

  it('refuses to start on a corrupt record in the middle, naming the file and offset', async () => {
    const dir = dbDir();
    const server = await EmbeddedMongo.create({ dbPath: dir });
    await withClient(server, async (c) => {
      await c
        .db('p')
        .collection('t')
        .insertOne({ _id: 1 } as never);
      await c
        .db('p')
        .collection('t')
        .insertOne({ _id: 2 } as never);
    });
    await server.stop();
    const journal = path.join(dir, 'journal.bson');
    const buf = fs.readFileSync(journal);
    buf[12] ^= 0xff;
    fs.writeFileSync(journal, buf);
    const err = await EmbeddedMongo.create({ dbPath: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptDataError);
    expect((err as CorruptDataError).file).toBe(journal);
    expect((err as CorruptDataError).offset).toBe(0);
    expect((err as Error).message).toContain(`corrupt data file ${journal} at offset 0`);
  });

  it('SIGKILL after 300 acknowledged writes: the restarted server holds exactly 300', async () => {
    const dir = dbDir();
    const child = fork(path.join(__dirname, 'fixtures/crash-writer.ts'), [dir, '300'], {
      execArgv: ['-r', require.resolve('@swc-node/register')],
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    const acked = await new Promise<number>((resolve, reject) => {
      child.on('message', (m: { acked?: number }) => {
        if (typeof m.acked === 'number') {
          child.kill('SIGKILL');
          resolve(m.acked);
        }
      });
      child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    await new Promise((r) => child.once('exit', r));
    const server = await EmbeddedMongo.create({ dbPath: dir });
    const n = await withClient(server, (c) => c.db('crash').collection('w').countDocuments());
    await server.stop();
    expect(acked).toBe(300);
    expect(n).toBe(300);
  });
});
