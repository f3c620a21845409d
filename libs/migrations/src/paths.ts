import * as path from 'node:path';

/**
 * The migrations folder: `configured` (ODTP_MIGRATIONS_DIR, validated by @odtp/config) when set, otherwise the
 * project's own `migrations/` (the same from src and from dist).
 */
export function defaultMigrationsDir(configured?: string): string {
  if (configured) return path.resolve(configured);
  let dir = path.join(__dirname, '..', '..', '..');
  if (path.basename(dir) === 'dist') dir = path.dirname(dir);
  return path.join(dir, 'migrations');
}
