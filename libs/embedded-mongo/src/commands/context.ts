/** The context every command handler gets, its argument parsing, and document helpers shared by the families. */
import { ObjectId } from 'bson';
import type { Document } from 'bson';
import { keyOf, toNumber } from '../bson-order';
import { parseCollation } from '../collation';
import type { Collation } from '../collation';
import type { CursorRegistry } from '../cursors';
import { CommandError, ErrorCode } from '../errors';
import { validateCollectionName } from '../database';
import type { Collection, WriteOptions } from '../collection';
import type { Database } from '../database';
import type { Store, Transaction } from '../store';

export interface ServerInfo {
  host: string;
  port: number;
  setName: string;
  startedAt: Date;
  version: string;
}

export interface CommandContext {
  store: Store;
  cursors: CursorRegistry;
  server: ServerInfo;
  connectionId: number;
  dbName: string;
  cmd: Document;
  /** The active transaction the command runs in, if any. */
  txn?: Transaction;
}

export function viewer(ctx: CommandContext): string | undefined {
  return ctx.txn?.owner;
}

export type Handler = (ctx: CommandContext) => Document;

export const MAX_WIRE_VERSION = 21;
export const SERVER_VERSION = '7.0.0';

// Fields every command may carry that do not change its meaning here.
export const GENERIC_FIELDS = new Set([
  '$db',
  'lsid',
  '$clusterTime',
  'txnNumber',
  'autocommit',
  'startTransaction',
  'readConcern',
  'writeConcern',
  '$readPreference',
  'comment',
  'maxTimeMS',
  'apiVersion',
  'apiStrict',
  'apiDeprecationErrors',
  '$audit',
  '$client',
  'mayBypassWriteBlocking',
]);

export function requireCollectionName(ctx: CommandContext, field: string): string {
  const name = ctx.cmd[field];
  if (typeof name !== 'string') {
    throw new CommandError(
      ErrorCode.InvalidNamespace,
      `collection name has invalid type ${name === null ? 'null' : typeof name}`,
    );
  }
  validateCollectionName(name);
  return name;
}

export function optionalDoc(ctx: CommandContext, field: string): Document | undefined {
  const v = ctx.cmd[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof Date || v instanceof ObjectId) {
    throw new CommandError(
      ErrorCode.TypeMismatch,
      `BSON field '${ctx.cmd ? Object.keys(ctx.cmd)[0] : ''}.${field}' is the wrong type '${Array.isArray(v) ? 'array' : typeof v}', expected type 'object'`,
    );
  }
  return v as Document;
}

export function optionalInt(ctx: CommandContext, field: string): number | undefined {
  const v = ctx.cmd[field];
  if (v === undefined || v === null) return undefined;
  const n = toNumber(v);
  if (Number.isNaN(n))
    throw new CommandError(
      ErrorCode.TypeMismatch,
      `BSON field '${field}' is the wrong type '${typeof v}', expected types '[long, int, decimal, double]'`,
    );
  return Math.trunc(n);
}

export function sessionKey(ctx: CommandContext): string | undefined {
  const lsid = ctx.cmd.lsid as Document | undefined;
  return lsid?.id ? keyOf(lsid.id) : undefined;
}

export function db(ctx: CommandContext): Database {
  return ctx.store.db(ctx.dbName);
}

export function existing(ctx: CommandContext, name: string): Collection | undefined {
  return ctx.store.existingDb(ctx.dbName)?.get(name);
}

/** Make `_id` the first field, as mongod stores it. */
export function idFirst(doc: Document): Document {
  const keys = Object.keys(doc);
  if (keys[0] === '_id' || !('_id' in doc)) return doc;
  const out: Document = { _id: doc._id };
  for (const k of keys) if (k !== '_id') out[k] = doc[k];
  return out;
}

export function checkId(id: unknown): void {
  if (Array.isArray(id)) throw new CommandError(ErrorCode.BadValue, `can't use an array for _id`);
  if (id instanceof RegExp || (id as { _bsontype?: string })?._bsontype === 'BSONRegExp') {
    throw new CommandError(ErrorCode.BadValue, `can't use a regex for _id`);
  }
  if (id === undefined) throw new CommandError(ErrorCode.BadValue, `can't use undefined for _id`);
  const dollar = dollarField(id);
  if (dollar)
    throw new CommandError(
      ErrorCode.DollarPrefixedFieldName,
      `_id fields may not contain '$'-prefixed fields: ${dollar} is not valid for storage.`,
    );
}

/** The first `$`-prefixed field name inside an `_id` document (at any depth), which mongod refuses to store. */
function dollarField(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object' || (v as object).constructor !== Object) return undefined;
  for (const [k, x] of Object.entries(v as Document)) {
    if (k.startsWith('$')) return k;
    const inner = dollarField(x);
    if (inner) return inner;
  }
  return undefined;
}

export function prepareInsert(doc: unknown): Document {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new CommandError(ErrorCode.TypeMismatch, 'document to insert must be an object');
  // MongoDB 5.0+ stores $-prefixed and dotted field names at any level on insert (and on the insert of an upsert).
  const d = doc as Document;
  if (!('_id' in d)) return { _id: new ObjectId(), ...d };
  checkId(d._id);
  return idFirst(d);
}

export function optionalNum(v: unknown): number | undefined {
  return v === undefined || v === null ? undefined : toNumber(v);
}

export function writeOptions(ctx: CommandContext): WriteOptions {
  return { bypassDocumentValidation: ctx.cmd.bypassDocumentValidation === true, txn: ctx.txn?.owner };
}

/** The collation an operation runs under: its own, else the collection's default (`simple` or none: binary). */
export function collationOf(explicit: unknown, coll: Collection | undefined): Collation | undefined {
  return parseCollation(explicit !== undefined ? explicit : coll?.options.collation);
}
