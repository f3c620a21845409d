/** Reads: find, getMore, killCursors, count, distinct, aggregate (with $out/$merge) and explain. */
import { Long } from 'bson';
import type { Document } from 'bson';
import { compareBson, keyOf, toNumber } from '../bson-order';
import { checkTimeLimit, SCAN_PAUSE } from '../cursors';
import { collatedCompare, compileCollated, parseCollation } from '../collation';
import type { Collation } from '../collation';
import { rawSchemaCheck } from '../raw-schema';
import type { RawSchemaCheck } from '../raw-schema';
import { CommandError, ErrorCode } from '../errors';
import {
  applyUpdate,
  compileFilter,
  parseSort,
  pathValues,
  project,
  runPipeline,
  simpleInclusion,
  sortDocuments,
} from '../query-engine';
import type { CollectionResolver, SortSpec } from '../query-engine';
import { decodeFields, filterFields, pickFields, RawDocument } from '../raw-bson';
import { Collection, decode } from '../storage';
import { validateCollectionName } from '../store';
import type { CommandContext, Handler } from './context';
import {
  SERVER_VERSION,
  existing,
  idFirst,
  optionalDoc,
  optionalInt,
  prepareInsert,
  requireCollectionName,
  sessionKey,
  viewer,
} from './context';
import { writeOptions } from './crud';

export function matching(
  coll: Collection | undefined,
  filter: Document | undefined,
  who?: string,
  collation?: Collation,
): Document[] {
  if (!coll) return [];
  if (collation) {
    // indexes order strings binary: a collated query reads every document
    const pred = compileCollated(filter, collation);
    return Array.from(timed(coll.rawCandidates({}, who).bufs), (b) => decode(b)).filter(pred);
  }
  const { bufs, plan } = coll.rawCandidates(filter, who);
  const out: Document[] = [];
  for (const buf of rawMatching(bufs, filter, plan.exact === true)) out.push(decode(buf));
  return out;
}

/** `docs`, checking the operation's time limit every few hundred documents. */
export function* timed<T>(docs: Iterable<T>): Generator<T> {
  let n = 0;
  for (const d of docs) {
    if ((++n & 255) === 0) checkTimeLimit();
    yield d;
  }
}

/**
 * The matching documents as BSON bytes, decoding only the fields the filter reads (nothing when exact). With
 * `pauses`, for cursors, it yields a pause marker every 1,024 documents scanned (see SCAN_PAUSE).
 */
export function* rawMatching(
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
    if ((++scanned & 255) === 0) {
      checkTimeLimit();
      if (pauses && (scanned & 1023) === 0) yield PAUSE_BUF;
    }
  }
}

export function schemaViolationsQuery(filter: Document): RawSchemaCheck | undefined {
  const nor = filter.$nor as unknown;
  if (Object.keys(filter).length !== 1 || !Array.isArray(nor) || nor.length !== 1) return undefined;
  const clause = nor[0] as unknown;
  if (!clause || typeof clause !== 'object' || Object.keys(clause).length !== 1) return undefined;
  const schema = (clause as Document).$jsonSchema as unknown;
  return schema && typeof schema === 'object' && !Array.isArray(schema)
    ? rawSchemaCheck(schema as Document)
    : undefined;
}

export const PAUSE_BUF = new Uint8Array(0);

