/**
 * What the live watch knows: one document per open (or resolved) violation of one document, and the watch's
 * state (its resume token, how many events it has read). Both are written in one transaction per batch of events,
 * so a watch that stops at any moment resumes exactly after the last batch it recorded.
 */
import { calculateObjectSize } from 'bson';
import type { Document } from 'bson';
import type { AnyBulkWriteOperation, ClientSession, Db, Filter } from 'mongodb';
import type { CollectionName } from '@odtp/schema';
import { idKey } from '../findings';
import type { CheckName, Severity, Violation } from '../findings';

export const LIVE_COLLECTION = 'integrity_live';
export const WATCH_STATE_COLLECTION = 'integrity_watch';
/** One watch per database: the lease its instance holds. */
export const WATCH_LOCK = { collection: 'integrity_lock', id: 'watch' };
/** Reference values larger than this are not kept with a finding (its detail says what was wrong). */
const MAX_VALUE_BYTES = 512;

export interface LiveFinding {
  _id: string;
  check: CheckName;
  collection: string;
  path: string;
  target?: string;
  docId: unknown;
  value?: unknown;
  detail?: string;
  severity: Severity;
  status: 'open' | 'resolved';
  /** When the watch first saw it. */
  openedAt: Date;
  resolvedAt?: Date;
  /** Why it was resolved: the document was deleted, or it no longer shows the violation. */
  resolution?: 'deleted' | 'fixed';
}

export interface WatchState {
  _id: 'watch';
  /** Where the change stream resumes (the last batch recorded). */
  token?: Document;
  updatedAt: Date;
  /** Change events read since the watch first started. */
  events: number;
  lastEventAt?: Date;
  instance?: { host: string; pid: number; runId: string };
  /** Set when the change history no longer held the resume point: changes in between were not seen. */
  gapAt?: Date;
}

export interface LiveSummary {
  open: number;
  byCheck: Partial<Record<CheckName, number>>;
  /** The most recently opened findings (newest first). */
  recent: LiveFinding[];
  state: WatchState | null;
}

export function liveKey(v: Pick<Violation, 'check' | 'collection' | 'path' | 'docId'>): string {
  return `${v.check}|${v.collection}|${v.path}|${idKey(v.docId)}`;
}

export class LiveStore {
  constructor(private readonly db: Db) {}

  private findings() {
    return this.db.collection<LiveFinding>(LIVE_COLLECTION);
  }

  private states() {
    return this.db.collection<WatchState>(WATCH_STATE_COLLECTION);
  }

  async state(): Promise<WatchState | null> {
    return this.states().findOne({ _id: 'watch' });
  }

  /** Indexes the watch reads by (idempotent). */
  async ensureIndexes(): Promise<void> {
    await this.findings().createIndex({ status: 1, collection: 1, docId: 1 });
    await this.findings().createIndex({ status: 1, openedAt: -1 });
  }

  /** Open findings of these documents. */
  async openOf(collection: string, ids: readonly unknown[], check?: CheckName): Promise<LiveFinding[]> {
    if (!ids.length) return [];
    const filter: Filter<LiveFinding> = { status: 'open', collection, docId: { $in: [...ids] } };
    if (check) filter.check = check;
    return this.findings().find(filter).toArray();
  }

  /** Documents whose open duplicate findings share a key value with one of `ids` (see change-scope.ts). */
  async duplicatePartners(collection: string, ids: unknown[]): Promise<unknown[]> {
    const byPath = new Map<string, unknown[]>();
    for (const f of await this.openOf(collection, ids, 'duplicate'))
      byPath.set(f.path, [...(byPath.get(f.path) ?? []), f.value]);
    const out: unknown[] = [];
    for (const [path, values] of byPath)
      for (const f of await this.findings()
        .find({ status: 'open', check: 'duplicate', collection, path, value: { $in: values } })
        .toArray())
        out.push(f.docId);
    return out;
  }

  /**
   * Record the outcome of checking `checked` (documents still there) and `deleted`: their open findings not found
   * again are resolved, new violations opened; with the watch's state, in one transaction. Returns what opened.
   */
  async record(
    session: ClientSession,
    input: {
      checked: Map<CollectionName, readonly unknown[]>;
      deleted: Map<CollectionName, readonly unknown[]>;
      violations: Violation[];
      severityOf: (v: Violation) => Severity;
      state: Omit<WatchState, '_id' | 'events' | 'updatedAt'>;
      events: number;
    },
  ): Promise<LiveFinding[]> {
    const now = new Date();
    const found = new Map(input.violations.map((v) => [liveKey(v), v]));
    const ops: AnyBulkWriteOperation<LiveFinding>[] = [];
    const stillOpen = new Set<string>();
    for (const [source, how] of [
      [input.checked, 'fixed'],
      [input.deleted, 'deleted'],
    ] as const)
      for (const [collection, ids] of source)
        for (const f of await this.openOfInSession(session, collection, ids)) {
          if (how === 'fixed' && found.has(f._id)) {
            stillOpen.add(f._id);
            continue;
          }
          ops.push({
            updateOne: {
              filter: { _id: f._id, status: 'open' },
              update: { $set: { status: 'resolved', resolvedAt: now, resolution: how } },
            },
          });
        }
    const opened: LiveFinding[] = [];
    for (const [key, v] of found) {
      if (stillOpen.has(key)) continue;
      const finding: LiveFinding = {
        _id: key,
        check: v.check,
        collection: v.collection,
        path: v.path,
        docId: v.docId,
        severity: input.severityOf(v),
        status: 'open',
        openedAt: now,
      };
      if (v.target !== undefined) finding.target = v.target;
      if (v.detail !== undefined) finding.detail = v.detail;
      if (v.value !== undefined && calculateObjectSize({ v: v.value }) <= MAX_VALUE_BYTES)
        finding.value = v.value;
      opened.push(finding);
      ops.push({ replaceOne: { filter: { _id: key }, replacement: finding, upsert: true } });
    }
    if (ops.length) await this.findings().bulkWrite(ops, { session, ordered: true });
    await this.states().updateOne(
      { _id: 'watch' },
      { $set: { ...input.state, updatedAt: now }, $inc: { events: input.events } },
      { upsert: true, session },
    );
    return opened;
  }

  private async openOfInSession(
    session: ClientSession,
    collection: string,
    ids: readonly unknown[],
  ): Promise<LiveFinding[]> {
    const out: LiveFinding[] = [];
    for (let i = 0; i < ids.length; i += 1000)
      out.push(
        ...(await this.findings()
          .find({ status: 'open', collection, docId: { $in: ids.slice(i, i + 1000) } }, { session })
          .toArray()),
      );
    return out;
  }

  /** Open findings by check, the newest ones, and the watch's state (for reports, the API and metrics). */
  async summary(recent = 20): Promise<LiveSummary> {
    const byCheck: Partial<Record<CheckName, number>> = {};
    let open = 0;
    for await (const g of this.findings().aggregate<{ _id: CheckName; n: number }>([
      { $match: { status: 'open' } },
      { $group: { _id: '$check', n: { $sum: 1 } } },
    ])) {
      byCheck[g._id] = g.n;
      open += g.n;
    }
    const newest = await this.findings()
      .find({ status: 'open' })
      .sort({ openedAt: -1, _id: 1 })
      .limit(recent)
      .toArray();
    return { open, byCheck, recent: newest, state: await this.state() };
  }
}
