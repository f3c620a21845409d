import type { Db, ReadPreferenceLike } from 'mongodb';
import type { AppContract } from '@odtp/schema';
import { AuditCancelledError } from './errors';
import type { CheckName, FindingCollector, Violation } from './findings';

/** What every part of one audit shares: the database, what to check, the limits and where findings go. */
export interface Ctx {
  db: Db;
  /** The collections of the database when the audit started. */
  existing: ReadonlySet<string>;
  app: AppContract;
  checks: Set<CheckName>;
  batchSize: number;
  maxUnindexedScan: number;
  readPreference?: ReadPreferenceLike;
  maxTimeMS?: number;
  signal?: AbortSignal;
  collector: FindingCollector;
  violation(v: Violation): void;
  onProgress?: (collection: string, scanned: number) => void;
  /** Count a value in a form the configured application writes that is not the target's (the upgrade backlog). */
  backlog(collection: string, path: string, form: 'string' | 'both'): void;
}

export function checkCancelled(ctx: Ctx): void {
  if (ctx.signal?.aborted) throw new AuditCancelledError();
}
