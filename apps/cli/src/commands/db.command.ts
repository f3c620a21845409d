import { Command, CommandRunner } from 'nest-commander';
import { DbStartCommand } from './db-start.command';

@Command({ name: 'db', description: 'Database engine commands', subCommands: [DbStartCommand] })
export class DbCommand extends CommandRunner {
  async run(): Promise<void> {
    this.command.help();
  }
}
