import { MaxKey, MinKey, ObjectId } from 'bson';
import type { Document } from 'bson';
import BTree from 'sorted-btree';
import { compareBson, isNumeric, keyOf, toNumber, typeRank } from './bson-order';
import { CommandError, ErrorCode } from './errors';
import { collationKey, parseCollation } from './collation';
import type { Collation } from './collation';
import { compileFilter, pathValues } from './query-engine';

export interface IndexSpec extends Document {
  v: number;
  key: Document;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Document;
}

interface TreeKey {
  v: unknown[];
  id: string;
}

export interface Bound {
  value: unknown;
  inclusive: boolean;
}

const LOW_ID = '';
const HIGH_ID = '\uffff';
const MIN = new MinKey();
const MAX = new MaxKey();

function compareKeys(a: TreeKey, b: TreeKey): number {
  const n = Math.min(a.v.length, b.v.length);
  for (let i = 0; i < n; i++) {
    const x = a.v[i];
    const y = b.v[i];
    // Fast paths for the common key types (a tree lookup compares dozens of times); NaN goes the long way.
    if (typeof x === 'number' && typeof y === 'number' && x === x && y === y) {
      if (x !== y) return x < y ? -1 : 1;
      continue;
    }
    if (x instanceof ObjectId && y instanceof ObjectId) {
      const c = Buffer.compare(x.id, y.id);
      if (c !== 0) return c;
      continue;
    }
    const c = compareBson(x, y);
    if (c !== 0) return c;
  }
  if (a.v.length !== b.v.length) return a.v.length - b.v.length;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Whether `keyOf(v)` equal means BSON-equal for `v` (not so for Decimal128 or Long beyond 2^53, or documents). */
function exactKey(v: unknown): boolean {
  const t = typeof v;
  return t === 'number' || t === 'string' || t === 'boolean' || v instanceof ObjectId || v instanceof Date;
}

/**
 * The key of `v` in the equality hash: small integers as themselves (a number key needs no string and compares
 * without a memory load), whatever their BSON type, so that 5, 5.0 and NumberLong(5) share it; otherwise `keyOf`.
 */
function hashKey(v: unknown): string | number {
  const n = typeof v === 'number' ? v : isNumeric(v) ? toNumber(v) : undefined;
  if (n !== undefined && Number.isInteger(n) && n > -0x40000000 && n < 0x40000000) return n === 0 ? 0 : n;
  return keyOf(v);
}

/** The smallest value of the BSON type bracket of `v` (MongoDB range predicates stay within one bracket). */
function bracketLow(v: unknown): unknown {
  switch (typeRank(v)) {
    case 3:
      return -Infinity;
    case 4:
      return '';
    case 8:
      return new ObjectId('000000000000000000000000');
    case 9:
      return false;
    case 10:
      return new Date(-8.64e15);
    default:
      return MIN;
  }
}

/**
 * An index: a B+ tree of (key values, _id key) pairs, answering equality, `$in`, ranges and ordered scans
 * on its first field, and unique-key conflicts on the whole key.
 */
export class Index {
  readonly fields: [string, number | string][];
  private readonly partial?: (doc: Document) => boolean;
  private readonly tree = new BTree<TreeKey, true>(undefined, compareKeys, 64);
  /**
   * Equality shortcut on the first field, keyed by `keyOf` of the value: the `_id` key of the only entry
   * holding it, or the number of entries when several do (or when the value's `keyOf` is not exact, e.g.
   * Decimal128), which sends `equal` to the tree. A hash probe costs about a quarter of a tree descent.
   */
  private readonly firstKeys = new Map<string | number, string | number>();
  /** Whether some document ever had more than one key in this index (array values). */
  private multikey = false;

  /** The index's collation: its string keys are collation keys, so it only checks uniqueness, never serves a query. */
  readonly collation?: Collation;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.entries(spec.key) as [string, number | string][];
    if (spec.partialFilterExpression) this.partial = compileFilter(spec.partialFilterExpression);
    this.collation = parseCollation(spec.collation);
  }

  get name(): string {
    return this.spec.name;
  }

  get unique(): boolean {
    return this.spec.unique === true;
  }

  get size(): number {
    return this.tree.size;
  }

  get firstField(): string {
    return this.fields[0][0];
  }

  /** Whether every document is in the index (a sparse or partial index can only answer some predicates). */
  get complete(): boolean {
    return !this.spec.sparse && !this.spec.partialFilterExpression;
  }

  /** The key values of a document (one entry per multikey combination); empty when the index does not cover it. */
  keysFor(doc: Document): unknown[][] {
    if (this.partial && !this.partial(doc)) return [];
    const perField = this.fields.map(([path]) => {
      const found = pathValues(doc, path).flatMap((v) =>
        Array.isArray(v) ? (v.length ? v : [undefined]) : [v],
      );
      return found.length ? found : [undefined];
    });
    if (this.spec.sparse && perField.every((vals) => vals.length === 1 && vals[0] === undefined)) return [];
    if (perField.filter((vals) => vals.length > 1).length > 1) {
      throw new CommandError(
        ErrorCode.BadValue,
        `cannot index parallel arrays [${this.fields.map(([p]) => p).join('] [')}]`,
      );
    }
    if (this.collation) {
      const c = this.collation;
      for (const vals of perField)
        vals.forEach((v, i) => typeof v === 'string' && (vals[i] = collationKey(c, v)));
    }
    if (perField.every((vals) => vals.length === 1))
      return [perField.map((vals) => (vals[0] === undefined ? null : vals[0]))];
    let combos: unknown[][] = [[]];
    for (const vals of perField)
      combos = combos.flatMap((c) => vals.map((v) => [...c, v === undefined ? null : v]));
    const seen = new Set<string>();
    return combos.filter((values) => {
      const k = values.map(keyOf).join('\u0000');
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  add(idKey: string, doc: Document): void {
    const keys = this.keysFor(doc);
    if (keys.length > 1) this.multikey = true;
    for (const v of keys) {
      if (!this.tree.set({ v, id: idKey }, true, false)) continue;
      const k = hashKey(v[0]);
      const held = this.firstKeys.get(k);
      if (held === undefined) this.firstKeys.set(k, exactKey(v[0]) ? idKey : 1);
      else this.firstKeys.set(k, typeof held === 'number' ? held + 1 : 2);
    }
  }

  remove(idKey: string, doc: Document): void {
    for (const v of this.keysFor(doc)) {
      if (!this.tree.delete({ v, id: idKey })) continue;
      const k = hashKey(v[0]);
      const held = this.firstKeys.get(k);
      if (typeof held === 'number' && held > 1) this.firstKeys.set(k, held - 1);
      else this.firstKeys.delete(k);
    }
  }

  /** Another document holding exactly `values`, if any. */
  conflict(values: unknown[], selfId: string): string | undefined {
    for (const [k] of this.tree.entries({ v: values, id: LOW_ID })) {
      if (compareKeys({ v: k.v, id: '' }, { v: values, id: '' }) !== 0) return undefined;
      if (k.id !== selfId) return k.id;
    }
    return undefined;
  }

  /** `_id` keys whose first field is within the bounds (both optional), in index order. */
  *range(low?: Bound, high?: Bound): IterableIterator<string> {
    const rest = this.fields.length - 1;
    const startValue = low ? low.value : high ? bracketLow(high.value) : MIN;
    const start: TreeKey = { v: [startValue, ...Array<unknown>(rest).fill(MIN)], id: LOW_ID };
    const rank = typeRank(low?.value ?? high?.value);
    for (const [k] of this.tree.entries(start)) {
      const first = k.v[0];
      if (low || high) {
        if (typeRank(first) !== rank) return;
        if (low && !low.inclusive && compareBson(first, low.value) === 0) continue;
        if (high) {
          const c = compareBson(first, high.value);
          if (c > 0 || (c === 0 && !high.inclusive)) return;
        }
      }
      yield k.id;
    }
  }

  /** `_id` keys of the entries whose first field equals one of `values`, each once. */
  equalAny(values: unknown[]): string[] {
    const out: string[] = [];
    if (!this.multikey && values.every(exactKey)) {
      // One entry per document, and values with distinct hash keys are distinct BSON values: no id can repeat.
      const seen = new Set<string | number>();
      for (const v of values) {
        const k = hashKey(v);
        if (seen.has(k)) continue;
        seen.add(k);
        const held = this.firstKeys.get(k);
        if (held === undefined) continue;
        if (typeof held === 'string') out.push(held);
        else for (const id of this.walk(v)) out.push(id);
      }
      return out;
    }
    const seen = new Set<string>();
    for (const v of values) {
      for (const id of this.equal(v)) {
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(id);
      }
    }
    return out;
  }

  /**
   * `_id` keys of the entries whose leading fields equal one of the value tuples (`prefix[i]`: the values of field
   * `i`), each once, as they are read (a `limit` stops the walk): one descent of the tree per tuple.
   */
  *equalPrefix(prefix: unknown[][]): IterableIterator<string> {
    let tuples: unknown[][] = [[]];
    for (const values of prefix) tuples = tuples.flatMap((t) => values.map((v) => [...t, v]));
    const lowest = Array<unknown>(this.fields.length - prefix.length).fill(MIN);
    const seen = new Set<string>();
    for (const t of tuples)
      for (const [k] of this.tree.entries({ v: [...t, ...lowest], id: LOW_ID })) {
        if (compareKeys({ v: k.v.slice(0, t.length), id: '' }, { v: t, id: '' }) !== 0) break;
        if (seen.has(k.id)) continue;
        seen.add(k.id);
        yield k.id;
      }
  }

  /** `_id` keys of the entries whose first field equals `value` (more than once for a compound multikey index). */
  equal(value: unknown): string[] {
    if (exactKey(value)) {
      const held = this.firstKeys.get(hashKey(value));
      if (held === undefined) return [];
      if (typeof held === 'string') return [held];
    }
    return this.walk(value);
  }

  /** One descent of the tree to the first entry holding `value`, then a walk along the leaves. */
  private walk(value: unknown): string[] {
    const rest = this.fields.length - 1;
    const low: TreeKey = { v: rest ? [value, ...Array<unknown>(rest).fill(MIN)] : [value], id: LOW_ID };
    const high: TreeKey = { v: rest ? [value, ...Array<unknown>(rest).fill(MAX)] : [value], id: HIGH_ID };
    const ids: string[] = [];
    this.tree.forRange(low, high, true, (k) => {
      ids.push(k.id);
    });
    return ids;
  }

  /** Every `_id` key in index order of the first field (descending when `reverse`). */
  *ordered(reverse: boolean): IterableIterator<string> {
    if (!reverse) {
      for (const [k] of this.tree.entries()) yield k.id;
      return;
    }
    const rest = this.fields.length;
    for (const [k] of this.tree.entriesReversed({ v: Array<unknown>(rest).fill(MAX), id: HIGH_ID }))
      yield k.id;
  }

  byteSize(): number {
    return this.tree.size * 64 + this.firstKeys.size * 48;
  }
}
