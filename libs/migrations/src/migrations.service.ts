import { Inject, Injectable, Module } from '@nestjs/common';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { DatabaseService } from '@odtp/database';
import { defaultMigrationsDir } from './paths';
import { Migrator } from './runner';
import type { MigrationStatus, RunResult, UpOptions } from './runner';

/** Migrations on the app's database, for the admin API (the same runner, lock and checksums as the CLI). */
@Injectable()
export class MigrationsService {
  private readonly listeners: ((direction: 'up', result: RunResult) => void)[] = [];

  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private migrator(): Migrator {
    return new Migrator(this.database.db(), this.database.client, {
      dir: defaultMigrationsDir(),
      app: this.config.app,
    });
  }

  status(): Promise<MigrationStatus[]> {
    return this.migrator().status();
  }

  plan(to?: string): Promise<MigrationStatus[]> {
    return this.migrator().plan(to);
  }

  async up(options: UpOptions): Promise<RunResult> {
    const result = await this.migrator().up(options);
    if (!result.dryRun) for (const l of this.listeners) l('up', result);
    return result;
  }

  /** Called after every applied run (metrics). */
  onRun(listener: (direction: 'up', result: RunResult) => void): void {
    this.listeners.push(listener);
  }
}

@Module({ providers: [MigrationsService], exports: [MigrationsService] })
export class MigrationsModule {}
