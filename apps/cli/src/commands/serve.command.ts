import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Command, CommandRunner, Option } from 'nest-commander';

interface ServeOptions {
  uri?: string;
}

/** The admin API's entry point beside this CLI: the built one, or its source under the same TypeScript loader. */
function adminApi(): string[] {
  const source = __filename.endsWith('.ts');
  const entry = path.join(__dirname, '..', '..', '..', 'admin-api', 'src', source ? 'main.ts' : 'main.js');
  return source ? ['-r', require.resolve('@swc-node/register'), entry] : [entry];
}

/**
 * Starts the admin API as its own process (the CLI does not import the app): signals are passed on, and the CLI
 * exits with the API's exit code.
 */
@Command({ name: 'serve', description: 'Start the admin API (same as npm start)' })
export class ServeCommand extends CommandRunner {
  async run(_params: string[], options: ServeOptions): Promise<void> {
    const child = spawn(process.execPath, adminApi(), {
      stdio: 'inherit',
      env: options.uri ? { ...process.env, MONGODB_URI: options.uri } : process.env,
    });
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    process.exitCode = code;
  }

  @Option({
    flags: '--uri <uri>',
    description: 'MongoDB connection string (default: MONGODB_URI, else a local engine)',
  })
  parseUri(value: string): string {
    return value;
  }
}
