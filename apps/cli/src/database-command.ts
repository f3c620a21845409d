import { APP_LEVELS } from '@odtp/config';
import type { AppLevel } from '@odtp/config';
import { CommandRunner, Option } from 'nest-commander';
import { CliError } from './cli-support';

export function parseAppLevel(value: string, flag = '--app'): AppLevel {
  if (!(APP_LEVELS as readonly string[]).includes(value))
    throw new CliError(`${flag} must be one of ${APP_LEVELS.join(', ')} (got "${value}")`, 2);
  return value as AppLevel;
}

/** A command that works on a database: `--uri` (default MONGODB_URI), `--app` (default ODTP_APP). */
export abstract class DatabaseCommand extends CommandRunner {
  @Option({ flags: '--uri <uri>', description: 'MongoDB connection string (default: MONGODB_URI)' })
  parseUri(value: string): string {
    return value;
  }

  @Option({
    flags: '--app <level>',
    description: `the application that runs on the database: ${APP_LEVELS.join(', ')} (default: ODTP_APP, else odtp-0.5)`,
  })
  parseApp(value: string): AppLevel {
    return parseAppLevel(value);
  }
}

/** A database command that can print JSON instead of text. */
export abstract class JsonDatabaseCommand extends DatabaseCommand {
  @Option({ flags: '--json', description: 'JSON output' })
  parseJson(): boolean {
    return true;
  }
}
