import type { Document } from 'bson';
import type { Db, Filter, FindCursor, ReadPreferenceLike } from 'mongodb';
import type { AppContract, CollectionName } from '@odtp/schema';
import { AuditCancelledError } from './errors';
import { decodeLean } from './lean-decode';
import { primaryReads, rawFind, rawFindAll } from './raw-cursor';
import type { CheckName, FindingCollector, Violation } from './findings';

/** What every part of one audit shares: the database, what to check, the limits and where findings go. */
export interface Ctx {
  db: Db;
  /** The collections of the database when the audit started. */
  existing: ReadonlySet<string>;
  app: AppContract;
  checks: Set<CheckName>;
  batchSize: number;
  maxUnindexedScan: number;
  readPreference?: ReadPreferenceLike;
  maxTimeMS?: number;
  signal?: AbortSignal;
  collector: FindingCollector;
  violation(v: Violation): void;
  onProgress?: (collection: string, scanned: number) => void;
  /** Awaited between reply batches (see AuditOptions.backpressure). */
  backpressure?: () => Promise<void>;
  /** Only these documents are audited (by `_id`, per collection), when set. */
  scope?: Partial<Record<CollectionName, readonly unknown[]>>;
  /** Count a value in a form the configured application writes that is not the target's (the upgrade backlog). */
  backlog(collection: string, path: string, form: 'string' | 'both'): void;
}

export function checkCancelled(ctx: Ctx): void {
  if (ctx.signal?.aborted) throw new AuditCancelledError();
}

/** The documents of a pass: the whole collection, or the scope's documents of it, a batch of ids per query. */
export async function* sourceDocuments(
  ctx: Ctx,
  collection: CollectionName,
  projection: Document,
  filter: Document = {},
): AsyncGenerator<Document> {
  for await (const batch of sourceBatches(ctx, collection, projection, filter)) yield* batch;
}

/** The bytes a scan asks for per reply. */
const SCAN_REPLY_BYTES = 256 * 1024;

/**
 * The documents of a pass a reply batch at a time (the reader loops over each without awaiting per document),
 * decoded from the reply's bytes (`decodeLean`): through `rawFind` when reads go to the primary, else through the
 * driver's cursor (which pins a secondary for its getMores).
 */
export async function* sourceBatches(
  ctx: Ctx,
  collection: CollectionName,
  projection: Document,
  filter: Document = {},
): AsyncGenerator<Iterable<Document>> {
  if (!ctx.scope) {
    // Replies of about SCAN_REPLY_BYTES (up to ten batches): each reply costs the driver a command's worth of
    // objects, which live until the reply is read; at a batch of small documents per reply they reached the old
    // generation by the thousand, and a large reply is read for long enough to reach it itself.
    if (primaryReads(ctx.db, ctx.readPreference))
      yield* rawFind(ctx.db, collection, {
        filter,
        projection,
        batchSize: ctx.batchSize,
        replyBytes: SCAN_REPLY_BYTES,
        maxBatchSize: ctx.batchSize * 10,
        maxTimeMS: ctx.maxTimeMS,
      });
    else
      for await (const batch of readAhead(
        ctx.db.collection(collection).find(filter, findOptions(ctx, projection)),
      ))
        yield batch.map(decodeRaw);
    return;
  }
  const ids = ctx.scope[collection] ?? [];
  for (let i = 0; i < ids.length; i += ctx.batchSize) {
    const batch = { _id: { $in: ids.slice(i, i + ctx.batchSize) } };
    // `_id` at the top level, beside the filter's own fields, so that every server serves it from the _id index
    const query = '_id' in filter ? { $and: [batch, filter] } : { ...filter, ...batch };
    yield await findAll(ctx, collection, query, projection);
  }
}

/** Every document of a find that returns few (a lookup of a batch of ids), decoded from the replies' bytes. */
export async function findAll(
  ctx: Ctx,
  collection: string,
  filter: Document,
  projection: Document,
  batchSize = ctx.batchSize,
): Promise<Document[]> {
  if (primaryReads(ctx.db, ctx.readPreference))
    return rawFindAll(ctx.db, collection, { filter, projection, batchSize, maxTimeMS: ctx.maxTimeMS });
  const options = { ...findOptions(ctx, projection), batchSize };
  return (
    await ctx.db
      .collection(collection)
      .find(filter as Filter<Document>, options)
      .toArray()
  ).map(decodeRaw);
}

function findOptions(ctx: Ctx, projection: Document) {
  return {
    projection,
    batchSize: ctx.batchSize,
    readPreference: ctx.readPreference,
    maxTimeMS: ctx.maxTimeMS,
    raw: true,
  };
}

/** With `raw`, the driver hands each document over as its bytes (typed as a document). */
const decodeRaw = (d: Document): Document => decodeLean(d as unknown as Uint8Array);

/**
 * A cursor's documents, a reply batch at a time and a batch ahead: the next batch is asked for as soon as one is
 * taken, so the server prepares it while this batch is inspected (the driver alone asks only once its buffer is
 * empty, and the two wait on each other in turn).
 */
export async function* readAhead<T>(cursor: FindCursor<T>): AsyncGenerator<T[]> {
  let next: Promise<boolean> | undefined;
  try {
    if (!(await cursor.hasNext())) return;
    for (;;) {
      const batch = cursor.readBufferedDocuments();
      next = cursor.hasNext();
      // a failure of the next batch surfaces when it is awaited, not as an unhandled rejection meanwhile
      next.catch(() => undefined);
      yield batch;
      const more = await next;
      next = undefined;
      if (!more) return;
    }
  } finally {
    // a reader that stops early: the batch in flight is let in before the cursor is closed
    await next?.catch(() => false);
    await cursor.close();
  }
}
