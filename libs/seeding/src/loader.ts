import type { Document } from 'bson';
import { validateSchema } from '@odtp/embedded-mongo';
import type { AppLevel } from '@odtp/config';
import { appContract, COLLECTIONS, derivedValidator, toAppShape } from '@odtp/schema';
import type { CollectionName } from '@odtp/schema';
import type { Db } from 'mongodb';
import { naturalKeyId, SeedError, SeedRef } from './seed-model';
import type { SeedFile } from './seed-model';
import { writeBatch } from './write-batch';

export interface LoadResult {
  inserted: number;
  modified: number;
  unchanged: number;
  perCollection: Record<string, { inserted: number; modified: number; unchanged: number }>;
}

interface Prepared {
  file: string;
  collection: CollectionName;
  key: string;
  doc: Document;
}

/** The first failing field of a mongod-shaped `$jsonSchema` failure list, as a dotted path with the reason. */
export function describeFailure(failures: Document[], prefix = ''): { field: string; problem: string } {
  for (const f of failures) {
    if (f.operatorName === 'required')
      return {
        field: `${prefix}${(f.missingProperties as string[])[0]}`,
        problem: 'is required but missing',
      };
    if (f.operatorName === 'properties') {
      const p = (f.propertiesNotSatisfied as Document[])[0];
      const inner = describeFailure(p.details as Document[], `${prefix}${p.propertyName as string}.`);
      return {
        field: inner.field.replace(/\.$/, ''),
        problem: p.description ? `${inner.problem} (rule: ${p.description as string})` : inner.problem,
      };
    }
    if (f.operatorName === 'additionalProperties')
      return {
        field: `${prefix}${(f.additionalProperties as string[])[0]}`,
        problem: 'is not allowed by the schema',
      };
    if (f.operatorName === 'items') {
      const inner = describeFailure(
        f.details as Document[],
        `${prefix.replace(/\.$/, '')}.${f.itemIndex as number}.`,
      );
      return inner;
    }
    const field = prefix.replace(/\.$/, '') || '(document)';
    if (f.operatorName === 'bsonType')
      return {
        field,
        problem: `must be ${JSON.stringify((f.specifiedAs as Document).bsonType)}, got ${f.consideredType as string}`,
      };
    return {
      field,
      problem: `fails ${f.operatorName as string}${f.reason ? ` (${f.reason as string})` : ''}`,
    };
  }
  return { field: prefix || '(document)', problem: 'is invalid' };
}

/** Resolve references by natural key to ObjectIds; unknown keys fail naming file, document and field. */
function resolveRefs(
  value: unknown,
  known: Map<string, Set<string>>,
  where: { file: string; key: string },
  path: string,
): unknown {
  if (value instanceof SeedRef) {
    if (!known.get(value.collection)?.has(value.key)) {
      throw new SeedError(
        where.file,
        where.key,
        path,
        `references unknown ${value.collection} key "${value.key}"`,
      );
    }
    return naturalKeyId(value.collection, value.key);
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveRefs(v, known, where, `${path}.${i}`));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Document = {};
    for (const [k, v] of Object.entries(value as Document))
      out[k] = resolveRefs(v, known, where, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}

export interface SeedOptions {
  /**
   * The application that runs on the database: documents are written as it writes them (ODTP 0.5: string
   * stepRef/userRef..., camelCase timestamps on executions and steps, dt_id) and validated by the validators derived
   * for it. Default: target.
   */
  app?: AppLevel;
}

/**
 * Resolve, assign ids, shape as the application writes and validate every document against the schema derived for
 * it; throws before anything is written.
 */
export function prepareSeed(files: readonly SeedFile[], options: SeedOptions = {}): Prepared[] {
  const contract = appContract(options.app ?? 'target');
  const known = new Map<string, Set<string>>();
  for (const f of files) {
    const keys = known.get(f.collection) ?? new Set<string>();
    for (const d of f.documents) {
      if (keys.has(d.key))
        throw new SeedError(f.file, d.key, '_id', `natural key "${d.key}" appears twice in ${f.collection}`);
      keys.add(d.key);
    }
    known.set(f.collection, keys);
  }
  const prepared: Prepared[] = [];
  for (const f of files) {
    const schema = derivedValidator(f.collection, { app: contract.level }).$jsonSchema as Document;
    for (const d of f.documents) {
      const resolved = resolveRefs(d.doc, known, { file: f.file, key: d.key }, '') as Document;
      const doc = toAppShape(contract, f.collection, { _id: naturalKeyId(f.collection, d.key), ...resolved });
      const failures = validateSchema(schema, doc);
      if (failures.length) {
        const { field, problem } = describeFailure(failures);
        throw new SeedError(f.file, d.key, field, problem);
      }
      prepared.push({ file: f.file, collection: f.collection, key: d.key, doc });
    }
  }
  const order = COLLECTIONS.map((c) => c.name);
  return prepared.sort((a, b) => order.indexOf(a.collection) - order.indexOf(b.collection));
}

/** Write the prepared documents in reference-dependency order, in batches keyed by _id (see writeBatch). */
export async function writeSeed(
  db: Db,
  prepared: readonly Prepared[],
  batchSize = 1000,
): Promise<LoadResult> {
  const result: LoadResult = { inserted: 0, modified: 0, unchanged: 0, perCollection: {} };
  const byCollection = new Map<string, Prepared[]>();
  for (const p of prepared) byCollection.set(p.collection, [...(byCollection.get(p.collection) ?? []), p]);
  for (const [collection, docs] of byCollection) {
    const stats = { inserted: 0, modified: 0, unchanged: 0 };
    for (let i = 0; i < docs.length; i += batchSize) {
      const batch = docs.slice(i, i + batchSize);
      const r = await writeBatch(
        db,
        collection,
        batch.map((p) => p.doc),
      );
      stats.inserted += r.inserted;
      stats.modified += r.modified;
      stats.unchanged += r.unchanged;
    }
    result.perCollection[collection] = stats;
    result.inserted += stats.inserted;
    result.modified += stats.modified;
    result.unchanged += stats.unchanged;
  }
  return result;
}

export async function loadSeed(
  db: Db,
  files: readonly SeedFile[],
  options: SeedOptions = {},
): Promise<LoadResult> {
  return writeSeed(db, prepareSeed(files, options));
}
