import { Schema } from 'mongoose';
import { deriveIndexes } from './indexes';
import { deriveJsonSchema } from './json-schema';
import { collectionDefinition } from './registry';

function derive(definition: Record<string, unknown>, additionalProperties?: boolean) {
  return deriveJsonSchema(
    { name: 'users', description: 'test', schema: new Schema(definition, { versionKey: false }) },
    { additionalProperties },
  );
}

describe('deriveJsonSchema', () => {
  it('derives each field type and option into a rule with a description', () => {
    const s = derive({
      ref: { type: Schema.Types.ObjectId, ref: 'x', required: true, description: 'a ref' },
      name: { type: String, minlength: 2, maxlength: 5, match: /^[a-z]+$/, description: 'a name' },
      kind: { type: String, enum: ['a', 'b'], nullable: true, description: 'a kind' },
      n: { type: Number, min: 0, max: 9, description: 'a count' },
      at: { type: Date, description: 'a time' },
      flag: { type: Boolean, description: 'a flag' },
      tags: { type: [String], description: 'tags' },
      refs: { type: [{ type: Schema.Types.ObjectId, ref: 'x' }], description: 'refs' },
      any: { type: Schema.Types.Mixed, description: 'anything' },
      nested: { inner: { type: String, required: true, description: 'inner text' } },
    });
    expect(s.required).toEqual(['_id', 'ref']);
    expect(s.properties).toEqual({
      _id: { bsonType: 'objectId', description: '_id must be an ObjectId' },
      ref: { bsonType: 'objectId', description: 'ref (a ref): must be an ObjectId' },
      name: {
        bsonType: 'string',
        pattern: '^[a-z]+$',
        minLength: 2,
        maxLength: 5,
        description:
          'name (a name): must be a string, matching /^[a-z]+$/, at least 2 character(s), at most 5 characters',
      },
      kind: {
        bsonType: ['string', 'null'],
        enum: ['a', 'b', null],
        description: 'kind (a kind): must be a string or null, one of a, b',
      },
      n: {
        bsonType: 'number',
        minimum: 0,
        maximum: 9,
        description: 'n (a count): must be a number, >= 0, <= 9',
      },
      at: { bsonType: 'date', description: 'at (a time): must be a date' },
      flag: { bsonType: 'bool', description: 'flag (a flag): must be a boolean' },
      tags: {
        bsonType: 'array',
        items: { bsonType: 'string', description: 'each element of tags must be a string' },
        description: 'tags (tags): must be an array',
      },
      refs: {
        bsonType: 'array',
        items: { bsonType: 'objectId', description: 'each element of refs must be an ObjectId' },
        description: 'refs (refs): must be an array',
      },
      any: { description: 'any (anything)' },
      nested: {
        bsonType: 'object',
        description: 'nested must be an embedded document',
        properties: {
          inner: { bsonType: 'string', description: 'nested.inner (inner text): must be a string' },
        },
        required: ['inner'],
      },
    });
    expect(s.additionalProperties).toBeUndefined();
  });

  it('forbids undeclared fields when asked', () => {
    expect(derive({ a: { type: String, description: 'a' } }, false).additionalProperties).toBe(false);
  });

  it('gives every rule of every target collection a description', () => {
    const missing: string[] = [];
    const walk = (rule: Record<string, unknown>, at: string): void => {
      if (typeof rule.description !== 'string') missing.push(at);
      for (const [k, v] of Object.entries((rule.properties as Record<string, Record<string, unknown>>) ?? {}))
        walk(v, `${at}.${k}`);
    };
    for (const name of [
      'users',
      'digitalTwins',
      'components',
      'versions',
      'workflows',
      'executions',
      'steps',
      'outputs',
      'results',
      'logs',
    ]) {
      const schema = deriveJsonSchema(collectionDefinition(name)!);
      for (const [k, v] of Object.entries(schema.properties as Record<string, Record<string, unknown>>))
        walk(v, `${name}.${k}`);
    }
    expect(missing).toEqual([]);
  });
});

describe('deriveIndexes', () => {
  it('holds the uniqueness rules and one index per reference path', () => {
    const idx = deriveIndexes().map(
      (i) => `${i.collection} ${JSON.stringify(i.key)}${i.unique ? ' unique' : ''}`,
    );
    expect(idx.filter((i) => i.endsWith('unique'))).toEqual([
      'users {"displayName":1} unique',
      'digitalTwins {"userRef":1,"name":1} unique',
      'components {"repoLink":1} unique',
      'versions {"componentId":1,"component_version":1} unique',
      'executions {"digitalTwinRef":1,"title":1} unique',
    ]);
    expect(idx).toContain('steps {"executionRef":1}');
    expect(idx).toContain('outputs {"stepRef":1}');
    expect(idx).toContain('logs {"stepRef":1}');
    expect(idx).toContain('results {"executionRef":1}');
    expect(idx).toContain('outputs {"access_control.authorized_users":1}');
    expect(idx).not.toContain('versions {"componentId":1}');
    expect(idx).toHaveLength(22);
  });
});
