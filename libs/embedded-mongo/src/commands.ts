import { Long, ObjectId, Timestamp } from 'bson';
import type { Document } from 'bson';
import { compareBson, keyOf, toNumber } from './bson-order';
import { SCAN_PAUSE } from './cursors';
import { rawSchemaCheck } from './raw-schema';
import type { RawSchemaCheck } from './raw-schema';
import type { CursorRegistry } from './cursors';
import { CommandError, ErrorCode } from './errors';
import { checkSchema } from './json-schema';
import {
  applyUpdate,
  compileFilter,
  parseSort,
  pathValues,
  project,
  runPipeline,
  simpleInclusion,
  sortDocuments,
  structuredCloneBson,
} from './query-engine';
import type { CollectionResolver, SortSpec } from './query-engine';
import { decodeFields, filterFields, pickFields, RawDocument } from './raw-bson';
import { Collection, decode, encode, idKeyOf, toStoredOptions, validateCollectionName } from './storage';
import type {
  CollectionOptions,
  Database,
  IndexSpec,
  Store,
  Transaction,
  ValidationAction,
  ValidationLevel,
  WriteOptions,
} from './storage';

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

function viewer(ctx: CommandContext): string | undefined {
  return ctx.txn?.owner;
}

type Handler = (ctx: CommandContext) => Document;

const MAX_WIRE_VERSION = 21;
export const SERVER_VERSION = '7.0.0';

// Fields every command may carry that do not change its meaning here.
const GENERIC_FIELDS = new Set([
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

function requireCollectionName(ctx: CommandContext, field: string): string {
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

function optionalDoc(ctx: CommandContext, field: string): Document | undefined {
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

function optionalInt(ctx: CommandContext, field: string): number | undefined {
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

function sessionKey(ctx: CommandContext): string | undefined {
  const lsid = ctx.cmd.lsid as Document | undefined;
  return lsid?.id ? keyOf(lsid.id) : undefined;
}

function db(ctx: CommandContext): Database {
  return ctx.store.db(ctx.dbName);
}

function existing(ctx: CommandContext, name: string): Collection | undefined {
  return ctx.store.existingDb(ctx.dbName)?.get(name);
}

/** Make `_id` the first field, as mongod stores it. */
function idFirst(doc: Document): Document {
  const keys = Object.keys(doc);
  if (keys[0] === '_id' || !('_id' in doc)) return doc;
  const out: Document = { _id: doc._id };
  for (const k of keys) if (k !== '_id') out[k] = doc[k];
  return out;
}

function checkId(id: unknown): void {
  if (Array.isArray(id)) throw new CommandError(ErrorCode.BadValue, `can't use an array for _id`);
  if (id instanceof RegExp || (id as { _bsontype?: string })?._bsontype === 'BSONRegExp') {
    throw new CommandError(ErrorCode.BadValue, `can't use a regex for _id`);
  }
  if (id === undefined) throw new CommandError(ErrorCode.BadValue, `can't use undefined for _id`);
}

function prepareInsert(doc: unknown): Document {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new CommandError(ErrorCode.TypeMismatch, 'document to insert must be an object');
  const d = doc as Document;
  for (const k of Object.keys(d)) {
    if (k.startsWith('$'))
      throw new CommandError(ErrorCode.BadValue, `Document can't have $ prefixed field names: ${k}`);
  }
  if (!('_id' in d)) return { _id: new ObjectId(), ...d };
  checkId(d._id);
  return idFirst(d);
}

// ---------- reads ----------

function matching(coll: Collection | undefined, filter: Document | undefined, who?: string): Document[] {
  if (!coll) return [];
  const { bufs, plan } = coll.rawCandidates(filter, who);
  const out: Document[] = [];
  for (const buf of rawMatching(bufs, filter, plan.exact === true)) out.push(decode(buf));
  return out;
}

/**
 * The matching documents as BSON bytes, decoding only the fields the filter reads (nothing when exact). With
 * `pauses`, for cursors, it yields a pause marker every 1,024 documents scanned (see SCAN_PAUSE).
 */
function* rawMatching(
  bufs: Iterable<Uint8Array>,
  filter: Document | undefined,
  exact: boolean,
  pauses = false,
): Generator<Uint8Array> {
  if (exact || !filter || Object.keys(filter).length === 0) {
    yield* bufs;
    return;
  }
  const pred = compileFilter(filter);
  const fields = filterFields(filter);
  // `{$nor: [{$jsonSchema}]}` (the documents failing a schema, as schema plan and the auditor ask): most documents
  // are valid, and the raw check proves it from the element types without decoding them.
  const certainlyValid = schemaViolationsQuery(filter);
  let scanned = 0;
  for (const buf of bufs) {
    if (!certainlyValid?.(buf) && pred(fields ? decodeFields(buf, fields) : decode(buf))) yield buf;
    if (pauses && (++scanned & 1023) === 0) yield PAUSE_BUF;
  }
}

function schemaViolationsQuery(filter: Document): RawSchemaCheck | undefined {
  const nor = filter.$nor as unknown;
  if (Object.keys(filter).length !== 1 || !Array.isArray(nor) || nor.length !== 1) return undefined;
  const clause = nor[0] as unknown;
  if (!clause || typeof clause !== 'object' || Object.keys(clause).length !== 1) return undefined;
  const schema = (clause as Document).$jsonSchema as unknown;
  return schema && typeof schema === 'object' && !Array.isArray(schema)
    ? rawSchemaCheck(schema as Document)
    : undefined;
}

const PAUSE_BUF = new Uint8Array(0);

/** Skip, limit and shape raw documents: copied as they are, or cut to an inclusion projection without decoding. */
function* skipLimitRaw(
  src: Iterable<Uint8Array>,
  skip: number,
  limit: number,
  projection: Document | undefined,
): Generator<Document> {
  const inclusion = projection && Object.keys(projection).length ? simpleInclusion(projection) : undefined;
  const names = inclusion ? new Set(inclusion.names) : undefined;
  let skipped = 0;
  let given = 0;
  for (const buf of src) {
    if (buf === PAUSE_BUF) {
      yield SCAN_PAUSE;
      continue;
    }
    if (skipped < skip) {
      skipped++;
      continue;
    }
    if (limit > 0 && given >= limit) return;
    given++;
    if (!projection || Object.keys(projection).length === 0) yield new RawDocument(buf);
    else if (inclusion) yield new RawDocument(pickFields(buf, names!, inclusion.withId));
    else yield project(decode(buf), projection);
  }
}

function* skipLimitProject(
  src: Iterable<Document>,
  skip: number,
  limit: number,
  projection: Document | undefined,
): Generator<Document> {
  let skipped = 0;
  let given = 0;
  for (const doc of src) {
    if (skipped < skip) {
      skipped++;
      continue;
    }
    if (limit > 0 && given >= limit) return;
    given++;
    yield project(doc, projection);
  }
}

const find: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'find');
  const filter = optionalDoc(ctx, 'filter');
  const projection = optionalDoc(ctx, 'projection');
  const sort = parseSort(ctx.cmd.sort);
  const skip = optionalInt(ctx, 'skip') ?? 0;
  const rawLimit = optionalInt(ctx, 'limit') ?? 0;
  if (skip < 0)
    throw new CommandError(ErrorCode.BadValue, 'skip value must be non-negative, but received: ' + skip);
  const batchSize = optionalInt(ctx, 'batchSize');
  if (batchSize !== undefined && batchSize < 0)
    throw new CommandError(
      ErrorCode.BadValue,
      `BatchSize value must be non-negative, but received: ${batchSize}`,
    );
  const singleBatch = ctx.cmd.singleBatch === true || rawLimit < 0;
  const limit = Math.abs(rawLimit);
  const coll = existing(ctx, name);
  const ns = `${ctx.dbName}.${name}`;
  if (!coll) return { cursor: { firstBatch: [], id: Long.fromNumber(0), ns }, ok: 1 };
  if (projection) project({}, projection);
  const { bufs, plan } = coll.rawCandidates(filter, viewer(ctx), sort);
  // Reject a bad filter now rather than at the first batch; an exact plan (equality or `$in` on scalars) needs no check.
  if (!plan.exact) compileFilter(filter);
  let docs: Iterable<Document>;
  if (sort && !plan.sorted) {
    const found = rawMatching(bufs, filter, plan.exact === true);
    const sorted = sortDocuments(
      Array.from(found, (b) => decode(b)),
      sort,
    );
    docs = skipLimitProject(sorted, skip, limit, projection);
  } else docs = skipLimitRaw(rawMatching(bufs, filter, plan.exact === true, true), skip, limit, projection);
  return ctx.cursors.open(ns, docs, { batchSize, limit, singleBatch, sessionKey: sessionKey(ctx) });
};

const getMore: Handler = (ctx) => {
  const collection = ctx.cmd.collection;
  if (typeof collection !== 'string')
    throw new CommandError(
      ErrorCode.FailedToParse,
      "BSON field 'getMore.collection' is missing but a required field",
    );
  return ctx.cursors.getMore(ctx.cmd.getMore, collection, ctx.dbName, optionalInt(ctx, 'batchSize'));
};

const killCursors: Handler = (ctx) => {
  requireCollectionName(ctx, 'killCursors');
  const ids = ctx.cmd.cursors;
  if (!Array.isArray(ids))
    throw new CommandError(
      ErrorCode.FailedToParse,
      "BSON field 'killCursors.cursors' is missing but a required field",
    );
  return ctx.cursors.kill(ids);
};

const count: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'count');
  const filter = optionalDoc(ctx, 'query');
  const skip = optionalInt(ctx, 'skip') ?? 0;
  const limit = Math.abs(optionalInt(ctx, 'limit') ?? 0);
  const coll = existing(ctx, name);
  let n: number;
  if ((!filter || Object.keys(filter).length === 0) && !ctx.txn && coll?.uncommitted.size === 0)
    n = coll.size;
  else {
    n = 0;
    if (coll) {
      const { bufs, plan } = coll.rawCandidates(filter, viewer(ctx));
      for (const _ of rawMatching(bufs, filter, plan.exact === true)) n++;
    }
  }
  n = Math.max(0, n - skip);
  if (limit > 0) n = Math.min(n, limit);
  return { n, ok: 1 };
};

const distinct: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'distinct');
  const key = ctx.cmd.key;
  if (typeof key !== 'string')
    throw new CommandError(
      ErrorCode.FailedToParse,
      "BSON field 'distinct.key' is missing but a required field",
    );
  const seen = new Map<string, unknown>();
  for (const doc of matching(existing(ctx, name), optionalDoc(ctx, 'query'), viewer(ctx))) {
    for (const v of pathValues(doc, key)) {
      for (const x of Array.isArray(v) ? v : [v]) {
        const k = keyOf(x);
        if (!seen.has(k)) seen.set(k, x);
      }
    }
  }
  return { values: [...seen.values()].sort(compareBson), ok: 1 };
};

