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
