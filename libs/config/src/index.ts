export {
  ConfigError,
  DB_ENGINES,
  EnvironmentVariables,
  LOG_LEVELS,
  loadConfig,
  loadConfigOrExit,
} from './app-config';
export type { AppConfig, DbEngineChoice, LoadConfigOptions, LogLevel } from './app-config';
export { APP_CONFIG, AppConfigModule } from './config.module';
export { packageInfo } from './package-info';
