import { DomainError } from '@odtp/errors';
import { CommandFactory } from 'nest-commander';
import { cliConfig } from './cli-config';
import { CliModule } from './cli.module';

/** The one exit-code mapping: a domain error exits with its code, anything else with 1. */
function fail(e: unknown): never {
  process.stderr.write(`odtp-db: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof DomainError ? e.exitCode : 1);
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  let config;
  try {
    config = cliConfig(argv.slice(2));
  } catch (e) {
    fail(e);
  }
  await CommandFactory.run(CliModule.forRoot(config), {
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
