import * as fs from 'node:fs';
import * as path from 'node:path';
import { plainToInstance } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import { parse as parseDotenv } from 'dotenv';
import ConnectionString from 'mongodb-connection-string-url';
import { DomainError, HTTP } from '@odtp/errors';

export const DB_ENGINES = ['auto', 'memory-server', 'embedded'] as const;
export type DbEngineChoice = (typeof DB_ENGINES)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/**
 * The applications that can run on an ODTP database, oldest first; `target` (the documented schema) is always
 * last. Each other level has its contract file in @odtp/schema (`libs/schema/src/contracts/<level>.contract.json`);
 * a new ODTP release is its contract file and its name here. `transition` is the upgrade's window: a release that
 * writes the target shapes (and both forms where ODTP 0.5 queries strings) and reads both, beside 0.5 clients.
 */
/** full: every document read; incremental: what changed since the last complete audit, the rest carried over. */
export const AUDIT_MODES = ['full', 'incremental'] as const;
export type AuditMode = (typeof AUDIT_MODES)[number];
export const APP_LEVELS = ['odtp-0.5', 'transition', 'target'] as const;
export type AppLevel = (typeof APP_LEVELS)[number];
/** The newest released ODTP: what runs on a database unless ODTP_APP says otherwise. */
export const DEFAULT_APP_LEVEL: AppLevel = 'odtp-0.5';

/** The environment variables odtp-db reads, validated at start-up (documented in .env.example). */
export class EnvironmentVariables {
  @IsOptional()
  @IsString()
  MONGODB_URI?: string;

  @IsIn(DB_ENGINES)
  ODTP_DB_ENGINE: DbEngineChoice = 'auto';

  @IsOptional()
  @IsString()
  ODTP_DB_PATH?: string;

  @IsString()
  ODTP_DB_NAME = 'odtp';

  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  HOST = '127.0.0.1';

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';

  @IsInt()
  @Min(100)
  SHUTDOWN_TIMEOUT_MS = 10_000;

  @IsInt()
  @Min(0)
  SHUTDOWN_GRACE_MS = 5_000;

  @IsInt()
  @Min(1000)
  JOB_LEASE_TTL_MS = 60_000;

  @IsInt()
  @Min(1)
  UPGRADE_WRITER_WINDOW_S = 86_400;

  @IsOptional()
  @IsString()
  MONGOMS_SYSTEM_BINARY?: string;

  @IsOptional()
  @IsString()
  ADMIN_API_KEYS?: string;

  @IsIn(['enabled', 'disabled'])
  ADMIN_AUTH: 'enabled' | 'disabled' = 'enabled';

  @IsOptional()
  @Matches(/^https?:\/\/[^,\s]+(,https?:\/\/[^,\s]+)*$/, {
    message: 'must be a comma-separated list of http(s) origins',
  })
  CORS_ORIGINS?: string;

  @Matches(/^\d+(b|kb|mb)$/i, { message: 'must be a size such as 512kb or 1mb' })
  BODY_LIMIT = '1mb';

  @IsInt()
  @Min(1)
  RATE_LIMIT_PER_MINUTE = 60;

  @IsOptional()
  @Matches(/^[A-Za-z][\w]*(,[A-Za-z][\w]*)*$/, {
    message: 'must be a comma-separated list of collection names',
  })
  ODTP_SCHEMA_STRICT_COLLECTIONS?: string;

  @IsOptional()
  @IsString()
  NODE_ENV?: string;

  @IsOptional()
  @Matches(/^\S+( \S+){4,5}$/, { message: 'must be a cron expression of 5 or 6 fields, such as "0 3 * * *"' })
  AUDIT_CRON?: string;

  @IsIn(['true', 'false'], { message: 'must be true or false' })
  AUDIT_WATCH = 'false';

  @IsIn(AUDIT_MODES)
  AUDIT_MODE: AuditMode = 'incremental';

  @IsInt()
  @Min(0)
  AUDIT_FULL_EVERY = 24;

  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  AUDIT_WEBHOOK_URL?: string;

  @IsOptional()
  @Matches(/^[\x21-\x7e][\x20-\x7e]{0,4095}$/, {
    message: 'must be an HTTP header value (printable ASCII, e.g. "Bearer <token>")',
  })
  AUDIT_WEBHOOK_AUTHORIZATION?: string;

