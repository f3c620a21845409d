import { randomUUID } from 'node:crypto';
import { EJSON } from 'bson';
import type { Document } from 'bson';
import type { Db } from 'mongodb';
import type { AppLevel } from '@odtp/config';
import { appContract } from '@odtp/schema';
import type { CollectionName } from '@odtp/schema';
import { runAudit } from './auditor';
import { RepairJournal } from './journal';
import type { AuditReport, CheckName, Violation } from './findings';
import { AuditCancelledError, RepairCancelledError } from './errors';
import { applyActions } from './repair-apply';
import { hex, REPAIR_RULES } from './repair-rules';
import type { OrphanPolicy, PlanContext, RepairAction } from './repair-rules';

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

/** Turn the violations of an audit into actions, check by check (REPAIR_RULES), reading what a decision needs. */
export async function planRepairs(
  db: Db,
  violations: Violation[],
  options: RepairOptions = {},
): Promise<RepairAction[]> {
  const ctx: PlanContext = { db, app: appContract(options.app ?? 'target'), orphans: options.orphans };
  const byCheck = new Map<CheckName, Violation[]>();
  for (const v of violations) byCheck.set(v.check, [...(byCheck.get(v.check) ?? []), v]);
  const actions: RepairAction[] = [];
  for (const [check, list] of byCheck) actions.push(...(await REPAIR_RULES[check].plan(list, ctx)));
  return dedupe(actions);
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
    /** Called after each change and each round with the rounds done and the changes applied so far. */
    onProgress?: (round: number, applied: number) => void;
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
    const audit = await reaudit(db, options, checks, (v) => violations.push(v));
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
    const before = applied;
    applied += await applyActions(db, journal, runId, actions, skipped, {
      signal: options.signal,
      onApplied: (n) => options.onProgress?.(rounds.length - 1, before + n),
    });
    options.onProgress?.(rounds.length, applied);
  }
  if (!options.dryRun) remainingErrors = (await reaudit(db, options, checks)).summary.errors;
  return { runId, dryRun: options.dryRun, rounds, applied, skipped: dedupeSkipped(skipped), remainingErrors };
}

/** An audit of the repaired checks as the database is now; stopped with the repair. */
async function reaudit(
  db: Db,
  options: RepairOptions & { signal?: AbortSignal },
  checks: CheckName[],
  onViolation?: (v: Violation) => void,
): Promise<AuditReport> {
  try {
    return await runAudit(db, {
      app: options.app,
      maxTimeMS: options.maxTimeMS,
      checks,
      batchSize: options.batchSize,
      signal: options.signal,
      onViolation,
    });
  } catch (e) {
    throw e instanceof AuditCancelledError ? new RepairCancelledError() : e;
  }
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
