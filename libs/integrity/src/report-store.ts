import { EJSON } from 'bson';
import type { Document } from 'bson';
import type { Collection, Db, Filter } from 'mongodb';
import type { AppLevel } from '@odtp/config';
import type { AuditReport, CheckName, Finding } from './findings';
import type { Baseline, BaseReport } from './incremental/incremental-audit';
import type { JobState, JobStatus } from './jobs/job';
import { JobStore } from './jobs/job-store';
import type { StoredJob } from './jobs/job-store';
import type { AuditRequest } from './requests';

export const REPORTS_COLLECTION = 'integrityReports';

export interface Page<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
}

/** How far an audit got: the collection it reads and the documents read so far (all collections). */
export interface AuditProgress {
  collection?: string;
  scanned: number;
}

/**
 * An audit run as stored in integrityReports from its start: its job state (status, trigger, instance, heartbeat,
 * progress), what it audits, and once done its report (summary and findings).
 */
export type AuditRun = JobState<AuditProgress> & {
  id: string;
  app: AppLevel;
  database: string;
  /** What was asked (checks, batch size, samples). */
  request?: Partial<AuditRequest>;
  summary?: AuditReport['summary'];
};

/** A done run: its job state and its report. */
export type StoredReport = AuditRun & AuditReport;

/** A stored run: the report's fields once done (reports stored before runs were jobs have no job state). */
type StoredRun = StoredJob<AuditProgress> &
  Partial<Omit<AuditReport, 'id'>> & {
    /** Where an incremental audit can start from this report (never shown). */
    baseline?: Baseline;
  };

/** Reports: done runs, and reports stored before audits were jobs (no status). */
const DONE: Filter<StoredRun> = { $or: [{ status: 'done' }, { status: { $exists: false } }] };

/** A stored run as callers see it (a report stored before audits were jobs is a done run). */
const toRun = ({ _id, baseline: _baseline, ...rest }: StoredRun): AuditRun =>
  ({ id: _id, ...rest, status: rest.status ?? 'done' }) as AuditRun;

/**
 * Audit runs and their reports in `integrityReports`, newest first: every run from its start (any instance lists
 * and follows it); a done one holds its report. Keeps the last `retention` reports, and as many runs that did not
 * finish.
 */
export class ReportStore {
  private readonly coll: Collection<StoredRun>;

  constructor(
    db: Db,
    private readonly retention = 100,
    /** Time limit of its reads (the API's QUERY_TIMEOUT_MS). */
    private readonly maxTimeMS?: number,
  ) {
    this.coll = db.collection<StoredRun>(REPORTS_COLLECTION);
    this.jobs = new JobStore<AuditProgress>(db, REPORTS_COLLECTION);
  }

  /** The lifecycle of the runs (the job runner writes through it). */
  readonly jobs: JobStore<AuditProgress>;

  /** Store a finished report as a done run (reports made outside the job runner). */
  async save(report: AuditReport): Promise<void> {
    const { id, ...rest } = report;
    await this.coll.insertOne({
      _id: id,
      ...rest,
      status: 'done',
      trigger: 'cli',
      instance: { id: '', host: '', pid: 0 },
      heartbeatAt: report.finishedAt,
      progress: { scanned: report.summary.scanned },
    } as StoredRun);
    await this.prune();
  }

  /** Keep the newest `retention` reports and the newest `retention` runs that ended otherwise. */
  async prune(): Promise<void> {
    for (const filter of [DONE, { status: { $in: ['failed', 'cancelled', 'interrupted', 'abandoned'] } }]) {
      const old = await this.coll
        .find(filter as Filter<StoredRun>, {
          projection: { _id: 1 },
          sort: { startedAt: -1, _id: -1 },
          skip: this.retention,
        })
        .toArray();
      if (old.length)
        await this.coll.deleteMany({ _id: { $in: old.map((o) => o._id) } } as Filter<StoredRun>);
    }
  }

  private static toReport(doc: StoredRun): StoredReport {
    return toRun(doc) as StoredReport;
  }

  /** A done run's report, or null (unknown, or not done). */
  async get(id: string): Promise<StoredReport | null> {
    const doc = await this.coll.findOne({ $and: [{ _id: id }, DONE] } as Filter<StoredRun>, {
      maxTimeMS: this.maxTimeMS,
    });
    return doc ? ReportStore.toReport(doc) : null;
  }

  /** A run in any state, without its findings. */
  async run(id: string): Promise<AuditRun | null> {
    const doc = await this.coll.findOne({ _id: id } as Filter<StoredRun>, {
      projection: { findings: 0 },
      maxTimeMS: this.maxTimeMS,
    });
    return doc ? toRun(doc) : null;
  }

  /**
   * The newest done report that an incremental audit can start from, with its baseline (of any application: the
   * set is the newest's, and an audit for another application runs in full).
   */
  async base(): Promise<BaseReport | undefined> {
    const doc = await this.coll.findOne(
      { $and: [DONE, { baseline: { $exists: true } }] } as Filter<StoredRun>,
      { sort: { startedAt: -1, _id: -1 }, maxTimeMS: this.maxTimeMS },
    );
    return doc?.baseline ? { report: ReportStore.toReport(doc), baseline: doc.baseline } : undefined;
  }

  async latest(): Promise<StoredReport | null> {
    const doc = await this.coll.findOne(DONE, {
      sort: { startedAt: -1, _id: -1 },
      maxTimeMS: this.maxTimeMS,
    });
    return doc ? ReportStore.toReport(doc) : null;
  }

