import { Double, Int32, ObjectId } from 'bson';
import type { Document } from 'bson';
import { checkSchema, validateSchema } from './json-schema';
import { compileSchema } from './json-schema-compile';

describe('validateSchema', () => {
  const schema = {
    bsonType: 'object',
    required: ['name', 'ref'],
    additionalProperties: false,
    properties: {
      _id: { bsonType: 'objectId' },
      name: {
        bsonType: 'string',
        minLength: 2,
        maxLength: 5,
        pattern: '^[a-z]+$',
        description: 'lower-case name',
      },
      ref: { bsonType: ['objectId', 'null'] },
      kind: { enum: ['a', 'b'] },
      n: { bsonType: 'number', minimum: 0, maximum: 10 },
      tags: { bsonType: 'array', items: { bsonType: 'string' }, minItems: 1, maxItems: 3, uniqueItems: true },
      either: { anyOf: [{ bsonType: 'string' }, { bsonType: 'int' }] },
      notNull: { not: { bsonType: 'null' } },
    },
  };

  it('accepts a valid document', () => {
    expect(
      validateSchema(schema, {
        _id: new ObjectId(),
        name: 'abc',
        ref: null,
        kind: 'a',
        n: 10,
        tags: ['x'],
        either: 3,
        notNull: 1,
      }),
    ).toEqual([]);
  });

  it('reports each rule mongod reports, with the property description', () => {
    const failures = validateSchema(schema, {
      name: 'A',
      extra: 1,
      kind: 'c',
      n: 11,
      tags: ['x', 'x'],
      either: true,
      notNull: null,
    });
    expect(failures.map((f) => f.operatorName)).toEqual(['required', 'additionalProperties', 'properties']);
    expect(failures[0]).toEqual({
      operatorName: 'required',
      specifiedAs: { required: ['name', 'ref'] },
      missingProperties: ['ref'],
    });
    expect(failures[1]).toEqual({
      operatorName: 'additionalProperties',
      specifiedAs: { additionalProperties: false },
      additionalProperties: ['extra'],
    });
    const props = failures[2].propertiesNotSatisfied as {
      propertyName: string;
      description?: string;
      details: { operatorName: string }[];
    }[];
    expect(props.map((p) => [p.propertyName, p.details.map((d) => d.operatorName)])).toEqual([
      ['name', ['minLength', 'pattern']],
      ['kind', ['enum']],
      ['n', ['maximum']],
      ['tags', ['uniqueItems']],
      ['either', ['anyOf']],
      ['notNull', ['not']],
    ]);
    expect(props[0].description).toBe('lower-case name');
  });

  it('explains a bsonType mismatch with the considered type', () => {
    expect(
      validateSchema({ properties: { ref: { bsonType: 'objectId' } } }, { ref: '650000000000000000000001' }),
    ).toEqual([
      {
        operatorName: 'properties',
        propertiesNotSatisfied: [
          {
            propertyName: 'ref',
            details: [
              {
                operatorName: 'bsonType',
                specifiedAs: { bsonType: 'objectId' },
                reason: 'type did not match',
                consideredValue: '650000000000000000000001',
                consideredType: 'string',
              },
            ],
          },
        ],
      },
    ]);
  });

  it('rejects unknown keywords as mongod does', () => {
    expect(() => checkSchema({ format: 'email' })).toThrow('Unknown $jsonSchema keyword: format');
  });
});

describe('compileSchema', () => {
  const schemas: Document[] = [
    {
      bsonType: 'object',
      required: ['a'],
      properties: { a: { bsonType: ['int', 'long'], minimum: 1, maximum: 9 } },
    },
    {
      bsonType: 'object',
      properties: { s: { type: 'string', minLength: 2, maxLength: 4, pattern: '^[a-z]+$' } },
    },
    {
      bsonType: 'object',
      properties: { e: { enum: ['x', 'y'] }, n: { enum: [1, null, 'z'] } },
      additionalProperties: false,
    },
    {
      bsonType: 'object',
      properties: {
        a: {
          bsonType: 'array',
          items: { bsonType: 'objectId' },
          minItems: 1,
          maxItems: 3,
          uniqueItems: true,
        },
      },
    },
    {
      bsonType: 'object',
      properties: {
        t: { bsonType: 'array', items: [{ type: 'number' }, { type: 'string' }], additionalItems: false },
      },
    },
    {
      bsonType: 'object',
      patternProperties: { '^x_': { bsonType: 'int' } },
      additionalProperties: { bsonType: 'string' },
    },
    {
      bsonType: 'object',
      minProperties: 1,
      maxProperties: 2,
      dependencies: { a: ['b'], c: { required: ['d'] } },
    },
    { anyOf: [{ bsonType: 'int' }, { bsonType: 'string' }] },
    { oneOf: [{ type: 'number' }, { bsonType: 'int' }] },
    { allOf: [{ type: 'number' }, { minimum: 0, exclusiveMinimum: true }] },
    { not: { bsonType: 'null' } },
    { bsonType: 'double', multipleOf: 0.5, maximum: 10, exclusiveMaximum: true },
    {
      bsonType: 'object',
      properties: {
        d: { bsonType: 'date' },
        o: { bsonType: 'object', properties: { q: { bsonType: 'bool' } }, required: ['q'] },
      },
    },
  ];
  const values: unknown[] = [
    null,
    1,
    0,
    -3,
    10,
    2.5,
    new Int32(5),
    new Double(3),
    'ab',
    'abcdef',
    'AB',
    '𝒳𝒳',
    true,
    [],
    [new ObjectId('65701dc519b363fe3dea8792')],
    [new ObjectId('65701dc519b363fe3dea8792'), new ObjectId('65701dc519b363fe3dea8792')],
    [1, 'a'],
    [1, 'a', 2],
    {},
    { a: new Int32(3) },
    { a: new Int32(30) },
    { a: 'x' },
    { s: 'abc' },
    { s: 'a' },
    { e: 'x', n: null },
    { e: 'q' },
    { e: 'x', extra: 1 },
    { a: [new ObjectId('65701dc519b363fe3dea8793')] },
    { a: [] },
    { t: [1, 'b'] },
    { t: [1, 'b', 3] },
    { x_1: new Int32(1), y: 'ok' },
    { x_1: 'no', y: 'ok' },
    { y: 3 },
    { a: 1, b: 2 },
    { a: 1 },
    { c: 1 },
    { c: 1, d: 2 },
    { d: new Date(0), o: { q: true } },
    { d: 'yesterday', o: {} },
  ];

  it('answers exactly like validateSchema(...).length === 0 for every keyword', () => {
    let compared = 0;
    for (const schema of schemas)
      for (const value of values) {
        expect([schema, value, compileSchema(schema)(value)]).toEqual([
          schema,
          value,
          validateSchema(schema, value).length === 0,
        ]);
        compared++;
      }
    expect(compared).toBe(schemas.length * values.length);
  });
});
