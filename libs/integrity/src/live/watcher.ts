/**
 * The live integrity watch: follows the database's change stream, and for each batch of changes audits the
 * documents they can have put in or out of violation (change-scope.ts) with every check of a full audit, then
 * records the findings that opened and resolved, with the resume token, in one transaction. One instance watches
 * a database at a time (a lease); the others wait to take over. A stop (SIGTERM, `close()` of the app) ends it after
 * the batch in hand, with nothing half-recorded: the next start resumes after the last batch recorded.
 */
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import type { Document } from 'bson';
import type { ChangeStream, ChangeStreamDocument, Db, MongoClient } from 'mongodb';
import { MongoServerError } from 'mongodb';
import type { AppLevel } from '@odtp/config';
import { LeaseLock, LockHeldError } from '@odtp/database';
import { runAudit } from '../auditor';
import type { Severity, Violation } from '../findings';
import { collectChange, ODTP_CHANGES } from '../incremental/changes';
import { changeScope, IdSet } from './change-scope';
import { LiveStore, WATCH_LOCK } from './live-store';
import type { LiveFinding } from './live-store';

export interface WatchOptions {
  app: AppLevel;
  /** Stops the watch (after the batch in hand). */
  signal: AbortSignal;
  /** Events recorded per batch at most (default 1,000). */
  maxBatch?: number;
  /** How long a read waits for changes before the watch looks at its signal again (default 250 ms). */
  awaitMs?: number;
  /** Lease of the watch (default 60 s; renewed every third of it). */
  leaseTtlMs?: number;
  /** Findings that opened, after each batch is recorded. */
  onFindings?: (opened: LiveFinding[]) => void;
  /** After each batch is recorded: events read, findings opened and resolved. */
  onBatch?: (batch: { events: number; checked: number; opened: number }) => void;
  log?: (message: string) => void;
  /** Once the change stream is open (and, on a first start, its starting point recorded): changes from now on are seen. */
  onReady?: () => void;
}

export interface WatchEnd {
  /** Events read and recorded by this run. */
  events: number;
  batches: number;
}

