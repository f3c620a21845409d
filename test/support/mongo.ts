import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import { EmbeddedMongo } from '@odtp/embedded-mongo';

/**
 * A MongoDB for a test file: the real one in MONGODB_URI when set (a fresh database per call),
 * otherwise an embedded server on a free port.
 */
export interface TestMongo {
  uri: string;
  client: MongoClient;
  db(name?: string): Db;
  close(): Promise<void>;
}

let counter = 0;

export async function startTestMongo(): Promise<TestMongo> {
  const external = process.env.MONGODB_URI;
  // test commands (configureFailPoint) on, like a mongod started for tests
  const server = external ? undefined : await EmbeddedMongo.create({ enableTestCommands: true });
  const uri = external ?? server!.getUri();
  const client = await MongoClient.connect(uri);
  const prefix = `t${process.pid}_${Date.now().toString(36)}`;
  const used: string[] = [];
  return {
    uri,
    client,
    db(name?: string) {
      const dbName = name ?? `${prefix}_${counter++}`;
      used.push(dbName);
      return client.db(dbName);
    },
    async close() {
      if (external) for (const name of used) await client.db(name).dropDatabase();
      await client.close();
      await server?.stop();
    },
  };
}
