import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, Module } from '@nestjs/common';
import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { APP_CONFIG, packageInfo } from '@odtp/config';
import { DomainError, HTTP } from '@odtp/errors';
import type { AppConfig } from '@odtp/config';
import { DatabaseService, LeaseLock, LockHeldError } from '@odtp/database';
import type { LeaseHandle } from '@odtp/database';
import { AuditCancelledError, runAudit } from './auditor';
import { renderHtmlReport } from './html-report';
import type { AuditOptions } from './auditor';
import type { AuditReport, CheckName, Finding } from './findings';
import { RepairError, undoRepair } from './journal';
import type { UndoResult } from './journal';
import { repair } from './repair';
import { RepairCancelledError } from './repair-apply';
import type { RepairOptions, RepairRun } from './repair';
import { RepairRunStore } from './repair-runs';
import type { AuditTrigger, JobStatus, RepairRunRecord, RepairRunSummary } from './repair-runs';
import { newFindings, pageFindings, ReportStore } from './report-store';
import type { Page } from './report-store';

export enum IntegrityErrorCode {
  AuditRunning = 'AUDIT_RUNNING',
  UnknownReport = 'UNKNOWN_REPORT',
  NotRunning = 'NOT_RUNNING',
}

export class IntegrityError extends DomainError {
  declare readonly code: IntegrityErrorCode;

  constructor(code: IntegrityErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(
      {
        code,
        httpStatus: code === IntegrityErrorCode.UnknownReport ? HTTP.notFound : HTTP.conflict,
        exitCode: 2,
      },
      message,
      details,
    );
  }
}

export interface AuditJob {
  id: string;
  status: JobStatus;
  startedAt: Date;
  finishedAt?: Date;
  trigger: AuditTrigger;
  progress: { collection?: string; scanned: number };
  error?: string;
  summary?: AuditReport['summary'];
}

/** Where a scheduled audit posts its new findings. */
export type WebhookSender = (url: string, body: unknown) => Promise<void>;

/** Post JSON with a 5 s timeout, retried 3 times with backoff; the URL is never logged (it may hold a token). */
export async function postWebhook(url: string, body: unknown, attempts = 3, timeoutMs = 5000): Promise<void> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.ok) return;
      last = new Error(`HTTP ${res.status}`);
    } catch (e) {
      last = e;
    }
    if (i < attempts - 1) await new Promise((r) => setTimeout(r, 500 * 2 ** i));
  }
  throw new Error(
    `webhook to ${new URL(url).host} failed after ${attempts} attempts: ${last instanceof Error ? last.message : String(last)}`,
  );
}

export const WEBHOOK_SENDER = Symbol('WEBHOOK_SENDER');
const LOCK = { collection: 'integrity_lock', id: 'audit' };
const noop = (): void => undefined;

/**
 * What a job's `error` says: a domain error's own message (written for users), the time limit by name, and
 * nothing of any other error (its text can hold internals; the server log has it under the job id).
 */
export function publicJobError(e: unknown, config: Pick<AppConfig, 'queryTimeoutMs'>): string {
  if (e instanceof DomainError) return e.message;
  if (e instanceof AuditCancelledError || e instanceof RepairCancelledError) return e.message;
  if (typeof e === 'object' && e !== null && (e as { code?: unknown }).code === MAX_TIME_MS_EXPIRED)
    return `a query ran longer than QUERY_TIMEOUT_MS (${config.queryTimeoutMs} ms)`;
  return 'internal error (details in the server log under this job id)';
}
const MAX_TIME_MS_EXPIRED = 50;

/** What a caller may choose of a repair (the application level and time limit are the configuration's). */
export type RepairRequest = Omit<RepairOptions, 'app' | 'maxTimeMS'> & { dryRun: boolean };

/** What a caller may choose of an audit (the application level is the configuration's). */
export type AuditRequest = Pick<AuditOptions, 'checks' | 'batchSize' | 'sampleLimit' | 'readPreference'> & {
  onProgress?: AuditOptions['onProgress'];
};

/**
 * Audits and repairs on the configured database for the configured application: one at a time across every
 * instance and process (the API's jobs, the schedule, the CLI), through one lease lock; stored reports. The same
 * code for every caller.
 */
