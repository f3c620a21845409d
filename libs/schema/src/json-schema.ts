import type { Document } from 'bson';
import type { SchemaType } from 'mongoose';
import type { CollectionDefinition } from './registry';

interface PathOptions {
  description?: string;
  nullable?: boolean;
  required?: boolean;
  enum?: readonly string[];
  match?: RegExp;
  minlength?: number;
  maxlength?: number;
  min?: number;
  max?: number;
  ref?: string;
  /** Other shapes array elements may have (for example a legacy form the migrations rewrite). */
  itemAlternatives?: Document[];
}

const BSON_TYPES: Record<string, string> = {
  ObjectId: 'objectId',
  String: 'string',
  Number: 'number',
  Date: 'date',
  Boolean: 'bool',
  Decimal128: 'decimal',
  Buffer: 'binData',
  Map: 'object',
};

function describeType(t: string): string {
  return t === 'objectId'
    ? 'an ObjectId'
    : t === 'bool'
      ? 'a boolean'
      : t === 'date'
        ? 'a date'
        : t === 'array'
          ? 'an array'
          : `a ${t}`;
}

/** The `$jsonSchema` rule of one path (or array element). */
function ruleFor(type: SchemaType, path: string): Document {
  const o = (type.options ?? {}) as PathOptions;
  const rule: Document = {};
  let bsonType: string | undefined;
  if (type.instance === 'Array') {
    bsonType = 'array';
    const element = (type as SchemaType & { embeddedSchemaType?: SchemaType }).embeddedSchemaType;
    if (element && BSON_TYPES[element.instance]) {
      const elementType = BSON_TYPES[element.instance];
      const item: Document = {
        bsonType: elementType,
        description: `each element of ${path} must be ${describeType(elementType)}`,
      };
      rule.items = o.itemAlternatives?.length
        ? {
            anyOf: [item, ...o.itemAlternatives],
            description: `each element of ${path} must be ${describeType(elementType)} or a legacy form`,
          }
        : item;
    }
  } else bsonType = BSON_TYPES[type.instance];
  const what = o.description ?? path;
  const parts: string[] = [];
  if (bsonType) {
    rule.bsonType = o.nullable ? [bsonType, 'null'] : bsonType;
    parts.push(`must be ${describeType(bsonType)}${o.nullable ? ' or null' : ''}`);
  }
  if (o.enum) {
    rule.enum = o.nullable ? [...o.enum, null] : [...o.enum];
    parts.push(`one of ${o.enum.join(', ')}`);
  }
  if (o.match) {
    rule.pattern = o.match.source;
    parts.push(`matching /${o.match.source}/`);
  }
  if (o.minlength !== undefined) {
    rule.minLength = o.minlength;
    parts.push(`at least ${o.minlength} character(s)`);
  }
  if (o.maxlength !== undefined) {
    rule.maxLength = o.maxlength;
    parts.push(`at most ${o.maxlength} characters`);
  }
  if (o.min !== undefined) {
    rule.minimum = o.min;
    parts.push(`>= ${o.min}`);
  }
  if (o.max !== undefined) {
    rule.maximum = o.max;
    parts.push(`<= ${o.max}`);
  }
  rule.description = `${path} (${what})${parts.length ? ': ' + parts.join(', ') : ''}`;
  return rule;
}

export interface DeriveOptions {
  /** Forbid fields the schema does not declare (default: allowed, so older writers keep working). */
  additionalProperties?: boolean;
}

/** The `$jsonSchema` of a collection, derived from its mongoose schema; every rule has a description. */
export function deriveJsonSchema(def: CollectionDefinition, options: DeriveOptions = {}): Document {
  const root: Document = {
    bsonType: 'object',
    title: `${def.name}: ${def.description}`,
    required: ['_id'],
    properties: {},
  };
  def.schema.eachPath((path, type) => {
    const parts = path.split('.');
    let node = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const props = node.properties as Document;
      const prefix = parts.slice(0, i + 1).join('.');
      props[parts[i]] ??= {
        bsonType: 'object',
        description: `${prefix} must be an embedded document`,
        properties: {},
      };
      node = props[parts[i]] as Document;
    }
    const leaf = parts[parts.length - 1];
    (node.properties as Document)[leaf] =
      path === '_id' ? { bsonType: 'objectId', description: '_id must be an ObjectId' } : ruleFor(type, path);
    if ((type.options as PathOptions).required === true && path !== '_id') {
      const required = (node.required as string[] | undefined) ?? [];
      required.push(leaf);
      node.required = required;
    }
  });
  if (options.additionalProperties === false) root.additionalProperties = false;
  return root;
}
