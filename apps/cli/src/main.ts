import { ConsoleLogger } from '@nestjs/common';
import type { LogLevel } from '@nestjs/common';
import { DomainError } from '@odtp/errors';
import { CommandFactory } from 'nest-commander';
import { cliConfig } from './cli-config';
import { CliModule } from './cli.module';

/** The one exit-code mapping: a domain error exits with its code, anything else with 1. */
function fail(e: unknown): never {
  process.stderr.write(`odtp-db: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof DomainError ? e.exitCode : 1);
}

/** Log lines go to stderr: stdout is the command's output (JSON with --json), never mixed with logs. */
class StderrLogger extends ConsoleLogger {
  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _stream?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack);
  }
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  let config;
  try {
    config = cliConfig(argv.slice(2));
  } catch (e) {
    fail(e);
  }
  await CommandFactory.run(CliModule.forRoot(config), {
    logger: new StderrLogger({ logLevels: ['error', 'warn'] }),
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
