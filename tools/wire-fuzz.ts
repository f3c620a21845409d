import * as net from 'node:net';
import { serialize } from 'bson';
import type { Document } from 'bson';

/**
 * A wire-protocol fuzzer for the embedded server: valid messages (OP_MSG with body and document-sequence
 * sections, legacy OP_QUERY), mutated (bytes flipped, int32 fields set to extremes, truncated, extended, sections
 * repeated) or plain random, each sent on its own connection while a bystander connection keeps pinging. The
 * server must answer the bystander throughout; a bad message may close only its own connection.
 */

/** A small seeded PRNG (mulberry32): a run is reproducible from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OP_MSG = 2013;
const OP_QUERY = 2004;

function header(length: number, requestId: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(0, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** An OP_MSG: flags, a body section (kind 0) and document-sequence sections (kind 1). */
export function opMsg(
  body: Document,
  sequences: [string, Document[]][] = [],
  requestId = 1,
  flags = 0,
): Buffer {
  const parts: Buffer[] = [];
  const f = Buffer.alloc(4);
  f.writeUInt32LE(flags, 0);
  parts.push(f, Buffer.from([0]), Buffer.from(serialize(body)));
  for (const [id, docs] of sequences) {
    const payload = Buffer.concat([Buffer.from(`${id}\0`), ...docs.map((d) => Buffer.from(serialize(d)))]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(payload.length + 4, 0);
    parts.push(Buffer.from([1]), size, payload);
  }
  const rest = Buffer.concat(parts);
  return Buffer.concat([header(16 + rest.length, requestId, OP_MSG), rest]);
}

export function opQuery(collection: string, query: Document, requestId = 1): Buffer {
  const rest = Buffer.concat([
    Buffer.alloc(4),
    Buffer.from(`${collection}\0`),
    Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
    Buffer.from(serialize(query)),
  ]);
  return Buffer.concat([header(16 + rest.length, requestId, OP_QUERY), rest]);
}

/** Valid messages the mutations start from (no awaitable hello: it would hold its connection open). */
export function seedMessages(): Buffer[] {
  const db = 'fuzz';
  return [
    opMsg({ ping: 1, $db: 'admin' }),
    opMsg({ hello: 1, $db: 'admin' }),
    opMsg({ insert: 'c', $db: db }, [
      [
        'documents',
        [
          { _id: 1, a: 'x' },
          { _id: 2, a: [1, 2, { b: null }] },
        ],
      ],
    ]),
    opMsg({ insert: 'c', documents: [{ n: 1.5, s: 'text', d: new Date(0) }], ordered: false, $db: db }),
    opMsg({ find: 'c', filter: { a: { $in: ['x', 'y'] } }, sort: { _id: -1 }, limit: 5, $db: db }),
    opMsg({ find: 'c', filter: { a: { $regex: '^([a-z]+)+$', $options: 'i' } }, maxTimeMS: 50, $db: db }),
    opMsg({
      aggregate: 'c',
      pipeline: [{ $match: { _id: { $gt: 0 } } }, { $group: { _id: '$a', n: { $sum: 1 } } }],
      cursor: {},
      $db: db,
    }),
    opMsg({ update: 'c', $db: db }, [
      ['updates', [{ q: { _id: 1 }, u: { $set: { a: 'z' } }, upsert: true }]],
    ]),
    opMsg({ delete: 'c', deletes: [{ q: { _id: 2 }, limit: 1 }], $db: db }),
    opMsg({ count: 'c', query: {}, $db: db }),
    opMsg({ listCollections: 1, nameOnly: true, $db: db }),
    opQuery('admin.$cmd', { isMaster: 1 }),
    opQuery(`${db}.$cmd`, { find: 'c' }),
    // keys that would write through a prototype, in filters, update paths, stages and command names
    ...POLLUTION_KEYS.flatMap((k) => [
      opMsg({ update: 'c', $db: db }, [
        ['updates', [{ q: { [`${k}.polluted`]: 1, _id: 9 }, u: { $set: { [`${k}.x`]: 1 } }, upsert: true }]],
      ]),
      opMsg({ aggregate: 'c', pipeline: [{ $addFields: { [`${k}.polluted`]: 1 } }], cursor: {}, $db: db }),
      opMsg({ [k]: 1, $db: db }),
    ]),
    // expressions without bounds: a doubling string, a huge range, a regex over a long string
    opMsg({
      aggregate: 'c',
      pipeline: [
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
      ],
      cursor: {},
      $db: db,
    }),
    opMsg({
      aggregate: 'c',
      pipeline: [{ $project: { r: { $range: [0, 1e7] } } }],
      cursor: {},
      maxTimeMS: 50,
      $db: db,
    }),
    opMsg({
      aggregate: 'c',
      pipeline: [{ $project: { m: { $regexFindAll: { input: 'ab '.repeat(20_000), regex: 'a' } } } }],
      cursor: {},
      maxTimeMS: 50,
      $db: db,
    }),
  ];
}

/** Field and command names that name members of Object.prototype. */
export const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype', 'constructor.prototype', 'toString'];

/** The own members of the prototypes a polluting write would change (compared before and after a fuzz run). */
export function prototypeState(): string {
  return [Object.prototype, Array.prototype, Function.prototype]
    .map((p) => Object.getOwnPropertyNames(p).sort().join(','))
    .join('|');
}

const EXTREMES = [-1, 0, 1, 4, 5, 15, 16, 17, 0x7fffffff, -0x80000000, 48_000_001];

/** One message to send: a mutation of a seed, or (1 in 10) random bytes with a plausible length. */
export function mutate(seeds: Buffer[], rnd: () => number): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const int = (n: number): number => Math.floor(rnd() * n);
  if (rnd() < 0.1) {
    const junk = Buffer.alloc(16 + int(200));
    for (let i = 0; i < junk.length; i++) junk[i] = int(256);
    if (rnd() < 0.7) junk.writeInt32LE(junk.length, 0);
    return junk;
  }
  let msg = Buffer.from(pick(seeds));
  const rounds = 1 + int(3);
  for (let r = 0; r < rounds; r++) {
    switch (int(6)) {
      case 0: // flip bytes
        for (let i = 0, n = 1 + int(4); i < n; i++) msg[int(msg.length)] ^= 1 << int(8);
        break;
      case 1: // an int32 at a random (aligned to a field or not) offset set to an extreme
        if (msg.length >= 4) msg.writeInt32LE(pick(EXTREMES), int(msg.length - 3));
        break;
      case 2: // truncate, keeping the header's length honest half of the time
        msg = msg.subarray(0, int(msg.length + 1));
        if (msg.length >= 4 && rnd() < 0.5) msg.writeInt32LE(msg.length, 0);
        break;
      case 3: // extend with random bytes
        msg = Buffer.concat([msg, Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)))]);
        if (msg.length >= 4 && rnd() < 0.5) msg.writeInt32LE(msg.length, 0);
        break;
      case 4: // repeat the tail (a second body or sequence section)
        if (msg.length > 21) {
          msg = Buffer.concat([msg, msg.subarray(20)]);
          msg.writeInt32LE(msg.length, 0);
        }
        break;
      default: // the section kind or the flags
        if (msg.length > 20) msg[rnd() < 0.5 ? 20 : 16] = int(256);
    }
  }
  return msg;
}

