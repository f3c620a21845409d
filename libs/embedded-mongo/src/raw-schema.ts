import type { Document } from 'bson';
import { compileSchema } from './json-schema-compile';
import { decodeFields, forEachElement, NameIndex } from './raw-bson';

/**
 * BSON element types for the `bsonType` names whose check on the raw type byte gives the same answer as on the
 * decoded value. Numeric names other than the `number` alias, objects, arrays and binary data are left to the
 * decoded check (a double holding an integer decodes like an int; some sub-documents decode to DBRefs).
 */
const RAW_TYPES: Record<string, number[]> = {
  objectId: [0x07],
  string: [0x02],
  date: [0x09],
  null: [0x0a],
  bool: [0x08],
  number: [0x01, 0x10, 0x12, 0x13],
};

const ANNOTATIONS = new Set(['description', 'title']);
const ROOT_KEYWORDS = new Set([
  'bsonType',
  'required',
  'properties',
  'additionalProperties',
  'description',
  'title',
]);

/** A cheap check on the stored bytes: true means the document certainly satisfies the schema. */
export type RawSchemaCheck = (bytes: Uint8Array) => boolean;

const cache = new WeakMap<Document, RawSchemaCheck | null>();

/**
 * For a top-level schema of the common shape (an object with required fields and properties typed by
 * `bsonType`), a check on the raw element types that answers "certainly valid" without decoding the document;
 * properties with other constraints are decoded alone and checked with the compiled schema. Undefined when the
 * schema has another shape. A false answer only means "decode and check": it is never taken as a violation.
 */
export function rawSchemaCheck(schema: Document): RawSchemaCheck | undefined {
  const cached = cache.get(schema);
  if (cached !== undefined) return cached ?? undefined;
  const check = build(schema);
  cache.set(schema, check ?? null);
  return check;
}

function build(schema: Document): RawSchemaCheck | undefined {
  if (schema.bsonType !== 'object' || Object.keys(schema).some((k) => !ROOT_KEYWORDS.has(k)))
    return undefined;
  const additional = schema.additionalProperties;
  if (additional !== undefined && additional !== true && additional !== false) return undefined;
  const required = (schema.required as string[] | undefined) ?? [];
  // Every name the check knows, by position: its allowed type bytes (null when every type is allowed), or decode-and-check.
  const properties = Object.entries((schema.properties as Document | undefined) ?? {});
  const names = [...new Set([...properties.map(([name]) => name), ...required])];
  const known = new NameIndex(names);
  const typed: (Set<number> | null | undefined)[] = names.map(() => undefined);
  const complex = new Map<string, (v: unknown) => boolean>();
  for (const [name, sub] of properties) {
    const at = names.indexOf(name);
    const keys = Object.keys(sub as Document).filter((k) => !ANNOTATIONS.has(k));
    if (keys.length === 0) typed[at] = null;
    else if (keys.length === 1 && keys[0] === 'bsonType') {
      const bsonTypes = ([] as unknown[]).concat((sub as Document).bsonType);
      const codes = bsonTypes.map((n) => (typeof n === 'string' ? RAW_TYPES[n] : undefined));
      if (codes.every((c) => c !== undefined)) typed[at] = new Set(codes.flat() as number[]);
      else complex.set(name, compileSchema(sub as Document));
    } else complex.set(name, compileSchema(sub as Document));
  }
  const isComplex = names.map((n) => complex.has(n));
  // A name only in `required` may hold anything, unless additionalProperties is false (then it may not be there).
  const inProperties = names.map((n) => properties.some(([p]) => p === n));
  const requiredAt = required.map((r) => names.indexOf(r));
  const complexNames = new Set(complex.keys());
  // Which names the current document holds: a stamp per name, compared with a counter bumped per document.
  const seenStamp = new Uint32Array(names.length);
  let stamp = 0;
  return (bytes) => {
    stamp = (stamp + 1) >>> 0;
    if (stamp === 0) {
      seenStamp.fill(0);
      stamp = 1;
    }
    let needDecode = false;
    let ok = true;
    forEachElement(bytes, (b, nameStart, nameEnd, type) => {
      const at = known.indexOf(b, nameStart, nameEnd);
      if (at < 0) {
        if (additional === false) ok = false;
        return ok;
      }
      seenStamp[at] = stamp;
      if (!inProperties[at]) {
        if (additional === false) ok = false;
      } else if (isComplex[at]) needDecode = true;
      else {
        const allowed = typed[at];
        if (allowed && !allowed.has(type)) ok = false;
      }
      return ok;
    });
    if (!ok || !requiredAt.every((i) => seenStamp[i] === stamp)) return false;
    if (!needDecode) return true;
    const values = decodeFields(bytes, complexNames);
    for (const [name, valid] of complex) if (name in values && !valid(values[name])) return false;
    return true;
  };
}
