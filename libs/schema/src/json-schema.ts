import type { Document } from 'bson';
import type { SchemaType } from 'mongoose';
import { writersOf } from './contracts/contract';
import type { AppContract, CollectionContract, ContractBsonType } from './contracts/contract';
import type { CollectionDefinition, CollectionName } from './registry';

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

const HEX_ID_PATTERN = '^[0-9a-fA-F]{24}$';

/** What an application writes at a reference path besides an ObjectId (from its contract). */
interface ReferenceExtras {
  types: ContractBsonType[];
  application: string;
  /** One of the writers writes both forms at once: `[ObjectId, id string]`. */
  both?: boolean;
}

/** bsonType, pattern and wording of a reference that may also hold what the application writes. */
function referenceRule(
  extras: ReferenceExtras | undefined,
  base: string,
): { bsonType: string | string[]; pattern?: string; words: string } {
  if (!extras) return { bsonType: base, words: describeType(base) };
  const all = [base, ...extras.types.filter((t) => t !== base)];
  const words = all
    .map((t) => (t === 'string' ? 'a 24-hex string' : t === 'null' ? 'null' : describeType(t)))
    .join(' or ');
  return {
    bsonType: all,
    ...(all.includes('string') ? { pattern: HEX_ID_PATTERN } : {}),
    words: `${words} (${extras.application} writes ${extras.types
      .map((t) =>
        t === 'string' ? 'strings' : t === 'array' && extras.both ? '[ObjectId, id string] pairs' : t,
      )
      .join(' and ')})`,
  };
}

/** The rule of the both-forms pair, applied when the value is an array: an ObjectId and an id string. */
const BOTH_FORMS_ITEMS: Document = {
  minItems: 2,
  maxItems: 2,
  items: { bsonType: ['objectId', 'string'], pattern: HEX_ID_PATTERN },
};

/** The `$jsonSchema` rule of one path (or array element). */
function ruleFor(type: SchemaType, path: string, extras?: ReferenceExtras): Document {
  const o = (type.options ?? {}) as PathOptions;
  const rule: Document = {};
  let bsonType: string | undefined;
  if (type.instance === 'Array') {
    bsonType = 'array';
    const element = (type as SchemaType & { embeddedSchemaType?: SchemaType }).embeddedSchemaType;
    if (element && BSON_TYPES[element.instance]) {
      const elementType = BSON_TYPES[element.instance];
      const ref = referenceRule(extras, elementType);
      const item: Document = {
        bsonType: ref.bsonType,
        ...(ref.pattern ? { pattern: ref.pattern } : {}),
        description: `each element of ${path} must be ${ref.words}`,
      };
      rule.items = o.itemAlternatives?.length
        ? {
            anyOf: [item, ...o.itemAlternatives],
            description: `each element of ${path} must be ${ref.words} or a legacy form`,
          }
        : item;
    }
  } else bsonType = BSON_TYPES[type.instance];
  const what = o.description ?? path;
  const parts: string[] = [];
  if (bsonType && type.instance !== 'Array' && extras) {
    const ref = referenceRule(extras, bsonType);
    const all = ref.bsonType as string[];
    rule.bsonType = o.nullable && !all.includes('null') ? [...all, 'null'] : all;
    if (ref.pattern) rule.pattern = ref.pattern;
    if (extras.both) Object.assign(rule, BOTH_FORMS_ITEMS);
    parts.push(`must be ${ref.words}${o.nullable ? ' or null' : ''}`);
  } else if (bsonType) {
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
  /**
   * The application whose writes the schema must accept besides the target shapes (its reference types and the
   * fields it writes); default the target schema alone.
   */
  contract?: AppContract;
}

/** The node of `root` that holds the properties of `parts` (embedded documents created on the way). */
function nodeFor(root: Document, parts: readonly string[]): Document {
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
  return node;
}

/**
 * What the database may receive in a collection from the application and the release beside it: their reference
 * types and their fields together.
 */
function writtenTo(contract: AppContract, collection: CollectionName): CollectionContract {
  const out: CollectionContract = { references: {}, fields: {} };
  for (const c of writersOf(contract)) {
    const cc = c.collections[collection];
    for (const [path, r] of Object.entries(cc?.references ?? {})) {
      const prev = out.references![path];
      out.references![path] = {
        writes: [...new Set([...(prev?.writes ?? []), ...r.writes])],
        ...(prev?.both || r.both ? { both: true } : {}),
      };
    }
    for (const [path, f] of Object.entries(cc?.fields ?? {})) out.fields![path] ??= f;
  }
  return out;
}

/** The `$jsonSchema` of a collection, derived from its mongoose schema; every rule has a description. */
export function deriveJsonSchema(def: CollectionDefinition, options: DeriveOptions = {}): Document {
  const root: Document = {
    bsonType: 'object',
    title: `${def.name}: ${def.description}`,
    required: ['_id'],
    properties: {},
  };
  const app = options.contract ? writtenTo(options.contract, def.name) : undefined;
  const application = options.contract
    ? writersOf(options.contract)
        .map((c) => c.application)
        .join(' and ')
    : '';
  const insteadOf = new Map(
    Object.entries(app?.fields ?? {})
      .filter(([, f]) => f.insteadOf)
      .map(([field, f]) => [f.insteadOf!, field]),
  );
  def.schema.eachPath((path, type) => {
    const parts = path.split('.');
    const node = nodeFor(root, parts);
    const leaf = parts[parts.length - 1];
    const reference = app?.references?.[path];
    const written = reference?.writes.filter((t) => t !== 'objectId');
    (node.properties as Document)[leaf] =
      path === '_id'
        ? { bsonType: 'objectId', description: '_id must be an ObjectId' }
        : ruleFor(
            type,
            path,
            written?.length ? { types: written, application, both: reference?.both } : undefined,
          );
    if ((type.options as PathOptions).required === true && path !== '_id') {
      const alias = insteadOf.get(path);
      if (alias) {
        // The application writes the field under another name: either one must be there.
        const allOf = (node.allOf as Document[] | undefined) ?? [];
        allOf.push({ anyOf: [{ required: [leaf] }, { required: [alias] }] });
        node.allOf = allOf;
      } else {
        const required = (node.required as string[] | undefined) ?? [];
        required.push(leaf);
        node.required = required;
      }
    }
  });
  for (const [path, f] of Object.entries(app?.fields ?? {})) {
    const parts = path.split('.');
    const node = nodeFor(root, parts);
    const bsonType = f.bsonType.length === 1 ? f.bsonType[0] : [...f.bsonType];
    (node.properties as Document)[parts[parts.length - 1]] = {
      bsonType,
      description: `${path} (${f.description}): written by ${application}${f.insteadOf ? ` instead of ${f.insteadOf}` : ''}, must be ${f.bsonType.map(describeType).join(' or ')}`,
    };
  }
  if (options.additionalProperties === false) root.additionalProperties = false;
  return root;
}
