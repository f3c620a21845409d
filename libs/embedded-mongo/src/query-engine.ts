import { Double, ObjectId } from 'bson';
import type { Document } from 'bson';
import { Aggregator } from 'mingo/aggregator';
import { Context } from 'mingo/core';
import { Query } from 'mingo/query';
import { OpType } from 'mingo/core';
import * as accumulatorOperators from 'mingo/operators/accumulator';
import * as expressionOperators from 'mingo/operators/expression';
import * as pipelineOperators from 'mingo/operators/pipeline';
import * as projectionOperators from 'mingo/operators/projection';
import * as queryOperators from 'mingo/operators/query';
import * as windowOperators from 'mingo/operators/window';
import { Lazy } from 'mingo/lazy';
import type { Iterator as LazyIterator } from 'mingo/lazy';
import type { Options } from 'mingo/types';
import { updateOne } from 'mingo/updater';
import type { Modifier, PipelineStage } from 'mingo/updater';
import { compareBson, keyOf, matchesBsonType, toNumber } from './bson-order';
import { budgetedAll, stageMeter } from './budget';
import { bounded, boundedRange, customExpressions, metered } from './expression-operators';
import type { AccumulatorOp, PipelineOp } from './expression-operators';
import { checkTimeLimit } from './cursors';
import { CommandError, ErrorCode } from './errors';
import { setOwn, setOwnPath } from './own';
import { applySimpleUpdate } from './simple-update';
import { checkSchema } from './json-schema';
import { compileSchema } from './json-schema-compile';
import { asRegex, compileRegex } from './regex';
import type { Regex } from './regex';

export type Predicate = (doc: Document) => boolean;

/** Every value a dotted path reaches, expanding arrays as MongoDB's query matching does. */
export function pathValues(doc: unknown, path: string): unknown[] {
  const parts = path.split('.');
  const out: unknown[] = [];
  const walk = (v: unknown, i: number): void => {
    if (i === parts.length) {
      out.push(v);
      return;
    }
    if (Array.isArray(v)) {
      const idx = /^\d+$/.test(parts[i]) ? Number(parts[i]) : -1;
      if (idx >= 0 && idx < v.length) walk(v[idx], i + 1);
      for (const el of v) if (el !== null && typeof el === 'object' && !Array.isArray(el)) walk(el, i);
      return;
    }
    if (v === null || typeof v !== 'object' || isBsonScalar(v)) return;
    const next = (v as Document)[parts[i]];
    if (next === undefined) return;
    walk(next, i + 1);
  };
  walk(doc, 0);
  return out;
}

function isBsonScalar(v: object): boolean {
  return (
    v instanceof Date || v instanceof RegExp || typeof (v as { _bsontype?: string })._bsontype === 'string'
  );
}

/** The value used to sort a document on `path` in direction `dir` (arrays sort by their min or max element). */
export function sortKey(doc: Document, path: string, dir: number): unknown {
  const values: unknown[] = [];
  for (const v of pathValues(doc, path)) {
    if (Array.isArray(v)) {
      if (v.length === 0 && values.length === 0) values.push(undefined);
      values.push(...v);
    } else values.push(v);
  }
  if (values.length === 0) return null;
  let best = values[0];
  for (const v of values.slice(1)) {
    const c = compareBson(v, best);
    if (dir > 0 ? c < 0 : c > 0) best = v;
  }
  return best;
}

export type SortSpec = Record<string, number>;

export function parseSort(sort: unknown): SortSpec | undefined {
  if (sort === undefined || sort === null) return undefined;
  if (typeof sort !== 'object' || Array.isArray(sort))
    throw new CommandError(ErrorCode.TypeMismatch, 'sort must be an object');
  const out: SortSpec = {};
  for (const [k, v] of Object.entries(sort as Document)) {
    const n = toNumber(v);
    if (n !== 1 && n !== -1) {
      if (v && typeof v === 'object' && (v as Document).$meta) continue;
      throw new CommandError(
        ErrorCode.BadValue,
        `$sort key ordering must be 1 (for ascending) or -1 (for descending)`,
      );
    }
    setOwn(out, k, n);
  }
  return Object.keys(out).length ? out : undefined;
}

