import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Module } from '@nestjs/common';
import { APP_CONFIG, packageInfo } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { DatabaseService } from '@odtp/database';
import { IntegrityError, IntegrityErrorCode } from './errors';
import type { AuditReport, CheckName, Finding } from './findings';
import { renderHtmlReport } from './html-report';
import { auditWithBaseline } from './incremental/incremental-audit';
import type { Baseline } from './incremental/incremental-audit';
import { ViolationSets } from './incremental/violation-set';
import type { JobStatus, JobTrigger } from './jobs/job';
import { JobRunner } from './jobs/job-runner';
import type { JobEnd } from './jobs/job-runner';
import type { StoredJob } from './jobs/job-store';
import { RepairError, undoRepair } from './journal';
import type { UndoResult } from './journal';
import { repair } from './repair';
import type { RepairRun } from './repair';
import { cappedRun, RepairRunStore } from './repair-runs';
import type { RepairProgress, RepairRunRecord, RepairRunSummary } from './repair-runs';
import { pageFindings, ReportStore } from './report-store';
import type { AuditProgress, AuditRun, Page, StoredReport } from './report-store';
import { parseAuditRequest, parseRepairRequest } from './requests';
import type { AuditRequest, AuditRequestInput, FieldNames, RepairRequestInput } from './requests';

/** Where a running audit reports each collection's progress (the CLI's progress line). */
export type ProgressListener = (collection: string, scanned: number) => void;

/** An audit that ended, for the metrics and the schedule: how it ended and, when done, its report. */
export type AuditEnd = JobEnd & { report?: AuditReport };

const noop = (): void => undefined;

/** Progress over all collections (the run's) from each pass's own count, and each pass's to `listener`. */
function progressOf(
  job: { progress(p: AuditProgress): void },
  listener?: ProgressListener,
): ProgressListener {
  let base = 0;
  let last = '';
  let lastScanned = 0;
  return (collection, scanned) => {
    if (collection !== last) {
      base += lastScanned;
      last = collection;
      lastScanned = 0;
    }
    lastScanned = scanned;
    job.progress({ collection, scanned: base + scanned });
    listener?.(collection, scanned);
  };
}

function repairSummary(record: StoredJob<RepairProgress>): RepairRunSummary {
  const { _id, rounds: _rounds, skipped: _skipped, truncated: _truncated, ...rest } = record;
  return { runId: _id, ...rest } as RepairRunSummary;
}

/**
 * Audits and repairs on the configured database for the configured application, the same code for every caller
 * (the API, the schedule, the CLI): each a job of the JobRunner (one at a time over every instance and process,
 * stored from its start, visible and cancellable from every instance), reports and repair runs stored.
 */
