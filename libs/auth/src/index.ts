export {
  ApiKeyFormatError,
  configLine,
  generateKey,
  hashKey,
  parseApiKeys,
  ROLES,
  verifyKey,
} from './api-keys';
export type { ApiKeyEntry, Principal, Role } from './api-keys';
export {
  AUTH_FAILURE_REASONS,
  AUTH_FAILURES,
  AUTH_SETTINGS,
  AuthGuard,
  FailureWindow,
  Public,
  RequireRole,
  ROLE_EXTENSION,
} from './auth.guard';
export type { AuthFailureListener, AuthFailureReason } from './auth.guard';
export type { AuthenticatedRequest, AuthSettings } from './auth.guard';
export { AuthModule } from './auth.module';
export { DEV_KEY_FILE, ensureDevelopmentKey } from './dev-key';
export type { DevelopmentKey } from './dev-key';
export { resolveAuth } from './resolve-auth';
export type { ResolvedAuth } from './resolve-auth';