// ---------- writes ----------

interface WriteOutcome {
  n: number;
  writeErrors: Document[];
}

function ensureWritable(ctx: CommandContext, name: string): Collection {
  return db(ctx).ensure(name).coll;
}

function writeSequence(ctx: CommandContext, field: string): Document[] {
  const items = ctx.cmd[field];
  if (!Array.isArray(items))
    throw new CommandError(
      ErrorCode.FailedToParse,
      `BSON field '${Object.keys(ctx.cmd)[0]}.${field}' is missing but a required field`,
    );
  return items as Document[];
}

function writeOptions(ctx: CommandContext): WriteOptions {
  return { bypassDocumentValidation: ctx.cmd.bypassDocumentValidation === true, txn: ctx.txn?.owner };
}

function runWrites<T>(items: T[], ordered: boolean, fn: (item: T, index: number) => void): Document[] {
  const errors: Document[] = [];
  for (let i = 0; i < items.length; i++) {
    try {
      fn(items[i], i);
    } catch (e) {
      if (!(e instanceof CommandError)) throw e;
      // A transaction's write conflict fails the whole command (and the transaction), as mongod does.
      if (e.labels.includes('TransientTransactionError')) throw e;
      errors.push(e.toWriteError(i));
      if (ordered) break;
    }
  }
  return errors;
}

function writeReply(out: WriteOutcome, extra: Document = {}): Document {
  const reply: Document = { n: out.n, ...extra };
  if (out.writeErrors.length) reply.writeErrors = out.writeErrors;
  reply.ok = 1;
  return reply;
}

const insert: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'insert');
  const docs = writeSequence(ctx, 'documents');
  const ordered = ctx.cmd.ordered !== false;
  const coll = ensureWritable(ctx, name);
  const opts = writeOptions(ctx);
  let n = 0;
  const writeErrors = runWrites(docs, ordered, (doc) => {
    coll.insert(prepareInsert(doc), opts);
    n++;
  });
  return writeReply({ n, writeErrors });
};

function isOperatorUpdate(u: Document): boolean {
  const keys = Object.keys(u);
  const ops = keys.filter((k) => k.startsWith('$'));
  if (ops.length > 0 && ops.length !== keys.length) {
    const plain = keys.find((k) => !k.startsWith('$'));
    throw new CommandError(
      ErrorCode.FailedToParse,
      `Unknown modifier: ${plain}. Expected a valid update modifier or pipeline-style update specified as an array`,
    );
  }
  return ops.length > 0;
}

const UPDATE_OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$rename',
  '$push',
  '$pull',
  '$pullAll',
  '$addToSet',
  '$pop',
  '$currentDate',
  '$setOnInsert',
  '$bit',
]);

