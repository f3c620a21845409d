import type { Type } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { generateKey, hashKey, parseApiKeys } from '@odtp/auth';
import { loadConfig } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { startDatabase } from '@odtp/database';
import type { DatabaseHandle } from '@odtp/database';
import { AppModule } from '../../apps/admin-api/src/app.module';
import { configureApp } from '../../apps/admin-api/src/setup';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  database: DatabaseHandle;
  /** `Authorization` header values for an admin and a viewer key. */
  admin: string;
  viewer: string;
}

const adminKey = generateKey();
const viewerKey = generateKey();

/**
 * Boot the admin API as main.ts does, on MONGODB_URI when set, otherwise on an in-memory embedded server.
 * `ownServer` always starts a private embedded server (for tests that must stop the database).
 */
export async function createTestApp(
  extra: { controllers?: Type[]; ownServer?: boolean; env?: Record<string, string> } = {},
): Promise<TestApp> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'silent',
    ODTP_DB_ENGINE: 'embedded',
    ODTP_DB_PATH: '',
    ODTP_DB_NAME: `e2e_${process.pid}_${Date.now()}`,
  };
  if (extra.ownServer) delete env.MONGODB_URI;
  Object.assign(env, extra.env ?? {});
  const config = loadConfig(env);
  const database = await startDatabase(config, { log: () => undefined });
  const moduleRef = await Test.createTestingModule({
    imports: [
      AppModule.forRoot(config, database, {
        enabled: true,
        keys: parseApiKeys(`test-admin:admin:${hashKey(adminKey)},test-viewer:viewer:${hashKey(viewerKey)}`),
      }),
    ],
    controllers: extra.controllers ?? [],
  }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
  configureApp(app, config);
  await app.init();
  return { app, config, database, admin: `Bearer ${adminKey}`, viewer: `Bearer ${viewerKey}` };
}