@Injectable()
export class IntegrityService {
  private readonly listeners: ((end: AuditEnd) => void)[] = [];

  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    readonly jobs: JobRunner,
  ) {
    jobs.onEnd((end) => {
      if (end.kind !== 'audit') return;
      const report = end.status === 'done' ? (end.result as AuditReport) : undefined;
      for (const l of this.listeners) l({ ...end, report });
    });
  }

  /** Called when an audit of this instance ends, whatever its status, with its report when done. */
  onFinish(listener: (end: AuditEnd) => void): void {
    this.listeners.push(listener);
  }

  store(): ReportStore {
    return new ReportStore(this.database.db(), this.config.auditRetention, this.config.queryTimeoutMs);
  }

  repairRuns(): RepairRunStore {
    return new RepairRunStore(this.database.db(), this.config.queryTimeoutMs);
  }

  /** Runs whose process died (no heartbeat for the lease TTL) are marked abandoned before anyone reads them. */
  private async sweep(): Promise<void> {
    await this.store().jobs.sweep(this.jobs.staleMs);
    await this.repairRuns().jobs.sweep(this.jobs.staleMs);
  }

  // ---- audits ----

  private async launchAudit(
    request: AuditRequest,
    trigger: JobTrigger,
    onProgress?: ProgressListener,
  ): Promise<{ run: AuditRun; done: Promise<AuditReport> }> {
    await this.sweep();
    const id = randomUUID();
    const store = this.store();
    let baseline: Baseline | undefined;
    const { record, done } = await this.jobs.start<AuditProgress, AuditReport>({
      kind: 'audit',
      id,
      trigger,
      store: store.jobs,
      progress: { scanned: 0 },
      fields: { app: this.config.app, database: this.database.db().databaseName, request },
      work: async (job) => {
        const result = await auditWithBaseline(this.database.db(), {
          ...request,
          id,
          app: this.config.app,
          mode: request.mode ?? 'full',
          base: await store.base(),
          fullEvery: this.config.auditFullEvery,
          maxTimeMS: this.config.queryTimeoutMs,
          signal: job.signal,
          onProgress: progressOf(job, onProgress),
        });
        baseline = result.baseline;
        // the report is the run's: its id, and the start the run was stored with
        return { ...result.report, id, startedAt: job.startedAt };
      },
      done: ({ id: _id, startedAt: _startedAt, ...report }) => ({
        ...report,
        ...(baseline ? { baseline } : {}),
        progress: { scanned: report.summary.scanned },
      }),
      after: async () => {
        await store.prune();
        // one violation set is kept: the newest complete audit's (a full audit's new one, or its base's updated)
        const sets = new ViolationSets(this.database.db());
        if (baseline?.set === id) await sets.retain([id]);
        else if (baseline?.set) await sets.compact(baseline.set, id);
      },
    });
    const { _id, ...rest } = record;
    return { run: { id: _id, ...rest } as AuditRun, done };
  }

  /** Start an audit job (the API and the schedule): the run at once, its work in the background. */
  async start(input: AuditRequestInput = {}, trigger: JobTrigger = 'api'): Promise<AuditRun> {
    const { run, done } = await this.launchAudit(parseAuditRequest(input), trigger);
    done.catch(noop);
    return run;
  }

  /**
   * Audit now and return the stored report (the CLI): the same job as start's. Stopped by a shutdown (Ctrl-C) it
   * rejects with INTERRUPTED (exit 0), cancelled from the API with CANCELLED.
   */
  async audit(
    input: AuditRequestInput = {},
    options: {
      trigger?: JobTrigger;
      onProgress?: ProgressListener;
      /** What the caller calls each field, for its errors (the CLI's flags). */
      names?: FieldNames<AuditRequestInput>;
    } = {},
  ): Promise<AuditReport> {
    const request = parseAuditRequest(input, options.names);
    const { done } = await this.launchAudit(request, options.trigger ?? 'cli', options.onProgress);
    return done;
  }

  /** Wait until no audit or repair runs in this process (tests, the CLI). */
  idle(): Promise<void> {
    return this.jobs.idle();
  }

  /** Audit runs and reports, newest first, from every instance; optionally of one status. */
  async list(page: number, pageSize: number, status?: JobStatus): Promise<Page<AuditRun>> {
    await this.sweep();
    return this.store().list(page, pageSize, status);
  }

  /** An audit: its report when done, otherwise the run with its progress (from any instance). */
  async auditRun(id: string): Promise<AuditRun | StoredReport> {
    await this.sweep();
    const run = await this.store().run(id);
    if (!run) throw new IntegrityError(IntegrityErrorCode.UnknownAudit, `no audit "${id.slice(0, 64)}"`);
    if (run.status !== undefined && run.status !== 'done') return run;
    return (await this.store().get(id)) ?? run;
  }

  /**
   * Cancel a running audit from any instance: at once when it runs here, otherwise at its next heartbeat on the
   * instance running it.
   */
  async cancel(id: string): Promise<AuditRun> {
    const run = await this.auditRun(id);
    if (!('status' in run) || run.status !== 'running')
      throw new IntegrityError(
        IntegrityErrorCode.NotRunning,
        `audit ${id} is ${'status' in run ? run.status : 'done'}, not running`,
      );
    const store = this.store();
    const here = this.jobs.stopHere(id, 'cancel');
    if (!(await store.jobs.requestCancel(id)) && !here)
      throw new IntegrityError(IntegrityErrorCode.NotRunning, `audit ${id} is not running any more`);
    return (await store.run(id)) ?? run;
  }

  async report(id: string): Promise<StoredReport> {
    const report = await this.store().get(id);
    if (!report)
      throw new IntegrityError(IntegrityErrorCode.UnknownReport, `no audit report "${id.slice(0, 64)}"`);
    return report;
  }

  async latest(): Promise<StoredReport> {
    const report = await this.store().latest();
    if (!report) throw new IntegrityError(IntegrityErrorCode.UnknownReport, 'no audit has finished yet');
    return report;
  }

  /**
   * The report as a self-contained HTML page (see renderHtmlReport), with the trend of the `trend` stored reports
   * up to it; 'latest' names the newest report.
   */
  async htmlReport(
    id: string | 'latest',
    options: { apiBase?: string; trend?: number } = {},
  ): Promise<string> {
    const report = id === 'latest' ? await this.latest() : await this.report(id);
    const trend = await this.store().trend(report.startedAt, options.trend ?? 20);
    return renderHtmlReport(report, { trend, apiBase: options.apiBase, version: packageInfo().version });
  }

  async findings(
    id: string,
    filter: { check?: CheckName; collection?: string },
    page: number,
    pageSize: number,
  ): Promise<Page<Finding>> {
    return pageFindings(await this.report(id), filter, page, pageSize);
  }

  // ---- repairs ----

  private async launchRepair(
    reportId: string,
    input: RepairRequestInput,
    trigger: JobTrigger,
  ): Promise<{ job: RepairRunSummary; done: Promise<RepairRun> }> {
    const request = parseRepairRequest(input);
    const report = await this.report(reportId);
    await this.sweep();
    const runId = randomUUID();
    const { record, done } = await this.jobs.start<RepairProgress, RepairRun>({
      kind: 'repair',
      id: runId,
      trigger,
      store: this.repairRuns().jobs,
      progress: { round: 0, applied: 0 },
      fields: {
        reportId,
        dryRun: request.dryRun,
        actions: 0,
        skippedActions: 0,
        rounds: [],
        skipped: [],
        truncated: false,
      },
      work: (job) =>
        repair(this.database.db(), report, {
          ...request,
          app: this.config.app,
          maxTimeMS: this.config.queryTimeoutMs,
          runId,
          signal: job.signal,
          onProgress: (round, applied) => job.progress({ round, applied }),
        }),
      done: (run) => ({
        ...cappedRun(run),
        progress: { round: run.rounds.length, applied: run.applied },
      }),
      stoppedNote: (status, progress) =>
        !request.dryRun && (progress.applied > 0 || status === 'cancelled' || status === 'interrupted')
          ? `changes applied before it stopped are journaled: undo ${runId} restores them`
          : undefined,
    });
    return { job: repairSummary(record), done };
  }

  /**
   * Start a repair job (a plan when dryRun, else journaled changes) from a stored report: the run at once, the
   * work in the background; refused while an audit or repair runs anywhere.
   */
  async startRepair(
    reportId: string,
    input: RepairRequestInput,
    trigger: JobTrigger = 'api',
  ): Promise<RepairRunSummary> {
    const { job, done } = await this.launchRepair(reportId, input, trigger);
    done.catch(noop);
    return job;
  }

  /** Plan or apply the repairs of a stored report and wait for the result (the CLI); a job like startRepair's. */
  async repair(reportId: string, input: RepairRequestInput, trigger: JobTrigger = 'cli'): Promise<RepairRun> {
    return (await this.launchRepair(reportId, input, trigger)).done;
  }

  /** One repair run with its actions; UNKNOWN_REPAIR_RUN when there is none. */
  async repairRun(runId: string): Promise<RepairRunRecord> {
    await this.sweep();
    const stored = await this.repairRuns().get(runId);
    if (!stored) throw new RepairError(`unknown repair run "${runId.slice(0, 64)}"`);
    return stored;
  }

  /** Repair runs, newest first, from every instance. */
  async listRepairs(page: number, pageSize: number): Promise<Page<RepairRunSummary>> {
    await this.sweep();
    return this.repairRuns().list(page, pageSize);
  }

  /** Cancel a running repair from any instance; it stops between changes, its applied changes journaled. */
  async cancelRepair(runId: string): Promise<RepairRunSummary> {
    const run = await this.repairRun(runId);
    if (run.status !== 'running')
      throw new IntegrityError(
        IntegrityErrorCode.NotRunning,
        `repair run ${runId} is ${run.status}, not running`,
      );
    const runs = this.repairRuns();
    const here = this.jobs.stopHere(runId, 'cancel');
    if (!(await runs.jobs.requestCancel(runId)) && !here)
      throw new IntegrityError(IntegrityErrorCode.NotRunning, `repair run ${runId} is not running any more`);
    const { rounds: _r, skipped: _s, truncated: _t, ...summary } = (await runs.get(runId)) ?? run;
    return summary;
  }

  /** Undo a repair run under the integrity lease (conflicts refused unless force; see undoRepair). */
  undo(runId: string, options: { force?: boolean } = {}): Promise<UndoResult> {
    return this.jobs.leased(() => undoRepair(this.database.db(), runId, options));
  }
}

/** Audits, reports and repairs (the API, the CLI). */
@Module({ providers: [IntegrityService, JobRunner], exports: [IntegrityService, JobRunner] })
export class IntegrityModule {}
