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
 * Write documents keyed by _id so that a second run changes nothing: an unordered insertMany first (a fresh load
 * costs what a plain insertMany costs), then, for the documents whose _id already exists (duplicate key errors),
 * one `_id $in` read and replaceOne only for those whose content differs.
 */
export async function writeBatch(
  db: Db,
  collection: string,
  docs: readonly Document[],
  bypassDocumentValidation = false,
): Promise<BatchStats> {
  const coll = db.collection(collection);
  let inserted = 0;
  let present: Document[] = [];
  try {
    inserted = (await coll.insertMany(docs as Document[], { ordered: false, bypassDocumentValidation }))
      .insertedCount;
  } catch (e) {
    if (!(e instanceof MongoBulkWriteError)) throw e;
    const errors = Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors];
    // Only duplicate keys mean "already there". A failed command (no write errors: a network error, a failover,
    // an interrupted operation) wrote an unknown part of the batch: it must fail, not count as unchanged.
    if (!errors.length || errors.some((w) => w?.code !== 11000) || e.errorResponse?.writeConcernError)
      throw e;
    inserted = e.result.insertedCount;
    present = errors.map((w) => docs[w.index]);
  }
  let modified = 0;
  if (present.length) {
    const existing = new Map(
      (await coll.find({ _id: { $in: present.map((d) => d._id) } }).toArray()).map((d) => [String(d._id), d]),
    );
    const changed = present.filter((d) => {
      const current = existing.get(String(d._id));
      return !current || !sameBytes(current, d);
    });
    if (changed.length) {
      const ops: AnyBulkWriteOperation<Document>[] = changed.map((d) => ({
        replaceOne: { filter: { _id: d._id }, replacement: d, upsert: true },
      }));
      const r = await coll.bulkWrite(ops, { ordered: false, bypassDocumentValidation });
      modified = r.modifiedCount + r.upsertedCount;
    }
  }
  return { inserted, modified, unchanged: docs.length - inserted - modified };
}
