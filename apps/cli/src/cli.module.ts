import { Module } from '@nestjs/common';
import { DbCommand } from './commands/db.command';
import { DbStartCommand } from './commands/db-start.command';
import {
  SchemaApplyCommand,
  SchemaCommand,
  SchemaExportCommand,
  SchemaGraphCommand,
  SchemaPlanCommand,
} from './commands/schema.command';
import { ServeCommand } from './commands/serve.command';

@Module({
  providers: [
    DbCommand,
    DbStartCommand,
    ServeCommand,
    SchemaCommand,
    SchemaGraphCommand,
    SchemaPlanCommand,
    SchemaApplyCommand,
    SchemaExportCommand,
  ],
})
export class CliModule {}
