/**
 * `$changeStream`: change streams on a collection, a database or the whole server, read from the store's change
 * history as mongod reads its oplog. Events have mongod's documented shapes (insert, update with
 * `updateDescription`, replace, delete, drop, rename, dropDatabase, invalidate); resume tokens are positions in
 * the history (`resumeAfter`, `startAfter`, `startAtOperationTime`); the cursor stays open when caught up, and
 * every batch carries a `postBatchResumeToken`.
 */
import { serialize, Timestamp } from 'bson';
import type { Document } from 'bson';
import { keyOf } from '../bson-order';
import { compareTime } from '../change-log';
import type { ChangeEntry, ChangeLog, ClusterTime } from '../change-log';
import { toTimestamp } from '../change-log';
import { decode, idKeyOf } from '../collection';
import { CAUGHT_UP } from '../cursors';
import { CommandError, ErrorCode } from '../errors';
import { compileFilter, runPipeline } from '../query-engine';
import type { CollectionResolver } from '../query-engine';
import type { CommandContext } from './context';
import { optionalNum, sessionKey } from './context';

/** Stages a change stream's pipeline may hold after `$changeStream` (mongod's list). */
const ALLOWED_STAGES = new Set([
  '$match',
  '$project',
  '$addFields',
  '$set',
  '$unset',
  '$replaceRoot',
  '$replaceWith',
  '$redact',
]);
const SPEC_FIELDS = new Set([
  'fullDocument',
  'fullDocumentBeforeChange',
  'resumeAfter',
  'startAfter',
  'startAtOperationTime',
  'allChangesForCluster',
  'showExpandedEvents',
]);
const INTERNAL_DBS = new Set(['admin', 'config', 'local']);
/** The part of a token past the events of its change: resuming from it starts at the next change. */
const WHOLE = 0xff;
const INVALIDATE = 1;

type Scope =
  { kind: 'collection'; db: string; coll: string } | { kind: 'database'; db: string } | { kind: 'cluster' };

/** A position in the history: a change, and how many of its events (the change, an invalidate) were read. */
interface Position extends ClusterTime {
  k: number;
}

export function encodeToken(p: Position): Document {
  const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
  return { _data: `82${hex(p.t, 8)}${hex(p.i, 8)}${hex(p.k, 2)}` };
}

export function decodeToken(token: unknown, option: string): Position {
  const data = (token as Document | null)?._data as unknown;
  const m = typeof data === 'string' ? /^82([0-9a-f]{8})([0-9a-f]{8})([0-9a-f]{2})$/i.exec(data) : null;
  if (!m || typeof token !== 'object' || Array.isArray(token))
    throw new CommandError(
      ErrorCode.InvalidResumeToken,
      `${option}: not a resume token of this server (expected {_data: <hex string>} as an event's _id or a postBatchResumeToken)`,
    );
  return { t: parseInt(m[1], 16), i: parseInt(m[2], 16), k: parseInt(m[3], 16) };
}

function scopeOf(ctx: CommandContext, spec: Document): Scope {
  const target = ctx.cmd.aggregate;
  if (typeof target === 'string') {
    if (INTERNAL_DBS.has(ctx.dbName))
      throw new CommandError(
        ErrorCode.InvalidNamespace,
        `$changeStream may not be opened on the internal ${ctx.dbName} database`,
      );
    return { kind: 'collection', db: ctx.dbName, coll: target };
  }
  if (spec.allChangesForCluster === true) {
    if (ctx.dbName !== 'admin')
      throw new CommandError(
        ErrorCode.InvalidOptions,
        "A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' database",
      );
    return { kind: 'cluster' };
  }
  if (INTERNAL_DBS.has(ctx.dbName))
    throw new CommandError(
      ErrorCode.InvalidNamespace,
      `$changeStream may not be opened on the internal ${ctx.dbName} database`,
    );
  return { kind: 'database', db: ctx.dbName };
}

