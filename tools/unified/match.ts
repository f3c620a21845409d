/**
 * The matching rules of MongoDB's unified test format ("Evaluating Matches"): expected values against actual ones,
 * with the special operators `$$exists`, `$$type`, `$$unsetOrMatches`, `$$matchesEntity`, `$$matchesHexBytes`,
 * `$$sessionLsid` and `$$lte`. Root-level documents may hold extra fields; embedded ones may not.
 */
import { Binary, Decimal128, Double, Int32, Long, ObjectId, Timestamp } from 'bson';
import type { Document } from 'bson';

export type Entities = Map<string, unknown>;

/** Why an expected value did not match, with the path to it; undefined when it matched. */
export type Mismatch = string | undefined;

const isDoc = (v: unknown): v is Document =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  !(v instanceof Date) &&
  !(v as { _bsontype?: string })._bsontype;

export function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v instanceof Long || v instanceof Int32 || v instanceof Double) return Number(v.valueOf());
  if (v instanceof Decimal128) return Number(v.toString());
  return undefined;
}

const TYPE_TESTS: Record<string, (v: unknown) => boolean> = {
  double: (v) => typeof v === 'number' || v instanceof Double,
  string: (v) => typeof v === 'string',
  object: isDoc,
  array: Array.isArray,
  binData: (v) => v instanceof Binary,
  objectId: (v) => v instanceof ObjectId,
  bool: (v) => typeof v === 'boolean',
  date: (v) => v instanceof Date,
  null: (v) => v === null,
  int: (v) => (typeof v === 'number' && Number.isInteger(v)) || v instanceof Int32,
  long: (v) => v instanceof Long || (typeof v === 'number' && Number.isInteger(v)),
  decimal: (v) => v instanceof Decimal128,
  timestamp: (v) => v instanceof Timestamp,
  number: (v) => asNumber(v) !== undefined,
};

function matchesType(types: unknown, actual: unknown): boolean {
  return (Array.isArray(types) ? types : [types]).some((t) => TYPE_TESTS[String(t)]?.(actual) ?? false);
}

function show(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

/** A special operator (`{$$name: arg}`) applied at `path`; undefined when `expected` is not one. */
function special(
  expected: Document,
  actual: unknown,
  present: boolean,
  path: string,
  entities: Entities,
  root = false,
  lenient = false,
): Mismatch | 'not-special' {
  const keys = Object.keys(expected);
  if (keys.length !== 1 || !keys[0].startsWith('$$')) return 'not-special';
  const arg = expected[keys[0]];
  switch (keys[0]) {
    case '$$exists':
      return present === Boolean(arg) ? undefined : `${path}: expected ${arg ? 'present' : 'absent'}`;
    case '$$type':
      return present && matchesType(arg, actual)
        ? undefined
        : `${path}: ${show(actual)} is not of type ${show(arg)}`;
    case '$$unsetOrMatches':
      return !present || actual === undefined
        ? undefined
        : matchValue(arg, actual, path, entities, root, lenient);
    case '$$matchesEntity':
      return matchValue(entities.get(String(arg)), actual, path, entities, root, lenient);
    case '$$matchesHexBytes':
      return actual instanceof Binary &&
        Buffer.from(actual.buffer).toString('hex') === String(arg).toLowerCase()
        ? undefined
        : `${path}: bytes differ`;
    case '$$sessionLsid': {
      const session = entities.get(String(arg)) as { id?: unknown } | undefined;
      return matchValue(session?.id, actual, path, entities, false);
    }
    case '$$lte': {
      const a = asNumber(actual);
      return a !== undefined && a <= (asNumber(arg) ?? NaN)
        ? undefined
        : `${path}: ${show(actual)} > ${show(arg)}`;
    }
    default:
      return `${path}: unsupported operator ${keys[0]}`;
  }
}

/**
 * Whether `actual` matches `expected` under the unified format's rules (`root`: extra fields allowed). `lenient`
 * allows extra fields at every depth: for command events, where drivers differ in the defaults they spell out
 * (`limit: 0`, `multi: false`) and which say nothing about the server.
 */
export function matchValue(
  expected: unknown,
  actual: unknown,
  path = '',
  entities: Entities = new Map(),
  root = true,
  lenient = false,
): Mismatch {
  // the driver keeps some fields as Maps (a formatted `sort`): they go on the wire as documents
  if (actual instanceof Map) actual = Object.fromEntries(actual);
  if (isDoc(expected)) {
    const s = special(expected, actual, actual !== undefined, path, entities, root, lenient);
    if (s !== 'not-special') return s;
    if (!isDoc(actual)) return `${path || '(root)'}: expected a document, got ${show(actual)}`;
    for (const [k, v] of Object.entries(expected)) {
      const p = path ? `${path}.${k}` : k;
      if (isDoc(v)) {
        const s2 = special(v, actual[k], k in actual && actual[k] !== undefined, p, entities, false, lenient);
        if (s2 !== 'not-special') {
          if (s2) return s2;
          continue;
        }
      }
      if (!(k in actual)) return `${p}: missing`;
      const m = matchValue(v, actual[k], p, entities, lenient, lenient);
      if (m) return m;
    }
    if (!root) {
      const extra = Object.keys(actual).filter((k) => !(k in expected) && actual[k] !== undefined);
      if (extra.length) return `${path || '(root)'}: unexpected fields ${extra.join(', ')}`;
    }
    return undefined;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${show(actual)}`;
    if (actual.length !== expected.length)
      return `${path}: expected ${expected.length} elements, got ${actual.length} (${show(actual)})`;
    for (let i = 0; i < expected.length; i++) {
      // the elements of a root-level array (a find's documents) are root-level documents too
      const m = matchValue(expected[i], actual[i], `${path}[${i}]`, entities, root || lenient, lenient);
      if (m) return m;
    }
    return undefined;
  }
  const e = asNumber(expected);
  if (e !== undefined) {
    const a = asNumber(actual);
    return a === e ? undefined : `${path}: expected ${show(expected)}, got ${show(actual)}`;
  }
  if (expected instanceof ObjectId || expected instanceof Binary || expected instanceof Timestamp) {
    const same = (expected as { equals(x: unknown): boolean }).equals(actual);
    return same ? undefined : `${path}: expected ${show(expected)}, got ${show(actual)}`;
  }
  if (expected instanceof Date)
    return actual instanceof Date && actual.getTime() === expected.getTime()
      ? undefined
      : `${path}: expected ${expected.toISOString()}, got ${show(actual)}`;
  return expected === actual ? undefined : `${path}: expected ${show(expected)}, got ${show(actual)}`;
}
