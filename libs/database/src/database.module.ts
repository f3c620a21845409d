import { Global, Inject, Injectable, Module } from '@nestjs/common';
import type { DynamicModule, OnApplicationShutdown } from '@nestjs/common';
import { DomainError, HTTP } from '@odtp/errors';
import { Db, MongoClient } from 'mongodb';
import type { DatabaseHandle } from './database';

export const DATABASE_HANDLE = Symbol('DATABASE_HANDLE');
export const MONGO_CLIENT = Symbol('MONGO_CLIENT');

export const PING_RESULTS = ['ok', 'fail'] as const;

export interface PingResult {
  ping: (typeof PING_RESULTS)[number];
  latencyMs: number;
}

/** No database to work on, or it cannot be reached (the CLI exits 1 with the message). */
export class DatabaseUnavailableError extends DomainError {
  constructor(message: string) {
    super({ code: 'DATABASE_UNAVAILABLE', httpStatus: HTTP.unavailable, exitCode: 1 }, message);
  }
}

/** The database of the app: its engine, its Db, and a bounded ping for health checks. */
@Injectable()
export class DatabaseService implements OnApplicationShutdown {
  constructor(
    @Inject(DATABASE_HANDLE) readonly handle: DatabaseHandle,
    @Inject(MONGO_CLIENT) private readonly mongoClient: MongoClient | undefined,
  ) {}

  get engine(): string {
    return this.handle.engine;
  }

  get client(): MongoClient {
    if (!this.mongoClient)
      throw new DatabaseUnavailableError(
        'no database: pass --uri or set MONGODB_URI (start a local one with `odtp-db db start`)',
      );
    return this.mongoClient;
  }

  db(): Db {
    return this.client.db(this.handle.dbName);
  }

  /** Connect now (the CLI's client connects lazily), failing with a message that names the setting. */
  async connect(): Promise<void> {
    await this.client.connect().catch((e: Error) => {
      throw new DatabaseUnavailableError(`cannot connect to MONGODB_URI: ${e.message}`);
    });
  }

  async ping(timeoutMs = 2000): Promise<PingResult> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('ping timed out')), timeoutMs);
    });
    try {
      await Promise.race([this.db().command({ ping: 1 }), timeout]);
      return { ping: 'ok', latencyMs: Math.round((performance.now() - started) * 100) / 100 };
    } catch {
      return { ping: 'fail', latencyMs: Math.round(performance.now() - started) };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs after every beforeApplicationShutdown hook (running jobs have stopped and recorded themselves by then).
   * Closing never fails the shutdown: a client that will not close cleanly is abandoned, said on stderr.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.mongoClient
      ?.close()
      .catch((e: unknown) => process.stderr.write(`closing the database connection: ${String(e)}\n`));
    await this.handle
      .stop()
      .catch((e: unknown) => process.stderr.write(`stopping the database engine: ${String(e)}\n`));
  }
}

/**
 * Provides the database to an app (its MongoClient and DatabaseService); closes the client and stops the engine on
 * shutdown.
 */
@Global()
@Module({})
export class DatabaseModule {
  /** A started database, connected before the app starts (the admin API). */
  static forHandle(handle: DatabaseHandle): DynamicModule {
    return DatabaseModule.module(handle, () =>
      MongoClient.connect(handle.uri, { serverSelectionTimeoutMS: 5000 }),
    );
  }

  /**
   * The database at `uri` (the CLI): the client connects on first use (DatabaseService.connect), so commands that
   * need no database work without one; without a URI, using the database fails naming --uri and MONGODB_URI.
   */
  static forUri(uri: string | undefined, dbName: string): DynamicModule {
    const handle: DatabaseHandle = {
      engine: 'uri',
      reason: uri ? 'MONGODB_URI or --uri' : 'none configured',
      uri: uri ?? '',
      dbName,
      stop: async () => undefined,
    };
    return DatabaseModule.module(handle, () =>
      uri ? new MongoClient(uri, { serverSelectionTimeoutMS: 5000 }) : undefined,
    );
  }

  private static module(
    handle: DatabaseHandle,
    client: () => MongoClient | undefined | Promise<MongoClient>,
  ): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        { provide: DATABASE_HANDLE, useValue: handle },
        { provide: MONGO_CLIENT, useFactory: client },
        DatabaseService,
      ],
      exports: [DATABASE_HANDLE, MONGO_CLIENT, DatabaseService],
    };
  }
}
