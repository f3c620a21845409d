export {
  binaryCacheDirs,
  chooseEngine,
  ENGINE_KINDS,
  EngineUnavailableError,
  findMongodBinary,
} from './engine';
export type { EngineChoice, EngineKind } from './engine';
export { connectClient, startDatabase, supportsTransactions } from './database';
export type { DatabaseHandle, StartOptions } from './database';
export {
  DATABASE_HANDLE,
  DatabaseModule,
  DatabaseService,
  DatabaseUnavailableError,
  MONGO_CLIENT,
  PING_RESULTS,
} from './database.module';
export type { PingResult } from './database.module';
export { describeHolder, LeaseLock, LeaseLostError, LockHeldError } from './lease-lock';
export type { LeaseHandle, LeaseOptions, LockDocument, LockOwner } from './lease-lock';
