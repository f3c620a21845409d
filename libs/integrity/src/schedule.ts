import { Inject, Injectable, Logger, Module } from '@nestjs/common';
import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { IntegrityError, IntegrityErrorCode } from './errors';
import type { AuditReport } from './findings';
import { IntegrityModule, IntegrityService } from './integrity.service';
import { newFindings } from './report-store';
import { postWebhook, WEBHOOK_SENDER } from './webhook';
import type { WebhookSender } from './webhook';

const CRON_NAME = 'integrity-audit';

/**
 * Scheduled audits of the admin API (AUDIT_CRON): each tick starts an audit job unless one runs anywhere (counted
 * in skippedRuns); new findings are logged and posted to AUDIT_WEBHOOK_URL. The schedule stops first on shutdown.
 */
@Injectable()
export class IntegritySchedule implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('IntegritySchedule');
  /** Ticks skipped because an audit or repair was running (here or on another instance). */
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
    this.scheduler.addCronJob(CRON_NAME, job);
    this.integrity.onFinish((end) => {
      if (end.trigger === 'schedule' && end.report) void this.announce(end.report);
    });
    this.logger.log(`scheduled audits: ${this.config.auditCron}`);
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('cron', CRON_NAME)) void this.scheduler.getCronJob(CRON_NAME).stop();
  }

  /** One tick of the schedule: start a scheduled audit unless one (or a repair) runs anywhere. */
  async tick(): Promise<void> {
    try {
      await this.integrity.start({ mode: this.config.auditMode }, 'schedule');
    } catch (e) {
      if (
        e instanceof IntegrityError &&
        [
          IntegrityErrorCode.AuditRunning,
          IntegrityErrorCode.RepairRunning,
          IntegrityErrorCode.ShuttingDown,
        ].includes(e.code)
      ) {
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
      await this.sendWebhook(
        this.config.auditWebhookUrl,
        {
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
        },
        this.config.auditWebhookAuthorization,
      );
    } catch (e) {
      this.logger.error(e instanceof Error ? e.message : String(e));
    }
  }
}

/** The schedule of the admin API (needs @nestjs/schedule's ScheduleModule). */
@Module({
  imports: [IntegrityModule],
  providers: [IntegritySchedule, { provide: WEBHOOK_SENDER, useValue: postWebhook }],
  exports: [IntegritySchedule],
})
export class IntegrityScheduleModule {}
