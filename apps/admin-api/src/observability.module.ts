import { Global, Module } from '@nestjs/common';
import { AdminLogController } from './admin-log/admin-log.controller';
import { AdminLogService } from './admin-log/admin-log.service';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsService } from './metrics/metrics.service';

@Global()
@Module({
  controllers: [AdminLogController, MetricsController],
  providers: [AdminLogService, MetricsService],
  exports: [AdminLogService, MetricsService],
})
export class ObservabilityModule {}