function checkUpdateOperators(u: Document): void {
  const paths: string[] = [];
  for (const [op, spec] of Object.entries(u)) {
    if (!UPDATE_OPERATORS.has(op))
      throw new CommandError(
        ErrorCode.FailedToParse,
        `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) {
      throw new CommandError(
        ErrorCode.FailedToParse,
        `Modifiers operate on fields but we found type ${Array.isArray(spec) ? 'array' : typeof spec} instead. For example: {$mod: {<field>: ...}} not {$set: <value>}`,
      );
    }
    for (const [path, v] of Object.entries(spec as Document)) {
      paths.push(path);
      if (op === '$rename') paths.push(String(v));
      if (
        (op === '$inc' || op === '$mul') &&
        !['number', 'bigint'].includes(typeof v) &&
        !['Int32', 'Long', 'Double', 'Decimal128'].includes((v as { _bsontype?: string })?._bsontype ?? '')
      ) {
        throw new CommandError(
          ErrorCode.TypeMismatch,
          `Cannot ${op === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: {${path}: ${JSON.stringify(v)}}`,
        );
      }
    }
  }
  const clean = paths.map((p) => p.replace(/\.\$(\[[^\]]*\])?/g, ''));
  for (let i = 0; i < clean.length; i++) {
    for (let j = i + 1; j < clean.length; j++) {
      const [a, b] = [clean[i], clean[j]];
      if (a === b || a.startsWith(b + '.') || b.startsWith(a + '.')) {
        throw new CommandError(
          ErrorCode.ConflictingUpdateOperators,
          `Updating the path '${paths[j]}' would create a conflict at '${a.length <= b.length ? a : b}'`,
        );
      }
    }
  }
}

function checkNumericTargets(doc: Document, u: Document): void {
  for (const op of ['$inc', '$mul'] as const) {
    const spec = u[op] as Document | undefined;
    if (!spec) continue;
    for (const path of Object.keys(spec)) {
      if (path.includes('$')) continue;
      const parts = path.split('.');
      let cur: unknown = doc;
      for (const p of parts) cur = cur && typeof cur === 'object' ? (cur as Document)[p] : undefined;
      if (cur !== undefined && cur !== null && Number.isNaN(toNumber(cur))) {
        throw new CommandError(
          ErrorCode.TypeMismatch,
          `Cannot apply ${op} to a value of non-numeric type. {_id: ${JSON.stringify(doc._id)}} has the field '${parts[parts.length - 1]}' of non-numeric type ${typeof cur === 'string' ? 'string' : Array.isArray(cur) ? 'array' : typeof cur}`,
        );
      }
    }
  }
}

/** Drop a `$set` of `_id` to its current value; any other change of `_id` is code 66. */
function withoutIdNoOp(op: string, spec: Document, doc: Document, isInsert: boolean): Document {
  if (isInsert) return spec;
  const out: Document = {};
  for (const [path, v] of Object.entries(spec)) {
    if (path === '_id' || path.startsWith('_id.')) {
      if ((op === '$set' || op === '$setOnInsert') && path === '_id' && keyOf(v) === keyOf(doc._id)) continue;
      if (op === '$setOnInsert') continue;
      throw new CommandError(
        ErrorCode.ImmutableField,
        "Performing an update on the path '_id' would modify the immutable field '_id'",
      );
    }
    out[path] = v;
  }
  return out;
}

/** The new version of `doc` after `u` (operators, pipeline or replacement). */
function computeUpdate(
  doc: Document,
  u: Document | Document[],
  q: Document | undefined,
  arrayFilters: Document[] | undefined,
  isInsert: boolean,
  variables?: Document,
): Document {
  let next: Document;
  if (Array.isArray(u)) {
    next = applyUpdate(doc, u, undefined, undefined, variables);
    if (!('_id' in next) && '_id' in doc) next = { _id: doc._id, ...next };
  } else if (isOperatorUpdate(u)) {
    checkUpdateOperators(u);
    checkNumericTargets(doc, u);
    const modifier: Document = {};
    for (const [op, rawSpec] of Object.entries(u)) {
      const spec = withoutIdNoOp(op, rawSpec as Document, doc, isInsert);
      if (op === '$setOnInsert') {
        if (isInsert) modifier.$set = { ...(modifier.$set as Document), ...(spec as Document) };
      } else if (op === '$set' && modifier.$set)
        modifier.$set = { ...(modifier.$set as Document), ...(spec as Document) };
      else modifier[op] = spec;
    }
    for (const [op, spec] of Object.entries(modifier))
      if (Object.keys(spec as Document).length === 0) delete modifier[op];
    next = Object.keys(modifier).length
      ? applyUpdate(doc, modifier, arrayFilters, isInsert ? undefined : q)
      : structuredCloneBson(doc);
  } else {
    for (const k of Object.keys(u)) {
      if (k.startsWith('$'))
        throw new CommandError(
          ErrorCode.BadValue,
          `The dollar ($) prefixed field '${k}' in '${k}' is not valid for storage.`,
        );
    }
    next = { ...u };
    if ('_id' in doc) {
      if ('_id' in next && keyOf(next._id) !== keyOf(doc._id)) {
        throw new CommandError(
          ErrorCode.ImmutableField,
          `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${JSON.stringify(next._id)}`,
        );
      }
      next = { _id: doc._id, ...next };
    }
  }
  if ('_id' in doc && (!('_id' in next) || keyOf(next._id) !== keyOf(doc._id))) {
    throw new CommandError(
      ErrorCode.ImmutableField,
      "Performing an update on the path '_id' would modify the immutable field '_id'",
    );
  }
  return idFirst(next);
}

/** The document an upsert starts from: the equality fields of the query. */
function upsertSeed(q: Document | undefined): Document {
  const seed: Document = {};
  const visit = (filter: Document): void => {
    for (const [k, v] of Object.entries(filter)) {
      if (k === '$and' && Array.isArray(v)) v.forEach((c) => visit(c as Document));
      if (k.startsWith('$')) continue;
      let value: unknown = v;
      if (
        v &&
        typeof v === 'object' &&
        !Array.isArray(v) &&
        !(v instanceof Date) &&
        !(v instanceof ObjectId) &&
        !(v as { _bsontype?: string })._bsontype
      ) {
        const keys = Object.keys(v as Document);
        if (keys.some((x) => x.startsWith('$'))) {
          if (keys.length === 1 && keys[0] === '$eq') value = (v as Document).$eq;
          else continue;
        }
      }
      if (value instanceof RegExp) continue;
      setPath(seed, k, structuredCloneBson(value));
    }
  };
  if (q) visit(q);
  return seed;
}

function setPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur: Document = doc;
  for (const p of parts.slice(0, -1)) {
    if (!cur[p] || typeof cur[p] !== 'object') cur[p] = {};
    cur = cur[p] as Document;
  }
  cur[parts[parts.length - 1]] = value;
}

interface UpsertResult {
  matched: number;
  modified: number;
  upsertedId?: unknown;
  before?: Document;
  after?: Document;
}

interface UpdateStatement {
  q?: Document;
  u: Document | Document[];
  upsert?: boolean;
  multi?: boolean;
  arrayFilters?: Document[];
  sort?: Document;
  c?: Document;
}

function applyStatement(
  coll: Collection,
  st: UpdateStatement,
  opts: WriteOptions,
  sort?: Document,
): UpsertResult {
  if (st.u === undefined || st.u === null || typeof st.u !== 'object')
    throw new CommandError(
      ErrorCode.FailedToParse,
      "BSON field 'update.updates.u' is missing but a required field",
    );
  let targets = matching(coll, st.q, opts.txn);
  const sortSpec = parseSort(sort ?? st.sort);
  if (sortSpec) targets = sortDocuments(targets, sortSpec);
  if (!st.multi) targets = targets.slice(0, 1);
  else if (!Array.isArray(st.u) && !isOperatorUpdate(st.u)) {
    throw new CommandError(
      ErrorCode.FailedToParse,
      'multi update is not supported for replacement-style update',
    );
  }
  if (targets.length === 0) {
    if (!st.upsert) return { matched: 0, modified: 0 };
    const seed = upsertSeed(st.q);
    let doc: Document;
    if (!Array.isArray(st.u) && !isOperatorUpdate(st.u)) {
      doc = { ...st.u };
      if (!('_id' in doc) && '_id' in seed) doc = { _id: seed._id, ...doc };
    } else doc = computeUpdate(seed, st.u, st.q, st.arrayFilters, true, st.c);
    const inserted = prepareInsert(doc);
    coll.insert(inserted, opts);
    return { matched: 0, modified: 0, upsertedId: inserted._id, after: inserted };
  }
  let modified = 0;
  let before: Document | undefined;
  let after: Document | undefined;
  for (const doc of targets) {
    const next = computeUpdate(doc, st.u, st.q, st.arrayFilters, false, st.c);
    before = doc;
    after = next;
    if (Buffer.compare(encode(doc), encode(next)) === 0) continue;
    coll.replace(doc, next, opts);
    modified++;
  }
  return { matched: targets.length, modified, before, after };
}

const update: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'update');
  const statements = writeSequence(ctx, 'updates') as UpdateStatement[];
  const ordered = ctx.cmd.ordered !== false;
  const coll = ensureWritable(ctx, name);
  const opts = writeOptions(ctx);
  let n = 0;
  let nModified = 0;
  const upserted: Document[] = [];
  const writeErrors = runWrites(statements, ordered, (st, index) => {
    const r = applyStatement(coll, st, opts);
    if (r.upsertedId !== undefined) {
      upserted.push({ index, _id: r.upsertedId });
      n += 1;
    } else {
      n += r.matched;
      nModified += r.modified;
    }
  });
  const extra: Document = { nModified };
  if (upserted.length) extra.upserted = upserted;
  return writeReply({ n, writeErrors }, extra);
};

const del: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'delete');
  const statements = writeSequence(ctx, 'deletes') as { q?: Document; limit?: number }[];
  const ordered = ctx.cmd.ordered !== false;
  const coll = existing(ctx, name);
  let n = 0;
  const writeErrors = runWrites(statements, ordered, (st) => {
    if (!st.q || typeof st.q !== 'object')
      throw new CommandError(
        ErrorCode.FailedToParse,
        "BSON field 'delete.deletes.q' is missing but a required field",
      );
    const limit = toNumber(st.limit ?? 0);
    if (limit !== 0 && limit !== 1)
      throw new CommandError(
        ErrorCode.FailedToParse,
        `The limit field in delete objects must be 0 or 1. Got ${limit}`,
      );
    if (!coll) return;
    let targets = matching(coll, st.q, viewer(ctx));
    if (limit === 1) targets = targets.slice(0, 1);
    for (const doc of targets) coll.remove(doc, writeOptions(ctx));
    n += targets.length;
  });
  return writeReply({ n, writeErrors });
};

const findAndModify: Handler = (ctx) => {
  const name = requireCollectionName(ctx, Object.keys(ctx.cmd)[0]);
  const query = optionalDoc(ctx, 'query') ?? {};
  const remove = ctx.cmd.remove === true;
  const u = ctx.cmd.update as Document | Document[] | undefined;
  const returnNew = ctx.cmd.new === true;
  const fields = optionalDoc(ctx, 'fields');
  const upsert = ctx.cmd.upsert === true;
  if (remove && u !== undefined)
    throw new CommandError(ErrorCode.FailedToParse, 'Cannot specify both an update and remove=true');
  if (!remove && u === undefined)
    throw new CommandError(ErrorCode.FailedToParse, 'Either an update or remove=true must be specified');
  if (remove && (upsert || returnNew))
    throw new CommandError(ErrorCode.FailedToParse, 'Cannot specify both upsert=true and remove=true');
  const sort = optionalDoc(ctx, 'sort');
  if (remove) {
    const coll = existing(ctx, name);
    let targets = matching(coll, query, viewer(ctx));
    const s = parseSort(sort);
    if (s) targets = sortDocuments(targets, s);
    const doc = targets[0];
    if (!doc || !coll) return { lastErrorObject: { n: 0 }, value: null, ok: 1 };
    coll.remove(doc, writeOptions(ctx));
    return { lastErrorObject: { n: 1 }, value: project(doc, fields), ok: 1 };
  }
  const coll = ensureWritable(ctx, name);
  const r = applyStatement(
    coll,
    {
      q: query,
      u: u as Document,
      upsert,
      multi: false,
      arrayFilters: ctx.cmd.arrayFilters as Document[] | undefined,
      c: ctx.cmd.let as Document | undefined,
    },
    writeOptions(ctx),
    sort,
  );
  const lastErrorObject: Document = {
    n: r.upsertedId !== undefined ? 1 : r.matched,
    updatedExisting: r.matched > 0,
  };
  if (r.upsertedId !== undefined) lastErrorObject.upserted = r.upsertedId;
  const value = returnNew ? r.after : r.upsertedId !== undefined ? undefined : r.before;
  return { lastErrorObject, value: value ? project(value, fields) : null, ok: 1 };
};

// ---------- aggregation ----------

function collStatsDoc(ctx: CommandContext, coll: Collection | undefined, name: string, scale = 1): Document {
  const count = coll?.size ?? 0;
  const size = coll?.bytes ?? 0;
  const indexSizes = coll?.indexBytes() ?? {};
  const totalIndexSize = Object.values(indexSizes).reduce((a: number, b) => a + Number(b), 0);
  return {
    ns: `${ctx.dbName}.${name}`,
    size: Math.floor(size / scale),
    count,
    avgObjSize: count ? Math.floor(size / count) : 0,
    storageSize: Math.floor(size / scale),
    freeStorageSize: 0,
    capped: false,
    nindexes: coll ? coll.indexSpecs().length : 0,
    indexBuilds: [],
    totalIndexSize: Math.floor(totalIndexSize / scale),
    totalSize: Math.floor((size + totalIndexSize) / scale),
    indexSizes,
    scaleFactor: scale,
  };
}

function resolver(ctx: CommandContext): CollectionResolver {
  const resolve = (name: string): Document[] => {
    const coll = existing(ctx, name);
    return coll ? [...coll.scan(viewer(ctx))] : [];
  };
  return Object.assign(resolve, {
    lookup(name: string, field: string, values: unknown[]): Document[] {
      const coll = existing(ctx, name);
      if (!coll) return [];
      const filter = { [field]: { $in: values } };
      return matching(coll, filter, viewer(ctx));
    },
  });
}

function writeOut(ctx: CommandContext, stageName: string, spec: unknown, docs: Document[]): void {
  if (stageName === '$out') {
    const target =
      typeof spec === 'string' ? { db: ctx.dbName, coll: spec } : (spec as { db: string; coll: string });
    const targetDb = ctx.store.db(target.db);
    const old = targetDb.get(target.coll);
    const staged = new Collection(targetDb, target.coll, old?.options ?? {});
    staged.journaled = false;
    for (const spec of old ? [...old.indexes.values()].map((i) => i.spec) : []) staged.createIndex(spec);
    for (const d of docs)
      staged.insert(prepareInsert(d), {
        bypassDocumentValidation: ctx.cmd.bypassDocumentValidation === true,
      });
    if (old) targetDb.drop(target.coll);
    targetDb.adopt(staged);
    return;
  }
  const m = (typeof spec === 'string' ? { into: spec } : spec) as Document;
  const into =
    typeof m.into === 'string' ? { db: ctx.dbName, coll: m.into } : (m.into as { db: string; coll: string });
  const on = (Array.isArray(m.on) ? m.on : [m.on ?? '_id']) as string[];
  const whenMatched = m.whenMatched ?? 'merge';
  const whenNotMatched = m.whenNotMatched ?? 'insert';
  const coll = ctx.store.db(into.db).ensure(into.coll).coll;
  const opts = writeOptions(ctx);
  for (const d of docs) {
    const q: Document = {};
    for (const f of on) q[f] = pathValues(d, f)[0] ?? null;
    const target = matching(coll, q, viewer(ctx))[0];
    if (!target) {
      if (whenNotMatched === 'discard') continue;
      if (whenNotMatched === 'fail')
        throw new CommandError(
          ErrorCode.MergeStageNoMatchingDocument,
          '$merge could not find a matching document in the target collection for at least one document in the source collection',
        );
      coll.insert(prepareInsert(d), opts);
      continue;
    }
    if (whenMatched === 'keepExisting') continue;
    if (whenMatched === 'fail')
      throw coll.duplicateError(
        { v: 2, key: Object.fromEntries(on.map((f) => [f, 1])), name: on.join('_') },
        on.map((f) => q[f]),
      );
    let next: Document;
    if (whenMatched === 'replace') next = { ...d, _id: target._id };
    else if (Array.isArray(whenMatched))
      next = applyUpdate(target, whenMatched as Document[], undefined, undefined, {
        new: d,
        ...(m.let as Document),
      });
    else next = { ...target, ...d, _id: target._id };
    coll.replace(target, idFirst(next), opts);
  }
}

const aggregate: Handler = (ctx) => {
  const target = ctx.cmd.aggregate;
  const pipeline = ctx.cmd.pipeline;
  if (!Array.isArray(pipeline))
    throw new CommandError(ErrorCode.TypeMismatch, "'pipeline' option must be specified as an array");
  const cursorOpts = ctx.cmd.cursor as Document | undefined;
  if (!ctx.cmd.explain && (cursorOpts === undefined || typeof cursorOpts !== 'object')) {
    throw new CommandError(
      ErrorCode.FailedToParse,
      "The 'cursor' option is required, except for aggregate with the explain argument",
    );
  }
  if (typeof target !== 'string') {
    if (pipeline[0] && '$documents' in (pipeline[0] as Document)) {
      const docs = runPipeline(
        (pipeline[0] as Document).$documents as Document[],
        pipeline.slice(1) as Document[],
        resolver(ctx),
      );
      return ctx.cursors.open(`${ctx.dbName}.$cmd.aggregate`, docs, {
        batchSize: optionalNum(cursorOpts?.batchSize),
      });
    }
    throw new CommandError(
      ErrorCode.InvalidNamespace,
      `{aggregate: 1} is not supported by the embedded server except with $documents`,
    );
  }
  validateCollectionName(target);
  const stages = pipeline as Document[];
  for (const [i, st] of stages.entries()) {
    const keys = Object.keys(st ?? {});
    if (keys.length !== 1)
      throw new CommandError(
        ErrorCode.Location40323,
        'A pipeline stage specification object must contain exactly one field.',
      );
    if ((keys[0] === '$out' || keys[0] === '$merge') && i !== stages.length - 1) {
      throw new CommandError(
        ErrorCode.Location40601,
        `${keys[0]} can only be the final stage in the pipeline`,
      );
    }
  }
  const coll = existing(ctx, target);
  const ns = `${ctx.dbName}.${target}`;
  if (ctx.cmd.explain) {
    const first = stages[0]?.$match as Document | undefined;
    const plan = coll?.plan(first) ?? { stage: 'EOF' };
    return {
      explainVersion: '1',
      queryPlanner: { namespace: ns, winningPlan: planDoc(plan) },
      stages: stages.map((s) => ({ [Object.keys(s)[0]]: Object.values(s)[0] })),
      ok: 1,
    };
  }
  let input: Iterable<Document>;
  let rest = stages;
  if (stages[0] && '$collStats' in stages[0]) {
    const spec = stages[0].$collStats as Document;
    const stats: Document = { ns, host: `${ctx.server.host}:${ctx.server.port}`, localTime: new Date() };
    if (spec.storageStats)
      stats.storageStats = collStatsDoc(
        ctx,
        coll,
        target,
        toNumber((spec.storageStats as Document).scale ?? 1) || 1,
      );
    if (spec.count) stats.count = coll?.size ?? 0;
    input = [stats];
    rest = stages.slice(1);
  } else if (!coll) input = [];
  else if (stages[0] && '$match' in stages[0]) {
    const match = stages[0].$match as Document;
    const { bufs, plan } = coll.rawCandidates(match, viewer(ctx));
    input = Array.from(rawMatching(bufs, match, plan.exact === true), (b) => decode(b));
    rest = stages.slice(1);
  } else input = coll.scan(viewer(ctx));
  const last = rest[rest.length - 1];
  const lastName = last ? Object.keys(last)[0] : '';
  const isWrite = lastName === '$out' || lastName === '$merge';
  const body = isWrite ? rest.slice(0, -1) : rest;
  const out = body.length
    ? runPipeline(input, body, resolver(ctx), ctx.cmd.let as Document | undefined)
    : [...input];
  if (isWrite) {
    writeOut(ctx, lastName, last[lastName], out);
    return { cursor: { firstBatch: [], id: Long.fromNumber(0), ns }, ok: 1 };
  }
  return ctx.cursors.open(ns, out, {
    batchSize: optionalNum(cursorOpts?.batchSize),
    sessionKey: sessionKey(ctx),
  });
};

function optionalNum(v: unknown): number | undefined {
  return v === undefined || v === null ? undefined : toNumber(v);
}

function planDoc(plan: { stage: string; indexName?: string; sorted?: boolean }, sort?: SortSpec): Document {
  let doc: Document;
  if (plan.stage === 'IDHACK') doc = { stage: 'IDHACK' };
  else if (plan.stage === 'IXSCAN')
    doc = { stage: 'FETCH', inputStage: { stage: 'IXSCAN', indexName: plan.indexName } };
  else doc = { stage: plan.stage };
  if (sort && !plan.sorted) doc = { stage: 'SORT', sortPattern: sort, inputStage: doc };
  return doc;
}

const explain: Handler = (ctx) => {
  const inner = optionalDoc(ctx, 'explain');
  if (!inner) throw new CommandError(ErrorCode.FailedToParse, 'explain command requires a nested object');
  const name = Object.keys(inner)[0];
  const collName = inner[name] as string;
  const coll = existing(ctx, collName);
  const ns = `${ctx.dbName}.${collName}`;
  let filter: Document | undefined;
  const sort = name === 'find' ? parseSort(inner.sort) : undefined;
  if (name === 'find') filter = inner.filter as Document | undefined;
  else if (name === 'count' || name === 'distinct') filter = inner.query as Document | undefined;
  else if (name === 'aggregate')
    filter = ((inner.pipeline as Document[])?.[0]?.$match as Document | undefined) ?? undefined;
  else if (name === 'update') filter = (inner.updates as Document[])?.[0]?.q as Document | undefined;
  else if (name === 'delete') filter = (inner.deletes as Document[])?.[0]?.q as Document | undefined;
  else if (name === 'findAndModify') filter = inner.query as Document | undefined;
  else throw new CommandError(ErrorCode.CommandNotFound, `Explain failed due to unknown command: ${name}`);
  const plan = coll ? coll.plan(filter, sort) : { stage: 'EOF' };
  return {
    explainVersion: '1',
    queryPlanner: {
      namespace: ns,
      parsedQuery: filter ?? {},
      winningPlan: planDoc(plan, sort),
      rejectedPlans: [],
    },
    command: inner,
    serverInfo: { host: ctx.server.host, port: ctx.server.port, version: SERVER_VERSION },
    ok: 1,
  };
};

// ---------- collections, databases, indexes ----------

function parseCollectionOptions(ctx: CommandContext, base: CollectionOptions): CollectionOptions {
  const out: CollectionOptions = { ...base };
  if ('validator' in ctx.cmd) {
    const v = ctx.cmd.validator;
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw new CommandError(
        ErrorCode.TypeMismatch,
        "BSON field 'validator' is the wrong type, expected type 'object'",
      );
    if ((v as Document).$jsonSchema !== undefined) checkSchema((v as Document).$jsonSchema);
    compileFilter(v as Document);
    out.validator = Object.keys(v as Document).length ? (v as Document) : undefined;
  }
  if ('validationLevel' in ctx.cmd) {
    const lvl = ctx.cmd.validationLevel;
    if (!['off', 'strict', 'moderate'].includes(lvl))
      throw new CommandError(
        ErrorCode.BadValue,
        `Enumeration value '${lvl}' for field 'validationLevel' is not a valid value.`,
      );
    out.validationLevel = lvl as ValidationLevel;
  }
  if ('validationAction' in ctx.cmd) {
    const act = ctx.cmd.validationAction;
    if (!['error', 'warn'].includes(act))
      throw new CommandError(
        ErrorCode.BadValue,
        `Enumeration value '${act}' for field 'validationAction' is not a valid value.`,
      );
    out.validationAction = act as ValidationAction;
  }
  if (out.validator) {
    out.validationLevel ??= 'strict';
    out.validationAction ??= 'error';
  }
  return out;
}

const UNSUPPORTED_CREATE = [
  'viewOn',
  'pipeline',
  'capped',
  'timeseries',
  'clusteredIndex',
  'changeStreamPreAndPostImages',
  'encryptedFields',
];

const create: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'create');
  for (const k of UNSUPPORTED_CREATE) {
    if (ctx.cmd[k] !== undefined && ctx.cmd[k] !== false)
      throw new CommandError(
        ErrorCode.IllegalOperation,
        `create option '${k}' is not supported by the embedded server`,
      );
  }
  const options = parseCollectionOptions(ctx, {});
  const database = db(ctx);
  const found = database.get(name);
  if (found) {
    throw new CommandError(ErrorCode.NamespaceExists, `Collection ${ctx.dbName}.${name} already exists.`);
  }
  database.create(name, options);
  return { ok: 1 };
};

const collMod: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'collMod');
  const coll = existing(ctx, name);
  if (!coll) throw new CommandError(ErrorCode.NamespaceNotFound, `ns does not exist: ${ctx.dbName}.${name}`);
  const options = parseCollectionOptions(ctx, coll.options);
  coll.setOptions(options);
  ctx.store.record({ op: 'collMod', db: ctx.dbName, coll: name, options: toStoredOptions(options) });
  return { ok: 1 };
};

function collectionInfo(coll: Collection): Document {
  return {
    name: coll.name,
    type: 'collection',
    options: toStoredOptions(coll.options),
    info: { readOnly: false, uuid: coll.uuid },
    idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
  };
}

const listCollections: Handler = (ctx) => {
  const filter = optionalDoc(ctx, 'filter');
  const pred = compileFilter(filter);
  const database = ctx.store.existingDb(ctx.dbName);
  const infos = database ? [...database.collections.values()].map(collectionInfo).filter(pred) : [];
  const out = ctx.cmd.nameOnly === true ? infos.map((i) => ({ name: i.name, type: i.type })) : infos;
  const batchSize = optionalNum((ctx.cmd.cursor as Document | undefined)?.batchSize);
  return ctx.cursors.open(`${ctx.dbName}.$cmd.listCollections`, out, {
    batchSize: batchSize ?? Number.MAX_SAFE_INTEGER,
  });
};

const drop: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'drop');
  const coll = existing(ctx, name);
  const ns = `${ctx.dbName}.${name}`;
  if (!coll) return { ns, ok: 1 };
  const nIndexesWas = coll.indexSpecs().length;
  db(ctx).drop(name);
  return { nIndexesWas, ns, ok: 1 };
};

function splitNs(ns: unknown, field: string): { db: string; coll: string } {
  if (typeof ns !== 'string' || !ns.includes('.'))
    throw new CommandError(
      ErrorCode.InvalidNamespace,
      `Invalid namespace specified '${String(ns)}' for ${field}`,
    );
  const i = ns.indexOf('.');
  return { db: ns.slice(0, i), coll: ns.slice(i + 1) };
}

const renameCollection: Handler = (ctx) => {
  if (ctx.dbName !== 'admin')
    throw new CommandError(
      ErrorCode.Unauthorized,
      'renameCollection may only be run against the admin database.',
    );
  const from = splitNs(ctx.cmd.renameCollection, 'renameCollection');
  const to = splitNs(ctx.cmd.to, 'to');
  validateCollectionName(to.coll);
  const srcDb = ctx.store.existingDb(from.db);
  const src = srcDb?.get(from.coll);
  if (!srcDb || !src) throw new CommandError(ErrorCode.NamespaceNotFound, 'source namespace does not exist');
  if (from.db === to.db && from.coll === to.coll)
    throw new CommandError(ErrorCode.IllegalOperation, "Can't rename a collection to itself");
  const dstDb = ctx.store.db(to.db);
  if (dstDb.get(to.coll)) {
    if (ctx.cmd.dropTarget !== true)
      throw new CommandError(ErrorCode.NamespaceExists, 'target namespace exists');
    dstDb.drop(to.coll);
  }
  srcDb.collections.delete(from.coll);
  src.rebind(dstDb, to.coll);
  dstDb.collections.set(to.coll, src);
  ctx.store.record({
    op: 'renameCollection',
    db: from.db,
    coll: from.coll,
    toDb: to.db,
    toColl: to.coll,
  });
  return { ok: 1 };
};

function validateIndexSpec(spec: unknown): IndexSpec {
  if (!spec || typeof spec !== 'object')
    throw new CommandError(ErrorCode.TypeMismatch, 'index specification must be an object');
  const s = spec as Document;
  if (!s.key || typeof s.key !== 'object' || Object.keys(s.key as Document).length === 0) {
    throw new CommandError(ErrorCode.CannotCreateIndex, 'Index keys cannot be empty.');
  }
  for (const [f, v] of Object.entries(s.key as Document)) {
    const ok =
      typeof v === 'string'
        ? ['text', '2d', '2dsphere', 'hashed'].includes(v)
        : toNumber(v) !== 0 && !Number.isNaN(toNumber(v));
    if (!ok)
      throw new CommandError(
        ErrorCode.CannotCreateIndex,
        `Values in the index key pattern can contain only non-zero numbers or the special strings: bad value for field ${f}: ${JSON.stringify(v)}`,
      );
  }
  if (typeof s.name !== 'string' || s.name.length === 0) {
    throw new CommandError(ErrorCode.FailedToParse, "The field 'name' must be a non-empty string");
  }
  if (s.partialFilterExpression !== undefined) compileFilter(s.partialFilterExpression as Document);
  const out: IndexSpec = { v: 2, key: s.key as Document, name: s.name };
  for (const [k, v] of Object.entries(s)) {
    if (k === 'key' || k === 'name' || k === 'v' || k === 'ns' || k === 'background') continue;
    out[k] = v;
  }
  if (out.unique === false) delete out.unique;
  if (out.sparse === false) delete out.sparse;
  return out;
}

function sameOptions(a: IndexSpec, b: IndexSpec): boolean {
  const pick = (s: IndexSpec): string =>
    keyOf({
      unique: s.unique === true,
      sparse: s.sparse === true,
      pfe: s.partialFilterExpression ?? null,
      ttl: s.expireAfterSeconds ?? null,
    });
  return pick(a) === pick(b);
}

const createIndexes: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'createIndexes');
  const specs = ctx.cmd.indexes;
  if (!Array.isArray(specs) || specs.length === 0)
    throw new CommandError(ErrorCode.BadValue, 'Must specify at least one index to create');
  const parsed = specs.map(validateIndexSpec);
  const { coll, created } = db(ctx).ensure(name);
  const before = coll.indexSpecs().length;
  const toBuild: IndexSpec[] = [];
  for (const spec of parsed) {
    if (spec.name === '_id_' || keyOf(spec.key) === keyOf({ _id: 1 })) continue;
    const sameName = coll.indexes.get(spec.name);
    if (sameName) {
      if (keyOf(sameName.spec.key) !== keyOf(spec.key)) {
        throw new CommandError(
          ErrorCode.IndexKeySpecsConflict,
          `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName.spec)}`,
        );
      }
      if (!sameOptions(sameName.spec, spec)) {
        throw new CommandError(
          ErrorCode.IndexOptionsConflict,
          `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName.spec)}`,
        );
      }
      continue;
    }
    const sameKey = [...coll.indexes.values()].find(
      (i) => keyOf(i.spec.key) === keyOf(spec.key) && sameOptions(i.spec, spec),
    );
    if (sameKey) {
      throw new CommandError(
        ErrorCode.IndexOptionsConflict,
        `Index already exists with a different name: ${sameKey.name}`,
      );
    }
    toBuild.push(spec);
  }
  for (const spec of toBuild) {
    coll.createIndex(spec);
    ctx.store.record({ op: 'createIndex', db: ctx.dbName, coll: name, spec });
  }
  const reply: Document = {
    numIndexesBefore: before,
    numIndexesAfter: coll.indexSpecs().length,
    createdCollectionAutomatically: created,
  };
  if (toBuild.length === 0) reply.note = 'all indexes already exist';
  reply.ok = 1;
  return reply;
};

const listIndexes: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'listIndexes');
  const coll = existing(ctx, name);
  if (!coll) throw new CommandError(ErrorCode.NamespaceNotFound, `ns does not exist: ${ctx.dbName}.${name}`);
  return ctx.cursors.open(`${ctx.dbName}.${name}`, coll.indexSpecs(), { batchSize: Number.MAX_SAFE_INTEGER });
};

const dropIndexes: Handler = (ctx) => {
  const name = requireCollectionName(ctx, Object.keys(ctx.cmd)[0]);
  const coll = existing(ctx, name);
  if (!coll) throw new CommandError(ErrorCode.NamespaceNotFound, `ns not found ${ctx.dbName}.${name}`);
  const nIndexesWas = coll.indexSpecs().length;
  const which = ctx.cmd.index;
  let names: string[];
  if (which === '*') names = [...coll.indexes.keys()];
  else if (typeof which === 'string') names = [which];
  else if (Array.isArray(which)) names = which.map(String);
  else if (which && typeof which === 'object') {
    const found = [...coll.indexes.values()].find((i) => keyOf(i.spec.key) === keyOf(which));
    if (!found) {
      if (keyOf(which) === keyOf({ _id: 1 }))
        throw new CommandError(ErrorCode.InvalidOptions, 'cannot drop _id index');
      throw new CommandError(ErrorCode.IndexNotFound, `can't find index with key: ${JSON.stringify(which)}`);
    }
    names = [found.name];
  } else throw new CommandError(ErrorCode.TypeMismatch, "BSON field 'dropIndexes.index' is the wrong type");
  for (const n of names) {
    if (n === '_id_') throw new CommandError(ErrorCode.InvalidOptions, 'cannot drop _id index');
    if (!coll.indexes.has(n))
      throw new CommandError(ErrorCode.IndexNotFound, `index not found with name [${n}]`);
  }
  for (const n of names) {
    coll.indexes.delete(n);
    ctx.store.record({ op: 'dropIndex', db: ctx.dbName, coll: name, name: n });
  }
  const reply: Document = { nIndexesWas };
  if (which === '*') reply.msg = 'non-_id indexes dropped for collection';
  reply.ok = 1;
  return reply;
};

