import { CommandGroup } from '../cli-support';
import { Command } from 'nest-commander';
import { DbStartCommand } from './db-start.command';

@Command({ name: 'db', description: 'Database engine commands', subCommands: [DbStartCommand] })
export class DbCommand extends CommandGroup {}
