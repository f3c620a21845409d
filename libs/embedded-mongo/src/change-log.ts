/**
 * The change history of an embedded server: what mongod's oplog is to its change streams. Every committed write is
 * stamped with a cluster time (a BSON Timestamp, unique and increasing) and kept in a ring bounded by bytes; change
 * streams read it from a position, and resume tokens name a position in it. The journal carries the stamps, so the
 * history (and the clock) survive a restart.
 */
import { Binary, Timestamp } from 'bson';
import type { Document } from 'bson';
import { CommandError, ErrorCode } from './errors';

export type ChangeKind = 'insert' | 'update' | 'replace' | 'delete' | 'drop' | 'rename' | 'dropDatabase';

/** One committed change. */
export interface ChangeEntry {
  /** Cluster time, as [seconds, increment]. */
  t: number;
  i: number;
  wall: Date;
  kind: ChangeKind;
  db: string;
  coll?: string;
  /** `_id` of the document (insert, update, replace, delete). */
  id?: unknown;
  /** The document after the write (insert, replace, update). */
  doc?: Uint8Array;
  /** The document before the write (update: the update description is computed from both). */
  prev?: Uint8Array;
  /** rename: where to. */
  to?: { db: string; coll: string };
}

/** Bytes kept by default: the history a stopped stream can resume from (mongod sizes its oplog the same way). */
export const DEFAULT_CHANGE_LOG_BYTES = 64 * 1024 * 1024;
const ENTRY_OVERHEAD = 96;

/** A position in the history: a cluster time. */
export interface ClusterTime {
  t: number;
  i: number;
}

export function compareTime(a: ClusterTime, b: ClusterTime): number {
  return a.t !== b.t ? a.t - b.t : a.i - b.i;
}

export function toTimestamp(c: ClusterTime): Timestamp {
  return new Timestamp({ t: c.t, i: c.i });
}

export class ChangeLog {
  private entries: ChangeEntry[] = [];
  private head = 0;
  /** Absolute number of entries[head]: positions stay valid while the ring moves. */
  private base = 0;
  private bytes = 0;
  private clock: ClusterTime = { t: 0, i: 0 };
  /** The newest change no longer held (nothing at or before it can be resumed from). */
  private lost: ClusterTime = { t: 0, i: 0 };
  private readonly listeners = new Set<() => void>();

  constructor(private readonly maxBytes = DEFAULT_CHANGE_LOG_BYTES) {}

  /** The next cluster time (unique, increasing, never behind the wall clock's second). */
  tick(now = Date.now()): ClusterTime {
    const seconds = Math.floor(now / 1000);
    this.clock = seconds > this.clock.t ? { t: seconds, i: 1 } : { t: this.clock.t, i: this.clock.i + 1 };
    return this.clock;
  }

  /** The latest cluster time handed out (or the wall clock, before any). */
  now(): ClusterTime {
    return this.clock.t > 0 ? this.clock : { t: Math.floor(Date.now() / 1000), i: 0 };
  }

  /** Position of the next entry to be appended. */
  get end(): number {
    return this.base + this.entries.length - this.head;
  }

