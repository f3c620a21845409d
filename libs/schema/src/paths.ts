import { ObjectId } from 'bson';

/**
 * The one walker of dotted paths in documents (`a.b.c`), with MongoDB's array rule: an array met on the way (or at
 * the end) is traversed, each element continuing the path. Values that cannot hold fields (scalars, ObjectIds,
 * dates, binaries) end the walk.
 */

export type PathSegments = readonly string[];

const segmentsOf = (path: string | PathSegments): PathSegments =>
  typeof path === 'string' ? path.split('.') : path;

/** A plain sub-document the walk may enter (not an ObjectId, Date or other BSON value object). */
function isSubDocument(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  if (v instanceof ObjectId || v instanceof Date || ArrayBuffer.isView(v)) return false;
  return typeof (v as { _bsontype?: unknown })._bsontype !== 'string';
}

function collect(v: unknown, segments: PathSegments, i: number, out: unknown[]): void {
  if (Array.isArray(v)) {
    for (const x of v) collect(x, segments, i, out);
    return;
  }
  if (i === segments.length) {
    if (v !== undefined) out.push(v);
    return;
  }
  if (!isSubDocument(v) || !Object.hasOwn(v, segments[i])) return;
  collect(v[segments[i]], segments, i + 1, out);
}

/** Every value at a dotted path, arrays traversed at any level (the final array's elements, not the array). */
export function valuesAt(doc: unknown, path: string | PathSegments): unknown[] {
  const out: unknown[] = [];
  collect(doc, segmentsOf(path), 0, out);
  return out;
}

/**
 * `value` with `fn` applied to every value at the path (arrays traversed at any level, the final array's elements
 * included); documents on the way are copied, never changed in place, and a path that is absent leaves them as
 * they are.
 */
export function mapAt(value: unknown, path: string | PathSegments, fn: (v: unknown) => unknown): unknown {
  const segments = segmentsOf(path);
  const walk = (v: unknown, i: number): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, i));
    if (i === segments.length) return fn(v);
    if (!isSubDocument(v) || !Object.hasOwn(v, segments[i])) return v;
    return { ...v, [segments[i]]: walk(v[segments[i]], i + 1) };
  };
  return walk(value, 0);
}
