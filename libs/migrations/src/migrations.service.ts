import { Inject, Injectable, Module } from '@nestjs/common';
import type { BeforeApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { DatabaseService } from '@odtp/database';
import { defaultMigrationsDir } from './paths';
import { MigrationFiles } from './migration-files';
import { Migrator } from './runner';
import { upgradePlan } from './upgrade-plan';
import type { UpgradePlan } from './upgrade-plan';
import type { DownOptions, MigrationStatus, MigratorOptions, RunResult, UpOptions } from './runner';

/** What a caller may set per call: another folder, and where the runner's lines and progress go. */
export type MigrationRunOptions = Partial<
  Pick<MigratorOptions, 'dir' | 'log' | 'onProgress' | 'batchSize' | 'maxRate'>
>;

/**
 * Migrations on the configured database for the configured application (ODTP_APP): the one place the admin API and
 * the CLI run them (the same runner, lock and checksums).
 */
@Injectable()
export class MigrationsService implements BeforeApplicationShutdown {
  private readonly listeners: ((direction: 'up', result: RunResult) => void)[] = [];
  /** Aborted when the process shuts down: a running `up` stops after its current batch (RunResult.interrupted). */
  private readonly shutdown = new AbortController();
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private migrator(run: MigrationRunOptions = {}): Migrator {
    return new Migrator(this.database.db(), this.database.client, {
      ...run,
      dir: run.dir ?? defaultMigrationsDir(this.config.migrationsDir),
      app: this.config.app,
      upgradeWriterWindowS: this.config.upgradeWriterWindowS,
    });
  }

  status(run?: MigrationRunOptions): Promise<MigrationStatus[]> {
    return this.migrator(run).status();
  }

  plan(to?: string, run?: MigrationRunOptions): Promise<MigrationStatus[]> {
    return this.migrator(run).plan(to);
  }

  async up(options: UpOptions, run?: MigrationRunOptions): Promise<RunResult> {
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.shutdown.signal])
      : this.shutdown.signal;
    const running = this.migrator(run).up({ ...options, signal });
    this.running.add(running);
    try {
      const result = await running;
      if (!result.dryRun) for (const l of this.listeners) l('up', result);
      return result;
    } finally {
      this.running.delete(running);
    }
  }

  /** Stop running `up`s after their current batch and wait for them: nothing is left half-written. */
  async beforeApplicationShutdown(): Promise<void> {
    this.shutdown.abort();
    await Promise.allSettled([...this.running]);
  }

  down(options: DownOptions, run?: MigrationRunOptions): Promise<RunResult> {
    return this.migrator(run).down(options);
  }

  /** Write a new migration file from the template (no database needed); returns its path. */
  create(name: string, dir?: string): string {
    return new MigrationFiles(dir ?? defaultMigrationsDir(this.config.migrationsDir)).create(name);
  }

  /** The upgrade from ODTP 0.5 to the target schema, step by step, each checked against the database. */
  async upgradePlan(run?: MigrationRunOptions): Promise<UpgradePlan> {
    return upgradePlan(this.database.db(), await this.status(run), {
      app: this.config.app,
      windowS: this.config.upgradeWriterWindowS,
      maxTimeMS: this.config.queryTimeoutMs,
      strictCollections: this.config.strictCollections,
    });
  }

  /** Called after every applied run (metrics). */
  onRun(listener: (direction: 'up', result: RunResult) => void): void {
    this.listeners.push(listener);
  }
}

@Module({ providers: [MigrationsService], exports: [MigrationsService] })
export class MigrationsModule {}
