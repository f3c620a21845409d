import { Module } from '@nestjs/common';
import { DbCommand } from './commands/db.command';
import { DbStartCommand } from './commands/db-start.command';
import { ServeCommand } from './commands/serve.command';

@Module({ providers: [DbCommand, DbStartCommand, ServeCommand] })
export class CliModule {}
