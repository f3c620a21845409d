import { randomUUID } from 'node:crypto';
import { ObjectId } from 'bson';
import type { Document } from 'bson';
import type { Db, ReadPreferenceLike } from 'mongodb';
import type { AppLevel } from '@odtp/config';
import {
  appContract,
  COLLECTION_NAMES,
  isHexId,
  ownershipOf,
  queriesOn,
  referenceGraph,
  referencedId,
  valuesAt,
  writesBothForms,
  writesStringReference,
} from '@odtp/schema';
import type { CollectionName, Edge } from '@odtp/schema';
import { checkCancelled, findAll, sourceBatches } from './audit-context';
import type { Ctx } from './audit-context';
import { allOrNothing, duplicateCheck, schemaCheck } from './collection-checks';
import { CHECKS, FindingCollector } from './findings';
import { HeapBudget } from './heap-budget';
import { Inflight } from './inflight';
import { ArrayPool, OrphanCandidates, PendingRefs } from './pending-refs';
import type { AuditReport, BacklogCount, CheckName, Finding, Violation } from './findings';

export interface AuditOptions {
  /**
   * The application that runs on the database (default target): references it writes as strings are references
   * (type drift there is a warning), values its queries cannot match are query mismatches, and the schema check
   * uses the validators derived for it.
   */
  app?: AppLevel;
  /** Checks to run (default all). */
  checks?: readonly CheckName[];
  /** Reference values resolved per `$in` query (default 1,000). */
  batchSize?: number;
  /** Sample ids kept per finding (default 20). */
  sampleLimit?: number;
  /** Read preference of every query (e.g. secondaryPreferred on a replica set). */
  readPreference?: ReadPreferenceLike;
  /** Time limit of every query (maxTimeMS, the server's time for a whole cursor); default none. */
  maxTimeMS?: number;
  signal?: AbortSignal;
  onProgress?: (collection: string, scanned: number) => void;
  /** Every violation as it is found (repairs are planned from these). */
  onViolation?: (v: Violation) => void;
  /** Awaited between reply batches: a consumer of `onViolation` that falls behind (a store) slows the reads. */
  backpressure?: () => Promise<void>;
  /**
   * Bytes the old generation may grow by over what the last major collection left before the audit asks V8 for
   * another (see HeapBudget): keeps the peak memory of a long audit independent of the database's size. Default
   * 8 MiB; 0 leaves collection to V8 alone.
   */
  heapBudget?: number;
  /** Restrict the audit to these collections (as sources); default all ten. */
  collections?: readonly CollectionName[];
  /**
   * Audit only these documents (by `_id`, per source collection): every check of each, as a full audit would
   * check it (the live watch and incremental audits). Collections not named are not read.
   */
  documents?: DocumentScope;
  /**
   * Documents an orphan check may read without an index on the parents' path (each batch of child ids scans the
   * parent collection); above it the check is skipped and says why. Default 20,000,000.
   */
  maxUnindexedScan?: number;
}

/** Documents to audit, by `_id`, per collection. */
export type DocumentScope = Partial<Record<CollectionName, readonly unknown[]>>;

/** Parents before children, so an orphan check knows whether its parents hold string ids. */
const PASS_ORDER: readonly CollectionName[] = [
  ...COLLECTION_NAMES.filter((c) => c !== 'outputs' && c !== 'logs'),
  'outputs',
  'logs',
];

/** The parents that list a child, when its orphans are found by asking them (not logs: they name their step). */
function listingParents(collection: CollectionName): readonly { collection: CollectionName; path: string }[] {
  const o = ownershipOf(collection);
  return o?.kind === 'lists' ? o.parents : [];
}

/** The orphan finding's path: the parents' paths, or the child's own reference to its parent. */
function orphanPath(collection: CollectionName): string | undefined {
  const o = ownershipOf(collection);
  if (!o) return undefined;
  return o.kind === 'refersTo' ? o.path : o.parents.map((p) => `${p.collection}.${p.path}`).join('|');
}

