import { EJSON } from 'bson';
import type { Document } from 'bson';
import type { AnyBulkWriteOperation, Filter } from 'mongodb';
import type { Changes, MigrationContext } from './migration';

/** A change to one document, as `$set` / `$unset` paths; null or empty means "nothing to do". */
export interface DocumentChange {
  $set?: Document;
  $unset?: Record<string, ''>;
}

export type Rewriter = (doc: Document) => DocumentChange | null | Promise<DocumentChange | null>;

/** A step failed on one document: the runner reports the collection and `_id`. */
export class DocumentFailure extends Error {
  constructor(
    readonly collection: string,
    readonly documentId: unknown,
    override readonly cause: unknown,
  ) {
    super(
      `${collection} document ${EJSON.stringify({ _id: documentId }).slice(7, -1)}: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'DocumentFailure';
  }
}

function isEmpty(change: DocumentChange | null): boolean {
  return (
    !change || (Object.keys(change.$set ?? {}).length === 0 && Object.keys(change.$unset ?? {}).length === 0)
  );
}

export function checkAborted(ctx: MigrationContext): void {
  if (ctx.signal.aborted) {
    const reason: unknown = ctx.signal.reason;
    throw reason instanceof Error ? reason : new Error(String(reason ?? 'cancelled'));
  }
}

/** The top-level fields an update changes, as they were read: the condition of an online write. */
function unchangedSince(doc: Document, u: Document): Document {
  const out: Document = {};
  for (const op of [u.$set, u.$unset] as (Document | undefined)[])
    for (const path of Object.keys(op ?? {})) {
      const top = path.split('.')[0];
      out[top] = doc[top] === undefined ? { $exists: false } : doc[top];
    }
  return out;
}

/**
 * Stream the documents of `collection` matching `filter` in `_id` order and apply the change each one needs,
 * batched into ordered bulk writes by `_id`. Memory holds one batch; a dry run only counts. Online (ctx.online):
 * resumed after the checkpoint of the last run, each write conditional on the fields it changes being as they
 * were read, then final passes over what still matches `filter` (written meanwhile, or changed under a write).
 */
export async function rewriteDocuments(
  ctx: MigrationContext,
  collection: string,
  filter: Filter<Document>,
  change: Rewriter,
  options: { projection?: Document; batchSize?: number } = {},
): Promise<Changes> {
  const online = ctx.dryRun ? undefined : ctx.online;
  const key = `${ctx.step ?? 0}:${collection}`;
  const resume = online?.resumeAfter(key);
  let changed = await rewritePass(
    ctx,
    collection,
    resume === undefined ? filter : ({ $and: [filter, { _id: { $gt: resume } }] } as Filter<Document>),
    change,
    options,
    online ? (lastId, processed) => online.passed(key, lastId, processed) : undefined,
  );
  for (let pass = 0; online && pass < online.finalPasses; pass++) {
    const more = await rewritePass(ctx, collection, filter, change, options);
    changed += more;
    if (more === 0) break;
  }
  return { [collection]: changed };
}

async function rewritePass(
  ctx: MigrationContext,
  collection: string,
  filter: Filter<Document>,
  change: Rewriter,
  options: { projection?: Document; batchSize?: number },
  onBatch?: (lastId: unknown, processed: number) => Promise<void>,
): Promise<number> {
  const coll = ctx.db.collection(collection);
  const batchSize = options.batchSize ?? ctx.batchSize;
  const conditional = ctx.online !== undefined;
  const cursor = coll.find(filter, {
    session: ctx.session,
    projection: options.projection,
    sort: { _id: 1 },
    batchSize,
  });
  let ops: AnyBulkWriteOperation[] = [];
  let ids: unknown[] = [];
  let changed = 0;
  let processed = 0;
  let lastId: unknown;
  const flush = async (): Promise<void> => {
    if (ops.length) {
      checkAborted(ctx);
      if (ctx.dryRun) changed += ops.length;
      else {
        try {
          const r = await coll.bulkWrite(ops, { ordered: true, session: ctx.session });
          changed += r.modifiedCount;
        } catch (e) {
          // A write error names its document. Anything else (a dropped connection, a failover, a transient
          // transaction error) is the server's, not a document's: rethrown as it is, so its error labels still let
          // the transaction retry and the run report it for what it is.
          const first = (e as { writeErrors?: { index: number }[] | { index: number } }).writeErrors;
          const index = Array.isArray(first) ? first[0]?.index : first?.index;
          if (index === undefined) throw e;
          throw new DocumentFailure(collection, ids[index], e);
        }
      }
      ops = [];
      ids = [];
    }
    if (onBatch && lastId !== undefined) await onBatch(lastId, processed);
  };
  try {
    for await (const doc of cursor) {
      processed++;
      lastId = doc._id;
      let update: DocumentChange | null;
      try {
        update = await change(doc);
      } catch (e) {
        throw new DocumentFailure(collection, doc._id, e);
      }
      if (!isEmpty(update)) {
        const u: Document = {};
        if (update!.$set && Object.keys(update!.$set).length) u.$set = update!.$set;
        if (update!.$unset && Object.keys(update!.$unset).length) u.$unset = update!.$unset;
        const where = conditional ? { ...unchangedSince(doc, u), _id: doc._id } : { _id: doc._id };
        ops.push({ updateOne: { filter: where, update: u } });
        ids.push(doc._id);
      }
      if (processed % batchSize === 0) {
        await flush();
        ctx.onProgress?.(collection, processed);
      }
    }
    await flush();
  } finally {
    await cursor.close();
  }
  return changed;
}

/** The value at a dotted path of a plain document (no array traversal); undefined when absent. */
export function getPath(doc: Document, path: string): unknown {
  let v: unknown = doc;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Document)[key];
  }
  return v;
}

export function sameValue(a: unknown, b: unknown): boolean {
  return EJSON.stringify({ v: a }, { relaxed: false }) === EJSON.stringify({ v: b }, { relaxed: false });
}

export async function collectionExists(ctx: MigrationContext, name: string): Promise<boolean> {
  return (
    (await ctx.db.listCollections({ name }, { nameOnly: true, session: ctx.session }).toArray()).length > 0
  );
}
