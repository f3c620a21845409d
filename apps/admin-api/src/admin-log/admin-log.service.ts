import { Inject, Injectable, Logger } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { DatabaseService } from '@odtp/database';
import { ObjectId } from 'mongodb';
import type { Document } from 'mongodb';

export const ADMIN_LOG_COLLECTION = 'adminAuditLog';
/** The TTL index that keeps ADMIN_LOG_RETENTION_DAYS of the log. */
export const ADMIN_LOG_TTL_INDEX = 'at_ttl';

/** One mutating call: who, what, when and how it ended. Never keys, never document contents. */
export interface AdminLogEntry {
  at: Date;
  keyId: string | null;
  role: string | null;
  method: string;
  route: string;
  params: Record<string, string>;
  body: Record<string, unknown>;
  status: number;
  durationMs: number;
  /** The server's id of the request (the one in its log lines). */
  requestId: string | null;
  /** The caller's x-request-id, cut to 64 characters (the caller chooses it: never trusted as an id). */
  callerRequestId: string | null;
}

const MAX_VALUE = 200;

/** Keep the shape of a request body without its contents: scalar options only, strings shortened. */
export function summarizeBody(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body as Document).slice(0, 20)) {
    const key = k.slice(0, 64);
    if (typeof v === 'boolean' || v === null) out[key] = v;
    else if (typeof v === 'number') out[key] = Number.isFinite(v) ? v : String(v);
    else if (typeof v === 'string') out[key] = v.length > MAX_VALUE ? `${v.slice(0, MAX_VALUE)}…` : v;
    else out[key] = Array.isArray(v) ? `[array of ${v.length}]` : '[object]';
  }
  return out;
}

@Injectable()
export class AdminLogService implements OnModuleInit {
  private readonly logger = new Logger('AdminLog');

  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The retention: a TTL index on `at` (replaced when ADMIN_LOG_RETENTION_DAYS changed). */
  async onModuleInit(): Promise<void> {
    const coll = this.database.db().collection(ADMIN_LOG_COLLECTION);
    const seconds = this.config.adminLogRetentionDays * 86_400;
    const existing = (await coll.indexes().catch(() => [])).find((i) => i.name === ADMIN_LOG_TTL_INDEX);
    if (existing && existing.expireAfterSeconds === seconds) return;
    if (existing) await coll.dropIndex(ADMIN_LOG_TTL_INDEX);
    await coll.createIndex({ at: 1 }, { name: ADMIN_LOG_TTL_INDEX, expireAfterSeconds: seconds });
  }

  record(entry: AdminLogEntry): void {
    this.database
      .db()
      .collection(ADMIN_LOG_COLLECTION)
      .insertOne({ ...entry })
      .catch((e: Error) => this.logger.error(`could not write the admin audit log: ${e.message}`));
  }

  async page(limit: number, before?: string): Promise<{ items: Document[]; next: string | null }> {
    const filter = before ? { _id: { $lt: new ObjectId(before) } } : {};
    const docs = await this.database
      .db()
      .collection(ADMIN_LOG_COLLECTION)
      .find(filter, { sort: { _id: -1 }, limit: limit + 1, maxTimeMS: this.config.queryTimeoutMs })
      .toArray();
    const items = docs.slice(0, limit);
    return {
      items: items.map((d) => ({ ...d, _id: (d._id as ObjectId).toHexString() })),
      next: docs.length > limit ? (items[items.length - 1]._id as ObjectId).toHexString() : null,
    };
  }
}
