import { Global, Module } from '@nestjs/common';
import { AUTH_FAILURES } from '@odtp/auth';
import { authFailureListener } from './common/auth-failures';
import { AdminLogController } from './admin-log/admin-log.controller';
import { AdminLogService } from './admin-log/admin-log.service';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsService } from './metrics/metrics.service';

@Global()
@Module({
  controllers: [AdminLogController, MetricsController],
  providers: [
    AdminLogService,
    MetricsService,
    { provide: AUTH_FAILURES, useFactory: authFailureListener, inject: [MetricsService] },
  ],
  exports: [AdminLogService, MetricsService, AUTH_FAILURES],
})
export class ObservabilityModule {}
