import { DomainError, HTTP } from '@odtp/errors';

/** Why a migration command stopped; the CLI maps each to an exit code and the API to an HTTP status. */
export enum MigrationErrorCode {
  /** Another runner holds the lock (exit 2, HTTP 409). */
  LockHeld = 'LOCK_HELD',
  /** Applied migrations were edited (exit 2). */
  ChangedFiles = 'CHANGED_FILES',
  /** The request cannot be carried out as asked: unknown target, irreversible or missing file (exit 2). */
  Refused = 'REFUSED',
  /** A migration failed while running (exit 1). */
  Failed = 'FAILED',
  /** The migration's checks found data it must not change (duplicates before a unique index; exit 1). */
  Blocked = 'BLOCKED',
  /** A migration file cannot be loaded (a syntax error, a missing export): nothing runs (exit 2). */
  Broken = 'MIGRATION_BROKEN',
}

/** HTTP status and exit code per code: refusals (nothing ran) are 409 / exit 2, failures 500 or 409 / exit 1. */
const REPORTS: Record<MigrationErrorCode, { httpStatus: number; exitCode: number }> = {
  [MigrationErrorCode.LockHeld]: { httpStatus: HTTP.conflict, exitCode: 2 },
  [MigrationErrorCode.ChangedFiles]: { httpStatus: HTTP.conflict, exitCode: 2 },
  [MigrationErrorCode.Refused]: { httpStatus: HTTP.conflict, exitCode: 2 },
  [MigrationErrorCode.Blocked]: { httpStatus: HTTP.conflict, exitCode: 1 },
  [MigrationErrorCode.Broken]: { httpStatus: HTTP.conflict, exitCode: 2 },
  [MigrationErrorCode.Failed]: { httpStatus: HTTP.internal, exitCode: 1 },
};

export class MigrationError extends DomainError {
  declare readonly code: MigrationErrorCode;
  declare readonly details: Record<string, unknown>;

  constructor(code: MigrationErrorCode, message: string, details: Record<string, unknown> = {}) {
    super({ code, ...REPORTS[code] }, message, details);
  }
}
