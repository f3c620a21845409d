import * as path from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { resolveAuth } from '@odtp/auth';
import type { ResolvedAuth } from '@odtp/auth';
import { ConfigError, loadConfigOrExit } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { startDatabase } from '@odtp/database';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { prepareDatabase } from './prepare-database';
import { configureApp } from './setup';

/** Default folder of the embedded engine for `npm start` (git-ignored); ODTP_DB_PATH= (empty) means memory only. */
export const DEFAULT_DB_PATH = path.join('.data', 'db');

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
