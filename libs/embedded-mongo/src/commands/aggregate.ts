/** aggregate: collection, view and collectionless (`$documents`, `$listLocalSessions`) pipelines, `$out` and `$merge`, and the resolver `$lookup` reads through. */
import { Long } from 'bson';
import type { Document } from 'bson';
import { keyOf, toNumber } from '../bson-order';
import { parseCollation } from '../collation';
import type { Collation } from '../collation';
import { CommandError, ErrorCode } from '../errors';
import { applyUpdate, pathValues, runPipeline } from '../query-engine';
import type { CollectionResolver } from '../query-engine';
import { Collection, decode } from '../collection';
import { validateCollectionName } from '../database';
import type { CommandContext, Handler } from './context';
import {
  collationOf,
  existing,
  idFirst,
  optionalNum,
  prepareInsert,
  sessionKey,
  viewer,
  writeOptions,
} from './context';
import { MAX_VIEW_DEPTH, resolveView, viewError } from './views';
import type { ResolvedView } from './views';
import { collStatsDoc } from './ddl';
import { checkHint, matching, planDoc, rawMatching, timed } from './scan';
import { openChangeStream } from './change-streams';

export function resolver(ctx: CommandContext): CollectionResolver {
  const resolve = (name: string): Document[] => {
    const view = resolveView(ctx, name);
    if (view) return viewDocuments(ctx, view, []);
    const coll = existing(ctx, name);
    return coll ? [...coll.scan(viewer(ctx))] : [];
  };
  return Object.assign(resolve, {
    lookup(name: string, field: string, values: unknown[]): Document[] {
      const view = resolveView(ctx, name);
      if (view) return viewDocuments(ctx, view, [{ $match: { [field]: { $in: values } } }]);
      const coll = existing(ctx, name);
      if (!coll) return [];
      const filter = { [field]: { $in: values } };
      return matching(coll, filter, viewer(ctx));
    },
  });
}

/** Views being read right now, one inside another (commands run one at a time, so a counter is exact). */
let viewReads = 0;

/** The documents of a view: its pipeline, then `stages`, over the collection it finally reads. */
export function viewDocuments(
  ctx: CommandContext,
  view: ResolvedView,
  stages: Document[],
  collation?: Collation,
): Document[] {
  // a view whose pipeline reads itself again ($lookup, $unionWith, $graphLookup from the view) would recurse forever
  if (viewReads >= MAX_VIEW_DEPTH)
    throw new CommandError(
      ErrorCode.ViewDepthLimitExceeded,
      `View depth too deep or view cycle detected. Maximum depth is ${MAX_VIEW_DEPTH}`,
    );
  const coll = existing(ctx, view.base);
  const input = coll ? timed(coll.scan(viewer(ctx))) : [];
  viewReads++;
  try {
    return runPipeline(
      input,
      [...view.pipeline, ...stages],
      resolver(ctx),
      ctx.cmd.let as Document,
      collation?.spec,
    );
  } finally {
    viewReads--;
  }
}

