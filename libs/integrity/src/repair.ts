import { randomUUID } from 'node:crypto';
import { EJSON, ObjectId } from 'bson';
import type { Document } from 'bson';
import type { ClientSession, Collection, Db, Filter } from 'mongodb';
import type { AppLevel } from '@odtp/config';
import { supportsTransactions } from '@odtp/database';
import {
  appContract,
  COLLECTIONS,
  deriveJsonSchema,
  idStringsToObjectIds,
  referenceGraph,
  referencedId,
  referenceValue,
  writesStringReference,
} from '@odtp/schema';
import type { AppContract, CollectionName, Edge } from '@odtp/schema';
import { runAudit } from './auditor';
import { RepairJournal } from './journal';
import type { AuditReport, CheckName, Finding, Violation } from './findings';

export const ORPHAN_POLICIES = ['quarantine', 'delete', 'keep'] as const;
export type OrphanPolicy = (typeof ORPHAN_POLICIES)[number];

export const REPAIR_KINDS = [
  'pull',
  'unset',
  'convert',
  'stringify',
  'add-to-set',
  'set',
  'quarantine',
  'delete',
  'rename-key',
  'manual',
] as const;
/** `convert`: id strings to ObjectIds; `stringify`: ObjectIds to the id strings the application queries with. */
export type RepairKind = (typeof REPAIR_KINDS)[number];

/** One change to one document; `manual` ones are listed for a person and never applied. */
export interface RepairAction {
  kind: RepairKind;
  check: CheckName;
  collection: string;
  docId: unknown;
  path?: string;
  value?: unknown;
  reason: string;
}

export interface RepairOptions {
  /**
   * The application that runs on the database (default target): no repair writes a shape it cannot read (no
   * string -> ObjectId conversion where it writes strings; references written in its form).
   */
  app?: AppLevel;
  /** Time limit of the audits' queries (maxTimeMS). */
  maxTimeMS?: number;
  /** What to do with orphans, per collection (default quarantine). */
  orphans?: Partial<Record<CollectionName, OrphanPolicy>>;
  batchSize?: number;
}

export interface RepairRun {
  runId: string;
  dryRun: boolean;
  /** Actions per round (a round re-audits what the previous one changed), applied unless dryRun. */
  rounds: RepairAction[][];
  applied: number;
  /** Actions not applied: manual ones and documents kept because something still references them. */
  skipped: RepairAction[];
  /** Error violations left after the last round (an audit of the same checks). */
  remainingErrors: number;
}

const EDGES = referenceGraph();
const edgeOf = (collection: string, path: string): Edge | undefined =>
  EDGES.find((e) => e.from === collection && e.path === path);

function requiredPaths(collection: string): Set<string> {
  const def = COLLECTIONS.find((c) => c.name === collection);
  return new Set(def ? ((deriveJsonSchema(def).required as string[] | undefined) ?? []) : []);
}

const hex = (v: unknown): string | undefined => referencedId(v)?.toHexString();

/** An action on the offending value of `v` itself (same collection, document and path). */
function onValue(kind: RepairKind, v: Violation, reason: string): RepairAction {
  return {
    kind,
    check: v.check,
    collection: v.collection,
    docId: v.docId,
    path: v.path,
    value: v.value,
    reason,
  };
}

/** A dangling reference: pulled from an array, unset when optional, the document treated as an orphan when required. */
function danglingAction(v: Violation, edge: Edge, options: RepairOptions): RepairAction {
  const reason = `${v.path} -> ${edge.to} ${hex(v.value) ?? String(v.value)} does not exist`;
  if (edge.many) return onValue('pull', v, reason);
  if (requiredPaths(v.collection).has(v.path))
    return orphanAction(v, options, `${reason} (a required reference: the document cannot stand without it)`);
  return onValue('unset', v, reason);
}

