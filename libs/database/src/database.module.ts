import { Global, Inject, Injectable, Module } from '@nestjs/common';
import type { DynamicModule, OnApplicationShutdown } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { Db, MongoClient } from 'mongodb';
import type { DatabaseHandle } from './database';

export const DATABASE_HANDLE = Symbol('DATABASE_HANDLE');
export const MONGO_CLIENT = Symbol('MONGO_CLIENT');

export interface PingResult {
  ping: 'ok' | 'fail';
  latencyMs: number;
}

/** The database of the app: its engine, its Db, and a bounded ping for health checks. */
@Injectable()
export class DatabaseService implements OnApplicationShutdown {
  constructor(
    @Inject(DATABASE_HANDLE) readonly handle: DatabaseHandle,
    @Inject(MONGO_CLIENT) readonly client: MongoClient,
  ) {}

  get engine(): string {
    return this.handle.engine;
  }

  db(): Db {
    return this.client.db(this.handle.dbName);
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

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
    await this.handle.stop();
  }
}

/**
 * Provides the started database to an app (a MongoClient, a mongoose connection, DatabaseService);
 * closes them and stops the engine on shutdown.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forHandle(handle: DatabaseHandle): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        MongooseModule.forRoot(handle.uri, { dbName: handle.dbName, serverSelectionTimeoutMS: 5000 }),
      ],
      providers: [
        { provide: DATABASE_HANDLE, useValue: handle },
        {
          provide: MONGO_CLIENT,
          useFactory: () => MongoClient.connect(handle.uri, { serverSelectionTimeoutMS: 5000 }),
        },
        DatabaseService,
      ],
      exports: [DATABASE_HANDLE, MONGO_CLIENT, DatabaseService, MongooseModule],
    };
  }
}
