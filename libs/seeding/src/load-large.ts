import type { Document } from 'bson';
import { compileSchema, validateSchema } from '@odtp/embedded-mongo';
import type { AppLevel } from '@odtp/config';
import { appContract, derivedValidator, toAppShape } from '@odtp/schema';
import type { CollectionName } from '@odtp/schema';
import type { Db } from 'mongodb';
import { generateLarge } from './large';
import type { LargeOptions, PlantedDefect } from './large';
import { describeFailure } from './loader';
import type { LoadResult } from './loader';
import { SeedError } from './seed-model';
import { writeBatch } from './write-batch';

export interface LargeLoadOptions extends LargeOptions {
  onDefect?: (d: PlantedDefect) => void;
  onProgress?: (written: number) => void;
  /** Write the documents as this application writes them (default target: the generator's own shapes). */
  app?: AppLevel;
}

/**
 * Stream the large profile into `db`: each batch is validated against the derived schema (documents with
 * a planted defect are exempt, and written past validators), then upserted by _id, so memory stays bounded
 * and a second run changes nothing.
 */
export async function loadLarge(db: Db, options: LargeLoadOptions): Promise<LoadResult> {
  const result: LoadResult = { inserted: 0, modified: 0, unchanged: 0, perCollection: {} };
  const schemas = new Map<CollectionName, Document>();
  const planted = new Set<string>();
  let written = 0;
  let inFlight: Promise<void> = Promise.resolve();
  const contract = appContract(options.app ?? 'target');
  const shape = contract.level === 'target' ? undefined : contract;
  const write = async (collection: CollectionName, docs: Document[], bypass: boolean): Promise<void> => {
    const r = await writeBatch(db, collection, docs, bypass);
    const stats = (result.perCollection[collection] ??= { inserted: 0, modified: 0, unchanged: 0 });
    stats.inserted += r.inserted;
    stats.modified += r.modified;
    stats.unchanged += r.unchanged;
    result.inserted += r.inserted;
    result.modified += r.modified;
    result.unchanged += r.unchanged;
    written += docs.length;
    options.onProgress?.(written);
  };
  try {
    for (const batch of generateLarge(options, (d) => {
      planted.add(d.id);
      options.onDefect?.(d);
    })) {
      if (shape) batch.docs = batch.docs.map((d) => toAppShape(shape, batch.collection, d));
      let schema = schemas.get(batch.collection);
      if (!schema)
        schemas.set(
          batch.collection,
          (schema = derivedValidator(batch.collection, { app: contract.level }).$jsonSchema as Document),
        );
      let hasPlanted = false;
      for (const doc of batch.docs) {
        if (planted.size > 0 && planted.delete(String(doc._id))) {
          hasPlanted = true;
          continue;
        }
        // The compiled check is the fast path; the detailed one only runs to explain a failure.
        if (compileSchema(schema)(doc)) continue;
        const failures = validateSchema(schema, doc);
        if (failures.length) {
          const { field, problem } = describeFailure(failures);
          throw new SeedError(`large profile (seed ${options.seed})`, String(doc._id), field, problem);
        }
      }
      // Write this batch while the generator validates the next one; at most one write is in flight.
      await inFlight;
      inFlight = write(batch.collection, batch.docs, hasPlanted);
    }
  } catch (e) {
    await inFlight.catch(() => undefined);
    throw e;
  }
  await inFlight;
  return result;
}