export function sortDocuments<T extends Document>(
  docs: T[],
  spec: SortSpec,
  compare: (a: unknown, b: unknown) => number = compareBson,
): T[] {
  const keys = Object.entries(spec);
  const decorated = docs.map((d, i) => ({ d, i, k: keys.map(([p, dir]) => sortKey(d, p, dir)) }));
  let comparisons = 0;
  decorated.sort((a, b) => {
    // a sort is bounded by the time limit too (a throw from the comparator ends Array.prototype.sort)
    if ((++comparisons & 0x3ff) === 0) checkTimeLimit();
    for (let j = 0; j < keys.length; j++) {
      const c = compare(a.k[j], b.k[j]);
      if (c !== 0) return c * keys[j][1];
    }
    return a.i - b.i;
  });
  return decorated.map((x) => x.d);
}

// ---- BSON-aware operators mingo lacks ----

const $typeQuery = (selector: string, value: unknown): Predicate => {
  const types = Array.isArray(value) ? value : [value];
  return (doc) => {
    const values = pathValues(doc, selector);
    return values.some(
      (v) =>
        types.some((t) => matchesBsonType(v, t)) ||
        (Array.isArray(v) && v.some((el) => types.some((t) => matchesBsonType(el, t)))),
    );
  };
};

/**
 * `$in` with a hash set of the values (mingo compares each value with a deep equality: O(values) per
 * document). Matches when the field, or an element of an array field, equals a value or matches a regex
 * value; `null` matches a missing field.
 */
function inPredicate(selector: string, values: unknown): Predicate {
  if (!Array.isArray(values)) throw new CommandError(ErrorCode.BadValue, '$in needs an array');
  const keys = new Set<string>();
  const regexes: Regex[] = [];
  for (const v of values) {
    const re = asRegex(v);
    if (re) regexes.push(re);
    else if (
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      Object.keys(v as Document).some((k) => k.startsWith('$'))
    ) {
      throw new CommandError(ErrorCode.BadValue, 'cannot nest $ under $in');
    } else keys.add(keyOf(v));
  }
  return (doc) => {
    const found = pathValues(doc, selector);
    if (found.length === 0) return keys.has(keyOf(null));
    for (const v of found) {
      if (keys.has(keyOf(v))) return true;
      if (Array.isArray(v)) {
        for (const el of v) {
          if (keys.has(keyOf(el))) return true;
          if (typeof el === 'string' && regexes.some((r) => r.test(el))) return true;
        }
      } else if (typeof v === 'string' && regexes.some((r) => r.test(v))) return true;
    }
    return false;
  };
}

function ninPredicate(selector: string, values: unknown): Predicate {
  const inside = inPredicate(selector, values);
  return (doc) => !inside(doc);
}

/** `$regex` (and a regex value, which mingo turns into `$regex`) on any string at the path, through RE2. */
const $regexQuery = (selector: string, value: unknown): Predicate => {
  const re = asRegex(value) ?? compileRegex(String(value));
  return (doc) =>
    pathValues(doc, selector).some(
      (v) =>
        (typeof v === 'string' && re.test(v)) ||
        (Array.isArray(v) && v.some((el) => typeof el === 'string' && re.test(el))),
    );
};

function bsonSort(coll: LazyIterator, spec: unknown): LazyIterator {
  const sort = parseSort(spec);
  if (!sort) throw new CommandError(ErrorCode.BadValue, '$sort stage must have at least one sort key');
  return coll.transform((docs) => {
    const meter = stageMeter('$sort');
    for (const d of docs) meter(d);
    return Lazy(sortDocuments(docs as Document[], sort));
  });
}

/**
 * `$lookup` with localField/foreignField resolved through the resolver's `lookup` (one `$in` query per batch,
 * answered by the foreign collection's `_id` or secondary index); the pipeline form goes to mingo.
 */
