import { deserialize, Double, Int32, Long, ObjectId, serialize } from 'bson';
import type { Document } from 'bson';
import { validateSchema } from './json-schema';
import { element, rawDocument } from './raw-bson';
import { rawSchemaCheck } from './raw-schema';

const logs: Document = {
  bsonType: 'object',
  title: 'logs',
  required: ['_id', 'stepRef', 'timestamp', 'logstring'],
  properties: {
    _id: { bsonType: 'objectId' },
    stepRef: { bsonType: 'objectId', description: 'step' },
    timestamp: { bsonType: 'date' },
    type: { bsonType: ['string', 'null'] },
    logstring: { bsonType: 'string' },
    n: { bsonType: ['number', 'null'], minimum: 0 },
    kind: { bsonType: 'string', enum: ['a', 'b'] },
    count: { bsonType: 'int' },
    any: { description: 'anything' },
  },
};
const strict: Document = { ...logs, additionalProperties: false };
// `extra` is required but not among the properties: allowed with any type, unless additionalProperties is false.
const requiredOnly: Document = { ...logs, required: [...(logs.required as string[]), 'extra'] };
const strictRequiredOnly: Document = { ...requiredOnly, additionalProperties: false };

const base = { _id: new ObjectId(), stepRef: new ObjectId(), timestamp: new Date(0), logstring: 'x' };
const docs: Document[] = [
  base,
  { ...base, type: 'INFO' },
  { ...base, type: null },
  { ...base, type: 3 },
  { ...base, stepRef: 'not an id' },
  { ...base, stepRef: new ObjectId().toHexString() },
  { _id: base._id, stepRef: base.stepRef, logstring: 'no timestamp' },
  { ...base, n: 1 },
  { ...base, n: -1 },
  { ...base, n: new Long(5) },
  { ...base, n: new Double(2.5) },
  { ...base, n: 'five' },
  { ...base, kind: 'a' },
  { ...base, kind: 'c' },
  { ...base, count: new Int32(3) },
  { ...base, count: new Double(3) },
  { ...base, count: 2.5 },
  { ...base, any: { deep: [1, 'x'] } },
  { ...base, extra: true },
];

describe('rawSchemaCheck', () => {
  it('never calls a document certainly valid that the decoded check rejects, and proves the common valid ones', () => {
    for (const schema of [logs, strict, requiredOnly, strictRequiredOnly]) {
      const check = rawSchemaCheck(schema)!;
      for (const doc of docs) {
        // The reference: what the full path decides on the decoded document.
        const valid = validateSchema(schema, deserialize(serialize(doc))).length === 0;
        if (check(serialize(doc))) expect([doc, valid]).toEqual([doc, true]);
      }
    }
    const check = rawSchemaCheck(logs)!;
    expect(
      [base, { ...base, type: null }, { ...base, n: 1 }, { ...base, kind: 'b' }, { ...base, extra: 1 }].map(
        (d) => check(serialize(d)),
      ),
    ).toEqual([true, true, true, true, true]);
    expect(rawSchemaCheck(strict)!(serialize({ ...base, extra: 1 }))).toBe(false);
    expect(rawSchemaCheck(requiredOnly)!(serialize({ ...base, extra: 'anything' }))).toBe(true);
    expect(rawSchemaCheck(requiredOnly)!(serialize(base))).toBe(false);
    expect(rawSchemaCheck(strictRequiredOnly)!(serialize({ ...base, extra: 'anything' }))).toBe(false);
  });

  it('does not count a repeated required field twice', () => {
    const check = rawSchemaCheck({
      bsonType: 'object',
      required: ['a', 'b'],
      properties: { a: { bsonType: 'string' } },
    })!;
    const a = element(0x02, 'a', Buffer.from([2, 0, 0, 0, 0x78, 0]));
    expect(check(rawDocument([a, a]))).toBe(false);
    const b = element(0x0a, 'b', new Uint8Array(0));
    expect(check(rawDocument([a, b]))).toBe(true);
  });

  it('declines schemas of another shape', () => {
    expect(rawSchemaCheck({ bsonType: 'object', anyOf: [{ required: ['a'] }] })).toBeUndefined();
    expect(rawSchemaCheck({ required: ['a'] })).toBeUndefined();
    expect(
      rawSchemaCheck({ bsonType: 'object', additionalProperties: { bsonType: 'string' } }),
    ).toBeUndefined();
  });
});