function parseSpec(stage: Document): Document {
  const spec = stage.$changeStream as unknown;
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
    throw new CommandError(ErrorCode.TypeMismatch, '$changeStream expects an object as its argument');
  for (const key of Object.keys(spec))
    if (!SPEC_FIELDS.has(key))
      throw new CommandError(
        ErrorCode.Location40415,
        `BSON field '$changeStream.${key}' is an unknown field.`,
      );
  const s = spec as Document;
  const fullDocument = s.fullDocument ?? 'default';
  if (fullDocument !== 'default' && fullDocument !== 'updateLookup' && fullDocument !== 'whenAvailable')
    throw new CommandError(
      ErrorCode.BadValue,
      `$changeStream.fullDocument: '${String(fullDocument)}' is not supported here (default, updateLookup or whenAvailable; post-images are not kept)`,
    );
  const before = s.fullDocumentBeforeChange ?? 'off';
  if (before !== 'off' && before !== 'whenAvailable')
    throw new CommandError(
      ErrorCode.BadValue,
      `$changeStream.fullDocumentBeforeChange: '${String(before)}' is not supported here (off or whenAvailable; pre-images are not kept)`,
    );
  const resumeOptions = ['resumeAfter', 'startAfter', 'startAtOperationTime'].filter(
    (k) => s[k] !== undefined,
  );
  if (resumeOptions.length > 1)
    throw new CommandError(
      ErrorCode.Location40674,
      `Only one type of resume option is allowed, but multiple were found: ${resumeOptions.join(', ')}`,
    );
  return s;
}

/** Where the stream starts: after a token, at an operation time, or at the next change. */
function startOf(log: ChangeLog, spec: Document): { position: number; skip: number; hwm: Position } {
  if (spec.startAtOperationTime !== undefined) {
    const ts = spec.startAtOperationTime as unknown;
    if (!(ts instanceof Timestamp))
      throw new CommandError(
        ErrorCode.TypeMismatch,
        '$changeStream.startAtOperationTime must be a timestamp',
      );
    const at = { t: ts.t, i: ts.i };
    const before = at.i > 0 ? { t: at.t, i: at.i - 1 } : { t: at.t - 1, i: 0xffffffff };
    return { position: log.positionAfter(before), skip: -1, hwm: { ...before, k: WHOLE } };
  }
  const option =
    spec.resumeAfter !== undefined ? 'resumeAfter' : spec.startAfter !== undefined ? 'startAfter' : '';
  if (!option) {
    const now = log.now();
    return { position: log.end, skip: -1, hwm: { ...now, k: WHOLE } };
  }
  const p = decodeToken(spec[option], `$changeStream.${option}`);
  if (option === 'resumeAfter' && p.k === INVALIDATE)
    throw new CommandError(
      ErrorCode.InvalidResumeToken,
      "Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification.",
    );
  if (p.k === WHOLE || p.k === INVALIDATE) return { position: log.positionAfter(p), skip: -1, hwm: p };
  // an event's token: its change is read again and its events up to the token skipped (the invalidate may follow)
  const before = p.i > 0 ? { t: p.t, i: p.i - 1 } : { t: p.t - 1, i: 0xffffffff };
  const position = log.positionAfter(before);
  const entry = log.at(position);
  const same = entry !== undefined && compareTime(entry, p) === 0;
  return { position: same ? position : log.positionAfter(p), skip: same ? p.k : -1, hwm: p };
}

function inScope(scope: Scope, e: ChangeEntry): boolean {
  if (scope.kind === 'cluster') return !INTERNAL_DBS.has(e.db);
  if (e.db !== scope.db) return false;
  return scope.kind === 'database' || e.coll === scope.coll;
}

function invalidates(scope: Scope, e: ChangeEntry): boolean {
  if (scope.kind === 'collection') return e.kind === 'drop' || e.kind === 'rename';
  return scope.kind === 'database' && e.kind === 'dropDatabase';
}

const isPlain = (v: unknown): v is Document =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  Object.getPrototypeOf(v) === Object.prototype &&
  !('_bsontype' in (v as object));

