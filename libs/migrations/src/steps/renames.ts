import { EJSON } from 'bson';
import type { Document } from 'bson';
import type { Filter } from 'mongodb';
import { checkAborted, collectionExists, getPath, rewriteDocuments, sameValue } from '../documents';
import type { DocumentChange } from '../documents';
import type { Step } from '../migration';

/**
 * Rename fields (dotted paths allowed) in every document that still has the old name. When both names are
 * present with the same value the old one is removed; with different values both stay and the conflict is
 * reported, never guessed.
 */
export function renameFields(collection: string, renames: Record<string, string>): Step {
  const pairs = Object.entries(renames);
  const projection: Document = {};
  for (const [from, to] of pairs) projection[from] = projection[to] = 1;
  return {
    title: `${collection}: rename ${pairs.map(([a, b]) => `${a} -> ${b}`).join(', ')}`,
    run: (ctx) =>
      rewriteDocuments(
        ctx,
        collection,
        { $or: pairs.map(([from]) => ({ [from]: { $exists: true } })) },
        (doc) => {
          const change: DocumentChange = { $set: {}, $unset: {} };
          for (const [from, to] of pairs) {
            const value = getPath(doc, from);
            if (value === undefined) continue;
            const current = getPath(doc, to);
            if (current === undefined) {
              change.$set![to] = value;
              change.$unset![from] = '';
            } else if (sameValue(current, value)) change.$unset![from] = '';
            else
              ctx.report.note(
                collection,
                doc._id,
                from,
                `both ${from} and ${to} are set and differ: left both`,
              );
          }
          return change;
        },
        { projection },
      ),
  };
}

/**
 * Rename a collection. When the target already holds documents, the source's documents are moved one by one
 * (an identical document already in the target counts as moved; a different one with the same `_id` is
 * reported and stays), and the source is dropped only when it is empty.
 */
export function renameCollection(from: string, to: string): Step {
  return {
    title: `rename collection ${from} -> ${to}`,
    async run(ctx) {
      if (!(await collectionExists(ctx, from))) return {};
      const source = ctx.db.collection(from);
      const count = await source.countDocuments({}, { session: ctx.session });
      if (ctx.dryRun) return { [to]: count };
      const target = ctx.db.collection(to);
      const targetCount = (await collectionExists(ctx, to))
        ? await target.countDocuments({}, { session: ctx.session })
        : -1;
      if (targetCount <= 0) {
        await ctx.db.renameCollection(from, to, { dropTarget: targetCount === 0 });
        return { [to]: count };
      }
      let moved = 0;
      let kept = 0;
      const moveBatch = async (batch: Document[]): Promise<void> => {
        checkAborted(ctx);
        const ids = batch.map((d) => d._id as unknown);
        const existing = new Map(
          (await target.find(byIds(ids), { session: ctx.session }).toArray()).map((d) => [
            EJSON.stringify({ v: d._id }),
            d,
          ]),
        );
        const fresh = batch.filter((d) => !existing.has(EJSON.stringify({ v: d._id })));
        if (fresh.length) await target.insertMany(fresh, { session: ctx.session });
        const done: unknown[] = fresh.map((d) => d._id as unknown);
        for (const d of batch) {
          const other = existing.get(EJSON.stringify({ v: d._id }));
          if (!other) continue;
          if (sameValue(other, d)) done.push(d._id);
          else {
            kept++;
            ctx.report.note(
              from,
              d._id,
              '_id',
              `a different document with this _id is in ${to}: left in ${from}`,
            );
          }
        }
        if (done.length) await source.deleteMany(byIds(done), { session: ctx.session });
        moved += done.length;
      };
      let batch: Document[] = [];
      for await (const doc of source.find(
        {},
        { session: ctx.session, sort: { _id: 1 }, batchSize: ctx.batchSize },
      )) {
        batch.push(doc);
        if (batch.length >= ctx.batchSize) {
          await moveBatch(batch);
          batch = [];
        }
      }
      if (batch.length) await moveBatch(batch);
      if (!kept) await source.drop();
      return { [to]: moved };
    },
  };
}

function byIds(ids: unknown[]): Filter<Document> {
  return { _id: { $in: ids } } as Filter<Document>;
}
