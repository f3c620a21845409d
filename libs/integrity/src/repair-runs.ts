import type { Db } from 'mongodb';
import { RUNS_COLLECTION } from './journal';
import type { RepairRun } from './repair';
import type { RepairAction } from './repair-rules';
import type { Page } from './report-store';

/** How a job (audit or repair) stands. */
export const JOB_STATUSES = ['running', 'done', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Who started an audit or repair. */
export const AUDIT_TRIGGERS = ['api', 'schedule', 'cli'] as const;
export type AuditTrigger = (typeof AUDIT_TRIGGERS)[number];

/** The most actions a stored repair run keeps (rounds and skipped together); the count is always exact. */
export const STORED_ACTIONS_LIMIT = 1000;

/** A repair run as listed: what was asked and how it stands or ended. */
export interface RepairRunSummary {
  runId: string;
  /** The audit report it repairs from. */
  reportId: string;
  dryRun: boolean;
  status: JobStatus;
  trigger: AuditTrigger;
  startedAt: Date;
  finishedAt?: Date;
  /** Rounds done so far, changes applied so far. */
  progress: { round: number; applied: number };
  /** Actions planned over all rounds (applied unless dryRun) and actions left to a person. */
  actions: number;
  skippedActions: number;
  /** Error violations left for the repaired checks (when done). */
  remainingErrors?: number;
  /** Why it failed or was cancelled (no internal detail). */
  error?: string;
  undoneAt?: Date;
}

/** A stored repair run with its actions (at most STORED_ACTIONS_LIMIT of them; `truncated` says when cut). */
export interface RepairRunRecord extends RepairRunSummary {
  rounds: RepairAction[][];
  skipped: RepairAction[];
  truncated: boolean;
}

type Stored = Omit<RepairRunRecord, 'runId'> & { _id: string };

function capped(run: RepairRun): Pick<RepairRunRecord, 'rounds' | 'skipped' | 'truncated'> {
  let left = STORED_ACTIONS_LIMIT;
  const take = (actions: RepairAction[]): RepairAction[] => {
    const kept = actions.slice(0, Math.max(0, left));
    left -= kept.length;
    return kept;
  };
  const rounds = run.rounds.map(take);
  const skipped = take(run.skipped);
  const total = run.rounds.reduce((n, r) => n + r.length, 0) + run.skipped.length;
  return { rounds, skipped, truncated: total > STORED_ACTIONS_LIMIT };
}

const fromStored = ({ _id, ...rest }: Stored): RepairRunRecord => ({ runId: _id, ...rest });

/** The `repairRuns` collection: one document per repair run, written when it starts and when it ends. */
export class RepairRunStore {
  constructor(private readonly db: Db) {}

  private coll() {
    return this.db.collection<Stored>(RUNS_COLLECTION);
  }

  async started(summary: RepairRunSummary): Promise<void> {
    const { runId, ...rest } = summary;
    await this.coll().insertOne({ _id: runId, ...rest, rounds: [], skipped: [], truncated: false });
  }

  /** Record how the run ended, with its (capped) actions when it has them. */
  async finished(summary: RepairRunSummary, run?: RepairRun): Promise<void> {
    const { runId, ...rest } = summary;
    await this.coll().updateOne({ _id: runId }, { $set: { ...rest, ...(run ? capped(run) : {}) } });
  }

  async get(runId: string): Promise<RepairRunRecord | null> {
    const doc = await this.coll().findOne({ _id: runId });
    return doc ? fromStored(doc) : null;
  }

  async list(page: number, pageSize: number): Promise<Page<RepairRunSummary>> {
    const [total, docs] = await Promise.all([
      this.coll().countDocuments({}),
      this.coll()
        .find({}, { projection: { rounds: 0, skipped: 0, truncated: 0 } })
        .sort({ startedAt: -1, _id: 1 })
        .skip((page - 1) * pageSize)
        .limit(pageSize)
        .toArray(),
    ]);
    return { page, pageSize, total, items: docs.map((d) => fromStored(d as Stored)) };
  }
}
