import { EmbeddedMongo } from '@odtp/embedded-mongo';
import type { AppConfig } from '@odtp/config';
import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import { chooseEngine } from './engine';
import type { EngineKind } from './engine';

/** A started database: the URI to give to clients and how to stop what was started. */
export interface DatabaseHandle {
  readonly engine: EngineKind;
  readonly reason: string;
  readonly uri: string;
  readonly dbName: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Port for a started engine (0 = any free port). */
  port?: number;
  /** Overrides config.dbPath for the embedded engine. */
  dbPath?: string;
  /**
   * Test commands (configureFailPoint): mongod's `--setParameter enableTestCommands=1`; the embedded engine and
   * mongodb-memory-server honour it. Never for production.
   */
  enableTestCommands?: boolean;
  log?: (line: string) => void;
}

/** Start (or just point at) the database the configuration selects, logging one line saying which and why. */
export async function startDatabase(config: AppConfig, options: StartOptions = {}): Promise<DatabaseHandle> {
  const choice = chooseEngine(config);
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const dbPath = options.dbPath ?? config.dbPath;
  let handle: DatabaseHandle;
  if (choice.kind === 'uri') {
    handle = {
      engine: 'uri',
      reason: choice.reason,
      uri: config.mongodbUri!,
      dbName: config.dbName,
      stop: async () => undefined,
    };
  } else if (choice.kind === 'memory-server') {
    process.env.MONGOMS_DISABLE_POSTINSTALL = '1';
    process.env.MONGOMS_RUNTIME_DOWNLOAD = 'false';
    const { MongoMemoryReplSet } = await import('mongodb-memory-server-core');
    const replSet = await MongoMemoryReplSet.create({
      binary: { systemBinary: choice.binary },
      replSet: { count: 1, storageEngine: 'wiredTiger' },
      instanceOpts: [
        {
          port: options.port || undefined,
          dbPath,
          args: options.enableTestCommands ? ['--setParameter', 'enableTestCommands=1'] : undefined,
        },
      ],
    });
    handle = {
      engine: 'memory-server',
      reason: choice.reason,
      uri: replSet.getUri(),
      dbName: config.dbName,
      stop: async () => void (await replSet.stop()),
    };
  } else {
    const server = await EmbeddedMongo.create({
      port: options.port ?? 0,
      dbPath,
      maxConnections: config.dbMaxConnections,
      idleTimeoutMs: config.dbIdleTimeoutMs,
      enableTestCommands: options.enableTestCommands,
    });
    handle = {
      engine: 'embedded',
      reason: choice.reason,
      uri: server.getUri(config.dbName),
      dbName: config.dbName,
      stop: () => server.stop(),
    };
  }
  log(
    `database: ${handle.engine} (${handle.reason})${handle.engine === 'embedded' ? (dbPath ? `, persisting to ${dbPath}` : ', in memory') : ''}${options.enableTestCommands && handle.engine !== 'uri' ? ', test commands enabled (configureFailPoint): not for production' : ''}`,
  );
  return handle;
}

/** A connected client for scripts and migrations. */
export async function connectClient(handle: Pick<DatabaseHandle, 'uri'>): Promise<MongoClient> {
  return MongoClient.connect(handle.uri, { serverSelectionTimeoutMS: 5000 });
}

/** Whether the server runs multi-document transactions: a replica set member or mongos (the embedded server is one). */
export async function supportsTransactions(db: Db): Promise<boolean> {
  const hello = await db.admin().command({ hello: 1 });
  return typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
}
