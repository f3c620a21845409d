import { Decimal128, Double, Long, ObjectId } from 'bson';
import type { Document } from 'bson';
import { Aggregator } from 'mingo/aggregator';
import { Context } from 'mingo/core';
import { Query } from 'mingo/query';
import { evalExpr, OpType } from 'mingo/core';
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
import { bsonTypeName, compareBson, isNumeric, keyOf, matchesBsonType, toNumber } from './bson-order';
import { CommandError, ErrorCode } from './errors';
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
    out[k] = n;
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
  decorated.sort((a, b) => {
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

function convertTo(value: unknown, to: string): unknown {
  if (value === null || value === undefined) return null;
  switch (to) {
    case 'string':
      if (typeof value === 'string') return value;
      if (value instanceof ObjectId) return value.toHexString();
      if (value instanceof Date) return value.toISOString();
      if (isNumeric(value))
        return value instanceof Decimal128 || value instanceof Long
          ? value.toString()
          : String(toNumber(value));
      if (typeof value === 'boolean') return String(value);
      break;
    case 'objectId':
      if (value instanceof ObjectId) return value;
      if (typeof value === 'string' && /^[0-9a-fA-F]{24}$/.test(value)) return new ObjectId(value);
      break;
    case 'date':
      if (value instanceof Date) return value;
      if (value instanceof ObjectId) return value.getTimestamp();
      if (typeof value === 'string') {
        const d = new Date(value);
        if (!Number.isNaN(d.getTime())) return d;
      }
      if (isNumeric(value)) return new Date(toNumber(value));
      break;
    case 'int':
    case 'long':
      if (isNumeric(value)) return Math.trunc(toNumber(value));
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value);
      if (value instanceof Date) return value.getTime();
      break;
    case 'double':
    case 'decimal':
      if (isNumeric(value)) return toNumber(value);
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)))
        return Number(value);
      if (value instanceof Date) return value.getTime();
      break;
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (isNumeric(value)) return toNumber(value) !== 0;
      return true;
    default:
      throw new CommandError(ErrorCode.BadValue, `Unknown type name: ${to}`);
  }
  throw new CommandError(
    ErrorCode.ConversionFailure,
    `Unsupported conversion from ${bsonTypeName(value)} to ${to} in $convert with no onError value`,
  );
}

const typeCodes = new Map<number, string>([
  [1, 'double'],
  [2, 'string'],
  [7, 'objectId'],
  [8, 'bool'],
  [9, 'date'],
  [16, 'int'],
  [18, 'long'],
  [19, 'decimal'],
]);

function converter(to: string) {
  return (obj: unknown, expr: unknown, options: Options): unknown =>
    convertTo(evalExpr(obj, expr, options), to);
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

/** The arguments of `$regexMatch`/`$regexFind`/`$regexFindAll`: null input matches nothing. */
function regexArgs(obj: unknown, expr: unknown, options: Options): { input: string | null; re: Regex } {
  const spec = expr as Document;
  const input = evalExpr(obj, spec.input, options);
  const regex = evalExpr(obj, spec.regex, options);
  const opts = spec.options === undefined ? '' : String(evalExpr(obj, spec.options, options) ?? '');
  if (input !== null && input !== undefined && typeof input !== 'string')
    throw new CommandError(ErrorCode.BadValue, '$regex operators need a string input');
  const re = asRegex(regex);
  return {
    input: typeof input === 'string' ? input : null,
    re: re && !opts ? re : compileRegex(re ? re.source : String(regex), `${re?.options ?? ''}${opts}`),
  };
}

/** One `$regexFind` result: the match, its index in code points, and the captures. */
function foundAt(input: string, m: { index: number; end: number; groups: (string | undefined)[] }): Document {
  return {
    match: input.slice(m.index, m.end),
    idx: [...input.slice(0, m.index)].length,
    captures: m.groups.map((g) => g ?? null),
  };
}

const regexExpressions = {
  $regexMatch: (obj: unknown, expr: unknown, options: Options): boolean => {
    const { input, re } = regexArgs(obj, expr, options);
    return input !== null && re.test(input);
  },
  $regexFind: (obj: unknown, expr: unknown, options: Options): Document | null => {
    const { input, re } = regexArgs(obj, expr, options);
    const m = input === null ? null : re.exec(input);
    return m ? foundAt(input!, m) : null;
  },
  $regexFindAll: (obj: unknown, expr: unknown, options: Options): Document[] => {
    const { input, re } = regexArgs(obj, expr, options);
    const out: Document[] = [];
    for (let from = 0, m; input !== null && from <= input.length && (m = re.exec(input, from));) {
      out.push(foundAt(input, m));
      from = m.end > m.index ? m.end : m.end + 1;
    }
    return out;
  },
};

const customExpressions = {
  ...regexExpressions,
  $type: (obj: unknown, expr: unknown, options: Options): unknown => {
    const v = evalExpr(obj, Array.isArray(expr) ? expr[0] : expr, options);
    return bsonTypeName(v);
  },
  $toString: converter('string'),
  $toObjectId: converter('objectId'),
  $toDate: converter('date'),
  $toInt: converter('int'),
  $toLong: converter('long'),
  $toDouble: converter('double'),
  $toDecimal: converter('decimal'),
  $toBool: converter('bool'),
  $isNumber: (obj: unknown, expr: unknown, options: Options): unknown =>
    isNumeric(evalExpr(obj, expr, options)),
  $convert: (obj: unknown, expr: unknown, options: Options): unknown => {
    const spec = expr as Document;
    const input = evalExpr(obj, spec.input, options);
    const toRaw = evalExpr(obj, spec.to, options);
    const to = typeof toRaw === 'number' ? typeCodes.get(toRaw) : String(toRaw);
    if (input === null || input === undefined)
      return 'onNull' in spec ? evalExpr(obj, spec.onNull, options) : null;
    try {
      return convertTo(input, to ?? 'unknown');
    } catch (e) {
      if ('onError' in spec) return evalExpr(obj, spec.onError, options);
      throw e;
    }
  },
};

function bsonSort(coll: LazyIterator, spec: unknown): LazyIterator {
  const sort = parseSort(spec);
  if (!sort) throw new CommandError(ErrorCode.BadValue, '$sort stage must have at least one sort key');
  return coll.transform((docs) => Lazy(sortDocuments(docs as Document[], sort)));
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
  const parts = path.split('.');
  let cur = doc;
  for (const p of parts.slice(0, -1)) {
    if (!cur[p] || typeof cur[p] !== 'object') cur[p] = {};
    cur = cur[p] as Document;
  }
  cur[parts[parts.length - 1]] = value;
}

function makeJsonSchemaPredicate(schema: Document): Predicate {
  checkSchema(schema);
  return compileSchema(schema);
}

const CONTEXT = Context.init({
  accumulator: accumulatorOperators,
  expression: { ...expressionOperators, ...customExpressions } as never,
  pipeline: { ...pipelineOperators, $sort: bsonSort, $lookup: indexedLookup } as never,
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
    return agg.run(Array.isArray(docs) ? docs : [...docs]) as Document[];
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
  for (const [k, x] of Object.entries(v as Document)) out[k] = structuredCloneBson(x);
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
