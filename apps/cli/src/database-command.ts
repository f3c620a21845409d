import { CommandRunner, Option } from 'nest-commander';

/** A command that works on a database: `--uri` (default MONGODB_URI). */
export abstract class DatabaseCommand extends CommandRunner {
  @Option({ flags: '--uri <uri>', description: 'MongoDB connection string (default: MONGODB_URI)' })
  parseUri(value: string): string {
    return value;
  }
}

/** A database command that can print JSON instead of text. */
export abstract class JsonDatabaseCommand extends DatabaseCommand {
  @Option({ flags: '--json', description: 'JSON output' })
  parseJson(): boolean {
    return true;
  }
}