const collStats: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'collStats');
  const scale = toNumber(ctx.cmd.scale ?? 1) || 1;
  return { ...collStatsDoc(ctx, existing(ctx, name), name, scale), ok: 1 };
};

const dbStats: Handler = (ctx) => {
  const scale = toNumber(ctx.cmd.scale ?? 1) || 1;
  const colls = [...(ctx.store.existingDb(ctx.dbName)?.collections.values() ?? [])];
  const objects = colls.reduce((a, c) => a + c.size, 0);
  const dataSize = colls.reduce((a, c) => a + c.bytes, 0);
  const indexes = colls.reduce((a, c) => a + c.indexSpecs().length, 0);
  const indexSize = colls.reduce(
    (a, c) => a + Object.values(c.indexBytes()).reduce((x: number, y) => x + Number(y), 0),
    0,
  );
  return {
    db: ctx.dbName,
    collections: colls.length,
    views: 0,
    objects,
    avgObjSize: objects ? dataSize / objects : 0,
    dataSize: dataSize / scale,
    storageSize: dataSize / scale,
    indexes,
    indexSize: indexSize / scale,
    totalSize: (dataSize + indexSize) / scale,
    scaleFactor: scale,
    fsUsedSize: 0,
    fsTotalSize: 0,
    ok: 1,
  };
};

