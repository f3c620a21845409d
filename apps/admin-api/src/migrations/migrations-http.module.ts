import { Module } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { MigrationsModule, MigrationsService } from '@odtp/migrations';
import { MetricsService } from '../metrics/metrics.service';
import { MigrationsController } from './migrations.controller';

@Module({ imports: [MigrationsModule], controllers: [MigrationsController] })
export class MigrationsHttpModule implements OnModuleInit {
  constructor(
    private readonly migrations: MigrationsService,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.metrics.trackMigrations(
      async (state) => (await this.migrations.status()).filter((s) => s.state === state).length,
    );
    this.migrations.onRun((_direction, result) => {
      for (const m of result.migrations) this.metrics.observeMigration(m.name, m.durationMs / 1000);
    });
  }
}
