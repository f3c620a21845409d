import { Injectable } from '@nestjs/common';
import { APP_LEVELS } from '@odtp/config';
import type { AppLevel } from '@odtp/config';
import { DatabaseService } from '@odtp/database';
import { CommandRunner, Option } from 'nest-commander';
import { parseAppLevel } from './cli-config';

/** Options every database command takes (read before the command runs: see cli-config.ts). */
export interface DatabaseOptions {
  uri?: string;
  app?: AppLevel;
  json?: boolean;
}

/**
 * A command that works on the database: `--uri` (default MONGODB_URI), `--app` (default ODTP_APP). It connects
 * first, so an unreachable database fails with one line naming the setting, then runs `execute`.
 */
// Injectable: emits the constructor's parameter types, which the commands extending it inherit.
@Injectable()
export abstract class DatabaseCommand<O extends DatabaseOptions = DatabaseOptions> extends CommandRunner {
  constructor(protected readonly database: DatabaseService) {
    super();
  }

  protected abstract execute(params: string[], options: O): Promise<void>;

  async run(params: string[], options: O): Promise<void> {
    await this.database.connect();
    await this.execute(params, options);
  }

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
// Injectable: emits the constructor's parameter types, which the commands extending it inherit.
@Injectable()
export abstract class JsonDatabaseCommand<
  O extends DatabaseOptions = DatabaseOptions,
> extends DatabaseCommand<O> {
  @Option({ flags: '--json', description: 'JSON output' })
  parseJson(): boolean {
    return true;
  }
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

/** Plain JSON, as the API answers: ids as hex strings, dates as ISO strings. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