/** The path by which a child names its parent, when orphans are found by resolving it (logs' stepRef). */
function parentReference(collection: CollectionName): string | undefined {
  const o = ownershipOf(collection);
  return o?.kind === 'refersTo' ? o.path : undefined;
}

/**
 * Why the orphan check of `collection` would be too costly: a parent path without an index, and more than
 * `maxUnindexedScan` parent documents to read (one parent scan per batch of child ids); undefined when it is fine.
 */
async function unindexedOrphanScan(ctx: Ctx, collection: CollectionName): Promise<string | undefined> {
  const children = await ctx.db.collection(collection).estimatedDocumentCount();
  const batches = Math.ceil(children / ctx.batchSize);
  for (const parent of listingParents(collection)) {
    const exists = (await ctx.db.listCollections({ name: parent.collection }, { nameOnly: true }).toArray())
      .length;
    if (!exists) continue;
    const indexed = (await ctx.db.collection(parent.collection).indexes()).some(
      (i) => Object.keys(i.key as Document)[0] === parent.path,
    );
    if (indexed) continue;
    const reads = (await ctx.db.collection(parent.collection).estimatedDocumentCount()) * batches;
    if (reads > ctx.maxUnindexedScan)
      return `no index on ${parent.collection}.${parent.path}: the check would read about ${reads.toLocaleString('en-US')} documents; create the schema's indexes (odtp-db migrate up) and audit again`;
  }
  return undefined;
}

/**
 * The findings of one reference path: dangling references, type drift (a warning where the application itself
 * writes id strings), query mismatches (where the application queries the path with a string) and broken inverses.
 */
function declareEdge(ctx: Ctx, collection: CollectionName, e: Edge): Finding[] {
  const out: Finding[] = [];
  const c = ctx.collector;
  if (ctx.checks.has('dangling-reference'))
    out.push(c.declare('dangling-reference', collection, e.path, e.to));
  if (ctx.checks.has('type-drift')) {
    const tolerated = writesStringReference(ctx.app, collection, e.path);
    const f = c.declare('type-drift', collection, e.path, e.to, tolerated ? 'warning' : 'error');
    if (tolerated)
      f.note = `id strings here are what ${ctx.app.application}${ctx.app.beside ? ' (or a release beside it)' : ''} writes: the upgrade backlog (report.upgrade), not drift; drift here is a value no configured application writes`;
    out.push(f);
  }
  const queries = queriesOn(ctx.app, collection, e.path);
  if (ctx.checks.has('query-mismatch') && queries.length) {
    const f = c.declare('query-mismatch', collection, e.path, e.to);
    f.note = `${ctx.app.application} finds these documents with a string (${queries.map((q) => q.operation).join('; ')}): an ObjectId here is invisible to it`;
    out.push(f);
  }
  if (ctx.checks.has('broken-inverse') && e.inverse)
    out.push(c.declare('broken-inverse', collection, e.path, `${e.to}.${e.inverse}`));
  return out;
}

/** What one pass over a source collection checks: its active edges, and how its orphans are found. */
interface Pass {
  ctx: Ctx;
  collection: CollectionName;
  /** The reference paths read (empty when no reference check runs, but for orphan logs). */
  active: Edge[];
  /** The findings this pass fills (their scanned count and duration are set at the end). */
  declared: Finding[];
  /** The orphan finding's path when this collection's orphans are checked. */
  orphans?: string;
  /** Logs are orphans when their step is missing: found by resolving stepRef. */
  orphansByReference: boolean;
  /** Ids are resolved only when a check needs the targets: dangling references, broken inverses, orphan logs. */
  resolving: boolean;
  /** Paths where the application writes id strings, and where it queries with them. */
  stringsAllowed: Set<string>;
  /** Top-level paths where the application writes both forms, the [ObjectId, id string] pair. */
  pairsAllowed: Set<string>;
  queriedAsString: Set<string>;
  /** The buffers of the pass's resolved batches, for its next ones. */
  pool: ArrayPool;
}

