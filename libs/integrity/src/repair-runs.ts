import type { Db, Filter } from 'mongodb';
import { RUNS_COLLECTION } from './journal';
import type { JobState } from './jobs/job';
import { JobStore } from './jobs/job-store';
import type { StoredJob } from './jobs/job-store';
import type { RepairRun } from './repair';
import type { RepairAction } from './repair-rules';
import type { Page } from './report-store';

/** The most actions a stored repair run keeps (rounds and skipped together); the count is always exact. */
export const STORED_ACTIONS_LIMIT = 1000;

/** Rounds done so far, changes applied so far. */
export interface RepairProgress {
  round: number;
  applied: number;
}

/** A repair run as listed: its job state, what was asked and, once done, what it did. */
export type RepairRunSummary = JobState<RepairProgress> & {
  runId: string;
  /** The audit report it repairs from. */
  reportId: string;
  dryRun: boolean;
  /** Actions planned over all rounds (applied unless dryRun) and actions left to a person (once done). */
  actions: number;
  skippedActions: number;
  /** Error violations left for the repaired checks (when done). */
  remainingErrors?: number;
  undoneAt?: Date;
};

/** A stored repair run with its actions (at most STORED_ACTIONS_LIMIT of them; `truncated` says when cut). */
export interface RepairRunRecord extends RepairRunSummary {
  rounds: RepairAction[][];
  skipped: RepairAction[];
  truncated: boolean;
}

type Stored = StoredJob<RepairProgress> & Omit<RepairRunRecord, 'runId' | keyof JobState<RepairProgress>>;

/** The actions of a run as stored: the first STORED_ACTIONS_LIMIT, with the exact counts beside. */
export function cappedRun(
  run: RepairRun,
): Pick<
  RepairRunRecord,
  'rounds' | 'skipped' | 'truncated' | 'actions' | 'skippedActions' | 'remainingErrors'
> {
  let left = STORED_ACTIONS_LIMIT;
  const take = (actions: RepairAction[]): RepairAction[] => {
    const kept = actions.slice(0, Math.max(0, left));
    left -= kept.length;
    return kept;
  };
  const rounds = run.rounds.map(take);
  const skipped = take(run.skipped);
  const actions = run.rounds.reduce((n, r) => n + r.length, 0);
  return {
    rounds,
    skipped,
    truncated: actions + run.skipped.length > STORED_ACTIONS_LIMIT,
    actions,
    skippedActions: run.skipped.length,
    remainingErrors: run.remainingErrors,
  };
}

const fromStored = ({ _id, ...rest }: Stored): RepairRunRecord =>
  ({ runId: _id, ...rest }) as RepairRunRecord;

/** The `repairRuns` collection: one document per repair run, from its start (see JobRunner) to its end. */
export class RepairRunStore {
  readonly jobs: JobStore<RepairProgress>;

  constructor(
    private readonly db: Db,
    /** Time limit of its reads (the API's QUERY_TIMEOUT_MS). */
    private readonly maxTimeMS?: number,
  ) {
    this.jobs = new JobStore<RepairProgress>(db, RUNS_COLLECTION);
  }

  private coll() {
    return this.db.collection<Stored>(RUNS_COLLECTION);
  }

  async get(runId: string): Promise<RepairRunRecord | null> {
    const doc = await this.coll().findOne({ _id: runId } as Filter<Stored>, { maxTimeMS: this.maxTimeMS });
    return doc ? fromStored(doc) : null;
  }

  async list(page: number, pageSize: number): Promise<Page<RepairRunSummary>> {
    const [total, docs] = await Promise.all([
      this.coll().countDocuments({}, { maxTimeMS: this.maxTimeMS }),
      this.coll()
        .find({}, { projection: { rounds: 0, skipped: 0, truncated: 0 }, maxTimeMS: this.maxTimeMS })
        .sort({ startedAt: -1, _id: 1 })
        .skip((page - 1) * pageSize)
        .limit(pageSize)
        .toArray(),
    ]);
    return { page, pageSize, total, items: docs.map((d) => fromStored(d as Stored)) };
  }
}
