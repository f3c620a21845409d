import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Decimal128, ObjectId } from 'bson';
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

/** What a page cursor holds: the sort field and order it was made for, and the last document's sort value and _id. */
export interface PageCursor {
  sort: string;
  order: 'asc' | 'desc';
  value: Scalar;
  id: Scalar;
}

/** The only values a cursor carries: no document, no array, no regular expression, no operator. */
export type Scalar = string | number | boolean | null | Date | ObjectId;

type Tagged = { s: string } | { n: number } | { b: boolean } | { z: 1 } | { d: number } | { o: string };

function tag(v: unknown): Tagged {
  if (typeof v === 'string') return { s: v };
  if (typeof v === 'number' && Number.isFinite(v)) return { n: v };
  if (typeof v === 'boolean') return { b: v };
  if (v instanceof Date && !Number.isNaN(v.getTime())) return { d: v.getTime() };
  if (v instanceof ObjectId) return { o: v.toHexString() };
  if (isNumberLike(v)) return { n: Number(v) };
  // Arrays, documents and other BSON types sort as null here (the browser sorts on scalar fields).
  return { z: 1 };
}

function isNumberLike(v: unknown): boolean {
  const t = (v as { _bsontype?: string } | null)?._bsontype;
  return (t === 'Int32' || t === 'Double' || t === 'Long') && Number.isFinite(Number(v));
}

function untag(t: unknown): Scalar {
  if (!t || typeof t !== 'object' || Array.isArray(t) || Object.keys(t).length !== 1)
    throw new Error('shape');
  const [[k, v]] = Object.entries(t as Record<string, unknown>);
  if (k === 's' && typeof v === 'string') return v;
  if (k === 'n' && typeof v === 'number' && Number.isFinite(v)) return v;
  if (k === 'b' && typeof v === 'boolean') return v;
  if (k === 'z' && v === 1) return null;
  if (k === 'd' && typeof v === 'number' && Number.isFinite(v)) return new Date(v);
  if (k === 'o' && typeof v === 'string' && /^[0-9a-f]{24}$/.test(v)) return new ObjectId(v);
  throw new Error('type');
}

/**
 * Page cursors, opaque and signed: base64url(JSON of typed scalars) "." base64url(HMAC-SHA256). A cursor that was
 * not made here, was altered, or was made for another sort is refused (400) before anything of it is read; what
 * it decodes to can only be a string, number, boolean, null, date or ObjectId, never an operator.
 */
export class CursorCodec {
  constructor(private readonly secret: Buffer) {}

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }

  encode(c: { sort: string; order: 'asc' | 'desc'; value: unknown; id: unknown }): string {
    const payload = Buffer.from(
      JSON.stringify({ s: c.sort, r: c.order, v: tag(c.value), i: tag(c.id) }),
    ).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  decode(raw: string, sort: string, order: 'asc' | 'desc'): PageCursor {
    const refuse = (why: string): never => {
      throw badRequest(`after is not a cursor returned by this endpoint (${why})`);
    };
    if (raw.length > 2048) refuse('too long');
    const [payload, mac, extra] = raw.split('.');
    if (!payload || !mac || extra !== undefined) refuse('malformed');
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) refuse('bad signature');
    let parsed: { s?: unknown; r?: unknown; v?: unknown; i?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof parsed;
    } catch {
      return refuse('malformed');
    }
    if (parsed.s !== sort || parsed.r !== order) refuse(`made for another sort than ${sort} ${order}`);
    try {
      return { sort, order, value: untag(parsed.v), id: untag(parsed.i) };
    } catch {
      return refuse('malformed');
    }
  }
}

/**
 * The key that signs page cursors: BROWSE_CURSOR_SECRET, else one generated and kept (0600) in
 * .odtp-cursor-secret so cursors survive restarts, else (no writable folder) one for this process only.
 */
export function cursorSecret(configured: string | undefined, cwd: string): Buffer {
  if (configured) return Buffer.from(configured);
  const file = path.join(cwd, '.odtp-cursor-secret');
  try {
    const kept = fs.readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(kept)) return Buffer.from(kept, 'hex');
  } catch {
    // not there yet
  }
  const secret = randomBytes(32);
  try {
    fs.writeFileSync(file, secret.toString('hex') + '\n', { mode: 0o600 });
  } catch {
    // read-only folder: cursors are valid for this process only
  }
  return secret;
}