function sameValue(a: unknown, b: unknown): boolean {
  return Buffer.compare(serialize({ v: a }), serialize({ v: b })) === 0;
}

/** `updateDescription` of an update: fields set (dotted paths into sub-documents) and fields removed. */
export function describeUpdate(prev: Document, next: Document): Document {
  const updatedFields: Document = {};
  const removedFields: string[] = [];
  const walk = (a: Document, b: Document, prefix: string): void => {
    for (const key of Object.keys(b)) {
      const path = prefix + key;
      if (!Object.hasOwn(a, key)) updatedFields[path] = b[key];
      else if (isPlain(a[key]) && isPlain(b[key]) && Object.keys(b[key] as Document).length > 0)
        walk(a[key] as Document, b[key] as Document, `${path}.`);
      else if (!sameValue(a[key], b[key])) updatedFields[path] = b[key];
    }
    for (const key of Object.keys(a)) if (!Object.hasOwn(b, key)) removedFields.push(prefix + key);
  };
  walk(prev, next, '');
  return { updatedFields, removedFields, truncatedArrays: [] };
}

/** The fields every event of a change starts with (its `k`-th event: the change, or the invalidate after it). */
function headOf(e: ChangeEntry, k: number, operationType: string): Document {
  return {
    _id: encodeToken({ t: e.t, i: e.i, k }),
    operationType,
    clusterTime: toTimestamp(e),
    wallTime: e.wall,
  };
}

const nsOf = (e: ChangeEntry): Document => (e.coll === undefined ? { db: e.db } : { db: e.db, coll: e.coll });

/** The events of one change, as a stream of `scope` sees them (mongod's field order). */
function eventsOf(ctx: CommandContext, scope: Scope, spec: Document, e: ChangeEntry): Document[] {
  if (!inScope(scope, e)) return [];
  const head = (k: number, operationType: string): Document => headOf(e, k, operationType);
  const ns = nsOf(e);
  const events: Document[] = [];
  switch (e.kind) {
    case 'insert':
    case 'replace': {
      const doc = decode(e.doc!);
      events.push({ ...head(0, e.kind), fullDocument: doc, ns, documentKey: { _id: doc._id } });
      break;
    }
    case 'update': {
      const doc = decode(e.doc!);
      const event = head(0, 'update');
      if (spec.fullDocument === 'updateLookup') event.fullDocument = currentDocument(ctx, e, doc._id);
      else if (spec.fullDocument === 'whenAvailable') event.fullDocument = null;
      Object.assign(event, {
        ns,
        documentKey: { _id: doc._id },
        updateDescription: describeUpdate(e.prev ? decode(e.prev) : {}, doc),
      });
      events.push(event);
      break;
    }
    case 'delete':
      events.push({ ...head(0, 'delete'), ns, documentKey: { _id: e.id } });
      break;
    case 'drop':
      events.push({ ...head(0, 'drop'), ns });
      break;
    case 'rename':
      events.push({ ...head(0, 'rename'), ns, to: e.to });
      break;
    case 'dropDatabase':
      events.push({ ...head(0, 'dropDatabase'), ns });
      break;
  }
  if (invalidates(scope, e)) events.push(head(INVALIDATE, 'invalidate'));
  return events;
}

/** Fields of an event known from its change without reading the document. */
const HEAD_FIELDS = ['_id', 'operationType', 'clusterTime', 'wallTime', 'ns'];

/** Whether a `$match` reads only head fields: it can then be decided before the document is decoded. */
function headOnly(filter: unknown): boolean {
  if (!isPlain(filter)) return false;
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' || key === '$or' || key === '$nor') {
      if (!Array.isArray(value) || !value.every(headOnly)) return false;
    } else if (key !== '$comment' && !HEAD_FIELDS.some((f) => key === f || key.startsWith(`${f}.`)))
      return false;
  }
  return true;
}

