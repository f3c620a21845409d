import type { Document } from 'bson';
import { compileSchema } from './json-schema';
import { decodeFields, elementTypes } from './raw-bson';

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
  const typed = new Map<string, Set<number> | null>(); // null: any type
  const complex = new Map<string, (v: unknown) => boolean>();
  for (const [name, sub] of Object.entries((schema.properties as Document | undefined) ?? {})) {
    const keys = Object.keys(sub as Document).filter((k) => !ANNOTATIONS.has(k));
    if (keys.length === 0) typed.set(name, null);
    else if (keys.length === 1 && keys[0] === 'bsonType') {
      const names = ([] as unknown[]).concat((sub as Document).bsonType);
      const codes = names.map((n) => (typeof n === 'string' ? RAW_TYPES[n] : undefined));
      if (codes.every((c) => c !== undefined)) typed.set(name, new Set(codes.flat() as number[]));
      else complex.set(name, compileSchema(sub as Document));
    } else complex.set(name, compileSchema(sub as Document));
  }
  const complexNames = new Set(complex.keys());
  return (bytes) => {
    const seen = new Set<string>();
    let needDecode = false;
    let ok = true;
    elementTypes(bytes, (name, type) => {
      seen.add(name);
      const allowed = typed.get(name);
      if (allowed !== undefined) {
        if (allowed !== null && !allowed.has(type)) ok = false;
      } else if (complex.has(name)) needDecode = true;
      else if (additional === false) ok = false;
      return ok;
    });
    if (!ok || !required.every((r) => seen.has(r))) return false;
    if (!needDecode) return true;
    const values = decodeFields(bytes, complexNames);
    for (const [name, valid] of complex) if (name in values && !valid(values[name])) return false;
    return true;
  };
}
