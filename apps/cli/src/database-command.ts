import { Injectable } from '@nestjs/common';
import { APP_LEVELS } from '@odtp/config';
import { DatabaseService } from '@odtp/database';
import { CommandRunner, Option } from 'nest-commander';

/** Options every database command takes (read before the command runs: see cli-config.ts). */
export interface DatabaseOptions {
  uri?: string;
  /** Read by cli-config before the command is built. */
  app?: string;
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

  /**
   * What Ctrl-C (SIGINT) or SIGTERM does while the command runs, when the command has long work to stop cleanly
   * (an audit, a repair: see JobRunner.shutdown). Without it a signal ends the process as Node does. A second
   * signal exits at once (130).
   */
  protected interrupt?(): Promise<void>;

  async run(params: string[], options: O): Promise<void> {
    await this.database.connect();
    const interrupt = this.interrupt?.bind(this);
    if (!interrupt) return this.execute(params, options);
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        process.stderr.write(`odtp-db: ${signal} again: stopping now\n`);
        process.exit(130);
      }
      signalled = true;
      process.stderr.write(`odtp-db: ${signal}: stopping after the current batch (again to stop at once)\n`);
      void interrupt();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      await this.execute(params, options);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  // --uri and --app are read (and checked) once, before the commands are built (cli-config.ts): declared here for
  // --help and so that commander accepts them.
  @Option({ flags: '--uri <uri>', description: 'MongoDB connection string (default: MONGODB_URI)' })
  parseUri(value: string): string {
    return value;
  }

  @Option({
    flags: '--app <level>',
    description: `the application that runs on the database: ${APP_LEVELS.join(', ')} (default: ODTP_APP, else odtp-0.5)`,
  })
  parseApp(value: string): string {
    return value;
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