/** Type drift: an id string converted (never where the application writes strings), a non-id removed or left. */
function typeDriftAction(v: Violation, edge: Edge, app: AppContract): RepairAction | undefined {
  if (typeof v.value === 'string' && referencedId(v.value))
    // Where the application writes id strings, they are what it reads: left alone.
    return writesStringReference(app, v.collection, v.path)
      ? undefined
      : onValue('convert', v, `${v.path}: id stored as a string`);
  const what = `${v.path}: ${JSON.stringify(v.value)} is not an id`;
  if (edge.many) return onValue('pull', v, what);
  if (requiredPaths(v.collection).has(v.path))
    return onValue('manual', v, `${what} and the reference is required`);
  return onValue('unset', v, what);
}

/**
 * A broken two-way link: a parent listing a child whose own reference (the authority) is missing gets it set, one
 * naming another parent loses the child; a child pointing at a parent that does not list it is added to the parent.
 */
async function inverseAction(db: Db, v: Violation, edge: Edge, app: AppContract): Promise<RepairAction> {
  const inverse = edge.inverse!;
  const target = referencedId(v.value)!;
  const back = (value: string): RepairAction => ({
    kind: edge.many ? 'set' : 'add-to-set',
    check: v.check,
    collection: edge.to,
    docId: target,
    path: inverse,
    value: asReference(app, edge.to, inverse, v.docId),
    reason: value,
  });
  if (!edge.many) return back(`${v.collection} ${hex(v.docId)} points at it through ${v.path}`);
  const child = await db.collection(edge.to).findOne({ _id: target }, { projection: { [inverse]: 1 } });
  const owner: unknown = child?.[inverse];
  if (owner === undefined || owner === null)
    return back(`${v.collection} ${hex(v.docId)} lists it in ${v.path}; ${inverse} was missing`);
  return onValue(
    'pull',
    v,
    `${edge.to} ${target.toHexString()} belongs to ${hex(owner) ?? String(owner)} (its ${inverse})`,
  );
}

/** Duplicates of a unique key: the oldest document keeps the value, the others get ` [<id>]` (`#<id>` for a repoLink). */
function renameDuplicates(group: Violation[]): RepairAction[] {
  const sorted = [...group].sort((a, b) => (hex(a.docId) ?? '').localeCompare(hex(b.docId) ?? ''));
  const fields = sorted[0].path.split('+');
  const field = fields[fields.length - 1];
  return sorted.slice(1).map((v) => {
    const current = ((v.value as Document | null)?.[field.replace(/\./g, '_')] ?? null) as unknown;
    const suffix = hex(v.docId) ?? String(v.docId);
    const value =
      field === 'repoLink' && typeof current === 'string'
        ? `${current}#${suffix}`
        : `${current === null ? '' : String(current)} [${suffix}]`.trim();
    return {
      kind: 'rename-key',
      check: 'duplicate',
      collection: v.collection,
      docId: v.docId,
      path: field,
      value,
      reason: `${sorted.length} documents share ${JSON.stringify(v.value)}; ${hex(sorted[0].docId)} keeps it`,
    };
  });
}

/** Turn the violations of an audit into actions (reading the documents a decision depends on). */
export async function planRepairs(
  db: Db,
  violations: Violation[],
  options: RepairOptions = {},
): Promise<RepairAction[]> {
  const app: AppContract = appContract(options.app ?? 'target');
  const actions: RepairAction[] = [];
  const duplicates = new Map<string, Violation[]>();
  const add = (a: RepairAction | undefined): void => void (a && actions.push(a));
  for (const v of violations) {
    const edge = edgeOf(v.collection, v.path);
    if (v.check === 'dangling-reference' && edge) add(danglingAction(v, edge, options));
    else if (v.check === 'type-drift' && edge) add(typeDriftAction(v, edge, app));
    else if (v.check === 'query-mismatch' && edge)
      add(
        onValue('stringify', v, `${v.path}: ${app.application} finds it by the id string, not the ObjectId`),
      );
    else if (v.check === 'broken-inverse' && edge?.inverse) add(await inverseAction(db, v, edge, app));
    else if (v.check === 'orphan') add(orphanAction(v, options, `no parent reaches it (${v.path})`));
    else if (v.check === 'duplicate') {
      const key = `${v.collection}|${v.path}|${EJSON.stringify({ k: v.value as Document })}`;
      duplicates.set(key, [...(duplicates.get(key) ?? []), v]);
    } else if (v.check === 'schema-violation')
      add({
        kind: 'manual',
        check: v.check,
        collection: v.collection,
        docId: v.docId,
        reason: 'fails the derived $jsonSchema (see schema plan); fixed by other actions or by hand',
      });
  }
  for (const group of duplicates.values()) actions.push(...renameDuplicates(group));
  return dedupe(actions);
}

