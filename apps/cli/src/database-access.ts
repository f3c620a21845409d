import { loadConfig } from '@odtp/config';
import type { AppConfig, AppLevel } from '@odtp/config';
import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import { CliError } from './cli-support';

/** Options every database command takes. */
export interface DatabaseOptions {
  uri?: string;
  /** --app: the application level, overriding ODTP_APP. */
  app?: AppLevel;
}

/** The configuration with the command's --uri and --app applied. */
export function commandConfig(options: DatabaseOptions): AppConfig {
  return loadConfig({
    ...process.env,
    ...(options.uri ? { MONGODB_URI: options.uri } : {}),
    ...(options.app ? { ODTP_APP: options.app } : {}),
  });
}

/** Run `fn` on the database given by --uri or MONGODB_URI (commands never start an engine implicitly). */
export async function withDatabase<T>(
  options: DatabaseOptions,
  fn: (db: Db, config: AppConfig) => Promise<T>,
): Promise<T> {
  const config = commandConfig(options);
  if (!config.mongodbUri) {
    throw new CliError(
      'no database: pass --uri or set MONGODB_URI (start a local one with `odtp-db db start`)',
      1,
    );
  }
  const client = await MongoClient.connect(config.mongodbUri, { serverSelectionTimeoutMS: 5000 }).catch(
    (e: Error) => {
      throw new CliError(`cannot connect to MONGODB_URI: ${e.message}`, 1);
    },
  );
  try {
    return await fn(client.db(config.dbName), config);
  } finally {
    await client.close();
  }
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}
