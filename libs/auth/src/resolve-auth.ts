import { ConfigError } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { ApiKeyFormatError, parseApiKeys } from './api-keys';
import type { AuthSettings } from './auth.guard';
import { ensureDevelopmentKey } from './dev-key';

export interface ResolvedAuth {
  settings: AuthSettings;
  /** Lines to show the operator once at start (never the key of a configured entry). */
  notices: string[];
  warning?: string;
}

/**
 * The API keys the admin API accepts. No keys: refuse to start, unless ADMIN_AUTH=disabled (warned about
 * at every start) or, in development, a local key kept in .odtp-admin-key (generated and printed once).
 */
export function resolveAuth(config: AppConfig, cwd: string): ResolvedAuth {
  if (config.adminAuth === 'disabled') {
    return {
      settings: { enabled: false, keys: [] },
      notices: [],
      warning: 'ADMIN_AUTH=disabled: the admin API accepts every request without credentials',
    };
  }
  let keys;
  try {
    keys = parseApiKeys(config.adminApiKeys);
  } catch (e) {
    if (e instanceof ApiKeyFormatError) throw new ConfigError('ADMIN_API_KEYS', e.message);
    throw e;
  }
  const failureLimitPerMinute = config.authFailureLimitPerMinute;
  if (keys.length > 0) return { settings: { enabled: true, keys, failureLimitPerMinute }, notices: [] };
  if (config.nodeEnv === 'production') {
    throw new ConfigError(
      'ADMIN_API_KEYS',
      'is empty: the admin API refuses to start without API keys (create one with `odtp-db apikey create --role admin`, or set ADMIN_AUTH=disabled explicitly)',
    );
  }
  const dev = ensureDevelopmentKey(cwd);
  const notices = dev.generatedKey
    ? [
        `No ADMIN_API_KEYS: generated a development admin key (shown once; its hash is kept in ${dev.file}):`,
        `  ${dev.generatedKey}`,
        'Use it as: Authorization: Bearer <key> (Swagger UI: Authorize).',
      ]
    : [
        `No ADMIN_API_KEYS: using the development admin key whose hash is in ${dev.file} (delete the file to generate a new one).`,
      ];
  return { settings: { enabled: true, keys: parseApiKeys(dev.entry), failureLimitPerMinute }, notices };
}
