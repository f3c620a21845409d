import { Injectable } from '@nestjs/common';
import { packageInfo } from '@odtp/config';
import { DatabaseService } from '@odtp/database';
import type { HealthDto } from './health.dto';

@Injectable()
export class HealthService {
  constructor(private readonly database: DatabaseService) {}

  async check(): Promise<HealthDto> {
    const { ping, latencyMs } = await this.database.ping();
    return {
      status: ping === 'ok' ? 'ok' : 'unavailable',
      database: { engine: this.database.engine, ping, latencyMs },
      version: packageInfo().version,
    };
  }
}