/** The head fields of the events of one change, as `eventsOf` would give them. */
function headsOf(scope: Scope, e: ChangeEntry): Document[] {
  if (!inScope(scope, e)) return [];
  const head = (k: number, operationType: string): Document => headOf(e, k, operationType);
  const heads: Document[] = [{ ...head(0, e.kind), ns: nsOf(e) }];
  if (invalidates(scope, e)) heads.push(head(INVALIDATE, 'invalidate'));
  return heads;
}

/** The document as it is now (updateLookup), or null when it is gone. */
function currentDocument(ctx: CommandContext, e: ChangeEntry, id: unknown): Document | null {
  const coll = ctx.store.existingDb(e.db)?.get(e.coll!);
  return coll?.get(idKeyOf(id)) ?? null;
}

/** Open a change stream (the aggregate's first stage is `$changeStream`). */
export function openChangeStream(
  ctx: CommandContext,
  stages: Document[],
  resolve: CollectionResolver,
): Document {
  if (ctx.txn)
    throw new CommandError(
      ErrorCode.OperationNotSupportedInTransaction,
      'Operation not permitted in transaction :: caused by :: $changeStream cannot run in a transaction',
    );
  const spec = parseSpec(stages[0]);
  const scope = scopeOf(ctx, spec);
  const rest = stages.slice(1);
  for (const st of rest) {
    const name = Object.keys(st)[0];
    if (!ALLOWED_STAGES.has(name))
      throw new CommandError(
        ErrorCode.IllegalOperation,
        `${name} is not permitted in a $changeStream pipeline`,
      );
  }
  const log = ctx.store.changes;
  const start = startOf(log, spec);
  let hwm = start.hwm;
  // a first $match on head fields only (a namespace, an operation type) skips other changes undecoded, as mongod
  // filters its oplog before it builds events: the cost of a stream follows the changes it returns
  const first = rest[0]?.$match as Document | undefined;
  const prefilter =
    rest.length && Object.keys(rest[0])[0] === '$match' && headOnly(first) ? compileFilter(first) : undefined;
  // that $match is then the compiled filter applied to each event (an entry may hold events of several
  // namespaces), and the stages after it, if any, run in the engine
  const after = prefilter ? rest.slice(1) : rest;
  const transform = (event: Document): Document | undefined => {
    if (prefilter && !prefilter(event)) return undefined;
    if (after.length === 0) return event;
    const [out] = runPipeline([event], after, resolve, ctx.cmd.let as Document | undefined);
    if (out && keyOf(out._id) !== keyOf(event._id))
      throw new CommandError(
        ErrorCode.ChangeStreamFatalError,
        'Encountered an event whose _id field, which contains the resume token, was modified by the pipeline. Modifying the _id field of an event makes it impossible to resume the stream from that point. Only transformations that retain the unmodified _id field are allowed.',
      );
    return out;
  };
  function* source(): Generator<Document> {
    let position = start.position;
    let skip = start.skip;
    for (;;) {
      log.check(position);
      const entry = log.at(position);
      if (!entry) {
        yield CAUGHT_UP;
        continue;
      }
      const events =
        prefilter && !headsOf(scope, entry).some(prefilter) ? [] : eventsOf(ctx, scope, spec, entry);
      for (const [k, event] of events.entries()) {
        if (k <= skip) continue;
        hwm = { t: entry.t, i: entry.i, k: event.operationType === 'invalidate' ? INVALIDATE : k };
        const out = transform(event);
        if (out) yield out;
        if (event.operationType === 'invalidate') return;
      }
      skip = -1;
      position++;
      hwm = { t: entry.t, i: entry.i, k: WHOLE };
    }
  }
  const ns = scope.kind === 'collection' ? `${scope.db}.${scope.coll}` : `${ctx.dbName}.$cmd.aggregate`;
  const cursorOpts = ctx.cmd.cursor as Document | undefined;
  const reply = ctx.cursors.open(ns, source(), {
    batchSize: optionalNum(cursorOpts?.batchSize),
    sessionKey: sessionKey(ctx),
    tailable: { resumeToken: () => encodeToken(hwm) },
  });
  return { ...reply, operationTime: toTimestamp(log.now()) };
}