function indexedLookup(coll: LazyIterator, expr: unknown, options: Options): LazyIterator {
  const spec = expr as Document;
  const resolver = options.collectionResolver as CollectionResolver | undefined;
  if (spec.pipeline !== undefined || typeof spec.localField !== 'string' || !resolver?.lookup) {
    return (pipelineOperators.$lookup as (c: LazyIterator, e: unknown, o: Options) => LazyIterator)(
      coll,
      expr,
      options,
    );
  }
  const { from, localField, foreignField, as } = spec as {
    from: string;
    localField: string;
    foreignField: string;
    as: string;
  };
  return coll.transform((input) => {
    const docs = input as Document[];
    const localValues = docs.map((d) => {
      const vals = pathValues(d, localField).flatMap((v) => (Array.isArray(v) ? v : [v]));
      return vals.length ? vals : [null];
    });
    const wanted = new Map<string, unknown>();
    for (const vals of localValues) for (const v of vals) wanted.set(keyOf(v), v);
    const foreign = resolver.lookup!(from, foreignField, [...wanted.values()]);
    const byKey = new Map<string, Document[]>();
    for (const f of foreign) {
      const vals = pathValues(f, foreignField).flatMap((v) => (Array.isArray(v) ? v : [v]));
      for (const k of new Set((vals.length ? vals : [null]).map(keyOf))) {
        const list = byKey.get(k);
        if (list) list.push(f);
        else byKey.set(k, [f]);
      }
    }
    const out = docs.map((d, i) => {
      const seen = new Set<Document>();
      for (const v of localValues[i]) for (const f of byKey.get(keyOf(v)) ?? []) seen.add(f);
      const copy = { ...d };
      setField(
        copy,
        as,
        [...seen].map((f) => structuredCloneBson(f)),
      );
      return copy;
    });
    return Lazy(out);
  });
}

function setField(doc: Document, path: string, value: unknown): void {
  setOwnPath(doc, path, value);
}

function makeJsonSchemaPredicate(schema: Document): Predicate {
  checkSchema(schema);
  return compileSchema(schema);
}

const CONTEXT = Context.init({
  accumulator: {
    ...accumulatorOperators,
    $push: bounded('$push', accumulatorOperators.$push as AccumulatorOp),
    $addToSet: bounded('$addToSet', accumulatorOperators.$addToSet as AccumulatorOp),
  } as never,
  // every expression operator checks the time limit before it runs and the size of what it built after
  expression: budgetedAll({ ...expressionOperators, ...customExpressions, $range: boundedRange }) as never,
  pipeline: {
    ...pipelineOperators,
    $sort: bsonSort,
    $lookup: indexedLookup,
    $group: metered('$group', pipelineOperators.$group as PipelineOp),
    $bucket: metered('$bucket', pipelineOperators.$bucket as PipelineOp),
    $bucketAuto: metered('$bucketAuto', pipelineOperators.$bucketAuto as PipelineOp),
    $setWindowFields: metered('$setWindowFields', pipelineOperators.$setWindowFields as PipelineOp),
  } as never,
  projection: projectionOperators,
  query: {
    ...queryOperators,
    $type: $typeQuery,
    $in: inPredicate,
    $nin: ninPredicate,
    $regex: $regexQuery,
  } as never,
  window: windowOperators,
});

/** Gives `$lookup` the documents of a collection; `lookup` answers `field $in values` through indexes. */
export type CollectionResolver = ((name: string) => Document[]) & {
  lookup?: (name: string, field: string, values: unknown[]) => Document[];
};

export function engineOptions(
  resolver?: CollectionResolver,
  variables?: Document,
  collation?: Document,
): Partial<Options> {
  return {
    collation: collation as Options['collation'],
    context: CONTEXT,
    idKey: '_id',
    useStrictMode: true,
    scriptEnabled: false,
    jsonSchemaValidator: makeJsonSchemaPredicate as never,
    collectionResolver: resolver as never,
    variables,
  };
}

