import { ObjectId } from 'bson';
import type { Document } from 'bson';

const HEX24 = /^[0-9a-fA-F]{24}$/;

/** A 24-hex string: an id stored with the wrong type (ODTP writes some references as strings). */
export function isHexId(v: unknown): v is string {
  return typeof v === 'string' && HEX24.test(v);
}

/** The id a reference value denotes: an ObjectId, or the ObjectId of a 24-hex string; undefined otherwise. */
export function referencedId(v: unknown): ObjectId | undefined {
  if (v instanceof ObjectId) return v;
  if (isHexId(v)) return new ObjectId(v);
  return undefined;
}

/**
 * `value` with every string at the path `segments` (arrays traversed at any level) turned into an ObjectId; the
 * strings that are not ids stay and go to `invalid`. Used by the migration that converts string references and by
 * the auditor's repairs.
 */
export function idStringsToObjectIds(
  value: unknown,
  segments: readonly string[],
  invalid: (v: string) => void = () => undefined,
): unknown {
  if (Array.isArray(value)) return value.map((v) => idStringsToObjectIds(v, segments, invalid));
  if (segments.length === 0) {
    if (typeof value !== 'string') return value;
    const id = referencedId(value);
    if (!id) invalid(value);
    return id ?? value;
  }
  if (value === null || typeof value !== 'object' || value instanceof ObjectId || value instanceof Date)
    return value;
  const [head, ...rest] = segments;
  if (!(head in (value as Document))) return value;
  return { ...(value as Document), [head]: idStringsToObjectIds((value as Document)[head], rest, invalid) };
}