export function writeOut(ctx: CommandContext, stageName: string, spec: unknown, docs: Document[]): void {
  if (stageName === '$out') {
    const target =
      typeof spec === 'string' ? { db: ctx.dbName, coll: spec } : (spec as { db: string; coll: string });
    const targetDb = ctx.store.db(target.db);
    if (targetDb.views.has(target.coll)) throw viewError({ ...ctx, dbName: target.db }, target.coll);
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
  if (ctx.store.db(into.db).views.has(into.coll)) throw viewError({ ...ctx, dbName: into.db }, into.coll);
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
    if (whenMatched === 'fail') {
      // mongod inserts, and the unique index on the `on` fields refuses the document
      const key = Object.fromEntries(on.map((f) => [f, 1]));
      const index = [...coll.indexes.values()].find((i) => keyOf(i.spec.key) === keyOf(key));
      const name = on.length === 1 && on[0] === '_id' ? '_id_' : on.map((f) => `${f}_1`).join('_');
      throw coll.duplicateError(
        index?.spec ?? { v: 2, key, name },
        on.map((f) => q[f]),
      );
    }
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

/** The stages of a pipeline, checked: one field each, `$out`/`$merge` last and not under a linearizable read. */
function checkStages(ctx: CommandContext, pipeline: unknown[]): Document[] {
  const stages = pipeline as Document[];
  for (const [i, st] of stages.entries()) {
    const keys = Object.keys(st ?? {});
    if (keys.length !== 1)
      throw new CommandError(
        ErrorCode.Location40323,
        'A pipeline stage specification object must contain exactly one field.',
      );
    if (keys[0] === '$changeStream' && i > 0)
      throw new CommandError(
        ErrorCode.Location40602,
        '$changeStream is only valid as the first stage in a pipeline',
      );
    if (keys[0] !== '$out' && keys[0] !== '$merge') continue;
    if (i !== stages.length - 1)
      throw new CommandError(
        ErrorCode.Location40601,
        `${keys[0]} can only be the final stage in the pipeline`,
      );
    if ((ctx.cmd.readConcern as Document | undefined)?.level === 'linearizable')
      throw new CommandError(
        ErrorCode.InvalidOptions,
        `${keys[0]} cannot be used with a 'linearizable' read concern level`,
      );
  }
  return stages;
}

/** The input of a collectionless aggregate (`{aggregate: 1}`): `$documents` or `$listLocalSessions`. */
function collectionlessInput(ctx: CommandContext, stages: Document[]): Document[] {
  if (ctx.cmd.aggregate !== 1)
    throw new CommandError(
      ErrorCode.InvalidNamespace,
      `Invalid value for the aggregate field: a collection name, or 1 for a collectionless aggregate`,
    );
  const first = stages[0] ? Object.keys(stages[0])[0] : undefined;
  if (first === '$documents') {
    const docs = stages[0].$documents;
    if (!Array.isArray(docs))
      throw new CommandError(ErrorCode.TypeMismatch, '$documents expects an array of documents');
    return docs as Document[];
  }
  if (first === '$listLocalSessions') return ctx.store.sessions.list();
  throw new CommandError(
    ErrorCode.InvalidNamespace,
    `{aggregate: 1} is not valid for '${first ?? 'an empty pipeline'}'; a collection is required.`,
  );
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
  let stages = checkStages(ctx, pipeline);
  if (stages[0] && '$changeStream' in stages[0] && !ctx.cmd.explain)
    return openChangeStream(ctx, stages, resolver(ctx));
  let input: Iterable<Document>;
  let ns: string;
  let collation = parseCollation(ctx.cmd.collation);
  if (typeof target !== 'string') {
    input = collectionlessInput(ctx, stages);
    stages = stages.slice(1);
    ns = `${ctx.dbName}.$cmd.aggregate`;
  } else {
    validateCollectionName(target);
    ns = `${ctx.dbName}.${target}`;
    const view = resolveView(ctx, target);
    if (ctx.cmd.explain) return explainAggregate(ctx, view?.base ?? target, ns, stages);
    const source = view ? view.base : target;
    if (view) stages = [...view.pipeline, ...stages];
    checkHint(existing(ctx, source), ctx.cmd.hint);
    collation = collationOf(ctx.cmd.collation, existing(ctx, source));
    ({ input, rest: stages } = aggregateInput(ctx, source, ns, stages, collation));
  }
  const last = stages[stages.length - 1];
  const lastName = last ? Object.keys(last)[0] : '';
  const isWrite = lastName === '$out' || lastName === '$merge';
  const body = isWrite ? stages.slice(0, -1) : stages;
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

function explainAggregate(ctx: CommandContext, source: string, ns: string, stages: Document[]): Document {
  const first = stages[0]?.$match as Document | undefined;
  const plan = existing(ctx, source)?.plan(first) ?? { stage: 'EOF' };
  return {
    explainVersion: '1',
    queryPlanner: { namespace: ns, winningPlan: planDoc(plan) },
    stages: stages.map((s) => ({ [Object.keys(s)[0]]: Object.values(s)[0] })),
    ok: 1,
  };
}

/** The documents a collection's pipeline starts from (its leading `$match` or `$collStats` served here) and the stages left. */
function aggregateInput(
  ctx: CommandContext,
  target: string,
  ns: string,
  stages: Document[],
  collation: Collation | undefined,
): { input: Iterable<Document>; rest: Document[] } {
  const coll = existing(ctx, target);
  const first = stages[0];
  if (first && '$collStats' in first) {
    const spec = first.$collStats as Document;
    const stats: Document = { ns, host: `${ctx.server.host}:${ctx.server.port}`, localTime: new Date() };
    if (spec.storageStats)
      stats.storageStats = collStatsDoc(
        ctx,
        coll,
        target,
        toNumber((spec.storageStats as Document).scale ?? 1) || 1,
      );
    if (spec.count) stats.count = coll?.size ?? 0;
    return { input: [stats], rest: stages.slice(1) };
  }
  if (!coll) return { input: [], rest: stages };
  if (first && '$match' in first) {
    const match = first.$match as Document;
    if (collation) return { input: matching(coll, match, viewer(ctx), collation), rest: stages.slice(1) };
    const { bufs, plan } = coll.rawCandidates(match, viewer(ctx));
    const input = Array.from(rawMatching(bufs, match, plan.exact === true), (b) => decode(b));
    return { input, rest: stages.slice(1) };
  }
  return { input: timed(coll.scan(viewer(ctx))), rest: stages };
}
