export {
  APP_LEVELS,
  AUDIT_MODES,
  ConfigError,
  DEFAULT_APP_LEVEL,
  DB_ENGINES,
  EnvironmentVariables,
  LOG_LEVELS,
  loadConfig,
  loadConfigOrExit,
} from './app-config';
export type {
  AppConfig,
  AppLevel,
  AuditMode,
  DbEngineChoice,
  LoadConfigOptions,
  LogLevel,
} from './app-config';
export { APP_CONFIG, AppConfigModule } from './config.module';
export { packageInfo } from './package-info';