/** Declare the findings of a pass and decide what it reads; undefined when it has nothing to check. */
async function planPass(ctx: Ctx, collection: CollectionName, edges: Edge[]): Promise<Pass | undefined> {
  const refChecks = (
    ['dangling-reference', 'type-drift', 'query-mismatch', 'broken-inverse'] as const
  ).filter((c) => ctx.checks.has(c));
  let orphans = ctx.checks.has('orphan') ? orphanPath(collection) : undefined;
  const orphansByReference = orphans !== undefined && parentReference(collection) !== undefined;
  if (orphans && !orphansByReference && !ctx.scope) {
    const why = await unindexedOrphanScan(ctx, collection);
    if (why) {
      const f = ctx.collector.declare('orphan', collection, orphans);
      f.skipped = why;
      orphans = undefined;
    }
  }
  // Orphan logs are found by resolving their stepRef, so that edge is read even when no reference check runs.
  const active = refChecks.length
    ? edges
    : orphansByReference
      ? edges.filter((e) => e.path === parentReference(collection))
      : [];
  const declared: Finding[] = [];
  for (const e of active) declared.push(...declareEdge(ctx, collection, e));
  if (orphans) declared.push(ctx.collector.declare('orphan', collection, orphans));
  if (!declared.length) return undefined;
  return {
    ctx,
    collection,
    active,
    declared,
    orphans,
    orphansByReference,
    resolving: ctx.checks.has('dangling-reference') || ctx.checks.has('broken-inverse') || orphansByReference,
    stringsAllowed: new Set(
      active.filter((e) => writesStringReference(ctx.app, collection, e.path)).map((e) => e.path),
    ),
    pairsAllowed: new Set(
      active
        .filter((e) => !e.many && !e.path.includes('.') && writesBothForms(ctx.app, collection, e.path))
        .map((e) => e.path),
    ),
    queriedAsString: new Set(
      active.filter((e) => queriesOn(ctx.app, collection, e.path).length).map((e) => e.path),
    ),
    pool: new ArrayPool(),
  };
}

/**
 * The violations a reference value shows by itself (type drift, a non-id where the application writes id strings,
 * an ObjectId where it queries strings); returns the id to resolve, if any.
 */
function inspectValue(pass: Pass, edge: Edge, docId: unknown, value: unknown): ObjectId | undefined {
  // The common case first, without allocating: an ObjectId where the application does not query strings.
  if (value instanceof ObjectId) {
    if (pass.queriedAsString.has(edge.path) && pass.ctx.checks.has('query-mismatch'))
      violation(
        pass,
        edge,
        'query-mismatch',
        docId,
        value,
        `an ObjectId where ${pass.ctx.app.application} queries a string`,
      );
    return value;
  }
  const id = referencedId(value);
  if (pass.stringsAllowed.has(edge.path)) {
    // The application writes id strings here: an id string is the upgrade backlog, one that is no id references
    // nothing.
    if (id) pass.ctx.backlog(pass.collection, edge.path, 'string');
    else if (pass.ctx.checks.has('dangling-reference'))
      violation(pass, edge, 'dangling-reference', docId, value, 'not an id');
  } else if (pass.ctx.checks.has('type-drift'))
    violation(
      pass,
      edge,
      'type-drift',
      docId,
      value,
      isHexId(value) ? 'an id stored as a string' : 'not an id',
    );
  return id;
}

function violation(
  pass: Pass,
  edge: Edge,
  check: CheckName,
  docId: unknown,
  value: unknown,
  detail: string,
): void {
  pass.ctx.violation({
    check,
    collection: pass.collection,
    path: edge.path,
    target: edge.to,
    docId,
    value,
    detail,
  });
}

