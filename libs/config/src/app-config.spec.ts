import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, loadConfig } from './app-config';
import { tempDir } from '../../../test/support/temp-dirs';

function emptyDir(): string {
  return tempDir('odtp-config-');
}

describe('loadConfig', () => {
  it('applies defaults', () => {
    const cwd = emptyDir();
    expect(loadConfig({}, { cwd })).toEqual({
      mongodbUri: undefined,
      dbEngine: 'auto',
      dbPath: undefined,
      dbName: 'odtp',
      port: 3000,
      host: '127.0.0.1',
      logLevel: 'info',
      shutdownTimeoutMs: 10000,
      shutdownGraceMs: 5000,
      jobLeaseTtlMs: 60000,
      upgradeWriterWindowS: 86400,
      mongodSystemBinary: undefined,
      nodeEnv: 'development',
      strictCollections: [],
      adminApiKeys: undefined,
      adminAuth: 'enabled',
      corsOrigins: [],
      bodyLimit: '1mb',
      rateLimitPerMinute: 60,
      auditCron: undefined,
      auditWatch: false,
      auditMode: 'incremental',
      auditFullEvery: 24,
      auditWebhookUrl: undefined,
      auditWebhookAuthorization: undefined,
      auditRetention: 100,
      app: 'odtp-0.5',
      adminLogRetentionDays: 90,
      heavyRateLimitPerMinute: 60,
      authFailureLimitPerMinute: 20,
      heavyConcurrencyPerKey: 2,
      queryTimeoutMs: 60000,
      browseCursorSecret: undefined,
      dbMaxConnections: 1024,
      dbIdleTimeoutMs: 1800000,
      migrationsDir: undefined,
    });
  });

  it.each([
    ['PORT', 'abc', 'Invalid configuration: PORT must be an integer (got "abc")'],
    ['PORT', '70000', 'Invalid configuration: PORT must not be greater than 65535 (got 70000)'],
    [
      'ODTP_DB_ENGINE',
      'mongo',
      'Invalid configuration: ODTP_DB_ENGINE must be one of the following values: auto, memory-server, embedded (got "mongo")',
    ],
    [
      'ODTP_APP',
      'odtp-0.6',
      'Invalid configuration: ODTP_APP must be one of the following values: odtp-0.5, transition, target (got "odtp-0.6")',
    ],
    [
      'LOG_LEVEL',
      'loud',
      'Invalid configuration: LOG_LEVEL must be one of the following values: fatal, error, warn, info, debug, trace, silent (got "loud")',
    ],
  ])('%s=%s is rejected with a message naming the variable', (name, value, message) => {
    const cwd = emptyDir();
    expect(() => loadConfig({ [name]: value }, { cwd })).toThrow(
      new ConfigError(name, message.replace(`Invalid configuration: ${name} `, '')),
    );
    expect(() => loadConfig({ [name]: value }, { cwd })).toThrow(message);
  });

  it.each([
    ['AUDIT_WEBHOOK_URL', 'ftp://hooks.example/T0K3N-s3cr3t'],
    ['BROWSE_CURSOR_SECRET', 'short s3cr3t'],
  ])('an invalid %s is named but never repeated (it may hold a token)', (name, value) => {
    let message = '';
    try {
      loadConfig({ [name]: value }, { cwd: emptyDir() });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(new RegExp(`^Invalid configuration: ${name} must `));
    expect(message).toContain(`(got a value of ${value.length} characters, not repeated here)`);
    expect(message).not.toContain('s3cr3t');
  });

  it('reads the hardening limits', () => {
    const config = loadConfig(
      {
        ADMIN_LOG_RETENTION_DAYS: '7',
        HEAVY_RATE_LIMIT_PER_MINUTE: '5',
        AUTH_FAILURE_LIMIT_PER_MINUTE: '3',
        QUERY_TIMEOUT_MS: '1500',
        ODTP_DB_MAX_CONNECTIONS: '10',
        ODTP_DB_IDLE_TIMEOUT_MS: '0',
      },
      { cwd: emptyDir() },
    );
    expect([
      config.adminLogRetentionDays,
      config.heavyRateLimitPerMinute,
      config.authFailureLimitPerMinute,
      config.queryTimeoutMs,
      config.dbMaxConnections,
      config.dbIdleTimeoutMs,
    ]).toEqual([7, 5, 3, 1500, 10, 0]);
    expect(() => loadConfig({ QUERY_TIMEOUT_MS: '10' }, { cwd: emptyDir() })).toThrow(
      'Invalid configuration: QUERY_TIMEOUT_MS must not be less than 100 (got 10)',
    );
  });

  it('a webhook URL with credentials is refused at start-up without repeating it; they go in AUDIT_WEBHOOK_AUTHORIZATION', () => {
    const error = (() => {
      try {
        loadConfig({ AUDIT_WEBHOOK_URL: 'https://ops:hunter2@hooks.example.org/x' }, { cwd: emptyDir() });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error?.message).toBe(
      'Invalid configuration: AUDIT_WEBHOOK_URL must not carry credentials (user:password@host): put them in AUDIT_WEBHOOK_AUTHORIZATION, sent as the Authorization header and never logged',
    );
    const ok = loadConfig(
      { AUDIT_WEBHOOK_URL: 'https://hooks.example.org/x', AUDIT_WEBHOOK_AUTHORIZATION: 'Bearer abc' },
      { cwd: emptyDir() },
    );
    expect(ok.auditWebhookAuthorization).toBe('Bearer abc');
    expect(() => loadConfig({ AUDIT_WEBHOOK_AUTHORIZATION: 'Bearer a\nb' }, { cwd: emptyDir() })).toThrow(
      'Invalid configuration: AUDIT_WEBHOOK_AUTHORIZATION must be an HTTP header value (printable ASCII, e.g. "Bearer <token>") (got a value of 10 characters, not repeated here)',
    );
  });

  it('a malformed MONGODB_URI names the variable', () => {
    expect(() => loadConfig({ MONGODB_URI: 'not-a-uri' }, { cwd: emptyDir() })).toThrow(
      /^Invalid configuration: MONGODB_URI is not a valid MongoDB connection string/,
    );
  });

  it('takes the database name from the URI path unless ODTP_DB_NAME is set', () => {
    const cwd = emptyDir();
    expect(loadConfig({ MONGODB_URI: 'mongodb://h:1/prod' }, { cwd }).dbName).toBe('prod');
    expect(loadConfig({ MONGODB_URI: 'mongodb://h:1/prod', ODTP_DB_NAME: 'other' }, { cwd }).dbName).toBe(
      'other',
    );
  });

  it('reads .env, and real environment variables win over it', () => {
    const cwd = emptyDir();
    fs.writeFileSync(path.join(cwd, '.env'), 'PORT=4000\nLOG_LEVEL=debug\n');
    const cfg = loadConfig({ LOG_LEVEL: 'warn' }, { cwd });
    expect([cfg.port, cfg.logLevel]).toEqual([4000, 'warn']);
  });

  it('ODTP_MIGRATIONS_DIR must name an existing folder, resolved from the working directory', () => {
    const cwd = emptyDir();
    fs.mkdirSync(path.join(cwd, 'mine'));
    expect(loadConfig({ ODTP_MIGRATIONS_DIR: 'mine' }, { cwd }).migrationsDir).toBe(path.join(cwd, 'mine'));
    expect(loadConfig({}, { cwd }).migrationsDir).toBeUndefined();
    expect(() => loadConfig({ ODTP_MIGRATIONS_DIR: 'nowhere' }, { cwd })).toThrow(
      `Invalid configuration: ODTP_MIGRATIONS_DIR must be a folder of migrations (got "nowhere": ${path.join(cwd, 'nowhere')} is not a folder)`,
    );
  });

  it('uses the default dbPath only when ODTP_DB_PATH is absent; empty means memory only', () => {
    const cwd = emptyDir();
    expect(loadConfig({}, { cwd, defaultDbPath: '.data/db' }).dbPath).toBe(path.join(cwd, '.data/db'));
    expect(loadConfig({ ODTP_DB_PATH: '' }, { cwd, defaultDbPath: '.data/db' }).dbPath).toBeUndefined();
    expect(loadConfig({ ODTP_DB_PATH: '/tmp/x' }, { cwd, defaultDbPath: '.data/db' }).dbPath).toBe('/tmp/x');
  });
});