@Injectable()
export class IntegrityService implements OnApplicationShutdown {
  private readonly logger = new Logger('Integrity');
  private readonly jobs = new Map<string, AuditJob>();
  private readonly listeners: ((job: AuditJob, report?: AuditReport) => void)[] = [];
  private readonly repairJobs = new Map<string, RepairRunSummary>();
  /** The job (audit or repair) this instance runs, if any. */
  private running?: {
    kind: 'audit' | 'repair';
    id: string;
    controller: AbortController;
    done: Promise<void>;
  };

  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Called when an audit job ends, whatever its status, with its report when it has one (metrics, schedule). */
  onFinish(listener: (job: AuditJob, report?: AuditReport) => void): void {
    this.listeners.push(listener);
  }

  store(): ReportStore {
    return new ReportStore(this.database.db(), this.config.auditRetention);
  }

  /** The integrity lease (audits and repairs, every instance and process), or AUDIT_RUNNING naming the holder. */
  private async lease(runId: string): Promise<LeaseHandle> {
    if (this.running)
      throw new IntegrityError(
        IntegrityErrorCode.AuditRunning,
        `${this.running.kind === 'audit' ? 'an audit' : 'a repair'} is running: ${this.running.id}`,
        { running: this.running.id },
      );
    try {
      return await new LeaseLock(this.database.db(), LOCK).acquire(0, runId);
    } catch (e) {
      if (!(e instanceof LockHeldError)) throw e;
      throw new IntegrityError(
        IntegrityErrorCode.AuditRunning,
        `an audit or repair is running: ${e.holder.owner.runId} (on ${e.holder.owner.host})`,
        { running: e.holder.owner.runId },
      );
    }
  }

  /** Run one audit under an acquired lease and store its report; cancelled when the lease is lost. */
  private async run(
    id: string,
    lease: LeaseHandle,
    request: AuditRequest,
    signal?: AbortSignal,
  ): Promise<AuditReport> {
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    lease.signal.addEventListener('abort', abort);
    signal?.addEventListener('abort', abort);
    const report = await runAudit(this.database.db(), {
      ...request,
      app: this.config.app,
      maxTimeMS: this.config.queryTimeoutMs,
      signal: controller.signal,
    });
    report.id = id;
    await this.store().save(report);
    return report;
  }