  /** The report before the given one (for "new since the previous report"). */
  async previous(report: AuditReport): Promise<StoredReport | null> {
    const doc = await this.coll.findOne(
      {
        $and: [{ startedAt: { $lt: report.startedAt }, _id: { $ne: report.id } }, DONE],
      } as Filter<StoredRun>,
      { sort: { startedAt: -1, _id: -1 }, maxTimeMS: this.maxTimeMS },
    );
    return doc ? ReportStore.toReport(doc) : null;
  }

  /**
   * Errors and warnings per check of the last `limit` reports that started no later than `until`, oldest first
   * (the trend of an HTML report).
   */
  async trend(until: Date, limit = 20): Promise<TrendPoint[]> {
    const docs = await this.coll
      .find({ $and: [{ startedAt: { $lte: until } }, DONE] } as Filter<StoredRun>, {
        projection: {
          startedAt: 1,
          summary: 1,
          'findings.check': 1,
          'findings.severity': 1,
          'findings.violations': 1,
        },
        sort: { startedAt: -1, _id: -1 },
        limit,
        maxTimeMS: this.maxTimeMS,
      })
      .toArray();
    return docs.reverse().map((d) => trendPoint({ ...ReportStore.toReport(d), findings: d.findings ?? [] }));
  }

  /** Runs (reports without their findings, and runs that did not finish), newest first; optionally of one status. */
  async list(page: number, pageSize: number, status?: JobStatus): Promise<Page<AuditRun>> {
    const filter = (status === undefined ? {} : status === 'done' ? DONE : { status }) as Filter<StoredRun>;
    const total = await this.coll.countDocuments(filter, { maxTimeMS: this.maxTimeMS });
    const docs = await this.coll
      .find(filter, {
        projection: { findings: 0 },
        sort: { startedAt: -1, _id: -1 },
        skip: (page - 1) * pageSize,
        limit: pageSize,
        maxTimeMS: this.maxTimeMS,
      })
      .toArray();
    return { items: docs.map(toRun), page, pageSize, total };
  }
}

/** One report in a trend: its totals and, per check, the violations by severity. */
export interface TrendPoint {
  id: string;
  startedAt: Date;
  errors: number;
  warnings: number;
  byCheck: Partial<Record<CheckName, { errors: number; warnings: number }>>;
}

export function trendPoint(
  report: Pick<AuditReport, 'id' | 'startedAt' | 'summary' | 'findings'>,
): TrendPoint {
  const byCheck: TrendPoint['byCheck'] = {};
  for (const f of report.findings) {
    const c = (byCheck[f.check] ??= { errors: 0, warnings: 0 });
    if (f.severity === 'error') c.errors += f.violations;
    else c.warnings += f.violations;
  }
  return {
    id: report.id,
    startedAt: report.startedAt,
    errors: report.summary.errors,
    warnings: report.summary.warnings,
    byCheck,
  };
}

/** Findings of a report filtered by check and collection, paged. */
export function pageFindings(
  report: AuditReport,
  filter: { check?: CheckName; collection?: string },
  page: number,
  pageSize: number,
): Page<Finding> {
  const all = report.findings.filter(
    (f) =>
      (!filter.check || f.check === filter.check) &&
      (!filter.collection || f.collection === filter.collection),
  );
  return { items: all.slice((page - 1) * pageSize, page * pageSize), page, pageSize, total: all.length };
}

/** Findings present in `current` with more violations than in `previous` (or not there at all). */
export function newFindings(current: AuditReport, previous: AuditReport | null): Finding[] {
  const before = new Map(
    (previous?.findings ?? []).map((f) => [`${f.check}|${f.collection}|${f.path}`, f.violations]),
  );
  return current.findings.filter(
    (f) => f.violations > (before.get(`${f.check}|${f.collection}|${f.path}`) ?? 0),
  );
}

/** `s` safe inside XML or HTML text and attribute values. */
export function xml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** JUnit XML: one testcase per finding, a failure for each finding with violations. */
export function toJunit(report: AuditReport): string {
  const byCheck = new Map<string, Finding[]>();
  for (const f of report.findings) byCheck.set(f.check, [...(byCheck.get(f.check) ?? []), f]);
  const failures = report.findings.filter((f) => f.violations > 0).length;
  const seconds = (report.finishedAt.getTime() - report.startedAt.getTime()) / 1000;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="odtp-db audit ${xml(report.database)}" tests="${report.findings.length}" failures="${failures}" time="${seconds}">`,
  ];
  for (const [check, findings] of byCheck) {
    lines.push(
      `  <testsuite name="${xml(check)}" tests="${findings.length}" failures="${findings.filter((f) => f.violations).length}" timestamp="${report.startedAt.toISOString()}">`,
    );
    for (const f of findings) {
      const name = `${f.collection}.${f.path}${f.target ? ` -> ${f.target}` : ''}`;
      lines.push(
        `    <testcase classname="${xml(`${check}.${f.collection}`)}" name="${xml(name)}" time="${f.durationMs / 1000}">`,
      );
      if (f.violations)
        lines.push(
          `      <failure type="${xml(f.severity)}" message="${xml(`${f.violations} violation(s) in ${f.scanned} document(s)`)}">${xml(
            `samples: ${f.samples.map((s) => EJSON.stringify(s as Document)).join(', ')}`,
          )}</failure>`,
        );
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}
