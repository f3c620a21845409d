/** Reading documents out of a collection: filtering raw BSON, time limits, skip/limit/projection, and plans. */
import type { Document } from 'bson';
import { keyOf } from '../bson-order';
import { CommandError, ErrorCode } from '../errors';
import { checkTimeLimit, SCAN_PAUSE } from '../cursors';
import { compileCollated } from '../collation';
import type { Collation } from '../collation';
import { rawSchemaCheck } from '../raw-schema';
import type { RawSchemaCheck } from '../raw-schema';
import { project, simpleInclusion } from '../projection';
import { compileFilter } from '../query-engine';
import type { SortSpec } from '../query-engine';
import { decodeFields, filterFields, pickFields, RawDocument } from '../raw-bson';
import type { Collection } from '../collection';
import { decode } from '../collection';

export function matching(
  coll: Collection | undefined,
  filter: Document | undefined,
  who?: string,
  collation?: Collation,
): Document[] {
  if (!coll) return [];
  if (collation) {
    // indexes order strings binary: a collated query reads every document
    const pred = compileCollated(filter, collation);
    return Array.from(timed(coll.rawCandidates({}, who).bufs), (b) => decode(b)).filter(pred);
  }
  const { bufs, plan } = coll.rawCandidates(filter, who);
  const out: Document[] = [];
  for (const buf of rawMatching(bufs, filter, plan.exact === true)) out.push(decode(buf));
  return out;
}

/** `docs`, checking the operation's time limit every few hundred documents. */
export function* timed<T>(docs: Iterable<T>): Generator<T> {
  let n = 0;
  for (const d of docs) {
    if ((++n & 255) === 0) checkTimeLimit();
    yield d;
  }
}

/**
 * The matching documents as BSON bytes, decoding only the fields the filter reads (nothing when exact). With
 * `pauses`, for cursors, it yields a pause marker every 1,024 documents scanned (see SCAN_PAUSE).
 */
export function* rawMatching(
  bufs: Iterable<Uint8Array>,
  filter: Document | undefined,
  exact: boolean,
  pauses = false,
): Generator<Uint8Array> {
  if (exact || !filter || Object.keys(filter).length === 0) {
    yield* bufs;
    return;
  }
  const pred = compileFilter(filter);
  const fields = filterFields(filter);
  // `{$nor: [{$jsonSchema}]}` (the documents failing a schema, as schema plan and the auditor ask): most documents
  // are valid, and the raw check proves it from the element types without decoding them.
  const certainlyValid = schemaViolationsQuery(filter);
  let scanned = 0;
  for (const buf of bufs) {
    if (!certainlyValid?.(buf) && pred(fields ? decodeFields(buf, fields) : decode(buf))) yield buf;
    if ((++scanned & 255) === 0) {
      checkTimeLimit();
      if (pauses && (scanned & 1023) === 0) yield PAUSE_BUF;
    }
  }
}

export function schemaViolationsQuery(filter: Document): RawSchemaCheck | undefined {
  const nor = filter.$nor as unknown;
  if (Object.keys(filter).length !== 1 || !Array.isArray(nor) || nor.length !== 1) return undefined;
  const clause = nor[0] as unknown;
  if (!clause || typeof clause !== 'object' || Object.keys(clause).length !== 1) return undefined;
  const schema = (clause as Document).$jsonSchema as unknown;
  return schema && typeof schema === 'object' && !Array.isArray(schema)
    ? rawSchemaCheck(schema as Document)
    : undefined;
}

export const PAUSE_BUF = new Uint8Array(0);

/** Skip, limit and shape raw documents: copied as they are, or cut to an inclusion projection without decoding. */
export function* skipLimitRaw(
  src: Iterable<Uint8Array>,
  skip: number,
  limit: number,
  projection: Document | undefined,
  filter?: Document,
): Generator<Document> {
  const inclusion = projection && Object.keys(projection).length ? simpleInclusion(projection) : undefined;
  const names = inclusion ? new Set(inclusion.names) : undefined;
  let skipped = 0;
  let given = 0;
  for (const buf of src) {
    if (buf === PAUSE_BUF) {
      yield SCAN_PAUSE;
      continue;
    }
    if (skipped < skip) {
      skipped++;
      continue;
    }
    if (limit > 0 && given >= limit) return;
    given++;
    if (!projection || Object.keys(projection).length === 0) yield new RawDocument(buf);
    else if (inclusion) yield new RawDocument(pickFields(buf, names!, inclusion.withId));
    else yield project(decode(buf), projection, filter);
  }
}

export function* skipLimitProject(
  src: Iterable<Document>,
  skip: number,
  limit: number,
  projection: Document | undefined,
  filter?: Document,
): Generator<Document> {
  let skipped = 0;
  let given = 0;
  for (const doc of src) {
    if (skipped < skip) {
      skipped++;
      continue;
    }
    if (limit > 0 && given >= limit) return;
    given++;
    yield project(doc, projection, filter);
  }
}

export function planDoc(
  plan: { stage: string; indexName?: string; sorted?: boolean },
  sort?: SortSpec,
): Document {
  let doc: Document;
  if (plan.stage === 'IDHACK') doc = { stage: 'IDHACK' };
  else if (plan.stage === 'IXSCAN')
    doc = { stage: 'FETCH', inputStage: { stage: 'IXSCAN', indexName: plan.indexName } };
  else doc = { stage: plan.stage };
  if (sort && !plan.sorted) doc = { stage: 'SORT', sortPattern: sort, inputStage: doc };
  return doc;
}

/**
 * A `hint` must name an index the collection has (by name or key pattern) or be `{$natural: ±1}`: mongod answers
 * BadValue otherwise. A missing collection takes any hint (it has no plan to make).
 */
export function checkHint(coll: Collection | undefined, hint: unknown): void {
  if (hint === undefined || hint === null || !coll) return;
  if (typeof hint === 'string') {
    if (hint === '_id_' || coll.indexes.has(hint)) return;
  } else if (typeof hint === 'object' && !Array.isArray(hint)) {
    const key = keyOf(hint);
    if (Object.keys(hint)[0] === '$natural' || key === keyOf({ _id: 1 })) return;
    if ([...coll.indexes.values()].some((i) => keyOf(i.spec.key) === key)) return;
  } else throw hintTypeError(hint);
  throw new CommandError(ErrorCode.BadValue, 'hint provided does not correspond to an existing index');
}

function hintTypeError(hint: unknown): CommandError {
  const type = Array.isArray(hint) ? 'array' : typeof hint;
  return new CommandError(
    ErrorCode.TypeMismatch,
    `BSON field 'hint' is the wrong type '${type}', expected types '[string, object]'`,
  );
}

/** The hints of update or delete statements have the right type (a wrong one fails the whole command, as parsing does in mongod). */
export function checkHintTypes(statements: unknown[]): void {
  for (const st of statements) {
    const hint = (st as { hint?: unknown } | null)?.hint;
    if (hint === undefined || hint === null || typeof hint === 'string') continue;
    if (typeof hint !== 'object' || Array.isArray(hint)) throw hintTypeError(hint);
  }
}
