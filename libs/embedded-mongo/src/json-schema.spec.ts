import { ObjectId } from 'bson';
import { checkSchema, validateSchema } from './json-schema';

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