export const OPTIONS = engineOptions();

export function wrapEngineError(e: unknown): CommandError {
  if (e instanceof CommandError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new CommandError(ErrorCode.BadValue, message);
}

const compiled = new WeakMap<Document, Predicate>();

/** Compile a query filter (cached per filter object); throws a BadValue CommandError for a filter mongod would reject. */
export function compileFilter(filter: Document | undefined): Predicate {
  if (!filter || Object.keys(filter).length === 0) return () => true;
  const cached = compiled.get(filter);
  if (cached) return cached;
  const pred = compileUncached(filter);
  compiled.set(filter, pred);
  return pred;
}

function compileUncached(filter: Document): Predicate {
  if (typeof filter !== 'object' || Array.isArray(filter))
    throw new CommandError(ErrorCode.TypeMismatch, 'filter must be an object');
  for (const key of Object.keys(filter)) {
    if (
      key.startsWith('$') &&
      !['$and', '$or', '$nor', '$expr', '$jsonSchema', '$comment', '$text', '$where'].includes(key)
    ) {
      throw new CommandError(ErrorCode.BadValue, `unknown top level operator: ${key}`);
    }
  }
  try {
    const q = new Query(filter, OPTIONS);
    return (doc) => q.test(doc);
  } catch (e) {
    throw wrapEngineError(e);
  }
}

export function hasOperator(name: string): boolean {
  return CONTEXT.getOperator(OpType.PIPELINE, name) !== null;
}

/** Apply a projection (inclusion, exclusion, `$slice`, `$elemMatch`, expressions) to one document. */
export function runPipeline(
  docs: Iterable<Document>,
  pipeline: Document[],
  resolver: CollectionResolver,
  variables?: Document,
  collation?: Document,
): Document[] {
  try {
    const agg = new Aggregator(pipeline, engineOptions(resolver, variables, collation));
    // lazily: a pipeline that needs few documents ($limit, $match then $limit) reads only those
    return agg.run(docs) as Document[];
  } catch (e) {
    throw wrapEngineError(e);
  }
}

/** Apply an update (operators or a pipeline) to a copy of `doc`; returns the new document. */
export function applyUpdate(
  doc: Document,
  update: Document | Document[],
  arrayFilters: Document[] | undefined,
  filter: Document | undefined,
  variables?: Document,
): Document {
  const docs = [structuredCloneBson(doc)];
  try {
    if (Array.isArray(update)) {
      const out = runPipeline(docs, update, () => [], variables);
      return out[0];
    }
    if (applySimpleUpdate(docs[0], update, structuredCloneBson, arrayFilters)) return docs[0];
    const condition = filter && Object.keys(filter).length > 0 ? filter : {};
    updateOne(docs, condition, update as Modifier<Document>, { arrayFilters, cloneMode: 'deep' }, OPTIONS);
    return docs[0];
  } catch (e) {
    const err = wrapEngineError(e);
    if (/non-numeric|numeric type/i.test(err.message))
      throw new CommandError(ErrorCode.TypeMismatch, err.message);
    if (/include the array field for '\.\$'/.test(err.message))
      throw new CommandError(
        ErrorCode.BadValue,
        'The positional operator did not find the match needed from the query.',
      );
    throw err;
  }
}

export type UpdatePipeline = PipelineStage[];

/** Deep copy keeping BSON classes (structuredClone would turn ObjectIds into plain objects). */
export function structuredCloneBson<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(structuredCloneBson) as T;
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (isBsonScalarValue(v)) return v;
  const out: Document = {};
  for (const [k, x] of Object.entries(v as Document)) setOwn(out, k, structuredCloneBson(x));
  return out as T;
}

function isBsonScalarValue(v: object): boolean {
  return (
    v instanceof ObjectId ||
    v instanceof Double ||
    v instanceof RegExp ||
    typeof (v as { _bsontype?: string })._bsontype === 'string'
  );
}
