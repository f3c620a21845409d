import { ObjectId } from 'bson';
import type { Document } from 'bson';

/** Every value at a dotted path, arrays traversed at any level (the final array's elements, not the array). */
export function valuesAt(doc: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  const walk = (v: unknown, segments: string[]): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x, segments);
      return;
    }
    if (segments.length === 0) {
      if (v !== undefined) out.push(v);
      return;
    }
    if (v === null || typeof v !== 'object' || v instanceof ObjectId || v instanceof Date) return;
    walk((v as Document)[segments[0]], segments.slice(1));
  };
  walk(doc, path.split('.'));
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
