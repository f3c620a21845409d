/** The query planner of a collection: `_id` lookups, index scans (equality, `$in`, ranges, sorts) or a collection scan. */
import { ObjectId } from 'bson';
import type { Document } from 'bson';
import { keyOf, typeRank } from './bson-order';
import type { Bound, Index } from './index-tree';
import type { SortSpec } from './query-engine';

export interface Plan {
  stage: 'IDHACK' | 'IXSCAN' | 'COLLSCAN';
  indexName?: string;
  /** Candidate `_id` keys (undefined for a collection scan). */
  ids?: Iterable<string>;
  /** True when candidates come in the order of the requested sort. */
  sorted: boolean;
  /** True when every candidate matches the filter (an equality or `$in` that is the whole filter). */
  exact?: boolean;
}

/** What the planner reads of a collection: its secondary indexes and its `_id` index. */
export interface PlannerView {
  readonly indexes: ReadonlyMap<string, Index>;
  idIndex(): Index;
}

/** Choose how to answer `filter` (and `sort`): `_id` lookup, an index scan, or a collection scan. */
export function planQuery(coll: PlannerView, filter: Document | undefined, sort?: SortSpec): Plan {
  const f = filter ?? {};
  const idEq = equalityValues(f._id);
  if (idEq) {
    // mongod answers a single `_id` equality with IDHACK and `_id: {$in}` with an IXSCAN of `_id_`.
    const single = idEq.length === 1 && !(f._id && typeof f._id === 'object' && '$in' in (f._id as Document));
    return {
      stage: single ? 'IDHACK' : 'IXSCAN',
      indexName: '_id_',
      ids: [...new Set(idEq.map(keyOf))],
      sorted: false,
      // The candidates are exactly the matches when the equality is the whole filter.
      exact: Object.keys(f).length === 1,
    };
  }
  // the index whose leading fields the filter fixes the most (equality or $in), as mongod prefers the tightest bounds
  let best: { index: Index; prefix: unknown[][] } | undefined;
  for (const index of coll.indexes.values()) {
    if (index.collation) continue;
    const prefix = equalityPrefix(index, f);
    if (prefix.length > (best?.prefix.length ?? 0)) best = { index, prefix };
  }
  if (best)
    return {
      stage: 'IXSCAN',
      indexName: best.index.name,
      ids:
        best.prefix.length === 1 ? best.index.equalAny(best.prefix[0]) : best.index.equalPrefix(best.prefix),
      sorted: false,
      // the candidates are exactly the matches when those equalities are the whole filter
      exact: Object.keys(f).length === best.prefix.length,
    };
  for (const index of coll.indexes.values()) {
    if (index.collation) continue;
    const cond = f[index.firstField];
    const range = rangeBounds(cond);
    if (range && !index.spec.partialFilterExpression) {
      const sorted = sortIs(sort, index.firstField, 1);
      return {
        stage: 'IXSCAN',
        indexName: index.name,
        ids: unique(index.range(range.low, range.high)),
        sorted,
      };
    }
  }
  const idRange = rangeBounds(f._id);
  if (idRange) {
    return {
      stage: 'IXSCAN',
      indexName: '_id_',
      ids: coll.idIndex().range(idRange.low, idRange.high),
      sorted: sortIs(sort, '_id', 1),
    };
  }
  if (sort && Object.keys(sort).length === 1) {
    const [field, dir] = Object.entries(sort)[0];
    const index =
      field === '_id'
        ? coll.idIndex()
        : [...coll.indexes.values()].find((i) => i.firstField === field && i.complete && !i.collation);
    if (index)
      return { stage: 'IXSCAN', indexName: index.name, ids: unique(index.ordered(dir < 0)), sorted: true };
  }
  return { stage: 'COLLSCAN', sorted: false };
}

/** Key tuples an index scan may probe at most (a product of `$in` lists): past it, fewer fields are used. */
const MAX_TUPLES = 100_000;

/** The equality or `$in` values of the index's leading fields the filter fixes (as many as it fixes in a row). */
function equalityPrefix(index: Index, f: Document): unknown[][] {
  const prefix: unknown[][] = [];
  let tuples = 1;
  for (const [field] of index.fields) {
    const eq = equalityValues(f[field]);
    if (!eq || !(index.complete || (!index.spec.partialFilterExpression && eq.every((v) => v !== null))))
      break;
    tuples *= eq.length;
    if (prefix.length && tuples > MAX_TUPLES) break;
    prefix.push(eq);
  }
  return prefix;
}

export function unique(ids: Iterable<string>): Iterable<string> {
  return (function* () {
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      yield id;
    }
  })();
}

export function* mapIter<T, U>(it: Iterable<T>, fn: (t: T) => U): IterableIterator<U> {
  for (const x of it) yield fn(x);
}

export function sortIs(sort: SortSpec | undefined, field: string, dir: number): boolean {
  if (!sort) return false;
  const entries = Object.entries(sort);
  return entries.length === 1 && entries[0][0] === field && entries[0][1] === dir;
}

/** Bounds of a pure range predicate (`$gt`/`$gte`/`$lt`/`$lte` with scalar values), else undefined. */
export function rangeBounds(cond: unknown): { low?: Bound; high?: Bound } | undefined {
  if (!cond || typeof cond !== 'object' || Array.isArray(cond) || isPlainScalar(cond)) return undefined;
  const entries = Object.entries(cond as Document);
  if (entries.length === 0) return undefined;
  const out: { low?: Bound; high?: Bound } = {};
  for (const [op, v] of entries) {
    if (!isPlainScalar(v) && typeof v !== 'string') return undefined;
    if (op === '$gt' || op === '$gte') out.low = { value: v, inclusive: op === '$gte' };
    else if (op === '$lt' || op === '$lte') out.high = { value: v, inclusive: op === '$lte' };
    else return undefined;
  }
  if (out.low && out.high && typeRank(out.low.value) !== typeRank(out.high.value)) return undefined;
  return out;
}

/** The values of an equality or `$in` predicate on scalars, else undefined. */
export function equalityValues(cond: unknown): unknown[] | undefined {
  if (cond === undefined) return undefined;
  if (isPlainScalar(cond)) return [cond];
  if (cond && typeof cond === 'object' && !Array.isArray(cond)) {
    const keys = Object.keys(cond as Document);
    if (keys.length !== 1) return undefined;
    const v = (cond as Document)[keys[0]];
    if (keys[0] === '$eq' && isPlainScalar(v)) return [v];
    if (keys[0] === '$in' && Array.isArray(v) && v.every(isPlainScalar)) return v;
  }
  return undefined;
}

export function isPlainScalar(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return true;
  if (typeof v !== 'object') return false;
  if (v instanceof ObjectId || v instanceof Date) return true;
  const t = (v as { _bsontype?: string })._bsontype;
  return t === 'Int32' || t === 'Double' || t === 'Long' || t === 'Decimal128';
}
