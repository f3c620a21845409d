import type { Collection, Db, Document, Filter, UpdateFilter } from 'mongodb';
import type { JobState, JobStatus } from './job';

/** A stored job: its id as `_id`, its state, and whatever its kind keeps beside (a report, a repair's actions). */
export type StoredJob<P> = JobState<P> & Document & { _id: string };

/** What a heartbeat learnt: whether the job is still ours and running, and whether someone asked to cancel it. */
export interface Beat {
  running: boolean;
  cancelRequested: boolean;
}

/**
 * The lifecycle fields of one kind of job in its own collection (audits in integrityReports, repairs in
 * repairRuns): written when it starts, on each heartbeat with its progress, and when it ends. Every instance reads
 * the same records, so a run is visible (and cancellable) from all of them.
 */
export class JobStore<P> {
  readonly coll: Collection<StoredJob<P>>;

  constructor(db: Db, collection: string) {
    this.coll = db.collection<StoredJob<P>>(collection);
  }

  private mine(id: string, instanceId: string): Filter<StoredJob<P>> {
    return { _id: id, 'instance.id': instanceId, status: 'running' } as Filter<StoredJob<P>>;
  }

  async insert(job: StoredJob<P>): Promise<void> {
    await this.coll.insertOne(job as never);
  }

  /** Renew the heartbeat and store the progress; tells whether the run is still ours and if a cancel was asked. */
  async beat(id: string, instanceId: string, progress: P): Promise<Beat> {
    const doc = await this.coll.findOneAndUpdate(
      this.mine(id, instanceId),
      { $set: { heartbeatAt: new Date(), progress } } as UpdateFilter<StoredJob<P>>,
      { projection: { cancelRequestedAt: 1 }, returnDocument: 'after' },
    );
    return { running: doc !== null, cancelRequested: doc?.cancelRequestedAt instanceof Date };
  }

  /**
   * Record how the run ended, with `fields` (a report's findings, a repair's actions); only while it is still
   * recorded as running by this instance (a run taken for abandoned stays so). True when written.
   */
  async finish(
    id: string,
    instanceId: string,
    status: Exclude<JobStatus, 'running'>,
    fields: Document = {},
  ): Promise<boolean> {
    const r = await this.coll.updateOne(this.mine(id, instanceId), {
      $set: { ...fields, status, finishedAt: new Date(), heartbeatAt: new Date() },
    } as UpdateFilter<StoredJob<P>>);
    return r.modifiedCount === 1;
  }

  /** Ask the instance running `id` to cancel it (it stops at its next heartbeat). False when it is not running. */
  async requestCancel(id: string): Promise<boolean> {
    const r = await this.coll.updateOne(
      { _id: id, status: 'running' } as Filter<StoredJob<P>>,
      {
        $set: { cancelRequestedAt: new Date() },
      } as UpdateFilter<StoredJob<P>>,
    );
    return r.matchedCount === 1;
  }

  /**
   * Mark runs whose process died as abandoned: running, with a heartbeat (or, for runs stored before heartbeats
   * existed, a start) older than `staleMs`. Returns how many.
   */
  async sweep(staleMs: number): Promise<number> {
    const cutoff = new Date(Date.now() - staleMs);
    const r = await this.coll.updateMany(
      {
        status: 'running',
        $or: [
          { heartbeatAt: { $lt: cutoff } },
          { heartbeatAt: { $exists: false }, startedAt: { $lt: cutoff } },
        ],
      } as Filter<StoredJob<P>>,
      {
        $set: {
          status: 'abandoned',
          finishedAt: new Date(),
          error: `abandoned: the process running it stopped without finishing (no heartbeat for ${Math.round(staleMs / 1000)} s)`,
        },
      } as UpdateFilter<StoredJob<P>>,
    );
    return r.modifiedCount;
  }

  async get(id: string, projection?: Document): Promise<StoredJob<P> | null> {
    return this.coll.findOne({ _id: id } as Filter<StoredJob<P>>, { projection });
  }
}