const listDatabases: Handler = (ctx) => {
  const filter = compileFilter(optionalDoc(ctx, 'filter'));
  const dbs = [...ctx.store.dbs.values()]
    .filter((d) => d.collections.size > 0)
    .map((d) => {
      const size = [...d.collections.values()].reduce((a, c) => a + c.bytes, 0);
      return { name: d.name, sizeOnDisk: size, empty: size === 0 };
    })
    .filter(filter);
  if (ctx.cmd.nameOnly === true) return { databases: dbs.map((d) => ({ name: d.name })), ok: 1 };
  const totalSize = dbs.reduce((a, d) => a + d.sizeOnDisk, 0);
  return { databases: dbs, totalSize, totalSizeMb: Math.floor(totalSize / 1024 / 1024), ok: 1 };
};

const dropDatabase: Handler = (ctx) => {
  ctx.store.dropDb(ctx.dbName);
  return { ok: 1 };
};

// ---------- server ----------

function hello(ctx: CommandContext): Document {
  const me = `${ctx.server.host}:${ctx.server.port}`;
  const now = new Date();
  const ts = Timestamp.fromBits(0, Math.floor(now.getTime() / 1000));
  const reply: Document = {
    topologyVersion: { processId: ctx.store.processId, counter: Long.fromNumber(0) },
    hosts: [me],
    setName: ctx.server.setName,
    setVersion: 1,
    isWritablePrimary: true,
    secondary: false,
    primary: me,
    me,
    electionId: new ObjectId('7fffffff0000000000000001'),
    lastWrite: {
      opTime: { ts, t: Long.fromNumber(1) },
      lastWriteDate: now,
      majorityOpTime: { ts, t: Long.fromNumber(1) },
      majorityWriteDate: now,
    },
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: now,
    logicalSessionTimeoutMinutes: 30,
    connectionId: ctx.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    ok: 1,
  };
  if (ctx.cmd.helloOk === true) reply.helloOk = true;
  if (!('hello' in ctx.cmd)) {
    reply.ismaster = true;
    delete reply.isWritablePrimary;
  }
  return reply;
}

