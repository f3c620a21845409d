/** Writes: insert, update, delete and findAndModify. */
import type { Document } from 'bson';
import { toNumber } from '../bson-order';
import { collatedCompare } from '../collation';
import { CommandError, ErrorCode } from '../errors';
import { project } from '../projection';
import { parseSort, sortDocuments } from '../query-engine';
import { encode } from '../collection';
import type { WriteOptions, Collection } from '../collection';
import type { CommandContext, Handler } from './context';
import {
  collationOf,
  db,
  existing,
  optionalDoc,
  prepareInsert,
  requireCollectionName,
  viewer,
  writeOptions,
} from './context';
import { checkHint, checkHintTypes, matching } from './scan';
import { isView, refuseView, viewError } from './views';
import { computeUpdate, isOperatorUpdate, upsertSeed } from './update-operators';

export interface WriteOutcome {
  n: number;
  writeErrors: Document[];
}

export function ensureWritable(ctx: CommandContext, name: string): Collection {
  return db(ctx).ensure(name).coll;
}

export function writeSequence(ctx: CommandContext, field: string): Document[] {
  const items = ctx.cmd[field];
  if (!Array.isArray(items))
    throw new CommandError(
      ErrorCode.FailedToParse,
      `BSON field '${Object.keys(ctx.cmd)[0]}.${field}' is missing but a required field`,
    );
  return items as Document[];
}

export function runWrites<T>(items: T[], ordered: boolean, fn: (item: T, index: number) => void): Document[] {
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

export function writeReply(out: WriteOutcome, extra: Document = {}): Document {
  const reply: Document = { n: out.n, ...extra };
  if (out.writeErrors.length) reply.writeErrors = out.writeErrors;
  reply.ok = 1;
  return reply;
}

/** A write to a view: every statement fails with CommandNotSupportedOnView (the first only, when ordered). */
function onView(
  ctx: CommandContext,
  name: string,
  items: unknown[],
  ordered: boolean,
  extra: Document = {},
): Document {
  const writeErrors = runWrites(items, ordered, () => {
    throw viewError(ctx, name);
  });
  return writeReply({ n: 0, writeErrors }, extra);
}

export const insert: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'insert');
  const docs = writeSequence(ctx, 'documents');
  const ordered = ctx.cmd.ordered !== false;
  if (isView(ctx, name)) return onView(ctx, name, docs, ordered);
  const coll = ensureWritable(ctx, name);
  const opts = writeOptions(ctx);
  let n = 0;
  const writeErrors = runWrites(docs, ordered, (doc) => {
    coll.insert(prepareInsert(doc), opts);
    n++;
  });
  return writeReply({ n, writeErrors });
};

export interface UpsertResult {
  matched: number;
  modified: number;
  upsertedId?: unknown;
  before?: Document;
  after?: Document;
}

export interface UpdateStatement {
  q?: Document;
  u: Document | Document[];
  upsert?: boolean;
  multi?: boolean;
  arrayFilters?: Document[];
  sort?: Document;
  c?: Document;
  collation?: Document;
  hint?: unknown;
}

export function applyStatement(
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
  checkHint(coll, st.hint);
  const collation = collationOf(st.collation, coll);
  let targets = matching(coll, st.q, opts.txn, collation);
  const sortSpec = parseSort(sort ?? st.sort);
  if (sortSpec) targets = sortDocuments(targets, sortSpec, (a, b) => collatedCompare(a, b, collation));
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
  // The query is handed to the updater for the positional `$` only (it re-tests it): under a collation it would
  // re-test binary, so it is left out unless the update needs it.
  const condition = collation && !JSON.stringify(st.u).includes('.$') ? undefined : st.q;
  const replacement = !Array.isArray(st.u) && !isOperatorUpdate(st.u);
  for (const doc of targets) {
    const next = computeUpdate(doc, st.u, condition, st.arrayFilters, false, st.c);
    before = doc;
    after = next;
    if (Buffer.compare(encode(doc), encode(next)) === 0) continue;
    coll.replace(doc, next, replacement ? { ...opts, replacement } : opts);
    modified++;
  }
  return { matched: targets.length, modified, before, after };
}

