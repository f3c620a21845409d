/** Reads: find, getMore, killCursors, count, distinct and explain (aggregate is in aggregate.ts). */
import { Long } from 'bson';
import type { Document } from 'bson';
import { compareBson, keyOf } from '../bson-order';
import { collatedCompare } from '../collation';
import { CommandError, ErrorCode } from '../errors';
import { project } from '../projection';
import { compileFilter, parseSort, pathValues, sortDocuments } from '../query-engine';
import type { Handler } from './context';
import {
  SERVER_VERSION,
  collationOf,
  existing,
  optionalDoc,
  optionalInt,
  requireCollectionName,
  sessionKey,
  viewer,
} from './context';
import { resolveView } from './views';
import { checkHint, matching, planDoc, rawMatching, skipLimitProject, skipLimitRaw } from './scan';
import { viewDocuments } from './aggregate';
import { sortRaw } from './sort';

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
  checkHint(coll, ctx.cmd.hint);
  const ns = `${ctx.dbName}.${name}`;
  if (projection) project({}, projection);
  const collation = collationOf(ctx.cmd.collation, coll);
  const view = resolveView(ctx, name);
  if (view) {
    // mongod runs a find on a view as an aggregation: the view's pipeline, then the filter and the sort
    const stages: Document[] = [];
    if (filter && Object.keys(filter).length) stages.push({ $match: filter });
    if (sort) stages.push({ $sort: ctx.cmd.sort as Document });
    const docs = viewDocuments(ctx, view, stages, collation);
    return ctx.cursors.open(ns, skipLimitProject(docs, skip, limit, projection), {
      batchSize,
      limit,
      singleBatch,
      sessionKey: sessionKey(ctx),
    });
  }
  if (!coll) return { cursor: { firstBatch: [], id: Long.fromNumber(0), ns }, ok: 1 };
  if (collation) {
    let found = matching(coll, filter, viewer(ctx), collation);
    if (sort) found = sortDocuments(found, sort, (a, b) => collatedCompare(a, b, collation));
    return ctx.cursors.open(ns, skipLimitProject(found, skip, limit, projection, filter), {
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
    const sorted = sortRaw(found, sort, limit > 0 ? skip + limit : 0);
    docs = skipLimitRaw(sorted, skip, limit, projection, filter);
  } else
    docs = skipLimitRaw(
      rawMatching(bufs, filter, plan.exact === true, true),
      skip,
      limit,
      projection,
      filter,
    );
  return ctx.cursors.open(ns, docs, { batchSize, limit, singleBatch, sessionKey: sessionKey(ctx) });
};

export const getMore: Handler = (ctx) => {
  const collection = ctx.cmd.collection;
  if (typeof collection !== 'string')
    throw new CommandError(
      ErrorCode.FailedToParse,
      "BSON field 'getMore.collection' is missing but a required field",
    );
  return ctx.cursors.getMore(
    ctx.cmd.getMore,
    collection,
    ctx.dbName,
    optionalInt(ctx, 'batchSize'),
    sessionKey(ctx),
  );
};

export const killCursors: Handler = (ctx) => {
  requireCollectionName(ctx, 'killCursors');
  const ids = ctx.cmd.cursors;
  if (!Array.isArray(ids))
    throw new CommandError(
      ErrorCode.FailedToParse,
      "BSON field 'killCursors.cursors' is missing but a required field",
    );
  return ctx.cursors.kill(ids, sessionKey(ctx));
};

export const count: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'count');
  const filter = optionalDoc(ctx, 'query');
  const skip = optionalInt(ctx, 'skip') ?? 0;
  const limit = Math.abs(optionalInt(ctx, 'limit') ?? 0);
  const coll = existing(ctx, name);
  checkHint(coll, ctx.cmd.hint);
  const collation = collationOf(ctx.cmd.collation, coll);
  const view = resolveView(ctx, name);
  let n: number;
  if (view)
    n = viewDocuments(
      ctx,
      view,
      filter && Object.keys(filter).length ? [{ $match: filter }] : [],
      collation,
    ).length;
  else if (collation) n = matching(coll, filter, viewer(ctx), collation).length;
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
  // distinct took `hint` in MongoDB 7.1; this server is 7.0, which refuses it as mongod 7.0 does
  if (ctx.cmd.hint !== undefined)
    throw new CommandError(ErrorCode.Location40415, "BSON field 'distinct.hint' is an unknown field.");
  const collation = collationOf(ctx.cmd.collation, existing(ctx, name));
  const seen = new Map<string, unknown>();
  const collated: unknown[] = [];
  const query = optionalDoc(ctx, 'query');
  const view = resolveView(ctx, name);
  const docs = view
    ? viewDocuments(ctx, view, query && Object.keys(query).length ? [{ $match: query }] : [], collation)
    : matching(existing(ctx, name), query, viewer(ctx), collation);
  for (const doc of docs) {
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
