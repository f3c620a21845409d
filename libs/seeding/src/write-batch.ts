import { serialize } from 'bson';
import type { Document } from 'bson';
import { MongoBulkWriteError } from 'mongodb';
import type { AnyBulkWriteOperation, Db } from 'mongodb';

export interface BatchStats {
  inserted: number;
  modified: number;
  unchanged: number;
}

function sameBytes(a: Document, b: Document): boolean {
  return Buffer.compare(Buffer.from(serialize(a)), Buffer.from(serialize(b))) === 0;
}

/**
 * Write documents keyed by _id so that a second run changes nothing: one `_id $in` read, an unordered insertMany for the
 * new documents, and replaceOne only for existing documents whose content differs (a document inserted meanwhile by
 * someone else is replaced instead).
 */
export async function writeBatch(
  db: Db,
  collection: string,
  docs: readonly Document[],
  bypassDocumentValidation = false,
): Promise<BatchStats> {
  const coll = db.collection(collection);
  const existing = new Map(
    (await coll.find({ _id: { $in: docs.map((d) => d._id) } }).toArray()).map((d) => [String(d._id), d]),
  );
  const fresh = docs.filter((d) => !existing.has(String(d._id)));
  const changed = docs.filter(
    (d) => existing.has(String(d._id)) && !sameBytes(existing.get(String(d._id))!, d),
  );
  let inserted = 0;
  if (fresh.length) {
    try {
      inserted = (await coll.insertMany(fresh as Document[], { ordered: false, bypassDocumentValidation }))
        .insertedCount;
    } catch (e) {
      if (!(e instanceof MongoBulkWriteError)) throw e;
      const errors = Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors];
      if (errors.some((w) => w.code !== 11000)) throw e;
      inserted = e.result.insertedCount;
      changed.push(...errors.map((w) => fresh[w.index]));
    }
  }
  let modified = 0;
  if (changed.length) {
    const ops: AnyBulkWriteOperation<Document>[] = changed.map((d) => ({
      replaceOne: { filter: { _id: d._id }, replacement: d, upsert: true },
    }));
    const r = await coll.bulkWrite(ops, { ordered: false, bypassDocumentValidation });
    modified = r.modifiedCount + r.upsertedCount;
  }
  return { inserted, modified, unchanged: docs.length - inserted - modified };
}
