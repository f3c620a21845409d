import { DomainError, HTTP } from '@odtp/errors';
import { CommandRunner } from 'nest-commander';

/** A refusal of the CLI itself (bad flags, nothing to connect to), reported like every domain error. */
export class CliError extends DomainError {
  constructor(message: string, exitCode = 1) {
    super(
      { code: exitCode === 2 ? 'BAD_ARGUMENTS' : 'CLI_FAILED', httpStatus: HTTP.badRequest, exitCode },
      message,
    );
  }
}

/** "a, b or c" */
export function either(choices: readonly string[]): string {
  return choices.length > 1
    ? `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`
    : choices.join('');
}

/** A flag value from a closed set (the set's `as const` array), or exit 2 naming the flag and the choices. */
export function parseChoice<T extends string>(value: string, choices: readonly T[], flag: string): T {
  if (!(choices as readonly string[]).includes(value))
    throw new CliError(`${flag} must be ${either(choices)} (got "${value}")`, 2);
  return value as T;
}

export function parsePositiveInt(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new CliError(`${flag} must be a positive integer (got "${value}")`, 2);
  return Number(value);
}

export function parsePort(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new CliError(`${flag} must be an integer between 0 and 65535 (got "${value}")`, 2);
  return Number(value);
}

export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** A command that only groups subcommands (`odtp-db migrate`): it prints its help. */
export abstract class CommandGroup extends CommandRunner {
  async run(): Promise<void> {
    this.command.help();
  }
}
