import { Decimal128, EJSON, ObjectId } from 'bson';
import type { Document } from 'bson';
import { badRequest } from './errors';

/** A field of a collection that the browser may filter and sort on, with its schema type. */
export interface FieldInfo {
  path: string;
  types: string[];
}

/** Every field path (nested paths dotted) of a derived `$jsonSchema`, with its bsonTypes. */
export function fieldsOf(schema: Document, prefix = ''): FieldInfo[] {
  const out: FieldInfo[] = [];
  for (const [name, rule] of Object.entries((schema.properties as Record<string, Document>) ?? {})) {
    const path = prefix + name;
    const t = rule.bsonType;
    const types = t === undefined ? ['any'] : Array.isArray(t) ? (t as string[]) : [t as string];
    const itemType = (rule.items as Document | undefined)?.bsonType as string | undefined;
    out.push({ path, types: types.includes('array') && itemType ? [...types, itemType] : types });
    if (rule.properties) out.push(...fieldsOf(rule, `${path}.`));
  }
  return out;
}

/** Convert a query-string value to the field's schema type; 400 when it cannot be. */
export function convertValue(field: FieldInfo, raw: string): unknown {
  if (raw.includes('$')) throw badRequest(`value of ${field.path} must not contain "$"`);
  if (raw === 'null' && field.types.includes('null')) return null;
  const types = field.types.filter((t) => t !== 'null' && t !== 'array');
  for (const t of types) {
    switch (t) {
      case 'objectId':
        if (/^[0-9a-fA-F]{24}$/.test(raw)) return new ObjectId(raw);
        break;
      case 'date': {
        const d = new Date(raw);
        if (/^\d{4}-\d{2}-\d{2}/.test(raw) && !Number.isNaN(d.getTime())) return d;
        break;
      }
      case 'bool':
        if (raw === 'true' || raw === 'false') return raw === 'true';
        break;
      case 'number':
      case 'int':
      case 'long':
      case 'double': {
        const n = Number(raw);
        if (raw.trim() !== '' && Number.isFinite(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER) return n;
        break;
      }
      case 'decimal':
        if (/^-?\d+(\.\d+)?$/.test(raw)) return Decimal128.fromString(raw);
        break;
      case 'string':
      case 'any':
        return raw;
      default:
        break;
    }
  }
  throw badRequest(
    `value of ${field.path} must be ${types.join(' or ')} (got ${JSON.stringify(raw.length > 40 ? raw.slice(0, 40) + '…' : raw)})`,
  );
}

export interface PageCursor {
  value: unknown;
  id: unknown;
}

export function encodeCursor(c: PageCursor): string {
  return Buffer.from(EJSON.stringify(c, { relaxed: false })).toString('base64url');
}

export function decodeCursor(raw: string): PageCursor {
  try {
    const parsed = EJSON.parse(Buffer.from(raw, 'base64url').toString('utf8'), {
      relaxed: false,
    }) as PageCursor;
    if (!parsed || typeof parsed !== 'object' || !('id' in parsed)) throw new Error('shape');
    return parsed;
  } catch {
    throw badRequest('after is not a cursor returned by this endpoint');
  }
}
