import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, packageInfo } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { DatabaseService } from '@odtp/database';
import type { HealthDto } from './health.dto';

@Injectable()
export class HealthService {
  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async check(): Promise<HealthDto> {
    const { ping, latencyMs } = await this.database.ping();
    return {
      status: ping === 'ok' ? 'ok' : 'unavailable',
      database: { engine: this.database.engine, ping, latencyMs },
      version: packageInfo().version,
      app: this.config.app,
    };
  }
}