/** Resolve a batch of references of one edge with one `$in` query: dangling ones, orphan logs, broken inverses. */
function resolveBatch(pass: Pass, edge: Edge, batch: PendingRefs) {
  const resolve = async (): Promise<void> => {
    const { ctx, collection } = pass;
    const wantInverse = ctx.checks.has('broken-inverse') && edge.inverse !== undefined;
    const targetProjection: Document = { _id: 1 };
    if (wantInverse) targetProjection[edge.inverse!.split('.')[0]] = 1;
    // the targets found, by their index in the batch (read from the reply's bytes, as the scan reads)
    const found = new Array<Document | undefined>(batch.distinct);
    const targets = batch.targets();
    const docs = await findAll(ctx, edge.to, { _id: { $in: targets } }, targetProjection, targets.length + 1);
    for (const d of docs) {
      const id = referencedId(d._id);
      const t = id ? batch.indexOf(id) : -1;
      if (t >= 0) found[t] = d;
    }
    const backs = new Array<Set<string | undefined> | undefined>(batch.distinct);
    for (let i = 0; i < batch.count; i++) {
      const target = found[batch.targetIndex(i)];
      // the document and value of a reference are rebuilt only when it is reported or its inverse checked
      if (!target) {
        const pair = { docId: batch.docId(i), value: batch.value(i) };
        if (ctx.checks.has('dangling-reference'))
          ctx.violation({
            check: 'dangling-reference',
            collection,
            path: edge.path,
            target: edge.to,
            ...pair,
          });
        if (pass.orphansByReference && edge.path === parentReference(collection))
          ctx.violation({
            check: 'orphan',
            collection,
            path: pass.orphans!,
            ...pair,
            detail: 'its step is missing',
          });
        continue;
      }
      if (wantInverse) {
        // a target's ids pointing back, once per target (an execution is checked by each of its steps)
        const t = batch.targetIndex(i);
        const back = (backs[t] ??= new Set(
          valuesAt(target, edge.inverse!).map((v) => referencedId(v)?.toHexString()),
        ));
        const self = batch.docHex(i) ?? referencedId(batch.docId(i))?.toHexString();
        if (self === undefined || !back.has(self)) {
          const key = batch.key(i);
          ctx.violation({
            check: 'broken-inverse',
            collection,
            path: edge.path,
            target: `${edge.to}.${edge.inverse}`,
            docId: batch.docId(i),
            value: batch.value(i),
            detail: back.size
              ? `${edge.to}.${edge.inverse} of ${key} does not point back`
              : `${edge.to} ${key} has no ${edge.inverse}`,
          });
        }
      }
    }
  };
  // the batch's buffers serve the next batches once it is resolved (or failed)
  return () => resolve().finally(() => batch.release());
}

/** Ask the parents which of a batch of children they list; the others (and ids that are no id) are orphans. */
function resolveOrphans(pass: Pass, children: OrphanCandidates) {
  const resolve = async (): Promise<void> => {
    const { ctx, collection } = pass;
    const batch = children.ids;
    const reached = new Uint8Array(batch.distinct);
    const ids = Array.from({ length: batch.count }, (_, i) => batch.docId(i));
    let hexes: string[] | undefined;
    for (const parent of listingParents(collection)) {
      if (!ids.length) break;
      // Parents may list a child by its id as a string (type drift): look those up too, unless the parent's
      // own pass (run before this one) found no string there (a scoped audit read only some parents: both forms).
      const drift = ctx.collector.find('type-drift', parent.collection, parent.path);
      const candidates =
        !ctx.scope && drift && drift.violations === 0
          ? ids
          : [...ids, ...(hexes ??= ids.map((_, i) => batch.key(i)))];
      const docs = await findAll(
        ctx,
        parent.collection,
        { [parent.path]: { $in: candidates } },
        { [parent.path]: 1 },
      );
      for (const d of docs)
        for (const v of valuesAt(d, parent.path)) {
          const id = referencedId(v);
          const t = id ? batch.indexOf(id) : -1;
          if (t >= 0) reached[t] = 1;
        }
    }
    const orphan = (docId: unknown): void =>
      ctx.violation({
        check: 'orphan',
        collection,
        path: pass.orphans!,
        docId,
        detail: 'no parent lists it',
      });
    for (let i = 0; i < batch.count; i++) if (!reached[batch.targetIndex(i)]) orphan(batch.docId(i));
    for (const docId of children.notIds) orphan(docId);
  };
  // the batch's buffers serve the next batches once it is resolved (or failed)
  return () => resolve().finally(() => children.ids.release());
}