const buildInfo: Handler = () => ({
  version: SERVER_VERSION,
  gitVersion: 'odtp-embedded',
  versionArray: [7, 0, 0, 0],
  bits: 64,
  debug: false,
  maxBsonObjectSize: 16 * 1024 * 1024,
  storageEngines: ['odtp-embedded'],
  modules: [],
  javascriptEngine: 'none',
  ok: 1,
});

const getParameter: Handler = (ctx) => {
  const reply: Document = {};
  const all =
    ctx.cmd.getParameter === '*' ||
    (typeof ctx.cmd.getParameter === 'object' && (ctx.cmd.getParameter as Document).allParameters);
  if (all || 'featureCompatibilityVersion' in ctx.cmd) reply.featureCompatibilityVersion = { version: '7.0' };
  if (Object.keys(reply).length === 0)
    throw new CommandError(ErrorCode.InvalidOptions, 'no option found to get');
  reply.ok = 1;
  return reply;
};

function memoryStatus(): Document {
  const m = process.memoryUsage();
  const mb = (n: number): number => Math.round(n / 1024 / 1024);
  return {
    bits: 64,
    resident: mb(m.rss),
    heapUsedMB: mb(m.heapUsed),
    heapTotalMB: mb(m.heapTotal),
    externalMB: mb(m.external),
  };
}

