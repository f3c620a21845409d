import { ObjectId } from 'bson';
import type { Document } from 'bson';

function collect(v: unknown, segments: readonly string[], i: number, out: unknown[]): void {
  if (Array.isArray(v)) {
    for (const x of v) collect(x, segments, i, out);
    return;
  }
  if (i === segments.length) {
    if (v !== undefined) out.push(v);
    return;
  }
  if (v === null || typeof v !== 'object' || v instanceof ObjectId || v instanceof Date) return;
  collect((v as Document)[segments[i]], segments, i + 1, out);
}

/** Every value at a dotted path, arrays traversed at any level (the final array's elements, not the array). */
export function valuesAt(doc: unknown, path: string | readonly string[]): unknown[] {
  const out: unknown[] = [];
  collect(doc, typeof path === 'string' ? path.split('.') : path, 0, out);
  return out;
}

const HEX24 = /^[0-9a-fA-F]{24}$/;

export function isHexId(v: unknown): v is string {
  return typeof v === 'string' && HEX24.test(v);
}

/** The id a reference value denotes (an ObjectId, or the ObjectId of a 24-hex string), if any. */
export function referencedId(v: unknown): ObjectId | undefined {
  if (v instanceof ObjectId) return v;
  if (isHexId(v)) return new ObjectId(v);
  return undefined;
}
