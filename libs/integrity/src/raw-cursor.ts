import { Long, onDemand } from 'bson';
import type { Document, OnDemand } from 'bson';
import { MongoNetworkError, MongoServerError, ReadPreference } from 'mongodb';
import type { Db, ReadPreferenceLike } from 'mongodb';
import { decodeLean } from './lean-decode';

/*
 * A find cursor read as the bytes of its replies. The driver's cursor, even with `raw`, parses every reply into an
 * element table and a buffer per document, held while the batch is read (and the next one is fetched): in a scan
 * of millions of documents those survive into the old generation, whose collector then sizes the heap after the
 * rate of the scan, and the process grows with the database. Here a reply stays one buffer (outside the JS heap)
 * and its documents are decoded one at a time as they are read (`decodeLean`). find, getMore and killCursors run as
 * plain commands in one explicit session (a getMore must come from the session of its find).
 */

/** One reply's documents, decoded as they are iterated. */
export class RawBatch implements Iterable<Document> {
  constructor(
    private readonly bytes: Uint8Array,
    /** Where the batch array starts in `bytes`, and where it ends. */
    private readonly start: number,
    private readonly end: number,
  ) {}

  /** The bytes of the batch's documents. */
  get byteLength(): number {
    return this.end - this.start;
  }

  /** How many documents the batch holds (their headers walked, nothing decoded). */
  get count(): number {
    const b = this.bytes;
    let n = 0;
    for (let i = this.start + 4; i < this.end - 1; n++) {
      i++;
      while (i < this.end && b[i] !== 0) i++;
      i++;
      i += Math.max(5, b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24));
    }
    return n;
  }

  *[Symbol.iterator](): Iterator<Document> {
    const b = this.bytes;
    // each element: type 0x03, its index as a cstring, the document (its int32 size first)
    let i = this.start + 4;
    while (i < this.end - 1) {
      if (b[i] !== 0x03) throw new Error(`a cursor batch holds a value of BSON type ${b[i]}, not a document`);
      i++;
      // a name that runs past the batch (hostile or corrupt bytes) ends the read, not the process
      while (i < this.end && b[i] !== 0) i++;
      i++;
      const size = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
      if (i + 4 > this.end || size < 5 || i + size > this.end)
        throw new Error('a cursor batch holds a truncated document');
      yield decodeLean(b, i);
      i += size;
    }
  }
}

type BSONElement = OnDemand['BSONElement'];

/** What a cursor reply says: its id (0n when exhausted), namespace and batch. */
interface CursorReply {
  id: bigint;
  ns?: string;
  batch: RawBatch;
}

/** Read the `cursor` sub-document of a find or getMore reply (its bytes, as `raw` replies give sub-documents). */
export function parseCursor(b: Uint8Array): CursorReply {
  let id: bigint | undefined;
  let ns: string | undefined;
  let batch: RawBatch | undefined;
  const text = (at: number, length: number): string =>
    Buffer.from(b.buffer, b.byteOffset + at, length).toString('utf8');
  // bson's element table of the cursor document (a few elements: id, ns, the batch, cluster time...)
  let elements: Iterable<BSONElement>;
  try {
    elements = onDemand.parseToElements(b);
  } catch (e) {
    throw new Error(`a cursor reply is malformed: ${(e as Error).message}`);
  }
  for (const [type, nameAt, nameLength, at, length] of elements) {
    const name = text(nameAt, nameLength);
    if (name === 'id' && type === 0x12) id = Buffer.from(b.buffer, b.byteOffset + at, 8).readBigInt64LE(0);
    else if (name === 'ns' && type === 0x02) ns = text(at + 4, length - 5);
    else if ((name === 'firstBatch' || name === 'nextBatch') && type === 0x04)
      batch = new RawBatch(b, at, at + length);
  }
  if (id === undefined || !batch) throw new Error('a cursor reply has no id or no batch');
  return { id, ns, batch };
}

export interface RawFindOptions {
  filter: Document;
  projection: Document;
  /** Documents of each reply (of the first one when `replyBytes` is set). */
  batchSize: number;
  /**
   * When set, each getMore asks for about this many bytes, in documents of the size the last reply had (between 1
   * and `maxBatchSize`): replies of small documents hold many (fewer commands), replies of large ones stay small.
   */
  replyBytes?: number;
  maxBatchSize?: number;
  maxTimeMS?: number;
}