const serverStatus: Handler = (ctx) => ({
  host: `${ctx.server.host}:${ctx.server.port}`,
  version: SERVER_VERSION,
  process: 'odtp-embedded-mongo',
  pid: Long.fromNumber(process.pid),
  uptime: Math.floor((Date.now() - ctx.server.startedAt.getTime()) / 1000),
  localTime: new Date(),
  connections: { current: 0 },
  mem: memoryStatus(),
  ok: 1,
});

const endSessions: Handler = (ctx) => {
  const ids = (ctx.cmd.endSessions as Document[] | undefined) ?? [];
  for (const s of ids) {
    if (!s?.id) continue;
    ctx.cursors.killSession(keyOf(s.id));
    ctx.store.endSession(keyOf(s.id));
  }
  return { ok: 1 };
};

const commitTransaction: Handler = (ctx) => {
  if (ctx.dbName !== 'admin')
    throw new CommandError(
      ErrorCode.Unauthorized,
      'commitTransaction may only be run against the admin database.',
    );
  const owner = sessionKey(ctx);
  const txn = owner ? ctx.store.transactions.get(owner) : undefined;
  const txnNumber = toNumber(ctx.cmd.txnNumber);
  if (!owner || !txn || txn.txnNumber !== txnNumber) throw noSuchTransaction(txnNumber);
  if (txn.state === 'aborted') throw noSuchTransaction(txnNumber, txn.abortReason);
  ctx.store.commitTransaction(owner);
  return { ok: 1 };
};

