import { EJSON } from 'bson';
import type { Document } from 'bson';
import { COLLECTION_NAMES, deriveIndexes, derivedValidator, valuesAt } from '@odtp/schema';
import type { CollectionName } from '@odtp/schema';
import { checkCancelled, sourceDocuments } from './audit-context';
import type { Ctx } from './audit-context';
import { AuditCancelledError } from './errors';
import { idKey } from './findings';

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
    // scoped: the groups of the documents that share the scope's leading key values (a batch of values per query,
    // served by the unique index), of which only those holding a scoped document are reported
    const scoped = ctx.scope ? new Set((ctx.scope[index.collection] ?? []).map(idKey)) : undefined;
    const matches = scoped ? await scopedLeads(ctx, index.collection, fields[0]) : [undefined];
    for (const match of matches) {
      const cursor = coll.aggregate(match ? [{ $match: match }, ...groups] : groups, options);
      await collectDuplicates(ctx, index.collection, f.path, cursor, scoped);
    }
    f.scanned = ctx.scope
      ? (ctx.scope[index.collection]?.length ?? 0)
      : await ctx.db.collection(index.collection).estimatedDocumentCount();
    f.durationMs = Math.round(performance.now() - started);
  }
}

/**
 * The `$match` filters (one per batch of values) selecting the documents whose unique key starts with a scoped
 * document's leading value: every document that can share a key with one of them. A match on the leading field
 * alone, not an `$or` of key tuples: the index serves it on any server, and grouping a few documents more is cheaper
 * than testing each candidate against every tuple.
 */
async function scopedLeads(ctx: Ctx, collection: CollectionName, lead: string): Promise<Document[]> {
  const values = new Map<string, unknown>();
  for await (const d of sourceDocuments(ctx, collection, { _id: 0, [lead]: 1 })) {
    // the whole value, as $group keys it (null for a missing field, as $group's null key holds both)
    const value = (lead.includes('.') ? valuesAt(d, lead)[0] : d[lead]) ?? null;
    values.set(EJSON.stringify({ v: value }), value);
  }
  const all = [...values.values()];
  const out: Document[] = [];
  for (let i = 0; i < all.length; i += ctx.batchSize)
    out.push({ [lead]: { $in: all.slice(i, i + ctx.batchSize) } });
  return out;
}

async function collectDuplicates(
  ctx: Ctx,
  collection: CollectionName,
  path: string,
  cursor: AsyncIterable<Document>,
  scoped?: ReadonlySet<string>,
): Promise<void> {
  for await (const g of cursor) {
    checkCancelled(ctx);
    if (scoped && !(g.ids as unknown[]).some((id) => scoped.has(idKey(id)))) continue;
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
