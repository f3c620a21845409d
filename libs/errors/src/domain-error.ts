/** How a domain error is reported: its stable code, the HTTP status of the admin API and the CLI's exit code. */
export interface ErrorReport {
  /** Stable machine-readable code, e.g. LOCK_HELD. */
  code: string;
  httpStatus: number;
  /** 1: something failed; 2: refused or bad input, nothing changed; 3: findings (audit). */
  exitCode: number;
}

/**
 * The one base of every error odtp-db reports to people: the admin API's exception filter answers `httpStatus`
 * with `{statusCode, error, message, details?}`, the CLI prints `odtp-db: <message>` and exits with `exitCode`.
 * Each lib maps its own codes to both once, in its error class; nothing else matches on error types or names.
 */
export class DomainError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly exitCode: number;

  constructor(
    report: ErrorReport,
    message: string,
    /**
     * Machine-readable facts for the API's `details` (an object, e.g. the lock holder, sent as `[{code, ...}]`), or
     * the list of problems (sent as is); never secrets.
     */
    readonly details?: Record<string, unknown> | string[],
  ) {
    super(message);
    this.code = report.code;
    this.httpStatus = report.httpStatus;
    this.exitCode = report.exitCode;
    this.name = new.target.name;
  }
}

export const HTTP = {
  badRequest: 400,
  notFound: 404,
  conflict: 409,
  tooManyRequests: 429,
  internal: 500,
  unavailable: 503,
  gatewayTimeout: 504,
} as const;
