/**
 * Audits that keep a baseline: a full audit records where the change stream stood before it read and every
 * violation it found (its violation set); an incremental audit reads the changes since the last baseline, audits
 * only the documents they can have put in or out of violation (change-scope.ts), carries every other violation
 * over from the set, and becomes the next baseline. Its findings are a full audit's on the same database.
 */
import { createHash } from 'node:crypto';
import { EJSON } from 'bson';
import type { Document } from 'bson';
import type { Db } from 'mongodb';
import { MongoServerError } from 'mongodb';
import type { AppLevel, AuditMode } from '@odtp/config';
import {
  appContract,
  COLLECTION_NAMES,
  deriveIndexes,
  derivedValidator,
  OWNERSHIP,
  referenceGraph,
} from '@odtp/schema';
import type { CollectionName } from '@odtp/schema';
import { runAudit } from '../auditor';
import type { AuditOptions } from '../auditor';
import { AuditCancelledError } from '../errors';
import type { AuditReport, Finding, Violation } from '../findings';
import { changeScope } from '../live/change-scope';
import { changesSince, currentPosition } from './changes';
import type { ChangeWindow } from './changes';
import { FindingDelta } from './finding-delta';
import { ViolationSets } from './violation-set';

/** What a report needs to be the start of an incremental audit (stored beside the report, never shown). */
export interface Baseline {
  /** The change stream's position before the audit read anything. */
  position: Document;
  /** The rules the audit applied (fingerprint): other rules, other findings. */
  rules: string;
  /** Violations in its set (complete). */
  violations: number;
  /** The violation set it stands for (incremental audits update their base's in place); the report's id when absent. */
  set?: string;
}

/** A report that can be the start of an incremental audit. */
export interface BaseReport {
  report: AuditReport;
  baseline: Baseline;
}

/** Violations kept in a set at most; an audit with more keeps none (the next audit is a full one). */
export const VIOLATION_SET_MAX = 1_000_000;

/** The rules an audit applies for `app`: the graph, ownership, validators, unique keys and the contract. */
export function rulesFingerprint(app: AppLevel): string {
  const rules = {
    graph: referenceGraph(),
    ownership: OWNERSHIP,
    validators: COLLECTION_NAMES.map((c) => derivedValidator(c, { app })),
    indexes: deriveIndexes(),
    contract: appContract(app),
  };
  return createHash('sha256').update(EJSON.stringify(rules)).digest('hex').slice(0, 32);
}

export interface BaselineAuditOptions extends AuditOptions {
  app: AppLevel;
  /** The run's id (its violation set is stored under it). */
  id: string;
  mode: AuditMode;
  /** The newest report that can start an incremental audit, if any. */
  base?: BaseReport;
  /** A full audit after this many incremental ones (0: never forced). */
  fullEvery: number;
}

export interface BaselineAuditResult {
  report: AuditReport;
  /** Set when the report can start the next incremental audit. */
  baseline?: Baseline;
}

/** Why an incremental audit cannot start from `base`, or undefined when it can. */
function whyFull(
  options: BaselineAuditOptions,
  position: Document | undefined,
  rules: string,
): string | undefined {
  const { base } = options;
  if (!position)
    return 'the server has no change streams (a standalone mongod): every audit reads everything';
  if (options.checks || options.collections) return 'an audit of some checks or collections is always full';
  if (!base) return 'no complete audit to start from';
  if (base.report.app !== options.app)
    return `the last complete audit applied ${base.report.app}, not ${options.app}`;
  if (base.baseline.rules !== rules)
    return 'the rules changed since the last complete audit (another odtp-db release)';
  const since = (base.report.coverage?.sinceFull ?? 0) + 1;
  if (options.fullEvery > 0 && since >= options.fullEvery)
    return `AUDIT_FULL_EVERY=${options.fullEvery}: ${since - 1} incremental audit(s) since the last full one`;
  return undefined;
}

/** A full or incremental audit as asked (an incremental one falls back to full and says why). */
export async function auditWithBaseline(db: Db, options: BaselineAuditOptions): Promise<BaselineAuditResult> {
  const sets = new ViolationSets(db);
  await sets.ensureIndexes();
  // taken before anything is read: every change during the audit is after it, seen by the next one
  const position = await currentPosition(db);
  const rules = rulesFingerprint(options.app);
  let fullBecause: string | undefined;
  if (options.mode === 'incremental') {
    fullBecause = whyFull(options, position, rules);
    if (!fullBecause) {
      const window = await changeWindow(db, options);
      if (typeof window === 'string') fullBecause = window;
      else return incremental(db, sets, options, window, rules);
    }
  }
  const writer = sets.writer(options.id, VIOLATION_SET_MAX);
  const report = await runAudit(db, {
    ...options,
    onViolation: (v) => {
      writer.add(v);
      options.onViolation?.(v);
    },
    backpressure: () => writer.ready(),
  });
  await writer.flush();
  report.id = options.id;
  report.coverage = { mode: 'full', ...(fullBecause ? { fullBecause } : {}), sinceFull: 0 };
  if (writer.overflowed)
    report.coverage.fullBecause = `${VIOLATION_SET_MAX.toLocaleString('en-US')}+ violations: no set kept, the next audit is full too`;
  const complete = position && !writer.overflowed && !options.checks && !options.collections;
  return {
    report,
    ...(complete ? { baseline: { position, rules, violations: writer.written, set: options.id } } : {}),
  };
}

