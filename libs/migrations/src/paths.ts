import * as path from 'node:path';

/** The project's migrations folder (the same from src and from dist), unless ODTP_MIGRATIONS_DIR names another. */
export function defaultMigrationsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ODTP_MIGRATIONS_DIR) return path.resolve(env.ODTP_MIGRATIONS_DIR);
  let dir = path.join(__dirname, '..', '..', '..');
  if (path.basename(dir) === 'dist') dir = path.dirname(dir);
  return path.join(dir, 'migrations');
}