/** A document id as the application writes it at `collection.path` (an id string where it writes strings). */
function asReference(app: AppContract, collection: string, path: string, id: unknown): unknown {
  return id instanceof ObjectId ? referenceValue(app, collection, path, id) : id;
}

function orphanAction(v: Violation, options: RepairOptions, reason: string): RepairAction {
  const policy = options.orphans?.[v.collection as CollectionName] ?? 'quarantine';
  return {
    kind: policy === 'keep' ? 'manual' : policy,
    check: v.check,
    collection: v.collection,
    docId: v.docId,
    reason: policy === 'keep' ? `${reason}; policy keep` : reason,
  };
}

/**
 * One action per document and change: a document that is quarantined or deleted needs no other action, and an
 * orphan that another action links back into its parent (a broken inverse repaired) is no orphan any more.
 */
function dedupe(actions: RepairAction[]): RepairAction[] {
  const seen = new Set<string>();
  const linked = new Set(actions.filter((a) => a.kind === 'add-to-set').map((a) => hex(a.value)));
  actions = actions.filter((a) => !(a.check === 'orphan' && linked.has(hex(a.docId))));
  const removed = new Set<string>();
  for (const a of actions)
    if (a.kind === 'quarantine' || a.kind === 'delete') removed.add(`${a.collection}|${hex(a.docId)}`);
  return actions.filter((a) => {
    const doc = `${a.collection}|${hex(a.docId) ?? String(a.docId)}`;
    if (removed.has(doc) && a.kind !== 'quarantine' && a.kind !== 'delete') return false;
    const key = `${a.kind}|${doc}|${a.path ?? ''}|${EJSON.stringify({ v: (a.value ?? null) as Document })}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Collections and paths that point at documents of `collection` (for "still referenced?" before removing one). */
async function referencedBy(db: Db, collection: string, id: unknown): Promise<string | undefined> {
  for (const e of EDGES.filter((x) => x.to === collection)) {
    const candidates = [id, hex(id)].filter((x) => x !== undefined);
    const hit = await db
      .collection(e.from)
      .findOne({ [e.path]: { $in: candidates } } as Filter<Document>, { projection: { _id: 1 } });
    if (hit) return `${e.from}.${e.path} of ${hex(hit._id) ?? String(hit._id)}`;
  }
  return undefined;
}

/**
 * Apply actions, journaling each changed document's before-image first and its after-image once changed. Where the
 * server runs transactions, each action (journal entry, quarantine copy, change, after-image) is one transaction:
 * a failure part-way leaves the document and its journal as they were, so undo restores exactly what was done.
 */
async function applyActions(
  db: Db,
  journal: RepairJournal,
  runId: string,
  actions: RepairAction[],
  skipped: RepairAction[],
  signal?: AbortSignal,
): Promise<number> {
  const transactions = await supportsTransactions(db);
  let applied = 0;
  for (const a of actions) {
    if (signal?.aborted) throw new RepairCancelledError();
    if (a.kind === 'manual') {
      skipped.push(a);
      continue;
    }
    if (a.kind === 'quarantine' || a.kind === 'delete') {
      const holder = await referencedBy(db, a.collection, a.docId);
      if (holder) {
        skipped.push({ ...a, kind: 'manual', reason: `${a.reason}; kept: still referenced by ${holder}` });
        continue;
      }
    }
    const done = await atomically(db, transactions, journal, (session) =>
      applyJournaled(db, journal, runId, a, session),
    );
    if (done) applied++;
  }
  return applied;
}

/** `work` in a transaction (retried on transient errors) when the server has them, else as it comes. */
async function atomically<T>(
  db: Db,
  transactions: boolean,
  journal: RepairJournal,
  work: (session?: ClientSession) => Promise<T>,
): Promise<T> {
  if (!transactions) {
    const result = await work(undefined);
    journal.commit();
    return result;
  }
  const session = db.client.startSession();
  try {
    let result: T | undefined;
    await session.withTransaction(async () => {
      journal.rollback(); // a retried attempt journals again
      result = await work(session);
    });
    journal.commit();
    return result as T;
  } catch (e) {
    journal.rollback();
    throw e;
  } finally {
    await session.endSession();
  }
}

/** One action with its journal entries; false when its document is gone. */
async function applyJournaled(
  db: Db,
  journal: RepairJournal,
  runId: string,
  a: RepairAction,
  session?: ClientSession,
): Promise<boolean> {
  const coll = db.collection(a.collection);
  const filter = { _id: a.docId } as Filter<Document>;
  const before = await coll.findOne(filter, { session });
  if (!before) return false;
  await journal.before(a.collection, a.docId, before, session);
  if (a.kind === 'quarantine') {
    const name = `${a.collection}_quarantine`;
    const q = db.collection(name);
    await journal.before(name, a.docId, await q.findOne(filter, { session }), session);
    await q.replaceOne(
      filter,
      { ...before, _quarantine: { runId, reason: a.reason, at: new Date() } },
      { upsert: true, session },
    );
    await journal.after(name, a.docId, session);
  }
  await applyOne(coll, filter, a, before, session);
  await journal.after(a.collection, a.docId, session);
  return true;
}

/** The change of one action to its document (quarantine's copy is made by the caller). */
async function applyOne(
  coll: Collection,
  filter: Filter<Document>,
  a: RepairAction,
  before: Document,
  session?: ClientSession,
): Promise<void> {
  const options = { session };
  const top = a.path?.split('.')[0] ?? '';
  const rest = a.path?.split('.').slice(1) ?? [];
  switch (a.kind) {
    case 'pull':
      await coll.updateOne(filter, { $pull: { [a.path!]: a.value } } as Document, options);
      break;
    case 'unset':
      await coll.updateOne(filter, { $unset: { [a.path!]: '' } }, options);
      break;
    case 'convert':
      await coll.updateOne(filter, { $set: { [top]: idStringsToObjectIds(before[top], rest) } }, options);
      break;
    case 'stringify':
      await coll.updateOne(filter, { $set: { [top]: objectIdsToStrings(before[top], rest) } }, options);
      break;
    case 'add-to-set':
      await coll.updateOne(filter, { $addToSet: { [a.path!]: a.value } } as Document, options);
      break;
    case 'set':
    case 'rename-key':
      await coll.updateOne(filter, { $set: { [a.path!]: a.value } }, options);
      break;
    case 'quarantine':
    case 'delete':
      await coll.deleteOne(filter, options);
      break;
    case 'manual':
      break;
  }
}

export class RepairCancelledError extends Error {
  constructor() {
    super('the repair was cancelled');
    this.name = 'RepairCancelledError';
  }
}

/** `value` with every ObjectId at the path `segments` (arrays traversed) as its hex string. */
function objectIdsToStrings(value: unknown, segments: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => objectIdsToStrings(v, segments));
  if (segments.length === 0) return value instanceof ObjectId ? value.toHexString() : value;
  if (value === null || typeof value !== 'object' || value instanceof ObjectId || value instanceof Date)
    return value;
  const [head, ...rest] = segments;
  if (!(head in (value as Document))) return value;
  return { ...(value as Document), [head]: objectIdsToStrings((value as Document)[head], rest) };
}

function checksOf(report: AuditReport): CheckName[] {
  return [...new Set(report.findings.filter((f) => f.violations > 0).map((f) => f.check))];
}

/**
 * Plan (dry run) or apply the repairs for the checks that had violations in `report`, re-auditing the database
 * as it is now. Applying runs in rounds: an action can reveal a new violation (a quarantined step's logs), so the
 * affected checks are audited again, up to 5 rounds. Every changed document's before-image is journaled first.
 */
export async function repair(
  db: Db,
  report: AuditReport,
  options: RepairOptions & {
    dryRun: boolean;
    runId?: string;
    signal?: AbortSignal;
    /** Called after each round with the rounds done and the changes applied so far. */
    onRound?: (round: number, applied: number) => void;
  },
): Promise<RepairRun> {
  const runId = options.runId ?? randomUUID();
  const checks = checksOf(report);
  const rounds: RepairAction[][] = [];
  const skipped: RepairAction[] = [];
  const journal = new RepairJournal(db, runId);
  let applied = 0;
  let remainingErrors = 0;
  for (let round = 0; round < 5; round++) {
    if (options.signal?.aborted) throw new RepairCancelledError();
    const violations: Violation[] = [];
    const audit = await runAudit(db, {
      app: options.app,
      maxTimeMS: options.maxTimeMS,
      checks,
      batchSize: options.batchSize,
      onViolation: (v) => violations.push(v),
    });
    remainingErrors = audit.summary.errors;
    const actions = (await planRepairs(db, violations, options)).filter(
      (a) =>
        !skipped.some(
          (s) =>
            s.collection === a.collection &&
            hex(s.docId) === hex(a.docId) &&
            s.check === a.check &&
            (s.path ?? '') === (a.path ?? ''),
        ),
    );
    const actionable = actions.filter((a) => a.kind !== 'manual');
    if (options.dryRun) {
      rounds.push(actions);
      break;
    }
    if (!actionable.length) {
      skipped.push(...actions.filter((a) => a.kind === 'manual' && !skipped.includes(a)));
      break;
    }
    rounds.push(actions);
    applied += await applyActions(db, journal, runId, actions, skipped, options.signal);
    options.onRound?.(rounds.length, applied);
  }
  if (!options.dryRun)
    remainingErrors = (await runAudit(db, { app: options.app, checks, maxTimeMS: options.maxTimeMS })).summary
      .errors;
  return { runId, dryRun: options.dryRun, rounds, applied, skipped: dedupeSkipped(skipped), remainingErrors };
}

function dedupeSkipped(skipped: RepairAction[]): RepairAction[] {
  const seen = new Set<string>();
  return skipped.filter((a) => {
    const k = `${a.check}|${a.collection}|${hex(a.docId)}|${a.path ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * What `repair plan` does with the violations of a finding, in words (the HTML report shows it beside the
 * samples): the same decisions as planRepairs, for the default orphan policy (quarantine).
 */
export function describeRepair(
  finding: Pick<Finding, 'check' | 'collection' | 'path'>,
  app: AppLevel = 'target',
): string {
  const edge = edgeOf(finding.collection, finding.path);
  const required = requiredPaths(finding.collection).has(finding.path);
  const missing = edge?.many
    ? 'pull: the value is removed from the array'
    : required
      ? `quarantine: the document moves to ${finding.collection}_quarantine (a required reference)`
      : `unset: the reference is removed`;
  switch (finding.check) {
    case 'dangling-reference':
      return missing;
    case 'type-drift':
      return writesStringReference(appContract(app), finding.collection, finding.path)
        ? `left alone when an id string (${appContract(app).application} writes id strings here); otherwise ${missing.replace(/^quarantine.*/, 'manual: a required reference that is not an id')}`
        : `convert: the id string becomes an ObjectId; a value that is no id: ${missing.replace(/^quarantine.*/, 'manual (required)')}`;
    case 'query-mismatch':
      return `stringify: the ObjectId becomes the id string ${appContract(app).application} queries with`;
    case 'broken-inverse':
      return edge?.inverse
        ? `${edge.many ? 'set' : 'add-to-set'}: the missing link is written to ${edge.to}.${edge.inverse}${edge.many ? `, or the entry is pulled when the ${edge.to} document belongs to another parent` : ''}`
        : 'manual';
    case 'orphan':
      return `quarantine: the document moves to ${finding.collection}_quarantine (policy per collection: quarantine, delete or keep), unless something still references it`;
    case 'duplicate':
      return 'rename-key: the oldest document keeps the value, the others get " [<id>]" appended';
    case 'schema-violation':
      return 'manual: fixed by the other actions or by hand (see schema plan)';
  }
}