/** The changes since the base, or why a full audit must run instead. */
async function changeWindow(db: Db, options: BaselineAuditOptions): Promise<ChangeWindow | string> {
  let total = 0;
  for (const c of COLLECTION_NAMES) total += await db.collection(c).estimatedDocumentCount();
  try {
    const window = await changesSince(db, options.base!.baseline.position, {
      until: new Date(),
      // past a tenth of the database, reading it all is cheaper than looking up what references the changes
      maxDocuments: Math.max(10_000, Math.ceil(total / 10)),
      signal: options.signal,
    });
    return window.full ?? window;
  } catch (e) {
    if (e instanceof MongoServerError && (e.code === 286 || e.code === 280))
      return "the change history no longer holds the last audit's position (it rolled over)";
    throw e;
  }
}

async function incremental(
  db: Db,
  sets: ViolationSets,
  options: BaselineAuditOptions,
  window: ChangeWindow,
  rules: string,
): Promise<BaselineAuditResult> {
  const base = options.base!;
  const set = base.baseline.set ?? base.report.id;
  // what a stopped or uncompacted run left in the set is settled before the set is read
  await sets.settle(set, base.report.id);
  const scope = await changeScope(
    db,
    (c, ids) => sets.partners(set, c, ids),
    window.changed,
    window.deleted,
    options.signal,
    window,
  );
  const fresh: Violation[] = [];
  const scoped = await runAudit(db, {
    ...options,
    documents: scope.toScope(),
    onViolation: (v) => fresh.push(v),
  });
  // a listing parent may have dropped a child: that child collection's orphans are checked in full
  const orphansRechecked = [...window.unlisted];
  const orphans: Violation[] = [];
  for (const child of orphansRechecked) {
    const r = await runAudit(db, {
      ...options,
      checks: ['orphan'],
      collections: [child],
      onViolation: (v) => orphans.push(v),
    });
    const f = r.findings.find((x) => x.check === 'orphan');
    const mine = scoped.findings.find((x) => x.check === 'orphan' && x.collection === child);
    if (f?.skipped && mine) mine.skipped = f.skipped;
  }
  const rechecked = new Set<CollectionName>(orphansRechecked);
  const isRechecked = (v: Violation): boolean =>
    v.check === 'orphan' && rechecked.has(v.collection as CollectionName);
  const skipped = scoped.findings.filter((f) => f.skipped);
  const skips = new Set(skipped.map((f) => `${f.check}|${f.collection}|${f.path}`));
  const counts = (v: Violation): boolean => !skips.has(`${v.check}|${v.collection}|${v.path}`);

  // from here the set changes in place, marked as this run's until its report is stored
  await sets.begin(set, options.id);
  const delta = new FindingDelta();
  const stopped = (): void => {
    if (options.signal?.aborted) throw new AuditCancelledError();
  };
  for (const ids of [scope, window.deleted])
    for (const [c, docs] of ids.entries()) {
      stopped();
      delta.retire(await sets.retireDocuments(set, options.id, c, docs));
    }
  for (const child of orphansRechecked)
    delta.retire(await sets.retireFinding(set, options.id, 'orphan', child));
  const found = [...fresh.filter((x) => !isRechecked(x)), ...orphans].filter(counts);
  const outside = found.filter((v) => !scope.has(v.collection as CollectionName, v.docId));
  delta.retire(await sets.retireViolations(set, options.id, outside));
  for (const f of skipped)
    delta.retire(await sets.retireFinding(set, options.id, f.check, f.collection, f.path));
  const writer = sets.writer(set, VIOLATION_SET_MAX, options.id);
  writer.offset = delta.total(base.baseline.violations);
  for (const v of found) {
    stopped();
    writer.add(v);
    delta.add(v);
    options.onViolation?.(v);
  }
  await writer.flush();
  stopped();
  const findings = await delta.findings(
    base.report.findings,
    scoped.findings,
    sets,
    set,
    options.sampleLimit ?? 20,
  );
  const report = summarize(scoped, findings, scope.size);
  report.id = options.id;
  report.coverage = {
    mode: 'incremental',
    base: base.report.id,
    events: window.events,
    changed: window.changed.size,
    deleted: window.deleted.size,
    checked: scope.size,
    ...(orphansRechecked.length ? { orphansRechecked } : {}),
    sinceFull: (base.report.coverage?.sinceFull ?? 0) + 1,
  };
  if (base.report.upgrade)
    report.upgrade = { ...base.report.upgrade, asOf: base.report.upgrade.asOf ?? base.report.id };
  const baseline = writer.overflowed
    ? undefined
    : { position: window.position, rules, violations: delta.total(base.baseline.violations), set };
  return { report, ...(baseline ? { baseline } : {}) };
}

/** The incremental report: the scoped run's frame with the findings of the whole set. */
function summarize(scoped: AuditReport, findings: Finding[], checked: number): AuditReport {
  let errors = 0;
  let warnings = 0;
  for (const f of findings) {
    if (f.severity === 'error') errors += f.violations;
    else warnings += f.violations;
  }
  const { upgrade: _upgrade, ...frame } = scoped;
  return { ...frame, finishedAt: new Date(), summary: { errors, warnings, scanned: checked }, findings };
}
