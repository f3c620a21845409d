import * as net from 'node:net';
import { MongoClient, MongoServerError } from 'mongodb';
import { EmbeddedMongo, MessageReader } from '@odtp/embedded-mongo';
import { Bystander, fuzzWire, opMsg, sendOnce } from '../../tools/wire-fuzz';
import { waitFor } from '../support/processes';

jest.setTimeout(180_000);

const portOf = (server: EmbeddedMongo): number => Number(new URL(server.getUri()).port);

/** `message` with its header's length set to its real length. */
function sized(message: Buffer): Buffer {
  message.writeInt32LE(message.length, 0);
  return message;
}

/** A message with one document-sequence section whose size field is `size`. */
function withSection(size: number, tail: Buffer = Buffer.alloc(0)): Buffer {
  const base = opMsg({ insert: 'c', $db: 'wire' });
  const section = Buffer.alloc(5);
  section[0] = 1;
  section.writeInt32LE(size, 1);
  const msg = Buffer.concat([base, section, Buffer.from('documents\0'), tail]);
  msg.writeInt32LE(msg.length, 0);
  return msg;
}

describe('security: the embedded server under hostile wire input', () => {
  let server: EmbeddedMongo;
  let bystander: Bystander;

  beforeAll(async () => {
    server = await EmbeddedMongo.create();
    bystander = await Bystander.open(portOf(server));
  });
  afterAll(async () => {
    bystander.close();
    await server.stop();
  });

  it.each([
    ['a document-sequence section of size -1 (the 60-byte message that hung the server)', withSection(-1)],
    ['a section shorter than its own header', withSection(3)],
    ['a section running past the end of the message', withSection(10_000)],
    ['a message whose length says 2 GiB', Buffer.from([0xff, 0xff, 0xff, 0x7f, ...Buffer.alloc(12)])],
    ['a message shorter than a header', Buffer.from([8, 0, 0, 0, 1, 2, 3, 4])],
    ['an unknown opCode', Buffer.from([16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x39, 0x05, 0, 0])],
    [
      'an OP_MSG with an unknown section kind',
      sized(Buffer.concat([opMsg({ ping: 1, $db: 'admin' }).subarray(0, 20), Buffer.from([7])])),
    ],
  ])('%s closes its own connection; a ping on another connection answers', async (_what, message) => {
    // no half-close here: the server itself must close the connection
    const outcome = await new Promise<{ closed: boolean; bytes: number }>((resolve) => {
      let bytes = 0;
      const socket = net.connect(portOf(server), '127.0.0.1', () => socket.write(message));
      socket.on('data', (d: Buffer) => (bytes += d.length));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve({ closed: true, bytes }));
    });
    expect(outcome).toEqual({ closed: true, bytes: 0 });
    expect(await bystander.ping()).toBe(true);
  });

  it('assembles a message received in 20,000 chunks with one copy (not one per chunk)', () => {
    const message = opMsg({ insert: 'c', $db: 'wire' }, [
      ['documents', Array.from({ length: 2000 }, (_, i) => ({ _id: i, pad: 'x'.repeat(1000) }))],
    ]);
    const concat = jest.spyOn(Buffer, 'concat');
    const received: Buffer[] = [];
    try {
      const reader = new MessageReader();
      const chunk = Math.ceil(message.length / 20_000);
      for (let i = 0; i < message.length; i += chunk)
        expect(reader.push(message.subarray(i, i + chunk), (m) => received.push(m))).toBe(true);
      expect(concat.mock.calls.length).toBe(1);
    } finally {
      concat.mockRestore();
    }
    expect(received).toHaveLength(1);
    expect(received[0].equals(message)).toBe(true);
  });

  it('a short fuzz round (random and mutated messages, through sockets): the bystander is always answered', async () => {
    const before = await openConnections(server);
    const result = await fuzzWire(portOf(server), { iterations: 1500, seed: 1130 });
    expect(result).toMatchObject({ iterations: 1500, bystanderFailures: 0, prototypesChanged: false });
    expect(result.replies + result.closed).toBe(1500);
    expect(result.replies).toBeGreaterThan(0);
    expect(result.closed).toBeGreaterThan(0);
    // every fuzz connection is gone: the server holds as many connections as before the round
    expect(await waitFor(async () => ((await openConnections(server)) === before ? true : undefined))).toBe(
      true,
    );
  });

  it('a valid message after a fuzz round still gets a correct answer', async () => {
    expect(await sendOnce(portOf(server), opMsg({ ping: 1, $db: 'admin' }))).toBe('reply');
    const client = await MongoClient.connect(server.getUri());
    try {
      await client
        .db('wire')
        .collection('ok')
        .insertOne({ _id: 'after-fuzz' } as never);
      expect(await client.db('wire').collection('ok').findOne({})).toEqual({ _id: 'after-fuzz' });
    } finally {
      await client.close();
    }
  });
});

