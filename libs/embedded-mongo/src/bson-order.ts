import { Decimal128, Double, EJSON, Int32, Long, MaxKey, MinKey, ObjectId } from 'bson';
import type { Document, Binary, BSONRegExp, Timestamp } from 'bson';
import { setOwn } from './own';

/**
 * BSON comparison order as MongoDB documents it ("Comparison/Sort Order"):
 * MinKey < null < numbers < strings < objects < arrays < BinData < ObjectId < bool < Date < Timestamp < regex < MaxKey.
 */
export function typeRank(v: unknown): number {
  if (v === undefined || v === null) return 2;
  if (typeof v === 'number' || typeof v === 'bigint') return 3;
  if (typeof v === 'string') return 4;
  if (typeof v === 'boolean') return 9;
  if (v instanceof Date) return 10;
  if (Array.isArray(v)) return 6;
  if (v instanceof RegExp) return 12;
  const bsontype = (v as { _bsontype?: string })._bsontype;
  switch (bsontype) {
    case 'MinKey':
      return 1;
    case 'MaxKey':
      return 13;
    case 'Int32':
    case 'Double':
    case 'Long':
    case 'Decimal128':
      return 3;
    case 'Binary':
      return 7;
    case 'ObjectId':
      return 8;
    case 'Timestamp':
      return 11;
    case 'BSONRegExp':
      return 12;
    case 'BSONSymbol':
      return 4;
    default:
      return 5;
  }
}

export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Long) return v.toNumber();
  if (v instanceof Int32 || v instanceof Double) return v.valueOf();
  if (v instanceof Decimal128) return Number(v.toString());
  return Number.NaN;
}

export function isNumeric(v: unknown): boolean {
  return typeRank(v) === 3 && v !== null && v !== undefined;
}

