import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, Module } from '@nestjs/common';
import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { DatabaseService, LeaseLock, LockHeldError } from '@odtp/database';
import { runAudit } from './auditor';
import type { AuditOptions } from './auditor';
import type { AuditReport, CheckName, Finding } from './findings';
import { repair, undoRepair } from './repair';
import type { RepairOptions, RepairRun } from './repair';
import { newFindings, pageFindings, ReportStore } from './report-store';
import type { Page } from './report-store';

export enum IntegrityErrorCode {
  AuditRunning = 'AUDIT_RUNNING',
  UnknownReport = 'UNKNOWN_REPORT',
}

export class IntegrityError extends Error {
  constructor(
    readonly code: IntegrityErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'IntegrityError';
  }
}

export interface AuditJob {
  id: string;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  startedAt: Date;
  finishedAt?: Date;
  trigger: 'api' | 'schedule';
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

/**
 * Audits as jobs (one at a time across every instance, through a lease lock), their reports, the schedule, and
 * repairs: the same code the CLI runs.
 */
@Injectable()
export class IntegrityService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Integrity');
  private readonly jobs = new Map<string, AuditJob>();
  /** Scheduled runs skipped because an audit was running (here or on another instance). */
  skippedRuns = 0;
  private readonly listeners: ((job: AuditJob) => void)[] = [];

  /** Called when an audit job ends, whatever its status (metrics). */
  onFinish(listener: (job: AuditJob) => void): void {
    this.listeners.push(listener);
  }
  private running?: { job: AuditJob; controller: AbortController; done: Promise<void> };

  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    @Inject(WEBHOOK_SENDER) private readonly sendWebhook: WebhookSender,
  ) {}

  private store(): ReportStore {
    return new ReportStore(this.database.db(), this.config.auditRetention);
  }

  private lock(): LeaseLock {
    return new LeaseLock(this.database.db(), LOCK);
  }

  onModuleInit(): void {
    if (!this.config.auditCron) return;
    const job = CronJob.from({
      cronTime: this.config.auditCron,
      onTick: () => void this.scheduledRun(),
      start: true,
    });
    this.scheduler.addCronJob('integrity-audit', job);
    this.logger.log(`scheduled audits: ${this.config.auditCron}`);
  }

  async onApplicationShutdown(): Promise<void> {
    this.running?.controller.abort();
    await this.running?.done.catch(() => undefined);
  }

  /** Start an audit job; 409-worthy when one runs here or on another instance. */
  async start(
    options: Pick<AuditOptions, 'checks' | 'batchSize' | 'sampleLimit'> = {},
    trigger: AuditJob['trigger'] = 'api',
  ): Promise<AuditJob> {
    if (this.running)
      throw new IntegrityError(
        IntegrityErrorCode.AuditRunning,
        `an audit is running: ${this.running.job.id}`,
        { running: this.running.job.id },
      );
    const id = randomUUID();
    let lease;
    try {
      lease = await this.lock().acquire(0, id);
    } catch (e) {
      if (!(e instanceof LockHeldError)) throw e;
      throw new IntegrityError(
        IntegrityErrorCode.AuditRunning,
        `an audit is running: ${e.holder.owner.runId} (on ${e.holder.owner.host})`,
        {
          running: e.holder.owner.runId,
        },
      );
    }
    const job: AuditJob = { id, status: 'running', startedAt: new Date(), trigger, progress: { scanned: 0 } };
    this.jobs.set(id, job);
    const controller = new AbortController();
    const abortOnLoss = (): void => controller.abort();
    lease.signal.addEventListener('abort', abortOnLoss);
    const done = (async () => {
      try {
        let base = 0;
        let last = '';
        const report = await runAudit(this.database.db(), {
          ...options,
          app: this.config.app,
          signal: controller.signal,
          onProgress: (collection, scanned) => {
            if (collection !== last) {
              if (last) base = job.progress.scanned;
              last = collection;
            }
            job.progress = { collection, scanned: base + scanned };
          },
        });
        report.id = id;
        const store = this.store();
        await store.save(report);
        job.status = 'done';
        job.summary = report.summary;
        if (trigger === 'schedule') await this.announce(report, await store.previous(report));
      } catch (e) {
        job.status = controller.signal.aborted ? 'cancelled' : 'failed';
        job.error = e instanceof Error ? e.message : String(e);
        this.logger.error(`audit ${id} ${job.status}: ${job.error}`);
      } finally {
        job.finishedAt = new Date();
        this.running = undefined;
        for (const l of this.listeners) l(job);
        await lease.release().catch(() => undefined);
      }
    })();
    this.running = { job, controller, done };
    return job;
  }

  /** For tests and shutdown: wait for the running audit, if any. */
  async idle(): Promise<void> {
    await this.running?.done;
  }

  private async scheduledRun(): Promise<void> {
    try {
      await this.start({}, 'schedule');
    } catch (e) {
      if (e instanceof IntegrityError && e.code === IntegrityErrorCode.AuditRunning) {
        this.skippedRuns++;
        this.logger.debug?.(`scheduled audit skipped: ${e.message}`);
        return;
      }
      this.logger.error(`scheduled audit failed to start: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async announce(report: AuditReport, previous: AuditReport | null): Promise<void> {
    const fresh = newFindings(report, previous);
    for (const f of fresh)
      this.logger.warn(
        `new since the previous audit: ${f.check} ${f.collection}.${f.path}: ${f.violations} violation(s)`,
      );
    if (!fresh.length || !this.config.auditWebhookUrl) return;
    try {
      await this.sendWebhook(this.config.auditWebhookUrl, {
        reportId: report.id,
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

  /** Cancel the running audit `id` (on this instance); false when it is not running here. */
  cancel(id: string): boolean {
    if (this.running?.job.id !== id) return false;
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

  async findings(
    id: string,
    filter: { check?: CheckName; collection?: string },
    page: number,
    pageSize: number,
  ): Promise<Page<Finding>> {
    return pageFindings(await this.report(id), filter, page, pageSize);
  }

  async repair(reportId: string, options: RepairOptions & { dryRun: boolean }): Promise<RepairRun> {
    return repair(this.database.db(), await this.report(reportId), { ...options, app: this.config.app });
  }

  undo(runId: string): Promise<{ restored: number }> {
    return undoRepair(this.database.db(), runId);
  }
}

@Module({
  providers: [IntegrityService, { provide: WEBHOOK_SENDER, useValue: postWebhook }],
  exports: [IntegrityService],
})
export class IntegrityModule {}
