import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { deserialize } from 'bson';
import { MongoClient, MongoServerError } from 'mongodb';
import type { Document } from 'mongodb';
import { EmbeddedMongo } from '@odtp/embedded-mongo';
import { Bystander, opMsg, opQuery } from '../../tools/wire-fuzz';
import { tempDir } from '../support/temp-dirs';
import { waitFor } from '../support/processes';

jest.setTimeout(180_000);

/* Round 2 of attacks on the embedded server's wire port, kept as tests (docs/embedded-mongo.md, "Limits"). */

const portOf = (server: EmbeddedMongo): number => Number(new URL(server.getUri()).port);

/** Send `message`, collect the first reply (its BSON body) or learn that the server closed the connection. */
function exchange(port: number, message: Buffer): Promise<{ closed: boolean; reply?: Document }> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const socket = net.connect(port, '127.0.0.1', () => socket.write(message));
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4 && got.length >= got.readInt32LE(0)) {
        const opCode = got.readInt32LE(12);
        // OP_REPLY: flags, cursorId, startingFrom, numberReturned, then the document; OP_MSG: flags, kind 0, document
        const body = opCode === 1 ? got.subarray(36) : got.subarray(21);
        socket.destroy();
        resolve({ closed: false, reply: deserialize(body) });
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ closed: true }));
  });
}

describe('security round 2: the embedded server wire port', () => {
  let server: EmbeddedMongo;
  let client: MongoClient;
  beforeAll(async () => {
    server = await EmbeddedMongo.create({ maxBufferedBytes: 8 * 1024 * 1024 });
    client = await MongoClient.connect(server.getUri());
    await client
      .db('w')
      .collection('c')
      .insertMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });
  afterAll(async () => {
    await client.close();
    await server.stop();
  });

  it('connections holding incomplete messages cannot hold more than maxBufferedBytes; a bystander is answered; all is given back', async () => {
    const bystander = await Bystander.open(portOf(server));
    const sockets: net.Socket[] = [];
    const closed: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const socket = net.connect(portOf(server), '127.0.0.1');
      socket.on('error', () => undefined);
      closed.push(false);
      socket.on('close', () => (closed[i] = true));
      await new Promise((r) => socket.once('connect', r));
      // a header that declares 40 MB, then 3 MB of it, never the rest
      const header = Buffer.alloc(16);
      header.writeInt32LE(40_000_000, 0);
      header.writeInt32LE(2013, 12);
      await new Promise((r) => socket.write(Buffer.concat([header, Buffer.alloc(3 * 1024 * 1024)]), r));
      sockets.push(socket);
    }
    expect(await waitFor(async () => (closed.filter(Boolean).length >= 2 ? true : undefined))).toBe(true);
    expect(server.buffered.used).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(await bystander.ping()).toBe(true);
    for (const s of sockets) s.destroy();
    expect(await waitFor(async () => (server.buffered.used === 0 ? true : undefined))).toBe(true);
    bystander.close();
  });

  it('a cursor belongs to its session: getMore from another session is 50738, killCursors from it kills nothing', async () => {
    const db = client.db('w');
    const s1 = client.startSession();
    const s2 = client.startSession();
    try {
      const first = await db.command({ find: 'c', batchSize: 1 }, { session: s1 });
      const id = first.cursor.id;
      const refused = await db
        .command({ getMore: id, collection: 'c', batchSize: 1 }, { session: s2 })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(MongoServerError);
      expect((refused as MongoServerError).code).toBe(50738);
      const kill = await db.command({ killCursors: 'c', cursors: [id] }, { session: s2 });
      expect([kill.cursorsKilled, kill.cursorsNotFound]).toEqual([[], [id]]);
      const next = await db.command({ getMore: id, collection: 'c', batchSize: 10 }, { session: s1 });
      expect(next.cursor.nextBatch.map((d: Document) => d.n)).toEqual([2, 3]);
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
  });

  it('legacy OP_QUERY is taken for the handshake only: a find that way is refused with 352', async () => {
    const hello = await exchange(portOf(server), opQuery('admin.$cmd', { isMaster: 1 }));
    expect(hello.reply?.ok).toBe(1);
    const find = await exchange(portOf(server), opQuery('w.$cmd', { find: 'c' }));
    expect([find.reply?.ok, find.reply?.code, find.reply?.codeName]).toEqual([
      0,
      352,
      'UnsupportedOpQueryCommand',
    ]);
  });

  it('a field name that is not valid UTF-8 closes the connection and stores nothing', async () => {
    const msg = opMsg({ insert: 'utf8', $db: 'w' }, [['documents', [{ ab: 1 }]]]);
    msg[msg.lastIndexOf(Buffer.from('ab\0'))] = 0xff;
    expect((await exchange(portOf(server), msg)).closed).toBe(true);
    expect(await client.db('w').collection('utf8').countDocuments()).toBe(0);
  });

  it('the data folder is created 0700 and its files 0600, and an existing folder is tightened', async () => {
    const dir = path.join(tempDir('odtp-modes-'), 'db');
    fs.mkdirSync(dir, { mode: 0o755 });
    const persisted = await EmbeddedMongo.create({ dbPath: dir });
    const c = await MongoClient.connect(persisted.getUri());
    await c
      .db('m')
      .collection('c')
      .insertOne({ a: 1 }, { writeConcern: { j: true } });
    await c.close();
    await persisted.stop();
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const files = fs.readdirSync(dir);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect([f, fs.statSync(path.join(dir, f)).mode & 0o777]).toEqual([f, 0o600]);
  });
});