const RETRY_MS = 1000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class IntegrityWatcher {
  private readonly store: LiveStore;
  private readonly runId = randomUUID();

  constructor(
    private readonly client: MongoClient,
    private readonly db: Db,
    private readonly options: WatchOptions,
  ) {
    this.store = new LiveStore(db);
  }

  /** Watch until the signal stops it: take the lease (waiting while another instance holds it), then follow. */
  async run(): Promise<WatchEnd> {
    const { signal } = this.options;
    const total: WatchEnd = { events: 0, batches: 0 };
    await this.store.ensureIndexes();
    const lock = new LeaseLock(this.db, { ...WATCH_LOCK, ttlMs: this.options.leaseTtlMs ?? 60_000 });
    while (!signal.aborted) {
      let lease;
      try {
        lease = await lock.acquire(0, this.runId, { kind: 'watch' });
      } catch (e) {
        if (!(e instanceof LockHeldError)) throw e;
        await sleep(RETRY_MS, signal);
        continue;
      }
      const stop = AbortSignal.any([signal, lease.signal]);
      try {
        await this.follow(stop, total);
      } finally {
        await lease.release().catch(() => undefined);
      }
    }
    return total;
  }

  /** Follow the change stream from the recorded token until `stop`; a failed stream is reopened from it. */
  private async follow(stop: AbortSignal, total: WatchEnd): Promise<void> {
    while (!stop.aborted) {
      const state = await this.store.state();
      let stream: ChangeStream | undefined;
      try {
        stream = this.open(state?.token);
        await this.drain(stream, stop, total);
      } catch (e) {
        if (stop.aborted) return;
        if (e instanceof MongoServerError && e.code === 286) {
          // the history no longer holds the resume point: go on from now, and say changes were missed
          this.options.log?.('the change history no longer holds the resume point: run a full audit');
          await this.db
            .collection('integrity_watch')
            .updateOne({ _id: 'watch' as never }, { $set: { gapAt: new Date() }, $unset: { token: '' } });
          continue;
        }
        this.options.log?.(`change stream failed (${(e as Error).message}); reopening`);
        await sleep(RETRY_MS, stop);
      } finally {
        await stream?.close().catch(() => undefined);
      }
    }
  }

  private open(token: Document | undefined): ChangeStream {
    return this.db.watch(ODTP_CHANGES, {
      maxAwaitTimeMS: this.options.awaitMs ?? 250,
      ...(token ? { startAfter: token } : {}),
    });
  }

  /** Read events into a batch; record it when the stream is caught up or the batch is full. */
  private async drain(stream: ChangeStream, stop: AbortSignal, total: WatchEnd): Promise<void> {
    const maxBatch = this.options.maxBatch ?? 1000;
    let changed = new IdSet();
    let deleted = new IdSet();
    let events = 0;
    let lastEventAt: Date | undefined;
    let idleSince = Date.now();
    let first = true;
    while (!stop.aborted && !stream.closed) {
      const event = (await stream.tryNext()) as ChangeStreamDocument | null;
      if (first) {
        first = false;
        // a first start records where it starts, so that a restart before any event misses none
        if (!event && stream.resumeToken && !(await this.store.state())?.token)
          await this.recordBatch(stream.resumeToken as Document, changed, deleted, 0, undefined);
        this.options.onReady?.();
      }
      if (event) {
        events++;
        lastEventAt = new Date();
        this.collect(event, changed, deleted);
        if (event.operationType === 'invalidate') break;
        if (events < maxBatch) continue;
      } else if (events === 0) {
        // nothing new: move the recorded resume point on now and then (a cheap write), so a restart starts near
        if (Date.now() - idleSince > 5000 && stream.resumeToken) {
          await this.recordBatch(stream.resumeToken as Document, changed, deleted, 0, undefined);
          idleSince = Date.now();
        }
        continue;
      }
      if (stop.aborted) return; // the batch in hand is not recorded: the next start reads it again
      const token = stream.resumeToken as Document;
      await this.recordBatch(token, changed, deleted, events, lastEventAt);
      total.events += events;
      total.batches++;
      changed = new IdSet();
      deleted = new IdSet();
      events = 0;
      idleSince = Date.now();
    }
    if (events > 0 && !stop.aborted && stream.resumeToken) {
      await this.recordBatch(stream.resumeToken as Document, changed, deleted, events, lastEventAt);
      total.events += events;
      total.batches++;
    }
  }

  private collect(event: ChangeStreamDocument, changed: IdSet, deleted: IdSet): void {
    const full = collectChange(event, {
      changed,
      deleted,
      unlisted: new Set(),
      appeared: new IdSet(),
      fields: new Map(),
    });
    if (full) this.options.log?.(`${full}: the watch goes on; run a full audit for a fresh baseline`);
  }

  /** Audit what the batch can have changed and record findings and resume token in one transaction. */
  private async recordBatch(
    token: Document,
    changed: IdSet,
    deleted: IdSet,
    events: number,
    lastEventAt: Date | undefined,
  ): Promise<void> {
    const scope = events
      ? await changeScope(this.db, (c, ids) => this.store.duplicatePartners(c, ids), changed, deleted)
      : new IdSet();
    const violations: Violation[] = [];
    const severities = new Map<string, Severity>();
    if (scope.size) {
      const report = await runAudit(this.db, {
        app: this.options.app,
        documents: scope.toScope(),
        onViolation: (v) => violations.push(v),
      });
      for (const f of report.findings) severities.set(`${f.check}|${f.collection}|${f.path}`, f.severity);
    }
    const session = this.client.startSession();
    let opened: LiveFinding[] = [];
    try {
      await session.withTransaction(async () => {
        opened = await this.store.record(session, {
          checked: scope.toMap(),
          deleted: deleted.toMap(),
          violations,
          severityOf: (v) => severities.get(`${v.check}|${v.collection}|${v.path}`) ?? 'error',
          state: {
            token,
            ...(lastEventAt ? { lastEventAt } : {}),
            instance: { host: os.hostname(), pid: process.pid, runId: this.runId },
          },
          events,
        });
      });
    } finally {
      await session.endSession();
    }
    if (events) this.options.onBatch?.({ events, checked: scope.size, opened: opened.length });
    if (opened.length) this.options.onFindings?.(opened);
  }
}
