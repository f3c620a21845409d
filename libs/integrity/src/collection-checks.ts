import type { Document } from 'bson';
import { COLLECTION_NAMES, deriveIndexes, derivedValidator } from '@odtp/schema';
import type { CollectionName } from '@odtp/schema';
import { checkCancelled } from './audit-context';
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
    const cursor = ctx.db
      .collection(index.collection)
      .aggregate(
        [{ $group: { _id: group, ids: { $push: '$_id' }, n: { $sum: 1 } } }, { $match: { n: { $gt: 1 } } }],
        { allowDiskUse: true, readPreference: ctx.readPreference, maxTimeMS: ctx.maxTimeMS },
      );
    for await (const g of cursor) {
      checkCancelled(ctx);
      for (const id of g.ids as unknown[])
        ctx.violation({
          check: 'duplicate',
          collection: index.collection,
          path: f.path,
          docId: id,
          value: g._id as unknown,
          detail: `${g.n} documents share ${JSON.stringify(g._id)}`,
        });
    }
    f.scanned = await ctx.db.collection(index.collection).estimatedDocumentCount();
    f.durationMs = Math.round(performance.now() - started);
  }
}

export async function schemaCheck(ctx: Ctx, collections: Set<CollectionName>): Promise<void> {
  for (const name of COLLECTION_NAMES.filter((c) => collections.has(c))) {
    const started = performance.now();
    const f = ctx.collector.declare('schema-violation', name, '$jsonSchema');
    if (!ctx.existing.has(name)) continue;
    const cursor = ctx.db
      .collection(name)
      .find(
        { $nor: [derivedValidator(name, { app: ctx.app.level })] },
        { projection: { _id: 1 }, readPreference: ctx.readPreference, maxTimeMS: ctx.maxTimeMS },
      );
    let n = 0;
    for await (const d of cursor) {
      if (++n % ctx.batchSize === 0) checkCancelled(ctx);
      ctx.violation({ check: 'schema-violation', collection: name, path: f.path, docId: d._id });
    }
    f.scanned = await ctx.db.collection(name).estimatedDocumentCount();
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