export const update: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'update');
  const statements = writeSequence(ctx, 'updates') as UpdateStatement[];
  // `sort` in update statements came with MongoDB 8.0; this server is 7.0, which refuses it as mongod 7.0 does
  if (statements.some((st) => st !== null && typeof st === 'object' && 'sort' in st))
    throw new CommandError(ErrorCode.Location40415, "BSON field 'update.updates.sort' is an unknown field.");
  const ordered = ctx.cmd.ordered !== false;
  checkHintTypes(statements);
  if (isView(ctx, name)) return onView(ctx, name, statements, ordered, { nModified: 0 });
  // Only an upsert creates a missing collection, as in mongod (an update matching nothing writes nothing).
  const coll = statements.some((st) => st?.upsert === true) ? ensureWritable(ctx, name) : existing(ctx, name);
  if (!coll) {
    const writeErrors = runWrites(statements, ordered, (st) => {
      if (st.u === undefined || st.u === null || typeof st.u !== 'object')
        throw new CommandError(
          ErrorCode.FailedToParse,
          "BSON field 'update.updates.u' is missing but a required field",
        );
    });
    return writeReply({ n: 0, writeErrors }, { nModified: 0 });
  }
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

export const del: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'delete');
  const statements = writeSequence(ctx, 'deletes') as { q?: Document; limit?: number }[];
  const ordered = ctx.cmd.ordered !== false;
  checkHintTypes(statements);
  if (isView(ctx, name)) return onView(ctx, name, statements, ordered);
  const coll = existing(ctx, name);
  let n = 0;
  const writeErrors = runWrites(statements, ordered, (st) => {
    if (!st.q || typeof st.q !== 'object')
      throw new CommandError(
        ErrorCode.FailedToParse,
        "BSON field 'delete.deletes.q' is missing but a required field",
      );
    checkHint(coll, (st as Document).hint);
    const limit = toNumber(st.limit ?? 0);
    if (limit !== 0 && limit !== 1)
      throw new CommandError(
        ErrorCode.FailedToParse,
        `The limit field in delete objects must be 0 or 1. Got ${limit}`,
      );
    if (!coll) return;
    let targets = matching(coll, st.q, viewer(ctx), collationOf((st as Document).collation, coll));
    if (limit === 1) targets = targets.slice(0, 1);
    for (const doc of targets) coll.remove(doc, writeOptions(ctx));
    n += targets.length;
  });
  return writeReply({ n, writeErrors });
};

export const findAndModify: Handler = (ctx) => {
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
  refuseView(ctx, name);
  checkHint(existing(ctx, name), ctx.cmd.hint);
  if (remove) {
    const coll = existing(ctx, name);
    const collation = collationOf(ctx.cmd.collation, coll);
    let targets = matching(coll, query, viewer(ctx), collation);
    const s = parseSort(sort);
    if (s) targets = sortDocuments(targets, s, (a, b) => collatedCompare(a, b, collation));
    const doc = targets[0];
    if (!doc || !coll) return { lastErrorObject: { n: 0 }, value: null, ok: 1 };
    coll.remove(doc, writeOptions(ctx));
    return { lastErrorObject: { n: 1 }, value: project(doc, fields, query), ok: 1 };
  }
  const coll = upsert ? ensureWritable(ctx, name) : existing(ctx, name);
  if (!coll) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
  const r = applyStatement(
    coll,
    {
      q: query,
      u: u as Document,
      upsert,
      multi: false,
      arrayFilters: ctx.cmd.arrayFilters as Document[] | undefined,
      c: ctx.cmd.let as Document | undefined,
      collation: ctx.cmd.collation as Document | undefined,
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
  return { lastErrorObject, value: value ? project(value, fields, query) : null, ok: 1 };
};
