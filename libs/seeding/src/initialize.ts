import { applySchema, COLLECTION_NAMES } from '@odtp/schema';
import type { Db } from 'mongodb';
import { loadSeed } from './loader';
import type { LoadResult, SeedOptions } from './loader';
import type { SeedFile } from './seed-model';

/** Whether no target collection holds a document. */
export async function isEmptyDatabase(db: Db): Promise<boolean> {
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const name of COLLECTION_NAMES) {
    if (existing.has(name) && (await db.collection(name).estimatedDocumentCount()) > 0) return false;
  }
  return true;
}

/**
 * For `npm start`: on an empty database, apply the validators and indexes derived for the application, then load
 * `files` as it writes them.
 */
export async function initializeIfEmpty(
  db: Db,
  files: readonly SeedFile[],
  options: SeedOptions = {},
): Promise<LoadResult | undefined> {
  if (!(await isEmptyDatabase(db))) return undefined;
  const applied = await applySchema(db, { app: options.app });
  if (applied.status === 'refused')
    throw new Error(`schema apply refused on an empty database: ${applied.problems.join('; ')}`);
  return loadSeed(db, files, options);
}

/** Empty the target collections (keeping their validators and indexes). */
export async function dropSeeded(db: Db): Promise<number> {
  let removed = 0;
  for (const name of COLLECTION_NAMES) removed += (await db.collection(name).deleteMany({})).deletedCount;
  return removed;
}