  @IsOptional()
  @Matches(/^https?:\/\/[^\s?#]+$/, { message: 'must be an http(s) URL without query or fragment' })
  ADMIN_PUBLIC_URL?: string;

  @IsInt()
  @Min(1)
  AUDIT_RETENTION = 100;

  @IsIn(APP_LEVELS)
  ODTP_APP: AppLevel = DEFAULT_APP_LEVEL;

  @IsInt()
  @Min(1)
  ADMIN_LOG_RETENTION_DAYS = 90;

  @IsInt()
  @Min(1)
  HEAVY_RATE_LIMIT_PER_MINUTE = 60;

  @IsInt()
  @Min(1)
  AUTH_FAILURE_LIMIT_PER_MINUTE = 20;

  @IsInt()
  @Min(1)
  HEAVY_CONCURRENCY_PER_KEY = 2;

  @IsInt()
  @Min(100)
  QUERY_TIMEOUT_MS = 60_000;

  @IsOptional()
  @Matches(/^\S{32,}$/, { message: 'must be at least 32 characters without spaces' })
  BROWSE_CURSOR_SECRET?: string;

  @IsInt()
  @Min(1)
  ODTP_DB_MAX_CONNECTIONS = 1024;

  @IsInt()
  @Min(0)
  ODTP_DB_IDLE_TIMEOUT_MS = 1_800_000;

  @IsOptional()
  @IsString()
  ODTP_MIGRATIONS_DIR?: string;
}

/** The typed configuration every app and script receives. */
export interface AppConfig {
  readonly mongodbUri?: string;
  readonly dbEngine: DbEngineChoice;
  /** Folder the embedded engine persists to; undefined keeps data in memory. */
  readonly dbPath?: string;
  readonly dbName: string;
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  readonly shutdownTimeoutMs: number;
  /**
   * How long shutdown waits for a running audit or repair to finish its current batch and record itself as
   * interrupted (below SHUTDOWN_TIMEOUT_MS).
   */
  readonly shutdownGraceMs: number;
  /**
   * The integrity lease's time to live: a run whose heartbeat is older is abandoned and its lease taken over.
   */
  readonly jobLeaseTtlMs: number;
  /**
   * How far back the end of an upgrade looks for writes of an older release (an ODTP 0.5 client still running):
   * the migration to the target shapes is refused while one is that recent.
   */
  readonly upgradeWriterWindowS: number;
  readonly mongodSystemBinary?: string;
  readonly nodeEnv: string;
  /** Collections whose validators forbid undeclared fields. */
  readonly strictCollections: readonly string[];
  /** Raw ADMIN_API_KEYS (`id:role:sha256,...`), parsed by @odtp/auth. */
  readonly adminApiKeys?: string;
  readonly adminAuth: 'enabled' | 'disabled';
  /** Origins allowed by CORS; empty means CORS is off. */
  readonly corsOrigins: readonly string[];
  readonly bodyLimit: string;
  /** Mutating requests allowed per client per minute. */
  readonly rateLimitPerMinute: number;
  /** When scheduled audits run (cron); undefined: never. */
  readonly auditCron?: string;
  /** The live integrity watch runs in the admin API (one instance of all watches; the others stand by). */
  readonly auditWatch: boolean;
  /** The mode of scheduled audits (incremental: what changed since the last complete audit). */
  readonly auditMode: AuditMode;
  /** A full audit after this many incremental ones (0: only when an incremental one cannot run). */
  readonly auditFullEvery: number;
  /** Where new findings of scheduled audits are posted (never logged: it may hold a token). */
  readonly auditWebhookUrl?: string;
  /** The Authorization header of the webhook's posts (never logged). */
  readonly auditWebhookAuthorization?: string;
  /** Where people reach the admin API (links in webhook payloads and HTML reports), e.g. https://odtp-admin.example.org. */
  readonly adminPublicUrl?: string;
  /** Audit reports kept in integrityReports. */
  readonly auditRetention: number;
  /** The application that runs on the database: what migrations, validators, audits, repairs and seeds respect. */
  readonly app: AppLevel;
  /** ODTP_MIGRATIONS_DIR as an absolute path (an existing folder); undefined: the project's migrations/. */
  readonly migrationsDir?: string;
  /** Days the admin audit log keeps an entry (a TTL index). */
  readonly adminLogRetentionDays: number;
  /** Heavy reads (plans, counts, findings) allowed per API key per minute. */
  readonly heavyRateLimitPerMinute: number;
  /** Failed authentications allowed per client address per minute before 429. */
  readonly authFailureLimitPerMinute: number;
  /** Heavy reads of one API key running at once (the next is 429). */
  readonly heavyConcurrencyPerKey: number;
  /** Time limit (maxTimeMS) of every query the API and the auditor run. */
  readonly queryTimeoutMs: number;
  /** Key of the HMAC that signs browse cursors (generated and kept in .odtp-cursor-secret when unset). */
  readonly browseCursorSecret?: string;
  /** The embedded engine's connection limit and idle timeout (0: none). */
  readonly dbMaxConnections: number;
  readonly dbIdleTimeoutMs: number;
}

export class ConfigError extends DomainError {
  constructor(
    readonly variable: string,
    readonly problem: string,
  ) {
    super(
      { code: 'INVALID_CONFIGURATION', httpStatus: HTTP.internal, exitCode: 1 },
      `Invalid configuration: ${variable} ${problem}`,
    );
  }
}

const INTEGER_VARS = new Set([
  'PORT',
  'SHUTDOWN_TIMEOUT_MS',
  'SHUTDOWN_GRACE_MS',
  'JOB_LEASE_TTL_MS',
  'UPGRADE_WRITER_WINDOW_S',
  'RATE_LIMIT_PER_MINUTE',
  'AUDIT_RETENTION',
  'AUDIT_FULL_EVERY',
  'ADMIN_LOG_RETENTION_DAYS',
  'HEAVY_RATE_LIMIT_PER_MINUTE',
  'AUTH_FAILURE_LIMIT_PER_MINUTE',
  'HEAVY_CONCURRENCY_PER_KEY',
  'QUERY_TIMEOUT_MS',
  'ODTP_DB_MAX_CONNECTIONS',
  'ODTP_DB_IDLE_TIMEOUT_MS',
]);

/** Variables whose values may hold credentials or tokens: a configuration error never repeats them. */
const SECRET_VARS = new Set([
  'MONGODB_URI',
  'ADMIN_API_KEYS',
  'AUDIT_WEBHOOK_URL',
  'AUDIT_WEBHOOK_AUTHORIZATION',
  'BROWSE_CURSOR_SECRET',
]);

function describe(value: unknown, variable?: string): string {
  if (variable && SECRET_VARS.has(variable))
    return `a value of ${typeof value === 'string' ? value.length : 0} characters, not repeated here`;
  return JSON.stringify(value);
}

export interface LoadConfigOptions {
  /** Folder holding `.env` (default: the working directory). */
  cwd?: string;
  /** dbPath used when ODTP_DB_PATH is not set at all (an empty value still means memory only). */
  defaultDbPath?: string;
}

/** Rules between variables, and about a variable's parts, that the per-variable validators cannot express. */
function checkCombinations(instance: EnvironmentVariables): void {
  if (instance.AUDIT_WEBHOOK_URL) {
    const url = new URL(instance.AUDIT_WEBHOOK_URL);
    if (url.username || url.password)
      throw new ConfigError(
        'AUDIT_WEBHOOK_URL',
        'must not carry credentials (user:password@host): put them in AUDIT_WEBHOOK_AUTHORIZATION, sent as the Authorization header and never logged',
      );
  }
  if (instance.SHUTDOWN_GRACE_MS >= instance.SHUTDOWN_TIMEOUT_MS)
    throw new ConfigError(
      'SHUTDOWN_GRACE_MS',
      `must be below SHUTDOWN_TIMEOUT_MS (${instance.SHUTDOWN_TIMEOUT_MS}): the grace for a running job is part of the shutdown (got ${instance.SHUTDOWN_GRACE_MS})`,
    );
}

/** Read `.env` (real environment variables win) and validate; throws ConfigError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): AppConfig {
  const cwd = options.cwd ?? process.cwd();
  const fromFile: Record<string, string> = {};
  const envFile = path.join(cwd, '.env');
  if (fs.existsSync(envFile)) Object.assign(fromFile, parseDotenv(fs.readFileSync(envFile)));
  const merged: Record<string, string | undefined> = { ...fromFile, ...env };
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(new EnvironmentVariables())) {
    const value = merged[key];
    if (value === undefined || (value === '' && key !== 'ODTP_DB_PATH')) continue;
    if (INTEGER_VARS.has(key)) {
      if (!/^\d+$/.test(value)) throw new ConfigError(key, `must be an integer (got ${describe(value)})`);
      raw[key] = Number(value);
    } else raw[key] = value;
  }
  const instance = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  const errors = validateSync(instance, { skipMissingProperties: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    const first = errors[0];
    const constraint = Object.values(first.constraints ?? {})[0] ?? 'is invalid';
    throw new ConfigError(
      first.property,
      `${constraint.replace(first.property + ' ', '')} (got ${describe(first.value, first.property)})`,
    );
  }
  let uriDbName: string | undefined;
  if (instance.MONGODB_URI !== undefined) {
    try {
      uriDbName =
        decodeURIComponent(new ConnectionString(instance.MONGODB_URI).pathname.replace(/^\//, '')) ||
        undefined;
    } catch (e) {
      throw new ConfigError(
        'MONGODB_URI',
        `is not a valid MongoDB connection string (${(e as Error).message})`,
      );
    }
  }
  checkCombinations(instance);
  const migrationsDir = instance.ODTP_MIGRATIONS_DIR
    ? path.resolve(cwd, instance.ODTP_MIGRATIONS_DIR)
    : undefined;
  if (migrationsDir && !fs.statSync(migrationsDir, { throwIfNoEntry: false })?.isDirectory())
    throw new ConfigError(
      'ODTP_MIGRATIONS_DIR',
      `must be a folder of migrations (got ${describe(instance.ODTP_MIGRATIONS_DIR)}: ${migrationsDir} is not a folder)`,
    );
  const dbPathSet = 'ODTP_DB_PATH' in merged;
  const dbPath = dbPathSet ? merged.ODTP_DB_PATH || undefined : options.defaultDbPath;
  return Object.freeze({
    mongodbUri: instance.MONGODB_URI,
    dbEngine: instance.ODTP_DB_ENGINE,
    dbPath: dbPath ? path.resolve(cwd, dbPath) : undefined,
    dbName: merged.ODTP_DB_NAME ? instance.ODTP_DB_NAME : (uriDbName ?? instance.ODTP_DB_NAME),
    port: instance.PORT,
    host: instance.HOST,
    logLevel: instance.LOG_LEVEL,
    shutdownTimeoutMs: instance.SHUTDOWN_TIMEOUT_MS,
    shutdownGraceMs: instance.SHUTDOWN_GRACE_MS,
    jobLeaseTtlMs: instance.JOB_LEASE_TTL_MS,
    upgradeWriterWindowS: instance.UPGRADE_WRITER_WINDOW_S,
    mongodSystemBinary: instance.MONGOMS_SYSTEM_BINARY,
    nodeEnv: instance.NODE_ENV ?? 'development',
    strictCollections: instance.ODTP_SCHEMA_STRICT_COLLECTIONS
      ? instance.ODTP_SCHEMA_STRICT_COLLECTIONS.split(',')
      : [],
    adminApiKeys: instance.ADMIN_API_KEYS,
    adminAuth: instance.ADMIN_AUTH,
    corsOrigins: instance.CORS_ORIGINS ? instance.CORS_ORIGINS.split(',') : [],
    bodyLimit: instance.BODY_LIMIT,
    rateLimitPerMinute: instance.RATE_LIMIT_PER_MINUTE,
    auditCron: instance.AUDIT_CRON,
    auditWatch: instance.AUDIT_WATCH === 'true',
    auditMode: instance.AUDIT_MODE,
    auditFullEvery: instance.AUDIT_FULL_EVERY,
    auditWebhookUrl: instance.AUDIT_WEBHOOK_URL,
    auditWebhookAuthorization: instance.AUDIT_WEBHOOK_AUTHORIZATION,
    adminPublicUrl: instance.ADMIN_PUBLIC_URL?.replace(/\/+$/, ''),
    auditRetention: instance.AUDIT_RETENTION,
    app: instance.ODTP_APP,
    migrationsDir,
    adminLogRetentionDays: instance.ADMIN_LOG_RETENTION_DAYS,
    heavyRateLimitPerMinute: instance.HEAVY_RATE_LIMIT_PER_MINUTE,
    authFailureLimitPerMinute: instance.AUTH_FAILURE_LIMIT_PER_MINUTE,
    heavyConcurrencyPerKey: instance.HEAVY_CONCURRENCY_PER_KEY,
    queryTimeoutMs: instance.QUERY_TIMEOUT_MS,
    browseCursorSecret: instance.BROWSE_CURSOR_SECRET,
    dbMaxConnections: instance.ODTP_DB_MAX_CONNECTIONS,
    dbIdleTimeoutMs: instance.ODTP_DB_IDLE_TIMEOUT_MS,
  });
}

/** For entry points: load the configuration or print the one-line reason and exit with code 1. */
export function loadConfigOrExit(
  env: NodeJS.ProcessEnv = process.env,
  options: LoadConfigOptions = {},
): AppConfig {
  try {
    return loadConfig(env, options);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}
