import * as fs from 'node:fs';
import * as path from 'node:path';
import { configLine, generateKey } from './api-keys';

export const DEV_KEY_FILE = '.odtp-admin-key';

export interface DevelopmentKey {
  /** The config entry (`id:admin:hash`) to use as ADMIN_API_KEYS. */
  entry: string;
  /** The key itself, only when it was generated now (it is printed once and never stored). */
  generatedKey?: string;
  file: string;
}

/**
 * For `npm start` in development without ADMIN_API_KEYS: reuse the admin key whose hash is kept in the
 * git-ignored `.odtp-admin-key`, or generate one (returned once so it can be printed).
 */
export function ensureDevelopmentKey(cwd: string): DevelopmentKey {
  const file = path.join(cwd, DEV_KEY_FILE);
  if (fs.existsSync(file)) {
    const entry = fs.readFileSync(file, 'utf8').trim();
    if (/^[\w.-]+:admin:[0-9a-f]{64}$/.test(entry)) return { entry, file };
  }
  const key = generateKey();
  const entry = configLine('dev', 'admin', key);
  fs.writeFileSync(file, entry + '\n', { mode: 0o600 });
  return { entry, generatedKey: key, file };
}