  /** Audit now and return the stored report (the CLI); refused while another audit or repair runs. */
  async audit(request: AuditRequest = {}): Promise<AuditReport> {
    const id = randomUUID();
    const lease = await this.lease(id);
    try {
      return await this.run(id, lease, request);
    } finally {
      await lease.release().catch(() => undefined);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.running?.controller.abort();
    await this.running?.done.catch(() => undefined);
  }

  /** Start an audit job (the API and the schedule); 409-worthy when one runs here or on another instance. */
  async start(request: AuditRequest = {}, trigger: AuditTrigger = 'api'): Promise<AuditJob> {
    const id = randomUUID();
    const lease = await this.lease(id);
    const job: AuditJob = { id, status: 'running', startedAt: new Date(), trigger, progress: { scanned: 0 } };
    this.jobs.set(id, job);
    const controller = new AbortController();
    let base = 0;
    let last = '';
    const onProgress = (collection: string, scanned: number): void => {
      if (collection !== last) {
        if (last) base = job.progress.scanned;
        last = collection;
      }
      job.progress = { collection, scanned: base + scanned };
      request.onProgress?.(collection, scanned);
    };
    const done = (async () => {
      let report: AuditReport | undefined;
      try {
        report = await this.run(id, lease, { ...request, onProgress }, controller.signal);
        job.status = 'done';
        job.summary = report.summary;
      } catch (e) {
        job.status = controller.signal.aborted || lease.signal.aborted ? 'cancelled' : 'failed';
        job.error = lease.signal.aborted ? 'the integrity lease was lost' : publicJobError(e, this.config);
        this.logger.error(`audit ${id} ${job.status}: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        job.finishedAt = new Date();
        this.running = undefined;
        await lease.release().catch(() => undefined);
        for (const l of this.listeners) l(job, report);
      }
    })();
    this.running = { kind: 'audit', id, controller, done };
    return job;
  }

  /** For tests and shutdown: wait for the running audit, if any. */
  async idle(): Promise<void> {
    await this.running?.done;
  }

  /** Cancel the running audit or repair `id` (on this instance); false when it is not running here. */
  cancel(id: string): boolean {
    if (this.running?.id !== id) return false;
    this.running.controller.abort();
    return true;
  }

  job(id: string): AuditJob | undefined {
    return this.jobs.get(id);
  }

  list(page: number, pageSize: number): Promise<Page<Omit<AuditReport, 'findings'>>> {
    return this.store().list(page, pageSize);
  }

  async report(id: string): Promise<AuditReport> {
    const report = await this.store().get(id);
    if (!report) throw new IntegrityError(IntegrityErrorCode.UnknownReport, `no audit report "${id}"`);
    return report;
  }

  async latest(): Promise<AuditReport> {
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

  repairRuns(): RepairRunStore {
    return new RepairRunStore(this.database.db());
  }

  /**
   * Start a repair job (a plan when dryRun, else journaled changes) from a stored report: the run id at once, the
   * work in the background under the integrity lease; refused (AUDIT_RUNNING) while an audit or repair runs
   * anywhere. The run is kept in repairRuns.
   */
  async startRepair(
    reportId: string,
    request: RepairRequest,
    trigger: AuditTrigger = 'api',
  ): Promise<RepairRunSummary> {
    const { job, done } = await this.launchRepair(reportId, request, trigger);
    done.catch(() => undefined);
    return job;
  }

  /** Plan or apply the repairs of a stored report and wait for the result (the CLI); a job like startRepair's. */
  async repair(reportId: string, request: RepairRequest, trigger: AuditTrigger = 'cli'): Promise<RepairRun> {
    return (await this.launchRepair(reportId, request, trigger)).done;
  }

  private async launchRepair(
    reportId: string,
    request: RepairRequest,
    trigger: AuditTrigger,
  ): Promise<{ job: RepairRunSummary; done: Promise<RepairRun> }> {
    const report = await this.report(reportId);
    const runId = randomUUID();
    const lease = await this.lease(runId);
    const job: RepairRunSummary = {
      runId,
      reportId,
      dryRun: request.dryRun,
      status: 'running',
      trigger,
      startedAt: new Date(),
      progress: { round: 0, applied: 0 },
      actions: 0,
      skippedActions: 0,
    };
    const store = this.repairRuns();
    try {
      await store.started(job);
    } catch (e) {
      await lease.release().catch(() => undefined);
      throw e;
    }
    this.repairJobs.set(runId, job);
    const controller = new AbortController();
    lease.signal.addEventListener('abort', () => controller.abort());
    let result: RepairRun | undefined;
    const done = (async (): Promise<RepairRun> => {
      try {
        result = await repair(this.database.db(), report, {
          ...request,
          app: this.config.app,
          maxTimeMS: this.config.queryTimeoutMs,
          runId,
          signal: controller.signal,
          onRound: (round, applied) => (job.progress = { round, applied }),
        });
        Object.assign(job, {
          status: 'done',
          progress: { round: result.rounds.length, applied: result.applied },
          actions: result.rounds.reduce((n, r) => n + r.length, 0),
          skippedActions: result.skipped.length,
          remainingErrors: result.remainingErrors,
        });
        return result;
      } catch (e) {
        job.status = controller.signal.aborted ? 'cancelled' : 'failed';
        job.error = lease.signal.aborted ? 'the integrity lease was lost' : publicJobError(e, this.config);
        if (job.progress.applied || job.status === 'cancelled')
          job.error += ` (changes applied before it stopped are journaled: undo ${runId} restores them)`;
        this.logger.error(`repair ${runId} ${job.status}: ${e instanceof Error ? e.message : String(e)}`);
        throw e;
      } finally {
        job.finishedAt = new Date();
        await store
          .finished(job, result)
          .catch((e: unknown) => this.logger.error(`repair ${runId}: ${String(e)}`));
        this.running = undefined;
        await lease.release().catch(() => undefined);
      }
    })();
    this.running = { kind: 'repair', id: runId, controller, done: done.then(noop, noop) };
    return { job, done };
  }

  /** Whether the integrity lease is held, unexpired, by run `runId` (a run stored as running but not is dead). */
  private async leaseHeldBy(runId: string): Promise<boolean> {
    const holder = await new LeaseLock(this.database.db(), LOCK).holder();
    return !!holder && holder.owner.runId === runId && holder.expiresAt.getTime() > Date.now();
  }

  /** A stored run as it stands: live progress when it runs here, failed when its process died mid-run. */
  private async current<T extends RepairRunSummary>(stored: T): Promise<T> {
    const live = this.repairJobs.get(stored.runId);
    if (live?.status === 'running') return { ...stored, ...live };
    if (stored.status !== 'running' || (await this.leaseHeldBy(stored.runId))) return stored;
    return {
      ...stored,
      status: 'failed',
      error: `interrupted: the process running it stopped before it finished (undo ${stored.runId} restores what it changed)`,
    };
  }

  /** One repair run with its actions; UNKNOWN_REPAIR_RUN when there is none. */
  async repairRun(runId: string): Promise<RepairRunRecord> {
    const stored = await this.repairRuns().get(runId);
    if (!stored) throw new RepairError(`unknown repair run "${runId.slice(0, 64)}"`);
    return this.current(stored);
  }

  /** Repair runs, newest first. */
  async listRepairs(page: number, pageSize: number): Promise<Page<RepairRunSummary>> {
    const listed = await this.repairRuns().list(page, pageSize);
    return { ...listed, items: await Promise.all(listed.items.map((r) => this.current(r))) };
  }

  /** Cancel a running repair (on the instance running it); it ends cancelled, its applied changes journaled. */
  async cancelRepair(runId: string): Promise<RepairRunSummary> {
    const run = await this.repairRun(runId);
    if (run.status !== 'running')
      throw new IntegrityError(
        IntegrityErrorCode.NotRunning,
        `repair run ${runId} is ${run.status}, not running`,
      );
    if (!this.cancel(runId))
      throw new IntegrityError(
        IntegrityErrorCode.NotRunning,
        `repair run ${runId} runs on another instance; cancel it there`,
      );
    return this.repairJobs.get(runId) ?? run;
  }

  /** Undo a repair run under the integrity lease (conflicts refused unless force; see undoRepair). */
  undo(runId: string, options: { force?: boolean } = {}): Promise<UndoResult> {
    return this.leased(() => undoRepair(this.database.db(), runId, options));
  }

  private async leased<T>(work: () => Promise<T>): Promise<T> {
    const lease = await this.lease(randomUUID());
    try {
      return await work();
    } finally {
      await lease.release().catch(() => undefined);
    }
  }
}

/**
 * Scheduled audits of the admin API (AUDIT_CRON): each tick starts an audit job unless one runs anywhere (counted
 * in skippedRuns); new findings are logged and posted to AUDIT_WEBHOOK_URL.
 */
@Injectable()
export class IntegritySchedule implements OnModuleInit {
  private readonly logger = new Logger('IntegritySchedule');
  /** Ticks skipped because an audit was running (here or on another instance). */
  skippedRuns = 0;

  constructor(
    private readonly integrity: IntegrityService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    @Inject(WEBHOOK_SENDER) private readonly sendWebhook: WebhookSender,
  ) {}

  onModuleInit(): void {
    if (!this.config.auditCron) return;
    const job = CronJob.from({
      cronTime: this.config.auditCron,
      onTick: () => void this.tick(),
      start: true,
    });
    this.scheduler.addCronJob('integrity-audit', job);
    this.integrity.onFinish((finished, report) => {
      if (finished.trigger === 'schedule' && report) void this.announce(report);
    });
    this.logger.log(`scheduled audits: ${this.config.auditCron}`);
  }

  private async tick(): Promise<void> {
    try {
      await this.integrity.start({}, 'schedule');
    } catch (e) {
      if (e instanceof IntegrityError && e.code === IntegrityErrorCode.AuditRunning) {
        this.skippedRuns++;
        this.logger.debug?.(`scheduled audit skipped: ${e.message}`);
        return;
      }
      this.logger.error(`scheduled audit failed to start: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async announce(report: AuditReport): Promise<void> {
    const fresh = newFindings(report, await this.integrity.store().previous(report));
    for (const f of fresh)
      this.logger.warn(
        `new since the previous audit: ${f.check} ${f.collection}.${f.path}: ${f.violations} violation(s)`,
      );
    if (!fresh.length || !this.config.auditWebhookUrl) return;
    try {
      await this.sendWebhook(this.config.auditWebhookUrl, {
        reportId: report.id,
        reportPath: `/audits/${report.id}/report`,
        ...(this.config.adminPublicUrl
          ? { reportUrl: `${this.config.adminPublicUrl}/audits/${report.id}/report` }
          : {}),
        database: report.database,
        finishedAt: report.finishedAt,
        summary: report.summary,
        newFindings: fresh.map((f) => ({
          check: f.check,
          severity: f.severity,
          collection: f.collection,
          path: f.path,
          violations: f.violations,
          samples: f.samples.map(String),
        })),
      });
    } catch (e) {
      this.logger.error(e instanceof Error ? e.message : String(e));
    }
  }
}

/** Audits, reports and repairs (the API, the CLI). */
@Module({ providers: [IntegrityService], exports: [IntegrityService] })
export class IntegrityModule {}

/** The schedule of the admin API (needs @nestjs/schedule's ScheduleModule). */
@Module({
  imports: [IntegrityModule],
  providers: [IntegritySchedule, { provide: WEBHOOK_SENDER, useValue: postWebhook }],
  exports: [IntegritySchedule],
})
export class IntegrityScheduleModule {}
