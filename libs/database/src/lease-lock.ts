import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import type { Collection, Db } from 'mongodb';

export interface LockOwner {
  host: string;
  pid: number;
  runId: string;
  /** What the holder does (e.g. audit, repair), for the message of whoever finds the lease held. */
  kind?: string;
}

export interface LockDocument {
  _id: string;
  owner: LockOwner;
  acquiredAt: Date;
  expiresAt: Date;
}

export interface LeaseOptions {
  /** Collection of the lock document (default `migrations_lock`). */
  collection?: string;
  /** `_id` of the lock document: one per kind of work (default `migrations`). */
  id?: string;
  /** How long a lease lasts without a heartbeat (default 60 s). */
  ttlMs?: number;
  /** How often the holder renews it (default a third of the TTL). */
  heartbeatMs?: number;
}

/** A held lease: `signal` aborts when the lease is lost (another runner took over after expiry). */
export interface LeaseHandle {
  owner: LockOwner;
  signal: AbortSignal;
  release(): Promise<void>;
}

/** The lease is held by someone else (after waiting, when asked to wait). */
export class LockHeldError extends Error {
  constructor(
    readonly holder: LockDocument,
    readonly waitedMs: number,
  ) {
    super(`locked by ${describeHolder(holder)}`);
    this.name = 'LockHeldError';
  }
}

/** The holder lost its lease (it expired and another runner took it over). */
export class LeaseLostError extends Error {
  constructor() {
    super('the lock was lost (lease expired and taken over)');
    this.name = 'LeaseLostError';
  }
}

export function describeHolder(lock: LockDocument): string {
  return `${lock.owner.host} pid ${lock.owner.pid} (run ${lock.owner.runId}) since ${lock.acquiredAt.toISOString()}, lease until ${lock.expiresAt.toISOString()}`;
}

/**
 * A lease lock (migrations, scheduled audits) in one document with a fixed `_id`: the insert wins, a duplicate key loses (no check-then-insert
 * race); an expired lease is taken over with a conditional update; the holder renews it while it works and
 * releases it in `finally`.
 */
export class LeaseLock {
  private readonly coll: Collection<LockDocument>;
  private readonly id: string;
  private readonly ttlMs: number;
  private readonly heartbeatMs: number;

  constructor(db: Db, options: LeaseOptions = {}) {
    this.coll = db.collection<LockDocument>(options.collection ?? 'migrations_lock');
    this.id = options.id ?? 'migrations';
    this.ttlMs = options.ttlMs ?? 60_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(100, Math.floor(this.ttlMs / 3));
  }

  /** The current holder, if any (expired leases included, with their expiry). */
  async holder(): Promise<LockDocument | null> {
    return this.coll.findOne({ _id: this.id });
  }

  private async tryAcquire(owner: LockOwner): Promise<LockDocument | null> {
    const now = new Date();
    const doc: LockDocument = {
      _id: this.id,
      owner,
      acquiredAt: now,
      expiresAt: new Date(now.getTime() + this.ttlMs),
    };
    try {
      await this.coll.insertOne(doc);
      return null;
    } catch (e) {
      if ((e as { code?: number }).code !== 11000) throw e;
    }
    const taken = await this.coll.findOneAndUpdate(
      { _id: this.id, expiresAt: { $lt: now } },
      { $set: { owner, acquiredAt: now, expiresAt: doc.expiresAt } },
      { returnDocument: 'after' },
    );
    if (taken && taken.owner.runId === owner.runId) return null;
    return (await this.holder()) ?? doc;
  }

  /** Take the lease, waiting up to `waitMs` for the holder to finish; otherwise fail naming the holder. */
  async acquire(
    waitMs = 0,
    runId: string = randomUUID(),
    extra: Pick<LockOwner, 'kind'> = {},
    signal?: AbortSignal,
  ): Promise<LeaseHandle> {
    const owner: LockOwner = { host: os.hostname(), pid: process.pid, runId, ...extra };
    const deadline = Date.now() + waitMs;
    for (;;) {
      const holder = await this.tryAcquire(owner);
      if (!holder) break;
      // a stop asked for while waiting ends the wait as if it had run out
      if (Date.now() >= deadline || signal?.aborted) throw new LockHeldError(holder, waitMs);
      await new Promise((r) => setTimeout(r, Math.min(250, Math.max(10, deadline - Date.now()))));
    }
    const controller = new AbortController();
    const timer = setInterval(() => {
      this.coll
        .updateOne(
          { _id: this.id, 'owner.runId': owner.runId },
          { $set: { expiresAt: new Date(Date.now() + this.ttlMs) } },
        )
        .then((r) => {
          if (r.matchedCount === 0) controller.abort(new LeaseLostError());
        })
        .catch(() => undefined);
    }, this.heartbeatMs);
    timer.unref();
    return {
      owner,
      signal: controller.signal,
      release: async () => {
        clearInterval(timer);
        await this.coll.deleteOne({ _id: this.id, 'owner.runId': owner.runId });
      },
    };
  }
}
