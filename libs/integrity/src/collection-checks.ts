import { EJSON } from 'bson';
import type { Document } from 'bson';
import { COLLECTION_NAMES, deriveIndexes, derivedValidator, valuesAt } from '@odtp/schema';
import type { CollectionName } from '@odtp/schema';
import { checkCancelled, sourceDocuments } from './audit-context';
import type { Ctx } from './audit-context';
import { AuditCancelledError } from './errors';

/* The checks that work on whole collections (mostly server work), and how the parts of an audit run together. */

export async function duplicateCheck(ctx: Ctx, collections: Set<CollectionName>): Promise<void> {
  for (const index of deriveIndexes().filter((i) => i.unique && collections.has(i.collection))) {
    const started = performance.now();
    const fields = Object.keys(index.key);
    const f = ctx.collector.declare('duplicate', index.collection, fields.join('+'));
    if (!ctx.existing.has(index.collection)) continue;
    const group: Document = {};
    for (const field of fields) group[field.replace(/\./g, '_')] = `$${field}`;
    const groups = [
      { $group: { _id: group, ids: { $push: '$_id' }, n: { $sum: 1 } } },
      { $match: { n: { $gt: 1 } } },
    ];
    const options = { allowDiskUse: true, readPreference: ctx.readPreference, maxTimeMS: ctx.maxTimeMS };
    const coll = ctx.db.collection(index.collection);
    // scoped: the groups of the scope's key values only, a batch of values per query
    const matches = ctx.scope ? await scopedKeys(ctx, index.collection, fields) : [undefined];
    for (const match of matches) {
      const cursor = coll.aggregate(match ? [{ $match: match }, ...groups] : groups, options);
      await collectDuplicates(ctx, index.collection, f.path, cursor);
    }
    f.scanned = ctx.scope
      ? (ctx.scope[index.collection]?.length ?? 0)
      : await ctx.db.collection(index.collection).estimatedDocumentCount();
    f.durationMs = Math.round(performance.now() - started);
  }
}

/** The `$match` filters (one per batch) selecting the documents that share a key value with a scoped document. */
async function scopedKeys(ctx: Ctx, collection: CollectionName, fields: string[]): Promise<Document[]> {
  const projection: Document = { _id: 0 };
  for (const field of fields) projection[field] = 1;
  const tuples = new Map<string, Document>();
  for await (const d of sourceDocuments(ctx, collection, projection)) {
    const tuple: Document = {};
    for (const field of fields) tuple[field] = valuesAt(d, field)[0] ?? null;
    tuples.set(EJSON.stringify(tuple), tuple);
  }
  const all = [...tuples.values()];
  const out: Document[] = [];
  // the leading field's values beside the $or: the unique index serves them (an $or alone reads the collection)
  const lead = fields[0];
  for (let i = 0; i < all.length; i += ctx.batchSize) {
    const batch = all.slice(i, i + ctx.batchSize);
    out.push({ [lead]: { $in: batch.map((t) => t[lead] as unknown) }, $or: batch });
  }
  return out;
}

async function collectDuplicates(
  ctx: Ctx,
  collection: CollectionName,
  path: string,
  cursor: AsyncIterable<Document>,
): Promise<void> {
  for await (const g of cursor) {
    checkCancelled(ctx);
    for (const id of g.ids as unknown[])
      ctx.violation({
        check: 'duplicate',
        collection,
        path,
        docId: id,
        value: g._id as unknown,
        detail: `${g.n} documents share ${JSON.stringify(g._id)}`,
      });
  }
}

export async function schemaCheck(ctx: Ctx, collections: Set<CollectionName>): Promise<void> {
  for (const name of COLLECTION_NAMES.filter((c) => collections.has(c))) {
    const started = performance.now();
    const f = ctx.collector.declare('schema-violation', name, '$jsonSchema');
    if (!ctx.existing.has(name)) continue;
    const invalid = { $nor: [derivedValidator(name, { app: ctx.app.level })] };
    let n = 0;
    for await (const d of sourceDocuments(ctx, name, { _id: 1 }, invalid)) {
      if (++n % ctx.batchSize === 0) {
        checkCancelled(ctx);
        await ctx.backpressure?.();
      }
      ctx.violation({ check: 'schema-violation', collection: name, path: f.path, docId: d._id });
    }
    f.scanned = ctx.scope
      ? (ctx.scope[name]?.length ?? 0)
      : await ctx.db.collection(name).estimatedDocumentCount();
    f.durationMs = Math.round(performance.now() - started);
  }
}

/** Run the parts side by side; the first failure stops the others (through ctx.signal) and is rethrown once all ended. */
export async function allOrNothing(ctx: Ctx, parts: (() => Promise<void>)[]): Promise<void> {
  const stop = new AbortController();
  const outer = ctx.signal;
  const forward = (): void => stop.abort();
  outer?.addEventListener('abort', forward);
  if (outer?.aborted) stop.abort();
  ctx.signal = stop.signal;
  let first: { error: unknown } | undefined;
  try {
    await Promise.all(
      parts.map((part) =>
        part().catch((e: unknown) => {
          first ??= { error: e };
          stop.abort();
        }),
      ),
    );
    if (first) throw outer?.aborted ? new AuditCancelledError() : first.error;
  } finally {
    outer?.removeEventListener('abort', forward);
    ctx.signal = outer;
  }
}
