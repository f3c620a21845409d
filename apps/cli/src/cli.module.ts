import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { AppConfigModule } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { DatabaseModule } from '@odtp/database';
import { DumpModule } from '@odtp/dump';
import { IntegrityModule, IntegrityWatchModule } from '@odtp/integrity';
import { MigrationsModule } from '@odtp/migrations';
import { SchemaModule } from '@odtp/schema';
import { SeedingModule } from '@odtp/seeding';
import { demoSeed } from '@odtp/seeds';
import { ApiKeyCommand, ApiKeyCreateCommand } from './commands/apikey.command';
import { AuditCommand, AuditListCommand } from './commands/audit.command';
import {
  RepairApplyCommand,
  RepairCommand,
  RepairListCommand,
  RepairPlanCommand,
  RepairUndoCommand,
} from './commands/repair.command';
import { DbCommand } from './commands/db.command';
import { DbStartCommand } from './commands/db-start.command';
import { ExportCommand, ImportCommand } from './commands/dump.command';
import {
  MigrateCommand,
  MigrateCreateCommand,
  MigrateDownCommand,
  MigratePlanCommand,
  MigrateStatusCommand,
  MigrateUpCommand,
} from './commands/migrate.command';
import {
  SchemaApplyCommand,
  SchemaCommand,
  SchemaExportCommand,
  SchemaGraphCommand,
  SchemaPlanCommand,
} from './commands/schema.command';
import { SeedCommand } from './commands/seed.command';
import { WatchCommand } from './commands/watch.command';
import { UpgradeCommand, UpgradePlanCommand } from './commands/upgrade.command';
import { ServeCommand } from './commands/serve.command';

const COMMANDS = [
  ApiKeyCommand,
  ApiKeyCreateCommand,
  SeedCommand,
  ImportCommand,
  ExportCommand,
  DbCommand,
  DbStartCommand,
  ServeCommand,
  SchemaCommand,
  SchemaGraphCommand,
  SchemaPlanCommand,
  SchemaApplyCommand,
  SchemaExportCommand,
  MigrateCommand,
  MigrateStatusCommand,
  MigratePlanCommand,
  MigrateUpCommand,
  MigrateDownCommand,
  MigrateCreateCommand,
  AuditCommand,
  AuditListCommand,
  RepairCommand,
  RepairPlanCommand,
  RepairApplyCommand,
  RepairUndoCommand,
  RepairListCommand,
  UpgradeCommand,
  UpgradePlanCommand,
  WatchCommand,
];

/**
 * The CLI: the same lib services the admin API uses, on the database of MONGODB_URI/--uri (connected when a
 * command needs it) for the application of ODTP_APP/--app. Commands parse flags, call a service, format.
 */
@Module({})
export class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [
        AppConfigModule.forRoot(config),
        DatabaseModule.forUri(config.mongodbUri, config.dbName),
        SchemaModule,
        MigrationsModule,
        IntegrityModule,
        IntegrityWatchModule,
        SeedingModule.forRoot(demoSeed),
        DumpModule,
      ],
      providers: COMMANDS,
    };
  }
}
