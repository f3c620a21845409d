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
}

export class MigrationError extends Error {
  constructor(
    readonly code: MigrationErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'MigrationError';
  }

  /** Exit code of the CLI: 2 when refused (nothing ran), 1 when a migration failed. */
  get exitCode(): number {
    return this.code === MigrationErrorCode.Failed || this.code === MigrationErrorCode.Blocked ? 1 : 2;
  }
}
