import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { BeforeApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { DatabaseService, LeaseLock, LockHeldError } from '@odtp/database';
import type { LeaseHandle } from '@odtp/database';
import type { Document } from 'mongodb';
import { IntegrityError, IntegrityErrorCode, publicJobError } from '../errors';
import { stoppedStatus } from './job';
import type { JobInstance, JobKind, JobStatus, JobTrigger, StopReason } from './job';
import type { JobStore, StoredJob } from './job-store';

/** The integrity lease: one audit or repair at a time over every instance and process. */
export const INTEGRITY_LOCK = { collection: 'integrity_lock', id: 'audit' };

/** One job to run: what it is, where it is stored, its work and what it stores when it ends. */
export interface JobSpec<P, T> {
  kind: JobKind;
  id: string;
  trigger: JobTrigger;
  store: JobStore<P>;
  /** Progress at the start. */
  progress: P;
  /** Stored at the start beside the state (what was asked, the application level, the database). */
  fields?: Document;
  work(job: RunningJob<P>): Promise<T>;
  /** Stored when the work is done (a report's findings, a repair's actions). */
  done(result: T): Document;
  /** What the stored error says when it stops before the end (e.g. that undo restores what a repair changed). */
  stoppedNote?(status: JobStatus, progress: P): string | undefined;
  /** Work after its end is recorded and before the lease is released (a report store's retention). */
  after?(): Promise<void>;
}

/** What the work of a running job sees: the signal that asks it to stop, and where it reports progress. */
export interface RunningJob<P> {
  id: string;
  /** When the run started, as stored. */
  startedAt: Date;
  signal: AbortSignal;
  progress(p: P): void;
}

/** A started job: its record as stored at the start, and its end (the work's result, or why it stopped). */
export interface StartedJob<P, T> {
  record: StoredJob<P>;
  done: Promise<T>;
}

/** How a finished job ended, for listeners (metrics, the schedule). */
export interface JobEnd {
  kind: JobKind;
  id: string;
  trigger: JobTrigger;
  status: Exclude<JobStatus, 'running'>;
  startedAt: Date;
  finishedAt: Date;
  /** The work's result when done (an audit's report, a repair's run). */
  result?: unknown;
}

/** What holds the integrity lease: a stored job, or an undo. */
type LeaseKind = JobKind | 'undo';

interface Current {
  kind: JobKind;
  id: string;
  stop(reason: StopReason): void;
  /** Record the run as interrupted and release its lease now (shutdown grace ran out). */
  abandonWait(): Promise<void>;
  settled: Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/**
 * Runs audits and repairs as persisted jobs: one at a time over every instance (the integrity lease), each stored
 * from its start with a heartbeat and its progress (so any instance lists it, follows it and can cancel it), and
 * ended with its status. It keeps nothing in memory but the run in progress. On shutdown it takes no new job, asks
 * the running one to stop after its current batch, waits up to SHUTDOWN_GRACE_MS for it to record itself as
 * interrupted and release the lease, and only then lets the connection close.
 */
@Injectable()
export class JobRunner implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Jobs');
  readonly instance: JobInstance = { id: randomUUID(), host: os.hostname(), pid: process.pid };
  private current?: Current;
  private closing = false;
  /** Starts between taking the lease and running (shutdown waits for them). */
  private readonly starting = new Set<Promise<unknown>>();
  private readonly listeners: ((end: JobEnd) => void)[] = [];

  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** How long a run may go without a heartbeat before it counts as abandoned (the lease's TTL). */
  get staleMs(): number {
    return this.config.jobLeaseTtlMs;
  }

  /** Called when a job of this instance ends, whatever its status. */
  onEnd(listener: (end: JobEnd) => void): void {
    this.listeners.push(listener);
  }

  /** What the runner holds in memory: the run in progress (0 or 1), starts under way, listeners. */
  memory(): { running: number; starting: number; listeners: number } {
    return { running: this.current ? 1 : 0, starting: this.starting.size, listeners: this.listeners.length };
  }

  /** Whether `id` runs in this process. */
  runsHere(id: string): boolean {
    return this.current?.id === id;
  }

  /** Stop the run `id` when it runs in this process (a cancel from this instance acts at once). */
  stopHere(id: string, reason: StopReason): boolean {
    if (this.current?.id !== id) return false;
    this.current.stop(reason);
    return true;
  }

  /** Wait until no job runs here (tests, the CLI). */
  async idle(): Promise<void> {
    await this.current?.settled;
  }

  private busy(kind: LeaseKind | undefined, id: string, where?: string): IntegrityError {
    // a holder that does not say (an older odtp-db) could be either
    const what = kind
      ? { audit: 'an audit', repair: 'a repair', undo: 'an undo' }[kind]
      : 'an audit or repair';
    return new IntegrityError(
      kind === 'audit' || kind === undefined
        ? IntegrityErrorCode.AuditRunning
        : IntegrityErrorCode.RepairRunning,
      `${what} is running: ${id}${where ? ` (on ${where})` : ''}`,
      { running: id },
    );
  }

  /** The integrity lease for `id`, or AUDIT_RUNNING / REPAIR_RUNNING naming the run that holds it. */
  private async lease(kind: LeaseKind, id: string): Promise<LeaseHandle> {
    if (this.closing)
      throw new IntegrityError(
        IntegrityErrorCode.ShuttingDown,
        'this instance is shutting down and starts no new audit or repair; try another instance or again shortly',
      );
    if (this.current) throw this.busy(this.current.kind, this.current.id);
    try {
      return await new LeaseLock(this.database.db(), { ...INTEGRITY_LOCK, ttlMs: this.staleMs }).acquire(
        0,
        id,
        {
          kind,
        },
      );
    } catch (e) {
      if (!(e instanceof LockHeldError)) throw e;
      const holder = e.holder.owner;
      const kind = (['audit', 'repair', 'undo'] as const).find((k) => k === holder.kind);
      throw this.busy(kind, holder.runId, holder.host);
    }
  }

  /** Work under the integrity lease that is not a stored job (undo); refused while any job runs. */
  async leased<T>(work: () => Promise<T>): Promise<T> {
    const lease = await this.lease('undo', randomUUID());
    try {
      return await work();
    } finally {
      await lease.release().catch(() => undefined);
    }
  }

  /** Take the lease, store the run as running and start its work; the work goes on in the background. */
  async start<P, T>(spec: JobSpec<P, T>): Promise<StartedJob<P, T>> {
    const starting = this.begin(spec);
    this.starting.add(starting);
    try {
      return await starting;
    } finally {
      this.starting.delete(starting);
    }
  }

  private async begin<P, T>(spec: JobSpec<P, T>): Promise<StartedJob<P, T>> {
    const lease = await this.lease(spec.kind, spec.id);
    const now = new Date();
    const record = {
      _id: spec.id,
      ...spec.fields,
      status: 'running',
      trigger: spec.trigger,
      instance: this.instance,
      startedAt: now,
      heartbeatAt: now,
      progress: spec.progress,
    } as StoredJob<P>;
    try {
      await spec.store.insert(record);
    } catch (e) {
      await lease.release().catch(() => undefined);
      throw e;
    }
    return { record, done: this.run(spec, lease, record) };
  }

  private run<P, T>(spec: JobSpec<P, T>, lease: LeaseHandle, record: StoredJob<P>): Promise<T> {
    const controller = new AbortController();
    let reason: StopReason | undefined;
    const stop = (r: StopReason): void => {
      reason ??= r;
      controller.abort();
    };
    lease.signal.addEventListener('abort', () => stop('lease-lost'));
    let progress = spec.progress;
    let ended = false;
    const beat = this.heartbeat(spec, () => (ended ? undefined : progress), stop);
    const end = async (
      status: Exclude<JobStatus, 'running'>,
      fields: Document,
      result?: unknown,
    ): Promise<void> => {
      ended = true;
      clearInterval(beat);
      const written = await spec.store
        .finish(spec.id, this.instance.id, status, { progress, ...fields })
        .catch((e: unknown) => {
          this.logger.error(`${spec.kind} ${spec.id}: its end could not be recorded: ${String(e)}`);
          return false;
        });
      if (written) await spec.after?.().catch(() => undefined);
      await lease.release().catch(() => undefined);
      if (written)
        for (const l of this.listeners)
          l({
            kind: spec.kind,
            id: spec.id,
            trigger: spec.trigger,
            status,
            startedAt: record.startedAt,
            finishedAt: new Date(),
            result,
          });
    };
    const done = (async (): Promise<T> => {
      try {
        const result = await spec.work({
          id: spec.id,
          startedAt: record.startedAt,
          signal: controller.signal,
          progress: (p) => (progress = p),
        });
        await end('done', spec.done(result), result);
        return result;
      } catch (e) {
        const status = reason ? stoppedStatus(reason) : 'failed';
        const error = this.stoppedError(spec, status, reason, e, progress);
        if (status === 'failed')
          this.logger.error(`${spec.kind} ${spec.id} failed: ${e instanceof Error ? e.message : String(e)}`);
        else this.logger.log(`${spec.kind} ${spec.id} ${status}`);
        await end(status, { error });
        throw this.endError(spec.kind, spec.id, status, error, e);
      }
    })();
    // a run that did not stop within the grace is recorded interrupted: whoever awaits it is told so at once
    // (its work may hang on the database for good)
    let gaveUp!: (e: unknown) => void;
    const givenUp = new Promise<never>((_resolve, reject) => (gaveUp = reject));
    const outcome = Promise.race([done, givenUp]);
    const settled = outcome.then(
      () => undefined,
      () => undefined,
    );
    this.current = {
      kind: spec.kind,
      id: spec.id,
      stop,
      settled,
      abandonWait: async () => {
        if (ended) return;
        ended = true;
        clearInterval(beat);
        const note = spec.stoppedNote?.('interrupted', progress);
        const error = `interrupted: the process shut down and its current batch did not finish within SHUTDOWN_GRACE_MS (${this.config.shutdownGraceMs} ms)${note ? `; ${note}` : ''}`;
        await spec.store
          .finish(spec.id, this.instance.id, 'interrupted', { progress, error })
          .catch(() => undefined);
        await lease.release().catch(() => undefined);
        gaveUp(this.endError(spec.kind, spec.id, 'interrupted', error, undefined));
      },
    };
    void settled.then(() => {
      if (this.current?.id === spec.id) this.current = undefined;
    });
    return outcome;
  }

  /** Beat while the run goes on (`progress` undefined once it ended); a cancel or a lost lease stops it. */
  private heartbeat<P>(
    spec: JobSpec<P, unknown>,
    progress: () => P | undefined,
    stop: (reason: StopReason) => void,
  ): NodeJS.Timeout {
    const beat = setInterval(
      () => {
        const p = progress();
        if (p === undefined) return;
        spec.store
          .beat(spec.id, this.instance.id, p)
          .then((b) => {
            if (progress() === undefined) return;
            if (!b.running) stop('lease-lost');
            else if (b.cancelRequested) stop('cancel');
          })
          .catch(() => undefined); // a missed heartbeat is retried at the next tick
      },
      Math.max(50, Math.min(1000, Math.floor(this.staleMs / 3))),
    );
    beat.unref();
    return beat;
  }

  /** The stored error of a run that did not finish (no internal detail). */
  private stoppedError<P>(
    spec: JobSpec<P, unknown>,
    status: JobStatus,
    reason: StopReason | undefined,
    e: unknown,
    progress: P,
  ): string {
    const base =
      reason === 'shutdown'
        ? 'interrupted: the process shut down (SIGTERM or Ctrl-C); it stopped after its current batch'
        : reason === 'lease-lost'
          ? 'the integrity lease was lost (the run was taken for abandoned)'
          : publicJobError(e, this.config);
    const note = spec.stoppedNote?.(status, progress);
    return note ? `${base} (${note})` : base;
  }

  /** What the caller awaiting a run gets when it did not finish. */
  private endError(kind: JobKind, id: string, status: JobStatus, error: string, e: unknown): unknown {
    if (status === 'interrupted')
      return new IntegrityError(IntegrityErrorCode.Interrupted, `${kind} ${id} ${error}`, { id });
    if (status === 'cancelled')
      return new IntegrityError(IntegrityErrorCode.Cancelled, `${kind} ${id}: ${error}`, { id });
    return e;
  }

  /**
   * Shut down: take no new job, ask the running one to stop after its current batch, and wait up to
   * SHUTDOWN_GRACE_MS for it to record itself as interrupted and release the lease; past the grace, record that
   * here. Never throws.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.starting]);
    const c = this.current;
    if (!c) return;
    c.stop('shutdown');
    const settled = await Promise.race([
      c.settled.then(() => true),
      sleep(this.config.shutdownGraceMs).then(() => false),
    ]);
    if (!settled) {
      this.logger.warn(
        `${c.kind} ${c.id} did not stop within SHUTDOWN_GRACE_MS (${this.config.shutdownGraceMs} ms): recorded as interrupted`,
      );
      await c.abandonWait().catch(() => undefined);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.shutdown();
  }
}
