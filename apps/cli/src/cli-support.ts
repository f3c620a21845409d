import { DomainError, HTTP } from '@odtp/errors';

/** A refusal of the CLI itself (bad flags, nothing to connect to), reported like every domain error. */
export class CliError extends DomainError {
  constructor(message: string, exitCode = 1) {
    super(
      { code: exitCode === 2 ? 'BAD_ARGUMENTS' : 'CLI_FAILED', httpStatus: HTTP.badRequest, exitCode },
      message,
    );
  }
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