function cmpPrimitive(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareNumbers(a: unknown, b: unknown): number {
  const x = toNumber(a);
  const y = toNumber(b);
  // MongoDB sorts NaN before every other number.
  if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1;
  if (Number.isNaN(y)) return 1;
  const c = cmpPrimitive(x, y);
  // Decimal128 and 64-bit integers beyond 2^53 compare by exact value, as mongod does (Decimal128('0.1') is not
  // the double 0.1); their nearest doubles only order them when those differ.
  if (c !== 0 || !Number.isFinite(x) || !(inexact(a) || inexact(b))) return c;
  return compareExact(exactValue(a), exactValue(b));
}

/** Whether a numeric value may differ from its nearest double. */
function inexact(v: unknown): boolean {
  return (
    v instanceof Decimal128 ||
    (v instanceof Long && !Number.isSafeInteger(v.toNumber())) ||
    typeof v === 'bigint'
  );
}

/** A finite number as coefficient x 10^exponent, exactly. */
interface Exact {
  coefficient: bigint;
  exponent: number;
}

function exactValue(v: unknown): Exact {
  if (typeof v === 'bigint') return { coefficient: v, exponent: 0 };
  if (v instanceof Long) return { coefficient: BigInt(v.toString()), exponent: 0 };
  if (v instanceof Decimal128) {
    const m = /^(-?)(\d+)(?:\.(\d*))?(?:E([+-]?\d+))?$/i.exec(v.toString());
    if (!m) return { coefficient: 0n, exponent: 0 };
    const fraction = m[3] ?? '';
    const coefficient = BigInt(m[2] + fraction);
    return { coefficient: m[1] ? -coefficient : coefficient, exponent: Number(m[4] ?? 0) - fraction.length };
  }
  return exactDouble(toNumber(v));
}

/** The exact decimal value of a finite double: mantissa x 2^e, and 2^-k = 5^k x 10^-k. */
function exactDouble(d: number): Exact {
  if (d === 0 || Number.isInteger(d)) return { coefficient: BigInt(d), exponent: 0 };
  let mantissa = Math.abs(d);
  let e = 0;
  while (!Number.isInteger(mantissa)) {
    mantissa *= 2;
    e++;
  }
  const coefficient = BigInt(mantissa) * 5n ** BigInt(e);
  return { coefficient: d < 0 ? -coefficient : coefficient, exponent: -e };
}

function compareExact(a: Exact, b: Exact): number {
  const exponent = Math.min(a.exponent, b.exponent);
  const x = a.coefficient * 10n ** BigInt(a.exponent - exponent);
  const y = b.coefficient * 10n ** BigInt(b.exponent - exponent);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function compareBson(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 1:
    case 2:
    case 13:
      return 0;
    case 3:
      return compareNumbers(a, b);
    case 4:
      return cmpPrimitive(String(a), String(b));
    case 5:
      return compareObjects(a as Document, b as Document);
    case 6:
      return compareArrays(a as unknown[], b as unknown[]);
    case 7: {
      const x = a as Binary;
      const y = b as Binary;
      if (x.position !== y.position) return x.position - y.position;
      if (x.sub_type !== y.sub_type) return x.sub_type - y.sub_type;
      return Buffer.compare(
        Buffer.from(x.buffer.subarray(0, x.position)),
        Buffer.from(y.buffer.subarray(0, y.position)),
      );
    }
    case 8:
      return compareBytes((a as ObjectId).id, (b as ObjectId).id);
    case 9:
      return Number(a) - Number(b);
    case 10:
      return cmpPrimitive((a as Date).getTime(), (b as Date).getTime());
    case 11:
      return (a as Timestamp).compare(b as Timestamp);
    case 12: {
      const [pa, fa] = regexParts(a);
      const [pb, fb] = regexParts(b);
      return cmpPrimitive(pa, pb) || cmpPrimitive(fa, fb);
    }
    default:
      return 0;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function regexParts(v: unknown): [string, string] {
  if (v instanceof RegExp) return [v.source, v.flags];
  const r = v as BSONRegExp;
  return [r.pattern, r.options];
}

function compareArrays(a: unknown[], b: unknown[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareBson(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function compareObjects(a: Document, b: Document): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const va = a[ka[i]];
    const vb = b[kb[i]];
    const rt = typeRank(va) - typeRank(vb);
    if (rt !== 0) return rt;
    const kc = cmpPrimitive(ka[i], kb[i]);
    if (kc !== 0) return kc;
    const c = compareBson(va, vb);
    if (c !== 0) return c;
  }
  return ka.length - kb.length;
}

/** The `$type` alias of a value, as MongoDB names BSON types. */
export function bsonTypeName(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) <= 0x7fffffff ? 'int' : 'double';
  if (typeof v === 'bigint') return 'long';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof Date) return 'date';
  if (Array.isArray(v)) return 'array';
  if (v instanceof RegExp) return 'regex';
  switch ((v as { _bsontype?: string })._bsontype) {
    case 'ObjectId':
      return 'objectId';
    case 'Int32':
      return 'int';
    case 'Double':
      return 'double';
    case 'Long':
      return 'long';
    case 'Decimal128':
      return 'decimal';
    case 'Binary':
      return 'binData';
    case 'Timestamp':
      return 'timestamp';
    case 'BSONRegExp':
      return 'regex';
    case 'MinKey':
      return 'minKey';
    case 'MaxKey':
      return 'maxKey';
    case 'Code':
      return 'javascript';
    case 'BSONSymbol':
      return 'symbol';
    default:
      return 'object';
  }
}

const numericAliases = new Map<number, string>([
  [1, 'double'],
  [2, 'string'],
  [3, 'object'],
  [4, 'array'],
  [5, 'binData'],
  [6, 'undefined'],
  [7, 'objectId'],
  [8, 'bool'],
  [9, 'date'],
  [10, 'null'],
  [11, 'regex'],
  [13, 'javascript'],
  [14, 'symbol'],
  [16, 'int'],
  [17, 'timestamp'],
  [18, 'long'],
  [19, 'decimal'],
  [-1, 'minKey'],
  [127, 'maxKey'],
]);

/** Whether `v` has the BSON type named by `alias` (a string alias, a number code, or `number`). */
export function matchesBsonType(v: unknown, alias: unknown): boolean {
  const name = typeof alias === 'number' ? numericAliases.get(alias) : alias;
  if (name === 'number') return isNumeric(v);
  const actual = bsonTypeName(v);
  if (name === actual) return true;
  // A JS integer outside int32 range arrives from the wire as a double or a promoted long.
  if (name === 'long' && typeof v === 'number' && Number.isInteger(v)) return Math.abs(v) > 0x7fffffff;
  return false;
}

/**
 * A string that is equal for two values exactly when MongoDB treats them as equal keys
 * (numbers compare by value across int/long/double).
 */
export function keyOf(v: unknown): string {
  if (v === undefined || v === null) return 'N';
  switch (typeof v) {
    case 'number':
      return 'n' + (v === 0 ? 0 : v);
    case 'string':
      return 's' + v;
    case 'boolean':
      return v ? 'b1' : 'b0';
    case 'bigint':
      return 'n' + Number(v);
    default:
  }
  // A bare 24-digit hex string: no other key is 24 hex digits (they start with a non-hex tag or are shorter).
  if (v instanceof ObjectId) {
    // bson builds the hex as a rope (ConsString); reading a character makes V8 flatten it in place, which makes
    // every later Map lookup with it about 2x faster (the keys of the document store and every index).
    const hex = v.toHexString();
    hex.charCodeAt(0);
    return hex;
  }
  if (v instanceof Date) return 'd' + v.getTime();
  if (isNumeric(v)) return 'n' + toNumber(v);
  if (v instanceof MinKey) return '-';
  if (v instanceof MaxKey) return '+';
  return 'x' + EJSON.stringify(normalizeNumbers(v), { relaxed: false });
}

function normalizeNumbers(v: unknown): unknown {
  if (isNumeric(v)) return toNumber(v);
  if (Array.isArray(v)) return v.map(normalizeNumbers);
  if (v && typeof v === 'object' && typeRank(v) === 5) {
    const out: Document = {};
    for (const [k, x] of Object.entries(v as Document)) setOwn(out, k, normalizeNumbers(x));
    return out;
  }
  return v;
}

/** Render a value the way mongod prints it in error messages (`{ name: "x" }`). */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof ObjectId) return `ObjectId('${v.toHexString()}')`;
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  if (Array.isArray(v)) return `[ ${v.map(formatValue).join(', ')} ]`;
  if (isNumeric(v)) return String(toNumber(v));
  if (typeRank(v) === 5) {
    const entries = Object.entries(v as Document).map(([k, x]) => `${k}: ${formatValue(x)}`);
    return entries.length ? `{ ${entries.join(', ')} }` : '{}';
  }
  return EJSON.stringify(v);
}