/** The id of an [ObjectId, id string] pair of the same id, else undefined. */
function bothForms(v: unknown): ObjectId | undefined {
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [a, b] = v as unknown[];
  return a instanceof ObjectId && typeof b === 'string' && a.toHexString() === b.toLowerCase()
    ? a
    : undefined;
}

/** Add a resolvable reference to its edge's pending batch; returns the batch when it is full. */
function queue(
  pending: Map<Edge, PendingRefs>,
  edge: Edge,
  docId: unknown,
  value: unknown,
  id: ObjectId,
  pass: Pass,
): PendingRefs | undefined {
  const batch = pending.get(edge)!;
  if (!batch.add(docId, value, id)) return undefined;
  pending.set(edge, new PendingRefs(pass.ctx.batchSize, pass.pool));
  return batch;
}

/**
 * One streaming pass over a source collection, projected on its reference paths: type drift is seen in the
 * values, dangling references and broken inverses by resolving deduplicated batches of ids with one `$in` query
 * each (a few in flight), orphans by asking the parents about batches of child ids.
 */
async function referencePass(ctx: Ctx, collection: CollectionName, edges: Edge[]): Promise<number> {
  const started = performance.now();
  const pass = await planPass(ctx, collection, edges);
  // a collection that does not exist has nothing to read (its findings stay declared, with 0 scanned)
  if (!pass || !ctx.existing.has(collection)) return 0;
  const { active } = pass;
  const projection: Document = { _id: 1 };
  for (const e of active) projection[e.path.split('.')[0]] = 1;
  const inflight = new Inflight(4);
  const pending = new Map(active.map((e) => [e, new PendingRefs(ctx.batchSize, pass.pool)]));
  const segments = new Map(active.map((e) => [e, e.path.split('.')]));
  let scanned = 0;
  const cursor = sourceBatches(ctx, collection, projection);
  try {
    scanned = await scanSource(pass, cursor, pending, inflight, segments);
  } finally {
    // a pass that stops (cancelled, failed) leaves no query of its own running behind it
    await inflight.settle();
  }
  for (const [edge, batch] of pending) if (batch.count) await inflight.add(resolveBatch(pass, edge, batch));
  await inflight.drain();
  ctx.onProgress?.(collection, scanned);
  const durationMs = Math.round(performance.now() - started);
  for (const f of pass.declared) {
    f.scanned = scanned;
    f.durationMs = durationMs;
  }
  return scanned;
}

/** Read the source documents: inspect each reference, queue batches to resolve, and batches of orphan candidates. */
async function scanSource(
  pass: Pass,
  batches: AsyncIterable<Iterable<Document>>,
  pending: Map<Edge, PendingRefs>,
  inflight: Inflight,
  segments: Map<Edge, string[]>,
): Promise<number> {
  const { ctx, collection, active, orphans, orphansByReference } = pass;
  let orphanBatch = new OrphanCandidates(ctx.batchSize, pass.pool);
  let scanned = 0;
  for await (const batch of batches) {
    await ctx.backpressure?.();
    for (const doc of batch) {
      scanned++;
      for (const edge of active) {
        const pair = pass.pairsAllowed.has(edge.path) ? bothForms(doc[edge.path]) : undefined;
        if (pair) {
          // the [ObjectId, id string] pair a transition release writes: one reference, and upgrade backlog
          ctx.backlog(collection, edge.path, 'both');
          if (!pass.resolving) continue;
          const full = queue(pending, edge, doc._id, pair, pair, pass);
          if (full) await inflight.add(resolveBatch(pass, edge, full));
          continue;
        }
        for (const value of valuesAt(doc, segments.get(edge)!)) {
          if (value === null) continue;
          const id = inspectValue(pass, edge, doc._id, value);
          if (!id || !pass.resolving) continue;
          const full = queue(pending, edge, doc._id, value, id, pass);
          if (full) await inflight.add(resolveBatch(pass, edge, full));
        }
      }
      if (orphans && !orphansByReference) {
        if (orphanBatch.add(doc._id)) {
          const full = orphanBatch;
          orphanBatch = new OrphanCandidates(ctx.batchSize, pass.pool);
          await inflight.add(resolveOrphans(pass, full));
        }
      }
      if (scanned % ctx.batchSize === 0) {
        checkCancelled(ctx);
        ctx.onProgress?.(collection, scanned);
      }
    }
  }
  if (orphanBatch.count) await inflight.add(resolveOrphans(pass, orphanBatch));
  return scanned;
}