/** How many documents the next reply should hold after this one. */
function nextBatchSize(batch: RawBatch, options: RawFindOptions): number {
  const n = batch.count;
  if (!options.replyBytes || !n) return options.batchSize;
  const perDocument = batch.byteLength / n;
  const most = options.maxBatchSize ?? options.batchSize;
  return Math.max(1, Math.min(most, Math.floor(options.replyBytes / perDocument)));
}

/**
 * The batches of a find, a reply at a time and a reply ahead (the next getMore is sent as soon as a batch is
 * handed over, so the server prepares it while this one is read). A reader that stops early has its cursor killed.
 */
export async function* rawFind(
  db: Db,
  collection: string,
  options: RawFindOptions,
): AsyncGenerator<RawBatch> {
  const session = db.client.startSession();
  const command = (cmd: Document): Promise<Document> =>
    db.command(cmd, { session, raw: true, readPreference: 'primary' });
  let id = 0n;
  let coll = collection;
  let next: Promise<Document> | undefined;
  try {
    const find = {
      find: collection,
      filter: options.filter,
      projection: options.projection,
      batchSize: options.batchSize,
      ...(options.maxTimeMS !== undefined ? { maxTimeMS: options.maxTimeMS } : {}),
    };
    // the find is retried once, as the driver retries its reads (a getMore is not: its cursor may be gone)
    const first = await command(find).catch((e: unknown) => {
      if (db.client.options.retryReads === false || !retryableRead(e)) throw e;
      return command(find);
    });
    let reply = parseCursor(first.cursor as Uint8Array);
    for (;;) {
      id = reply.id;
      if (reply.ns) coll = reply.ns.slice(reply.ns.indexOf('.') + 1);
      if (id !== 0n) {
        const batchSize = nextBatchSize(reply.batch, options);
        next = command({ getMore: Long.fromBigInt(id), collection: coll, batchSize });
        // a failure of the next batch surfaces when it is awaited, not as an unhandled rejection meanwhile
        next.catch(() => undefined);
      }
      yield reply.batch;
      if (!next) return;
      reply = parseCursor((await next).cursor as Uint8Array);
      next = undefined;
    }
  } finally {
    await closeCursor(command, next, id, coll);
    await session.endSession();
  }
}

/** The errors after which MongoDB's retryable-reads specification retries a read once (codes, network errors). */
const RETRYABLE_READ_CODES = new Set([6, 7, 89, 91, 134, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

function retryableRead(e: unknown): boolean {
  return (
    e instanceof MongoNetworkError ||
    (e instanceof MongoServerError && typeof e.code === 'number' && RETRYABLE_READ_CODES.has(e.code))
  );
}

/** After a reader stopped: let the getMore in flight in, then kill the cursor if the server still holds it. */
async function closeCursor(
  command: (cmd: Document) => Promise<Document>,
  next: Promise<Document> | undefined,
  id: bigint,
  coll: string,
): Promise<void> {
  let open = id;
  if (next) open = await next.then((r) => parseCursor(r.cursor as Uint8Array).id).catch(() => 0n);
  if (open !== 0n)
    await command({ killCursors: coll, cursors: [Long.fromBigInt(open)] }).catch(() => undefined);
}

/** Every document of a find whose results fit one reply or a few (a lookup by `_id`), decoded. */
export async function rawFindAll(db: Db, collection: string, options: RawFindOptions): Promise<Document[]> {
  const out: Document[] = [];
  for await (const batch of rawFind(db, collection, options)) for (const d of batch) out.push(d);
  return out;
}

/**
 * Whether reads with this read preference (else the database's) can go through `rawFind`: it reads from the
 * primary, where every getMore reaches the server of its find (the driver's cursor, used otherwise, pins it).
 */
export function primaryReads(db: Db, readPreference: ReadPreferenceLike | undefined): boolean {
  const rp = readPreference ?? db.readPreference;
  return (typeof rp === 'string' ? rp : rp.mode) === ReadPreference.PRIMARY;
}
