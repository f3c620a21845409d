import { ConfigError } from '@odtp/config';
import { DumpError } from '@odtp/dump';
import { MigrationError } from '@odtp/migrations';
import { SeedError } from '@odtp/seeding';
import { CommandFactory } from 'nest-commander';
import { CliError } from './cli-support';
import { CliModule } from './cli.module';

function fail(e: unknown): never {
  if (e instanceof ConfigError || e instanceof CliError || e instanceof DumpError || e instanceof SeedError) {
    process.stderr.write(`odtp-db: ${e.message}\n`);
    process.exit(e instanceof CliError ? e.exitCode : 1);
  }
  if (e instanceof MigrationError) {
    process.stderr.write(`odtp-db: ${e.message}\n`);
    process.exit(e.exitCode);
  }
  process.stderr.write(`odtp-db: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}

export async function main(): Promise<void> {
  await CommandFactory.run(CliModule, {
    logger: ['error', 'warn'],
    cliName: 'odtp-db',
    serviceErrorHandler: fail,
    errorHandler: (err) => {
      const code = (err as { exitCode?: number }).exitCode ?? 1;
      if (
        code !== 0 &&
        !['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(
          (err as { code?: string }).code ?? '',
        )
      ) {
        process.exit(code);
      }
      process.exit(0);
    },
  });
}

if (require.main === module) main().catch(fail);
