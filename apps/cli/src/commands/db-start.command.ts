import { Inject } from '@nestjs/common';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { startDatabase } from '@odtp/database';
import { Option, SubCommand, CommandRunner } from 'nest-commander';
import { CliError, parsePort, waitForSignal } from '../cli-support';

interface DbStartOptions {
  port?: number;
  dbPath?: string;
  enableTestCommands?: boolean;
}

@SubCommand({
  name: 'start',
  description:
    'Start the selected database engine as a standalone server; prints MONGODB_URI=<uri> when ready, stops on Ctrl-C/SIGTERM',
})
export class DbStartCommand extends CommandRunner {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    super();
  }

  async run(_params: string[], options: DbStartOptions): Promise<void> {
    const config = this.config;
    if (config.mongodbUri)
      throw new CliError(
        'MONGODB_URI is set, so there is no local engine to start; unset it to start one',
        2,
      );
    const handle = await startDatabase(config, {
      port: options.port ?? 27017,
      dbPath: options.dbPath,
      enableTestCommands: options.enableTestCommands,
    });
    process.stdout.write(`MONGODB_URI=${handle.uri}\n`);
    const signal = await waitForSignal();
    process.stderr.write(`${signal} received: stopping the database\n`);
    await handle.stop();
  }

  @Option({ flags: '--port <port>', description: 'TCP port on 127.0.0.1 (default 27017; 0 = any free port)' })
  parsePort(value: string): number {
    return parsePort(value, '--port');
  }

  @Option({
    flags: '--db-path <dir>',
    description: 'Folder to persist to (embedded engine); default: ODTP_DB_PATH, else memory only',
  })
  parseDbPath(value: string): string {
    return value;
  }

  @Option({
    flags: '--enable-test-commands',
    description:
      "mongod's enableTestCommands: configureFailPoint (failCommand) for fault-injection tests; never for production",
  })
  parseEnableTestCommands(): boolean {
    return true;
  }
}
