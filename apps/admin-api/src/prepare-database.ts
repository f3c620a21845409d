import type { AppConfig } from '@odtp/config';
import { connectClient } from '@odtp/database';
import type { DatabaseHandle } from '@odtp/database';
import { defaultMigrationsDir, Migrator } from '@odtp/migrations';
import { initializeIfEmpty, productionReason } from '@odtp/seeding';
import type { Db, MongoClient } from 'mongodb';
import { demoSeed } from '@odtp/seeds';

/**
 * What `npm start` does to a development database, for the application of ODTP_APP: apply the pending migrations
 * (waiting up to a minute for another runner's lock; the ones the application cannot live with are held); when the
 * database was empty, also apply the validators and indexes derived for the application and load the demo profile
 * as it writes it. Returns the lines it reports.
 */
export async function initializeDevelopmentDatabase(
  db: Db,
  client: MongoClient,
  config: Pick<AppConfig, 'app' | 'migrationsDir'>,
): Promise<string[]> {
  const lines: string[] = [];
  const run = await new Migrator(db, client, {
    dir: defaultMigrationsDir(config.migrationsDir),
    app: config.app,
  }).up({
    waitMs: 60_000,
  });
  if (run.migrations.length)
    lines.push(
      `migrations: applied ${run.migrations.length} (${run.migrations.map((m) => m.name).join(', ')})`,
    );
  if (run.held.length)
    lines.push(
      `migrations: held ${run.held.length} while ODTP_APP=${config.app} (${run.held.map((m) => m.name).join(', ')}; see odtp-db migrate status)`,
    );
  const loaded = await initializeIfEmpty(db, demoSeed, { app: config.app });
  if (loaded)
    lines.push(
      `empty database: validators and indexes for ${config.app} applied, demo data loaded as ${config.app} writes it (${loaded.inserted} documents)`,
    );
  return lines;
}

/**
 * On a local, non-production database: initializeDevelopmentDatabase. Production databases are migrated by the
 * deploy pipeline (`odtp-db migrate up`), never implicitly.
 */
export async function prepareDatabase(database: DatabaseHandle, config: AppConfig): Promise<void> {
  if (productionReason(database.uri, config.nodeEnv)) return;
  const client = await connectClient(database);
  try {
    for (const line of await initializeDevelopmentDatabase(client.db(database.dbName), client, config))
      process.stdout.write(`${line}\n`);
  } finally {
    await client.close();
  }
}