const abortTransaction: Handler = (ctx) => {
  if (ctx.dbName !== 'admin')
    throw new CommandError(
      ErrorCode.Unauthorized,
      'abortTransaction may only be run against the admin database.',
    );
  const owner = sessionKey(ctx);
  const txn = owner ? ctx.store.transactions.get(owner) : undefined;
  const txnNumber = toNumber(ctx.cmd.txnNumber);
  if (!owner || !txn || txn.txnNumber !== txnNumber) throw noSuchTransaction(txnNumber);
  if (txn.state === 'committed')
    throw new CommandError(
      ErrorCode.TransactionCommitted,
      `Transaction with { txnNumber: ${txnNumber} } has been committed.`,
    );
  if (txn.state === 'aborted') throw noSuchTransaction(txnNumber, txn.abortReason);
  ctx.store.abortTransaction(owner, 'abortTransaction');
  return { ok: 1 };
};

function noSuchTransaction(txnNumber: number, reason?: string): CommandError {
  const message = reason
    ? `Transaction with { txnNumber: ${txnNumber} } has been aborted (${reason}).`
    : `Given transaction number ${txnNumber} does not match any in-progress transactions.`;
  return new CommandError(ErrorCode.NoSuchTransaction, message, {}, ['TransientTransactionError']);
}

const TRANSACTION_COMMANDS = new Set([
  'find',
  'getMore',
  'killCursors',
  'insert',
  'update',
  'delete',
  'findAndModify',
  'findandmodify',
  'aggregate',
  'distinct',
  'create',
  'createIndexes',
  'commitTransaction',
  'abortTransaction',
  'listCollections',
  'listIndexes',
]);

/** The transaction a command belongs to (starting it when `startTransaction` is set), or undefined. */
function resolveTransaction(ctx: CommandContext, name: string): Transaction | undefined {
  if (ctx.cmd.autocommit !== false) return undefined;
  const owner = sessionKey(ctx);
  if (!owner)
    throw new CommandError(ErrorCode.InvalidOptions, "'autocommit' field requires a logical session id");
  if (ctx.cmd.txnNumber === undefined)
    throw new CommandError(
      ErrorCode.InvalidOptions,
      "'autocommit' field requires a transaction number to also be specified",
    );
  const txnNumber = toNumber(ctx.cmd.txnNumber);
  if (!TRANSACTION_COMMANDS.has(name)) {
    throw new CommandError(
      ErrorCode.OperationNotSupportedInTransaction,
      `Cannot run '${name}' in a multi-document transaction.`,
    );
  }
  if (name === 'commitTransaction' || name === 'abortTransaction') return undefined;
  if (ctx.cmd.startTransaction === true) return ctx.store.begin(owner, txnNumber);
  const txn = ctx.store.transactions.get(owner);
  if (!txn || txn.txnNumber !== txnNumber) throw noSuchTransaction(txnNumber);
  if (txn.state === 'aborted') throw noSuchTransaction(txnNumber, txn.abortReason);
  if (txn.state === 'committed')
    throw new CommandError(
      ErrorCode.TransactionCommitted,
      `Transaction with { txnNumber: ${txnNumber} } has been committed.`,
    );
  return txn;
}

export const HANDLERS: Record<string, Handler> = {
  hello,
  isMaster: hello,
  ismaster: hello,
  ping: () => ({ ok: 1 }),
  buildInfo,
  buildinfo: buildInfo,
  getParameter,
  serverStatus,
  hostInfo: () => ({ system: { hostname: 'localhost', numCores: 1 }, os: { type: process.platform }, ok: 1 }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
  whatsmyuri: (ctx) => ({ you: `${ctx.server.host}:0`, ok: 1 }),
  getCmdLineOpts: () => ({ argv: ['odtp-embedded-mongo'], parsed: {}, ok: 1 }),
  getLog: () => ({ totalLinesWritten: 0, log: [], ok: 1 }),
  listDatabases,
  dropDatabase,
  create,
  collMod,
  listCollections,
  drop,
  renameCollection,
  insert,
  update,
  delete: del,
  find,
  getMore,
  killCursors,
  count,
  distinct,
  aggregate,
  findAndModify,
  findandmodify: findAndModify,
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
  collStats,
  dbStats,
  explain,
  endSessions,
  killAllSessions: () => ({ ok: 1 }),
  commitTransaction,
  abortTransaction,
  killAllSessionsByPattern: () => ({ ok: 1 }),
  startSession: () => ({ id: { id: new ObjectId() }, timeoutMinutes: 30, ok: 1 }),
  refreshSessions: () => ({ ok: 1 }),
  saslStart: () => ({ ok: 1, done: true, conversationId: 1, payload: Buffer.alloc(0) }),
  logout: () => ({ ok: 1 }),
};

const NAME_INDEX = new Map(Object.keys(HANDLERS).map((k) => [k.toLowerCase(), k]));

/** Run one command document and return the reply (errors become `ok: 0` replies). */
export function runCommand(ctx: Omit<CommandContext, 'cmd'> & { cmd: Document }): Document {
  const name = Object.keys(ctx.cmd)[0];
  const handlerName = name && (HANDLERS[name] ? name : NAME_INDEX.get(name.toLowerCase()));
  const handler = handlerName ? HANDLERS[handlerName] : undefined;
  if (!handler) {
    return new CommandError(ErrorCode.CommandNotFound, `no such command: '${name}'`).toReply();
  }
  let txn: Transaction | undefined;
  try {
    txn = resolveTransaction(ctx, handlerName!);
    const run = { ...ctx, txn };
    return ctx.store.within(txn, () => handler(run));
  } catch (e) {
    if (e instanceof CommandError) {
      // mongod aborts a transaction whose operation fails with a write conflict.
      if (txn && e.code === ErrorCode.WriteConflict) ctx.store.abortTransaction(txn.owner, 'write conflict');
      return e.toReply();
    }
    const message = e instanceof Error ? e.message : String(e);
    return new CommandError(ErrorCode.InternalError, message).toReply();
  }
}

export { GENERIC_FIELDS, idKeyOf };
