import { Module } from '@nestjs/common';
import { ApiKeyCommand, ApiKeyCreateCommand } from './commands/apikey.command';
import {
  AuditCommand,
  RepairApplyCommand,
  RepairCommand,
  RepairPlanCommand,
  RepairUndoCommand,
} from './commands/audit.command';
import { DbCommand } from './commands/db.command';
import { ExportCommand, ImportCommand } from './commands/dump.command';
import { DbStartCommand } from './commands/db-start.command';
import {
  SchemaApplyCommand,
  SchemaCommand,
  SchemaExportCommand,
  SchemaGraphCommand,
  SchemaPlanCommand,
} from './commands/schema.command';
import {
  MigrateCommand,
  MigrateCreateCommand,
  MigrateDownCommand,
  MigratePlanCommand,
  MigrateStatusCommand,
  MigrateUpCommand,
} from './commands/migrate.command';
import { SeedCommand } from './commands/seed.command';
import { ServeCommand } from './commands/serve.command';

@Module({
  providers: [
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
    RepairCommand,
    RepairPlanCommand,
    RepairApplyCommand,
    RepairUndoCommand,
  ],
})
export class CliModule {}
