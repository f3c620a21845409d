import { Command, CommandRunner, Option } from 'nest-commander';
import { bootstrap, DEFAULT_DB_PATH } from '../../../admin-api/src/main';
import { loadConfig } from '@odtp/config';

interface ServeOptions {
  uri?: string;
}

@Command({ name: 'serve', description: 'Start the admin API (same as npm start)' })
export class ServeCommand extends CommandRunner {
  async run(_params: string[], options: ServeOptions): Promise<void> {
    const env = options.uri ? { ...process.env, MONGODB_URI: options.uri } : process.env;
    await bootstrap(loadConfig(env, { defaultDbPath: DEFAULT_DB_PATH }));
    await new Promise<never>(() => undefined);
  }

  @Option({
    flags: '--uri <uri>',
    description: 'MongoDB connection string (default: MONGODB_URI, else a local engine)',
  })
  parseUri(value: string): string {
    return value;
  }
}