export type Outcome = 'reply' | 'closed';

/** Send `message` on a new connection, half-close, and report whether any reply came before the close. */
export function sendOnce(port: number, message: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    let got = 0;
    const socket = net.connect(port, '127.0.0.1', () => socket.end(message));
    socket.on('data', (d: Buffer) => (got += d.length));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(got > 0 ? 'reply' : 'closed'));
  });
}

/** A connection that stays open and answers pings: the server's health as another client sees it. */
export class Bystander {
  private socket!: net.Socket;
  private buffered = Buffer.alloc(0);
  private waiting?: { resolve: (ok: boolean) => void };
  closed = false;
  private requestId = 1000;

  static async open(port: number): Promise<Bystander> {
    const b = new Bystander();
    await new Promise<void>((resolve, reject) => {
      b.socket = net.connect(port, '127.0.0.1', resolve);
      b.socket.once('error', reject);
    });
    b.socket.on('data', (d: Buffer) => b.onData(d));
    b.socket.on('close', () => {
      b.closed = true;
      b.waiting?.resolve(false);
    });
    return b;
  }

  private onData(d: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, d]);
    if (this.buffered.length >= 4 && this.buffered.length >= this.buffered.readInt32LE(0)) {
      this.buffered = this.buffered.subarray(this.buffered.readInt32LE(0));
      this.waiting?.resolve(true);
      this.waiting = undefined;
    }
  }

  /** Ping and wait for the reply: false when the connection closed instead. */
  ping(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.waiting = { resolve };
      this.socket.write(opMsg({ ping: 1, $db: 'admin' }, [], this.requestId++));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface FuzzResult {
  iterations: number;
  replies: number;
  closed: number;
  /** Bystander pings that went unanswered (the server stalled or closed the wrong connection): must be 0. */
  bystanderFailures: number;
  peakRssBytes: number;
  seed: number;
  /** The first message after which the bystander failed, hex (to reproduce). */
  firstFailure?: string;
  /** Whether Object.prototype, Array.prototype or Function.prototype changed during the run (must be false). */
  prototypesChanged: boolean;
}

/**
 * Run `iterations` fuzz messages against the server on `port`, `concurrency` connections at a time, pinging the
 * bystander after each batch. Memory is sampled from this process (the embedded server runs in it).
 */
export async function fuzzWire(
  port: number,
  options: { iterations: number; seed?: number; concurrency?: number; onBatch?: (done: number) => void },
): Promise<FuzzResult> {
  const seed = options.seed ?? 1;
  const rnd = prng(seed);
  const seeds = seedMessages();
  const concurrency = options.concurrency ?? 8;
  const bystander = await Bystander.open(port);
  const prototypes = prototypeState();
  const result: FuzzResult = {
    prototypesChanged: false,
    iterations: 0,
    replies: 0,
    closed: 0,
    bystanderFailures: 0,
    peakRssBytes: process.memoryUsage().rss,
    seed,
  };
  try {
    while (result.iterations < options.iterations) {
      const batch = Array.from(
        { length: Math.min(concurrency, options.iterations - result.iterations) },
        () => mutate(seeds, rnd),
      );
      const outcomes = await Promise.all(batch.map((m) => sendOnce(port, m)));
      for (const o of outcomes) result[o === 'reply' ? 'replies' : 'closed']++;
      result.iterations += batch.length;
      if (!(await bystander.ping())) {
        result.bystanderFailures++;
        result.firstFailure ??= batch.map((m) => m.toString('hex')).join(' | ');
        break;
      }
      result.peakRssBytes = Math.max(result.peakRssBytes, process.memoryUsage().rss);
      options.onBatch?.(result.iterations);
    }
  } finally {
    bystander.close();
  }
  result.prototypesChanged = prototypeState() !== prototypes;
  return result;
}