/** Audit the database: every check of the reference graph, one finding per check and edge or collection. */
export async function runAudit(db: Db, options: AuditOptions = {}): Promise<AuditReport> {
  const startedAt = new Date();
  const checks = new Set<CheckName>(options.checks ?? CHECKS);
  for (const c of checks)
    if (!CHECKS.includes(c)) throw new Error(`unknown check "${c}" (available: ${CHECKS.join(', ')})`);
  const collector = new FindingCollector(options.sampleLimit ?? 20);
  const app = appContract(options.app ?? 'target');
  const existing = new Set(
    (await db.listCollections({}, { nameOnly: true, readPreference: options.readPreference }).toArray()).map(
      (c) => c.name,
    ),
  );
  const backlog = new Map<string, BacklogCount>();
  const heap = HeapBudget.forAudit(options.heapBudget);
  const ctx: Ctx = {
    db,
    existing,
    backlog(collection, path, form) {
      const key = `${collection}|${path}|${form}`;
      const b = backlog.get(key) ?? { collection, path, form, values: 0 };
      b.values++;
      backlog.set(key, b);
    },
    app,
    checks,
    batchSize: options.batchSize ?? 1000,
    maxUnindexedScan: options.maxUnindexedScan ?? 20_000_000,
    readPreference: options.readPreference,
    maxTimeMS: options.maxTimeMS,
    signal: options.signal,
    collector,
    onProgress: options.onProgress,
    backpressure: heap
      ? async () => {
          heap.tick();
          await options.backpressure?.();
        }
      : options.backpressure,
    violation(v) {
      collector.add(v);
      options.onViolation?.(v);
    },
    scope: options.documents,
  };
  // scoped (documents): every finding is declared, only the scope's documents are read
  const collections = new Set<CollectionName>(options.collections ?? COLLECTION_NAMES);
  const edges = referenceGraph();
  // Declare every finding up front, so the report lists them in a stable order whatever finishes first.
  for (const c of COLLECTION_NAMES.filter((x) => collections.has(x)))
    for (const e of edges.filter((x) => x.from === c)) declareEdge(ctx, c, e);
  let scanned = 0;
  const passes = async (): Promise<void> => {
    for (const collection of PASS_ORDER) {
      if (!collections.has(collection)) continue;
      checkCancelled(ctx);
      scanned += await referencePass(
        ctx,
        collection,
        edges.filter((e) => e.from === collection),
      );
    }
  };
  // The duplicate and schema checks are mostly server work: they run beside the client-side reference passes. When
  // one part fails the others stop at their next batch, and the audit ends only once none of them is running.
  await allOrNothing(ctx, [
    passes,
    ...(checks.has('duplicate') ? [() => duplicateCheck(ctx, collections)] : []),
    ...(checks.has('schema-violation') ? [() => schemaCheck(ctx, collections)] : []),
  ]);
  const order = new Map(CHECKS.map((c, i) => [c, i]));
  const findings = collector.all().sort((a, b) => order.get(a.check)! - order.get(b.check)!);
  let errors = 0;
  let warnings = 0;
  for (const f of findings) {
    if (f.severity === 'error') errors += f.violations;
    else warnings += f.violations;
  }
  return {
    id: randomUUID(),
    app: app.level,
    startedAt,
    finishedAt: new Date(),
    database: db.databaseName,
    summary: { errors, warnings, scanned },
    findings,
    ...(app.level !== 'target' ? { upgrade: { backlog: [...backlog.values()] } } : {}),
  };
}
