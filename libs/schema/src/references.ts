import { ObjectId } from 'bson';
import { mapAt } from './paths';
import type { PathSegments } from './paths';

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
  segments: PathSegments,
  invalid: (v: string) => void = () => undefined,
): unknown {
  return mapAt(value, segments, (v) => {
    if (typeof v !== 'string') return v;
    const id = referencedId(v);
    if (!id) invalid(v);
    return id ?? v;
  });
}

/** `value` with every ObjectId at the path `segments` (arrays traversed) as its hex string. */
export function objectIdsToStrings(value: unknown, segments: PathSegments): unknown {
  return mapAt(value, segments, (v) => (v instanceof ObjectId ? v.toHexString() : v));
}
