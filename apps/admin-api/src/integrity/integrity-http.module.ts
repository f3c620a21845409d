import { Module } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { IntegrityModule, IntegrityScheduleModule, IntegrityService } from '@odtp/integrity';
import { MetricsService } from '../metrics/metrics.service';
import { AuditsController } from './audits.controller';
import { RepairsController } from './repairs.controller';

@Module({
  imports: [IntegrityModule, IntegrityScheduleModule],
  controllers: [AuditsController, RepairsController],
})
export class IntegrityHttpModule implements OnModuleInit {
  constructor(
    private readonly integrity: IntegrityService,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.integrity.onFinish((job) =>
      this.metrics.observeAudit(
        job.trigger,
        job.status,
        ((job.finishedAt ?? new Date()).getTime() - job.startedAt.getTime()) / 1000,
        job.summary,
      ),
    );
  }
}
