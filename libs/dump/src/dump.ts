import * as fs from 'node:fs';
import * as path from 'node:path';
import { EJSON } from 'bson';
import type { Document } from 'bson';
import type { Db } from 'mongodb';
import { DomainError, HTTP } from '@odtp/errors';
import { fromLegacyJson } from './legacy-json';
import type { KeepStringIds } from './legacy-json';

export class DumpError extends DomainError {
  constructor(
    readonly file: string,
    readonly collection: string | undefined,
    readonly index: number | undefined,
    problem: string,
  ) {
    super(
      { code: 'INVALID_DUMP', httpStatus: HTTP.badRequest, exitCode: 1 },
      `${file}${collection !== undefined ? `: collection ${collection}` : ''}${index !== undefined ? `, document ${index}` : ''}: ${problem}`,
    );
  }
}

export type Dump = Map<string, Document[]>;

export interface ReadOptions {
  /** Plain JSON with ids and dates as strings (ODTP's own dumps). */
  legacyJson?: boolean;
  /** With legacyJson: where ids stay strings, because the application writes them so (default: nowhere). */
  keepStringIds?: KeepStringIds;
}

const COLLECTION_NAME = /^[A-Za-z_][\w.-]*$/;

function toDocument(
  raw: unknown,
  file: string,
  collection: string,
  index: number,
  legacy: KeepStringIds | undefined,
): Document {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new DumpError(file, collection, index, 'is not a JSON object');
  try {
    const doc = legacy
      ? fromLegacyJson(raw as Document, collection === 'output' ? 'outputs' : collection, legacy)
      : (EJSON.deserialize(raw as Document, { relaxed: false }) as Document);
    if (doc._id === undefined) throw new Error('has no _id');
    return doc;
  } catch (e) {
    throw new DumpError(file, collection, index, (e as Error).message);
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DumpError(file, undefined, undefined, `is not valid JSON (${(e as Error).message})`);
  }
}

/** Read a dump: one file `{"<collection>": [docs]}`, or a folder of `<collection>.json` (JSON array or one document per line). */
export function readDump(target: string, options: ReadOptions = {}): Dump {
  const legacy = options.legacyJson === true ? (options.keepStringIds ?? (() => false)) : undefined;
  const dump: Dump = new Map();
  if (!fs.existsSync(target)) throw new DumpError(target, undefined, undefined, 'does not exist');
  if (fs.statSync(target).isDirectory()) {
    for (const name of fs
      .readdirSync(target)
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const file = path.join(target, name);
      const collection = name.slice(0, -'.json'.length);
      const text = fs.readFileSync(file, 'utf8').trim();
      let raws: unknown[];
      if (text.startsWith('[')) {
        const parsed = parseJson(text, file);
        raws = parsed as unknown[];
      } else {
        raws = text
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((line, i) => {
            try {
              return JSON.parse(line);
            } catch (e) {
              throw new DumpError(file, collection, i, `is not valid JSON (${(e as Error).message})`);
            }
          });
      }
      dump.set(
        collection,
        raws.map((r, i) => toDocument(r, file, collection, i, legacy)),
      );
    }
    return dump;
  }
  const parsed = parseJson(fs.readFileSync(target, 'utf8'), target);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new DumpError(target, undefined, undefined, 'must hold {"<collection>": [documents], ...}');
  for (const [collection, docs] of Object.entries(parsed as Document)) {
    if (!COLLECTION_NAME.test(collection))
      throw new DumpError(target, collection, undefined, 'is not a valid collection name');
    if (!Array.isArray(docs))
      throw new DumpError(target, collection, undefined, 'must be an array of documents');
    dump.set(
      collection,
      docs.map((r, i) => toDocument(r, target, collection, i, legacy)),
    );
  }
  return dump;
}

export interface ImportResult {
  inserted: Record<string, number>;
}

/** Insert a dump; duplicates inside it or against existing documents fail before anything is written. */
export async function importDump(
  db: Db,
  dump: Dump,
  options: { drop?: boolean; file?: string } = {},
): Promise<ImportResult> {
  const file = options.file ?? 'dump';
  for (const [collection, docs] of dump) {
    const seen = new Set<string>();
    docs.forEach((d, i) => {
      const key = EJSON.stringify(d._id);
      if (seen.has(key)) throw new DumpError(file, collection, i, `duplicate _id ${key} within the dump`);
      seen.add(key);
    });
    if (!options.drop && docs.length) {
      const clash = await db
        .collection(collection)
        .findOne({ _id: { $in: docs.map((d) => d._id) } }, { projection: { _id: 1 } });
      if (clash)
        throw new DumpError(
          file,
          collection,
          undefined,
          `_id ${EJSON.stringify(clash._id)} already exists in the database (use --drop to replace the collections)`,
        );
    }
  }
  const inserted: Record<string, number> = {};
  for (const [collection, docs] of dump) {
    if (options.drop) await db.collection(collection).deleteMany({});
    inserted[collection] = docs.length
      ? (await db.collection(collection).insertMany(docs, { ordered: true, bypassDocumentValidation: true }))
          .insertedCount
      : 0;
  }
  return { inserted };
}

/** Every collection of the database as `{"<collection>": [documents]}` in relaxed Extended JSON (views are not data: left out). */
export async function exportDump(db: Db): Promise<string> {
  const out: Document = {};
  const names = (await db.listCollections({}, { nameOnly: true }).toArray())
    .filter((c) => c.type !== 'view')
    .map((c) => c.name)
    .filter((n) => !n.startsWith('system.'))
    .sort();
  for (const name of names) out[name] = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
  return EJSON.stringify(out, undefined, 2, { relaxed: true }) + '\n';
}
