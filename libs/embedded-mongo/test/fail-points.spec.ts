import type { MongoServerError } from 'mongodb';
import { MongoClient, MongoNetworkError, MongoWriteConcernError } from 'mongodb';
import * as net from 'node:net';
import { deserialize } from 'bson';
import type { Document } from 'bson';
import { EmbeddedMongo } from '@odtp/embedded-mongo';
import { opMsg } from '../../../tools/wire-fuzz';

/** A connection speaking OP_MSG directly: one command at a time. */
class RawConnection {
  private buffered = Buffer.alloc(0);
  private waiting?: (reply: Document) => void;
  private requestId = 1;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      if (this.buffered.length < 4 || this.buffered.length < this.buffered.readInt32LE(0)) return;
      const length = this.buffered.readInt32LE(0);
      const reply = deserialize(this.buffered.subarray(21, length));
      this.buffered = this.buffered.subarray(length);
      this.waiting?.(reply);
    });
  }

  static async open(port: number, appName: string): Promise<RawConnection> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const c = new RawConnection(socket);
    await c.command({
      hello: 1,
      client: { application: { name: appName }, driver: { name: 'raw', version: '0' } },
      $db: 'admin',
    });
    return c;
  }

  command(cmd: Document): Promise<Document> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(opMsg(cmd, [], this.requestId++));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The failCommand fail point, through the official driver, as mongod's test commands behave. */
describe('configureFailPoint (failCommand) of the embedded server', () => {
  let server: EmbeddedMongo;
  let client: MongoClient;
  const uri = () => server.getUri();
  const admin = () => client.db('admin');
  const coll = () => client.db('fp').collection<{ _id: number }>('c');
  const failPoint = (mode: unknown, data: object = {}) =>
    admin().command({ configureFailPoint: 'failCommand', mode, data });
  const error = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e as Error,
    );

  beforeAll(async () => {
    server = await EmbeddedMongo.create({ enableTestCommands: true });
    // no automatic retries: each command reaches the server once
    client = await MongoClient.connect(uri(), { retryReads: false, retryWrites: false });
    await coll().insertMany([{ _id: 1 }, { _id: 2 }]);
  });
  afterEach(async () => {
    await failPoint('off');
  });
  afterAll(async () => {
    await client.close();
    await server.stop();
  });

  it('is CommandNotFound unless the server was started with test commands, as on a production mongod', async () => {
    const plain = await EmbeddedMongo.create();
    const c = await MongoClient.connect(plain.getUri());
    try {
      const e = await error(c.db('admin').command({ configureFailPoint: 'failCommand', mode: 'alwaysOn' }));
      expect([(e as MongoServerError).code, (e as MongoServerError).codeName]).toEqual([
        59,
        'CommandNotFound',
      ]);
    } finally {
      await c.close();
      await plain.stop();
    }
  });

  it('{times: 2} fails the named command twice with errorCode and errorLabels, then lets it through; the reply counts entries', async () => {
    expect(
      await failPoint(
        { times: 2 },
        { failCommands: ['find'], errorCode: 91, errorLabels: ['RetryableWriteError'] },
      ),
    ).toEqual({ count: 0, ok: 1 });
    for (let i = 0; i < 2; i++) {
      const e = (await error(coll().find({}).toArray())) as MongoServerError;
      expect([e.code, e.codeName, e.message]).toEqual([
        91,
        'ShutdownInProgress',
        "Failing command via 'failCommand' failpoint",
      ]);
      expect(e.hasErrorLabel('RetryableWriteError')).toBe(true);
    }
    expect(await coll().countDocuments()).toBe(2); // count is not a listed command
    expect(await coll().find({}).toArray()).toHaveLength(2);
    expect(await failPoint('off')).toEqual({ count: 2, ok: 1 });
  });

  it('{skip: 1} lets the first one through and fails the others; alwaysOn fails every one', async () => {
    await failPoint({ skip: 1 }, { failCommands: ['insert'], errorCode: 11600 });
    await coll().insertOne({ _id: 3 });
    expect(((await error(coll().insertOne({ _id: 4 }))) as MongoServerError).code).toBe(11600);
    expect(((await error(coll().insertOne({ _id: 4 }))) as MongoServerError).code).toBe(11600);
    await failPoint('alwaysOn', { failCommands: ['delete'], errorCode: 2 });
    for (let i = 0; i < 3; i++)
      expect(((await error(coll().deleteOne({ _id: 3 }))) as MongoServerError).code).toBe(2);
    await failPoint('off');
    expect((await coll().deleteOne({ _id: 3 })).deletedCount).toBe(1);
  });

  it('closeConnection drops the connection without a reply (a network error), and only that command', async () => {
    await failPoint({ times: 1 }, { failCommands: ['insert'], closeConnection: true });
    const e = await error(coll().insertOne({ _id: 5 }));
    expect(e).toBeInstanceOf(MongoNetworkError);
    expect(await coll().countDocuments({ _id: 5 })).toBe(0);
    await coll().insertOne({ _id: 5 });
    expect(await coll().countDocuments({ _id: 5 })).toBe(1);
  });

  it('blockConnection holds the command at least blockTimeMS, then runs it (or fails it with errorCode)', async () => {
    await failPoint({ times: 1 }, { failCommands: ['ping'], blockConnection: true, blockTimeMS: 300 });
    const started = Date.now();
    expect(await admin().command({ ping: 1 })).toEqual({ ok: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await failPoint(
      { times: 1 },
      { failCommands: ['ping'], blockConnection: true, blockTimeMS: 50, errorCode: 6 },
    );
    expect(((await error(admin().command({ ping: 1 }))) as MongoServerError).code).toBe(6);
  });

  it('appName limits it to the connections whose client metadata names that application', async () => {
    // Raw connections with their own hello: under jest the driver's client metadata arrives empty (a Map from
    // another realm), so the handshake is written here as drivers write it.
    const faulty = await RawConnection.open(server.port, 'faulty');
    const other = await RawConnection.open(server.port, 'other');
    try {
      await failPoint('alwaysOn', { failCommands: ['find'], errorCode: 10107, appName: 'faulty' });
      const find = { find: 'c', filter: { _id: 1 }, $db: 'fp' };
      expect(await faulty.command(find)).toMatchObject({
        ok: 0,
        code: 10107,
        codeName: 'NotWritablePrimary',
      });
      expect(await other.command(find)).toMatchObject({ ok: 1, cursor: { firstBatch: [{ _id: 1 }] } });
    } finally {
      faulty.close();
      other.close();
    }
  });

  it('writeConcernError runs the write and adds the error to its reply', async () => {
    await failPoint(
      { times: 1 },
      {
        failCommands: ['insert'],
        writeConcernError: { code: 64, errmsg: 'waiting for replication timed out' },
      },
    );
    const e = await error(coll().insertOne({ _id: 6 }));
    expect(e).toBeInstanceOf(MongoWriteConcernError);
    expect(await coll().countDocuments({ _id: 6 })).toBe(1);
  });

  it('refuses unknown fail points and malformed modes and data', async () => {
    const unknown = (await error(
      admin().command({ configureFailPoint: 'nope', mode: 'alwaysOn' }),
    )) as MongoServerError;
    expect([unknown.code, unknown.message]).toEqual([
      2,
      'unknown fail point "nope" (the embedded server has failCommand)',
    ]);
    expect(((await error(failPoint('sometimes', { failCommands: ['find'] }))) as MongoServerError).code).toBe(
      2,
    );
    expect(((await error(failPoint('alwaysOn', { failCommands: 'find' }))) as MongoServerError).message).toBe(
      'data.failCommands must be an array of command names',
    );
  });
});