  get start(): number {
    return this.base;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  /** The newest change no longer held. */
  get lostBefore(): ClusterTime {
    return this.lost;
  }

  append(entry: ChangeEntry): void {
    this.restore(entry);
    for (const listener of [...this.listeners]) listener();
  }

  /** Take an entry back from the journal (no listener is told: nobody listens while a store loads). */
  restore(entry: ChangeEntry): void {
    if (compareTime(entry, this.clock) > 0) this.clock = { t: entry.t, i: entry.i };
    this.entries.push(entry);
    this.bytes += sizeOf(entry);
    while (this.bytes > this.maxBytes && this.size > 1) this.evict();
  }

  /** Changes before this time were held once but are gone (a restart from a snapshot without them). */
  markLost(c: ClusterTime): void {
    if (compareTime(c, this.lost) > 0) this.lost = { ...c };
    if (compareTime(c, this.clock) > 0) this.clock = { ...c };
  }

  at(position: number): ChangeEntry | undefined {
    if (position < this.base) return undefined;
    return this.entries[this.head + position - this.base];
  }

  /**
   * The position of the first change after `c`. Throws ChangeStreamHistoryLost (286) when changes after `c` are
   * no longer held, as mongod does when the oplog has rolled past a resume point.
   */
  positionAfter(c: ClusterTime): number {
    if (compareTime(c, this.lost) < 0) throw historyLost();
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareTime(this.entries[mid], c) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return this.base + lo - this.head;
  }

  /** Throws 286 when `position` has been evicted (a stream that fell behind the history). */
  check(position: number): void {
    if (position < this.base) throw historyLost();
  }

  /** Be told (synchronously, inside the writing command) when a change is appended. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The held entries, oldest first (written into a snapshot). */
  *held(): IterableIterator<ChangeEntry> {
    for (let k = this.head; k < this.entries.length; k++) yield this.entries[k];
  }

  private evict(): void {
    const gone = this.entries[this.head];
    this.entries[this.head] = undefined as unknown as ChangeEntry;
    this.head++;
    this.base++;
    this.bytes -= sizeOf(gone);
    this.lost = { t: gone.t, i: gone.i };
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

function sizeOf(e: ChangeEntry): number {
  return ENTRY_OVERHEAD + (e.doc?.byteLength ?? 0) + (e.prev?.byteLength ?? 0);
}

function historyLost(): CommandError {
  return new CommandError(
    ErrorCode.ChangeStreamHistoryLost,
    'Resume of change stream was not possible, as the resume point may no longer be in the oplog.',
  );
}

/** The journal form of an entry's stamp, added to the record of the write. */
export function stampOf(entry: ChangeEntry): Document {
  return { ts: toTimestamp(entry), wall: entry.wall };
}

const PUT_KINDS: Record<string, ChangeKind> = { i: 'insert', u: 'update', r: 'replace' };

const RECORD_KINDS: Record<string, ChangeKind> = {
  del: 'delete',
  dropCollection: 'drop',
  renameCollection: 'rename',
  dropDatabase: 'dropDatabase',
};

/** The kind of change a journal record is, if it is one change streams see. */
export function changeKindOf(r: Document): ChangeKind | undefined {
  if (r.op === 'put')
    return typeof r.ch === 'string' && Object.hasOwn(PUT_KINDS, r.ch) ? PUT_KINDS[r.ch] : undefined;
  return typeof r.op === 'string' && Object.hasOwn(RECORD_KINDS, r.op) ? RECORD_KINDS[r.op] : undefined;
}

/** The change a journal record makes visible to change streams, if any (`prev`: the document it overwrote). */
export function changeOfRecord(
  r: Document,
  at: ClusterTime,
  wall: Date,
  prev?: Uint8Array,
): ChangeEntry | undefined {
  const kind = changeKindOf(r);
  if (!kind) return undefined;
  const base = { t: at.t, i: at.i, wall, db: r.db as string };
  switch (kind) {
    case 'insert':
    case 'update':
    case 'replace': {
      const doc = (r.doc as Binary).value();
      return { ...base, kind, coll: r.coll as string, doc, prev: kind === 'update' ? prev : undefined };
    }
    case 'delete':
      return { ...base, kind, coll: r.coll as string, id: r.id };
    case 'drop':
      return { ...base, kind, coll: r.coll as string };
    case 'rename':
      return {
        ...base,
        kind: 'rename',
        coll: r.coll as string,
        to: { db: r.toDb as string, coll: r.toColl as string },
      };
    case 'dropDatabase':
      return { ...base, kind };
  }
}

/** A held entry as a snapshot record (`op: 'change'`), and back. */
export function changeRecord(e: ChangeEntry): Document {
  const r: Document = { op: 'change', ts: toTimestamp(e), wall: e.wall, kind: e.kind, db: e.db };
  if (e.coll !== undefined) r.coll = e.coll;
  if (e.id !== undefined) r.id = e.id;
  if (e.doc) r.doc = new Binary(e.doc);
  if (e.prev) r.prev = new Binary(e.prev);
  if (e.to) r.to = e.to;
  return r;
}

export function changeFromRecord(r: Document): ChangeEntry {
  const ts = r.ts as Timestamp;
  return {
    t: ts.t,
    i: ts.i,
    wall: r.wall as Date,
    kind: r.kind as ChangeKind,
    db: r.db as string,
    coll: r.coll as string | undefined,
    id: r.id as unknown,
    doc: r.doc ? (r.doc as Binary).value() : undefined,
    prev: r.prev ? (r.prev as Binary).value() : undefined,
    to: r.to as ChangeEntry['to'],
  };
}

export function timeOf(ts: Timestamp): ClusterTime {
  return { t: ts.t, i: ts.i };
}
