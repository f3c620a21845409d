import type { AppConfig } from '@odtp/config';
import { DomainError, HTTP } from '@odtp/errors';

export enum IntegrityErrorCode {
  /** An audit holds the integrity lease (here, on another instance or in the CLI): 409, exit 2. */
  AuditRunning = 'AUDIT_RUNNING',
  /** A repair holds the integrity lease: 409, exit 2. */
  RepairRunning = 'REPAIR_RUNNING',
  /** No stored report (or no audit run) with this id: 404, exit 2. */
  UnknownReport = 'UNKNOWN_REPORT',
  UnknownAudit = 'UNKNOWN_AUDIT',
  /** The run is not running (any more): 409, exit 2. */
  NotRunning = 'NOT_RUNNING',
  /** A request outside the limits (batch size, samples, checks, fail-on, orphans): 400, exit 2. */
  InvalidRequest = 'INVALID_REQUEST',
  /** The process is shutting down and takes no new job: 503, exit 1. */
  ShuttingDown = 'SHUTTING_DOWN',
  /** The run stopped because its process shut down (SIGTERM, Ctrl-C): recorded as interrupted; exit 0. */
  Interrupted = 'INTERRUPTED',
  /** The run was cancelled (from the API, possibly on another instance): exit 1. */
  Cancelled = 'CANCELLED',
}

const REPORTS: Record<IntegrityErrorCode, { httpStatus: number; exitCode: number }> = {
  [IntegrityErrorCode.AuditRunning]: { httpStatus: HTTP.conflict, exitCode: 2 },
  [IntegrityErrorCode.RepairRunning]: { httpStatus: HTTP.conflict, exitCode: 2 },
  [IntegrityErrorCode.UnknownReport]: { httpStatus: HTTP.notFound, exitCode: 2 },
  [IntegrityErrorCode.UnknownAudit]: { httpStatus: HTTP.notFound, exitCode: 2 },
  [IntegrityErrorCode.NotRunning]: { httpStatus: HTTP.conflict, exitCode: 2 },
  [IntegrityErrorCode.InvalidRequest]: { httpStatus: HTTP.badRequest, exitCode: 2 },
  [IntegrityErrorCode.ShuttingDown]: { httpStatus: HTTP.unavailable, exitCode: 1 },
  [IntegrityErrorCode.Interrupted]: { httpStatus: HTTP.unavailable, exitCode: 0 },
  [IntegrityErrorCode.Cancelled]: { httpStatus: HTTP.conflict, exitCode: 1 },
};

/** Errors of audits and repairs, each code with its HTTP status and exit code (see REPORTS). */
export class IntegrityError extends DomainError {
  declare readonly code: IntegrityErrorCode;

  constructor(code: IntegrityErrorCode, message: string, details: Record<string, unknown> = {}) {
    super({ code, ...REPORTS[code] }, message, details);
  }
}

/** The run was cancelled by a request, on this instance or another one. */
export class AuditCancelledError extends Error {
  constructor() {
    super('the audit was cancelled');
    this.name = 'AuditCancelledError';
  }
}

export class RepairCancelledError extends Error {
  constructor() {
    super('the repair was cancelled');
    this.name = 'RepairCancelledError';
  }
}

const MAX_TIME_MS_EXPIRED = 50;

/**
 * What a job's `error` says: a domain error's own message (written for users), the time limit by name, and
 * nothing of any other error (its text can hold internals; the server log has it under the job id).
 */
export function publicJobError(e: unknown, config: Pick<AppConfig, 'queryTimeoutMs'>): string {
  if (e instanceof DomainError) return e.message;
  if (e instanceof AuditCancelledError || e instanceof RepairCancelledError) return e.message;
  if (typeof e === 'object' && e !== null && (e as { code?: unknown }).code === MAX_TIME_MS_EXPIRED)
    return `a query ran longer than QUERY_TIMEOUT_MS (${config.queryTimeoutMs} ms)`;
  return 'internal error (details in the server log under this job id)';
}
