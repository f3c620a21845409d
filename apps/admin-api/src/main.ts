import * as path from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { resolveAuth } from '@odtp/auth';
import type { ResolvedAuth } from '@odtp/auth';
import { ConfigError, loadConfigOrExit } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { connectClient, startDatabase } from '@odtp/database';
import type { DatabaseHandle } from '@odtp/database';
import { defaultMigrationsDir, Migrator } from '@odtp/migrations';
import { initializeIfEmpty, productionReason } from '@odtp/seeding';
import { Logger } from 'nestjs-pino';
import { demoSeed } from '../../../seeds/demo';
import { AppModule } from './app.module';
import { configureApp } from './setup';

/** Default folder of the embedded engine for `npm start` (git-ignored); ODTP_DB_PATH= (empty) means memory only. */
export const DEFAULT_DB_PATH = path.join('.data', 'db');

/**
 * On a local, non-production database: apply the pending migrations (waiting up to a minute for another
 * runner's lock); when the database was empty, also apply validators and indexes and load the demo profile.
 * Production databases are migrated by the deploy pipeline (`odtp-db migrate up`), never implicitly.
 */
async function prepareDatabase(database: DatabaseHandle, config: AppConfig): Promise<void> {
  if (productionReason(database.uri, config.nodeEnv)) return;
  const client = await connectClient(database);
  try {
    const db = client.db(database.dbName);
    const run = await new Migrator(db, client, { dir: defaultMigrationsDir(), app: config.app }).up({
      waitMs: 60_000,
    });
    if (run.migrations.length)
      process.stdout.write(
        `migrations: applied ${run.migrations.length} (${run.migrations.map((m) => m.name).join(', ')})\n`,
      );
    if (run.held.length)
      process.stdout.write(
        `migrations: held ${run.held.length} while ODTP_APP=${config.app} (${run.held.map((m) => m.name).join(', ')}; see odtp-db migrate status)\n`,
      );
    const loaded = await initializeIfEmpty(db, demoSeed, { app: config.app });
    if (loaded)
      process.stdout.write(
        `empty database: validators and indexes for ${config.app} applied, demo data loaded as ${config.app} writes it (${loaded.inserted} documents)\n`,
      );
  } finally {
    await client.close();
  }
}

export async function bootstrap(
  config: AppConfig = loadConfigOrExit(process.env, { defaultDbPath: DEFAULT_DB_PATH }),
): Promise<void> {
  let auth: ResolvedAuth;
  try {
    auth = resolveAuth(config, process.cwd());
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  const database = await startDatabase(config);
  await prepareDatabase(database, config);
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config, database, auth.settings),
    {
      bufferLogs: true,
    },
  );
  app.useLogger(app.get(Logger));
  if (auth.warning) app.get(Logger).warn(auth.warning);
  // The development key goes to the terminal once, never through the structured logger.
  for (const line of auth.notices) process.stdout.write(line + '\n');
  configureApp(app, config);
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    app.get(Logger).log(`${signal} received: stopping (at most ${config.shutdownTimeoutMs} ms)`);
    setTimeout(() => {
      process.stderr.write('shutdown timed out; exiting\n');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    app
      .close()
      .then(() => process.exit(0))
      .catch((e: unknown) => {
        process.stderr.write(`shutdown failed: ${String(e)}\n`);
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  await app.listen(config.port, config.host);
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;
  app.get(Logger).log(`admin API listening on ${url} (Swagger UI at ${url}/docs)`);
}

if (require.main === module) {
  bootstrap().catch((e: unknown) => {
    process.stderr.write(`failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