/** Skip, limit and shape raw documents: copied as they are, or cut to an inclusion projection without decoding. */
export function* skipLimitRaw(
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

export function* skipLimitProject(
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

export const find: Handler = (ctx) => {
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
  const collation = parseCollation(ctx.cmd.collation);
  if (collation) {
    let found = matching(coll, filter, viewer(ctx), collation);
    if (sort) found = sortDocuments(found, sort, (a, b) => collatedCompare(a, b, collation));
    return ctx.cursors.open(ns, skipLimitProject(found, skip, limit, projection), {
      batchSize,
      limit,
      singleBatch,
      sessionKey: sessionKey(ctx),
    });
  }
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

export const getMore: Handler = (ctx) => {
  const collection = ctx.cmd.collection;
  if (typeof collection !== 'string')
    throw new CommandError(
      ErrorCode.FailedToParse,
      "BSON field 'getMore.collection' is missing but a required field",
    );
  return ctx.cursors.getMore(ctx.cmd.getMore, collection, ctx.dbName, optionalInt(ctx, 'batchSize'));
};

export const killCursors: Handler = (ctx) => {
  requireCollectionName(ctx, 'killCursors');
  const ids = ctx.cmd.cursors;
  if (!Array.isArray(ids))
    throw new CommandError(
      ErrorCode.FailedToParse,
      "BSON field 'killCursors.cursors' is missing but a required field",
    );
  return ctx.cursors.kill(ids);
};

export const count: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'count');
  const filter = optionalDoc(ctx, 'query');
  const skip = optionalInt(ctx, 'skip') ?? 0;
  const limit = Math.abs(optionalInt(ctx, 'limit') ?? 0);
  const coll = existing(ctx, name);
  const collation = parseCollation(ctx.cmd.collation);
  let n: number;
  if (collation) n = matching(coll, filter, viewer(ctx), collation).length;
  else if ((!filter || Object.keys(filter).length === 0) && !ctx.txn && coll?.uncommitted.size === 0)
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

export const distinct: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'distinct');
  const key = ctx.cmd.key;
  if (typeof key !== 'string')
    throw new CommandError(
      ErrorCode.FailedToParse,
      "BSON field 'distinct.key' is missing but a required field",
    );
  const collation = parseCollation(ctx.cmd.collation);
  const seen = new Map<string, unknown>();
  const collated: unknown[] = [];
  for (const doc of matching(existing(ctx, name), optionalDoc(ctx, 'query'), viewer(ctx), collation)) {
    for (const v of pathValues(doc, key)) {
      for (const x of Array.isArray(v) ? v : [v]) {
        if (collation) {
          // equal under the collation: one value (the first met), as mongod returns
          if (!collated.some((y) => collatedCompare(x, y, collation) === 0)) collated.push(x);
          continue;
        }
        const k = keyOf(x);
        if (!seen.has(k)) seen.set(k, x);
      }
    }
  }
  if (collation) return { values: collated.sort((a, b) => collatedCompare(a, b, collation)), ok: 1 };
  return { values: [...seen.values()].sort(compareBson), ok: 1 };
};

export function collStatsDoc(
  ctx: CommandContext,
  coll: Collection | undefined,
  name: string,
  scale = 1,
): Document {
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

export function resolver(ctx: CommandContext): CollectionResolver {
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

export function writeOut(ctx: CommandContext, stageName: string, spec: unknown, docs: Document[]): void {
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

export const aggregate: Handler = (ctx) => {
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
  const collation = parseCollation(ctx.cmd.collation);
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
  else if (collation && stages[0] && '$match' in stages[0]) {
    input = matching(coll, stages[0].$match as Document, viewer(ctx), collation);
    rest = stages.slice(1);
  } else if (stages[0] && '$match' in stages[0]) {
    const match = stages[0].$match as Document;
    const { bufs, plan } = coll.rawCandidates(match, viewer(ctx));
    input = Array.from(rawMatching(bufs, match, plan.exact === true), (b) => decode(b));
    rest = stages.slice(1);
  } else input = timed(coll.scan(viewer(ctx)));
  const last = rest[rest.length - 1];
  const lastName = last ? Object.keys(last)[0] : '';
  const isWrite = lastName === '$out' || lastName === '$merge';
  const body = isWrite ? rest.slice(0, -1) : rest;
  const out = body.length
    ? runPipeline(input, body, resolver(ctx), ctx.cmd.let as Document | undefined, collation?.spec)
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

export function optionalNum(v: unknown): number | undefined {
  return v === undefined || v === null ? undefined : toNumber(v);
}

export function planDoc(
  plan: { stage: string; indexName?: string; sorted?: boolean },
  sort?: SortSpec,
): Document {
  let doc: Document;
  if (plan.stage === 'IDHACK') doc = { stage: 'IDHACK' };
  else if (plan.stage === 'IXSCAN')
    doc = { stage: 'FETCH', inputStage: { stage: 'IXSCAN', indexName: plan.indexName } };
  else doc = { stage: plan.stage };
  if (sort && !plan.sorted) doc = { stage: 'SORT', sortPattern: sort, inputStage: doc };
  return doc;
}

export const explain: Handler = (ctx) => {
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