/** Connections the server holds, as serverStatus reports them. */
async function openConnections(server: EmbeddedMongo): Promise<number> {
  const client = await MongoClient.connect(server.getUri(), { maxPoolSize: 1, directConnection: true });
  try {
    const status = await client.db('admin').command({ serverStatus: 1 });
    return (status.connections as { current: number }).current;
  } finally {
    await client.close();
  }
}

describe('security: connection limit, idle timeout, time limits, TTL and regular expressions', () => {
  it('refuses connections beyond maxConnections and closes idle ones after idleTimeoutMs', async () => {
    const server = await EmbeddedMongo.create({ maxConnections: 3, idleTimeoutMs: 300 });
    try {
      const port = portOf(server);
      const a = await Bystander.open(port);
      const b = await Bystander.open(port);
      const c = await Bystander.open(port);
      expect(await Promise.all([a.ping(), b.ping(), c.ping()])).toEqual([true, true, true]);
      const d = await Bystander.open(port);
      expect(await d.ping()).toBe(false);
      // idle: a, b and c are closed by the server once quiet for 300 ms
      expect(await waitFor(async () => (a.closed && b.closed && c.closed ? true : undefined))).toBe(true);
      const e = await Bystander.open(port);
      expect(await e.ping()).toBe(true);
      e.close();
    } finally {
      await server.stop();
    }
  });

  describe('on one server', () => {
    let server: EmbeddedMongo;
    let client: MongoClient;

    beforeAll(async () => {
      server = await EmbeddedMongo.create({ ttlMonitorIntervalMs: 50 });
      client = await MongoClient.connect(server.getUri());
      const big = client.db('limits').collection('big');
      const batch = Array.from({ length: 10_000 }, (_, i) => ({ i, s: `${'a'.repeat(60)}${i}` }));
      for (let k = 0; k < 5; k++) await big.insertMany(batch.map((d) => ({ ...d, k })));
    });
    afterAll(async () => {
      await client.close();
      await server.stop();
    });

    it('maxTimeMS stops a long query with error 50 MaxTimeMSExpired, as mongod', async () => {
      const big = client.db('limits').collection('big');
      const slow = { s: { $regex: 'b$' }, i: { $gte: 0 } };
      for (const run of [
        () => big.find(slow, { maxTimeMS: 1 }).toArray(),
        () => big.countDocuments(slow, { maxTimeMS: 1 }),
        () => big.aggregate([{ $match: slow }, { $group: { _id: '$k' } }], { maxTimeMS: 1 }).toArray(),
      ]) {
        const error = await run().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(MongoServerError);
        expect([(error as MongoServerError).code, (error as MongoServerError).codeName]).toEqual([
          50,
          'MaxTimeMSExpired',
        ]);
      }
      // without a limit (or with 0, no limit) the same query completes
      expect(await big.countDocuments(slow, { maxTimeMS: 0 })).toBe(0);
    });

    it('a catastrophic-backtracking pattern on long strings completes (linear-time engine), with the right answer', async () => {
      const big = client.db('limits').collection('big');
      expect(await big.countDocuments({ s: { $regex: '^([a-z.@]+)+!$' } })).toBe(0);
      expect(await big.countDocuments({ s: { $regex: '^(a+)+1$' }, k: 0 })).toBe(1);
      const invalid = await big.findOne({ s: { $regex: '(a)\\1' } }).catch((e: MongoServerError) => e);
      expect((invalid as MongoServerError).code).toBe(2);
      expect((invalid as MongoServerError).message).toMatch(
        /^Regular expression is invalid or not supported/,
      );
    });

    it('the TTL monitor removes expired documents', async () => {
      const coll = client.db('limits').collection('ttl');
      await coll.createIndex({ at: 1 }, { expireAfterSeconds: 60 });
      await coll.insertMany([
        { _id: 'old', at: new Date(Date.now() - 3_600_000) } as never,
        { _id: 'new', at: new Date() } as never,
        { _id: 'no-date', at: 'not a date' } as never,
      ]);
      const left = await waitFor(async () => {
        const ids = (await coll.find({}).sort({ _id: 1 }).toArray()).map((d) => d._id);
        return ids.includes('old' as never) ? undefined : ids;
      });
      expect(left).toEqual(['new', 'no-date']);
    });
  });
});
