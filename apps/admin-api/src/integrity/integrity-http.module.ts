import { Module } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import {
  IntegrityModule,
  IntegrityScheduleModule,
  IntegrityService,
  IntegrityWatch,
  IntegrityWatchModule,
} from '@odtp/integrity';
import { MetricsService } from '../metrics/metrics.service';
import { AuditsController } from './audits.controller';
import { RepairsController } from './repairs.controller';

@Module({
  imports: [IntegrityModule, IntegrityScheduleModule, IntegrityWatchModule],
  controllers: [AuditsController, RepairsController],
})
export class IntegrityHttpModule implements OnModuleInit {
  constructor(
    private readonly integrity: IntegrityService,
    private readonly watch: IntegrityWatch,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.metrics.trackLiveFindings(async () => (await this.watch.summary(0)).byCheck);
    this.integrity.onFinish((end) =>
      this.metrics.observeAudit(
        end.trigger,
        end.status,
        (end.finishedAt.getTime() - end.startedAt.getTime()) / 1000,
        end.report?.summary,
      ),
    );
  }
}
