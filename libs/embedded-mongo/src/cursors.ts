import { calculateObjectSize, Long } from 'bson';
import type { Document } from 'bson';
import { CommandError, ErrorCode } from './errors';
import { RawDocument } from './raw-bson';

const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 16 * 1024;
const IDLE_TIMEOUT_MS = 10 * 60 * 1000;
/**
 * A getMore without batchSize may fill 16 MiB (mongod's rule), which for small projected documents is hundreds of
 * thousands of objects that outlive the young generation. Capping the count keeps that garbage short-lived;
 * drivers accept any batch size.
 */
const IMPLICIT_BATCH_DOCS = 10_000;

/**
 * Yielded now and then by a scan that finds few matches. A batch stops at the first pause after
 * BATCH_TIME_BUDGET_MS (even empty, with the cursor open, as mongod may answer), so one sparse scan of a large
 * collection does not hold the single-threaded server while other clients wait.
 */
export const SCAN_PAUSE: Document = Object.freeze({ $scanPause: true });
const BATCH_TIME_BUDGET_MS = 10;

/** Yielded by a tailable source (a change stream) that has nothing more for now: the batch ends, the cursor stays. */
export const CAUGHT_UP: Document = Object.freeze({ $caughtUp: true });

/** Set on a getMore reply of an awaitData cursor that found nothing: the server may hold it until data comes. */
export const AWAIT_DATA = Symbol('awaitData');

export function awaitsData(reply: Document): boolean {
  return (reply as { [AWAIT_DATA]?: boolean })[AWAIT_DATA] === true;
}

/** A tailable, awaitData cursor (change streams): every batch carries the resume token of where it ended. */
export interface Tailable {
  resumeToken(): Document;
}

/**
 * The time budget of one operation (`maxTimeMS`), as mongod counts it: the time the server spends on it, across
 * the getMores of its cursor (not the time a client takes between them). Scans check it every few hundred
 * documents; past it the operation fails with code 50 MaxTimeMSExpired and its cursor is closed.
 */
export class TimeLimit {
  private deadline = Number.POSITIVE_INFINITY;

  constructor(private remainingMs: number) {}

  /** The limit a command asks for (`maxTimeMS` > 0), or none. */
  static of(cmd: Document): TimeLimit | undefined {
    const ms = cmd.maxTimeMS as unknown;
    if (ms === undefined || ms === null) return undefined;
    const n = typeof ms === 'number' ? ms : Number((ms as { valueOf(): unknown }).valueOf());
    if (!Number.isFinite(n) || n < 0 || !Number.isInteger(n))
      throw new CommandError(
        ErrorCode.BadValue,
        `maxTimeMS must be a non-negative integer (got ${String(ms)})`,
      );
    return n === 0 ? undefined : new TimeLimit(n);
  }

  start(): void {
    this.deadline = performance.now() + this.remainingMs;
  }

  pause(): void {
    this.remainingMs = Math.max(0, this.deadline - performance.now());
    this.deadline = Number.POSITIVE_INFINITY;
  }

  check(): void {
    if (performance.now() > this.deadline)
      throw new CommandError(ErrorCode.MaxTimeMSExpired, 'operation exceeded time limit');
  }
}

/** The limit of the operation running now (the server runs one command at a time). */
let running: TimeLimit | undefined;

/** Run `fn` as (part of) the operation limited by `limit`. */
export function withTimeLimit<T>(limit: TimeLimit | undefined, fn: () => T): T {
  const previous = running;
  running = limit;
  limit?.start();
  try {
    return fn();
  } finally {
    limit?.pause();
    running = previous;
  }
}

/** Throws MaxTimeMSExpired when the running operation is past its limit. */
export function checkTimeLimit(): void {
  running?.check();
}

interface CursorState {
  id: number;
  ns: string;
  source: Iterator<Document>;
  remaining: number;
  lastUsed: number;
  sessionKey?: string;
  /** The time budget left of the operation that opened it. */
  limit?: TimeLimit;
  tailable?: Tailable;
}

/** Open cursors of the server: batching, getMore, killCursors and the 10-minute idle timeout. */
export class CursorRegistry {
  private readonly cursors = new Map<number, CursorState>();
  private readonly timer: NodeJS.Timeout;

  /** `clock` is injectable so the idle timeout can be tested without racing the wall clock. */
  constructor(
    private readonly idleTimeoutMs = IDLE_TIMEOUT_MS,
    private readonly clock: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.reap(), Math.min(60_000, idleTimeoutMs)).unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.cursors.clear();
  }

  get size(): number {
    return this.cursors.size;
  }

  reap(now = this.clock()): number {
    let n = 0;
    for (const [id, c] of this.cursors) {
      if (now - c.lastUsed > this.idleTimeoutMs) {
        this.cursors.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Build the first batch; registers a cursor when documents remain. */
  open(
    ns: string,
    source: Iterable<Document>,
    opts: {
      batchSize?: number;
      limit?: number;
      singleBatch?: boolean;
      sessionKey?: string;
      tailable?: Tailable;
    },
  ): Document {
    const it = source[Symbol.iterator]();
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Number.POSITIVE_INFINITY;
    const batchSize = opts.batchSize ?? 101;
    const { batch, exhausted } = takeBatch(it, Math.min(batchSize, limit), !opts.singleBatch);
    const remaining = limit - batch.length;
    let id = 0;
    if (!exhausted && !opts.singleBatch && remaining > 0) {
      id = this.newId();
      this.cursors.set(id, {
        id,
        ns,
        source: it,
        remaining,
        lastUsed: this.clock(),
        sessionKey: opts.sessionKey,
        limit: running,
        tailable: opts.tailable,
      });
    }
    const cursor: Document = { firstBatch: batch };
    if (opts.tailable) cursor.postBatchResumeToken = opts.tailable.resumeToken();
    return { cursor: Object.assign(cursor, { id: Long.fromNumber(id), ns }), ok: 1 };
  }

  /**
   * The next batch of a cursor. A cursor belongs to the session that opened it (mongod's rule): a getMore from
   * another session, or without one, is refused (50736, 50737, 50738) and the cursor stays as it was.
   */
  getMore(
    rawId: unknown,
    collection: string,
    dbName: string,
    batchSize?: number,
    sessionKey?: string,
  ): Document {
    const id = Long.isLong(rawId) ? rawId.toNumber() : Number(rawId);
    const c = this.cursors.get(id);
    if (!c) throw new CommandError(ErrorCode.CursorNotFound, `cursor id ${id} not found`);
    checkSession(c, sessionKey);
    const expected = `${dbName}.${collection}`;
    if (c.ns !== expected && !c.ns.startsWith(`${dbName}.$cmd`)) {
      throw new CommandError(
        ErrorCode.Unauthorized,
        `Requested getMore on namespace '${expected}', but cursor belongs to a different namespace ${c.ns}`,
      );
    }
    let taken: { batch: Document[]; exhausted: boolean };
    try {
      taken = withTimeLimit(c.limit, () =>
        takeBatch(
          c.source,
          Math.min(batchSize && batchSize > 0 ? batchSize : IMPLICIT_BATCH_DOCS, c.remaining),
          true,
        ),
      );
    } catch (e) {
      this.cursors.delete(id);
      throw e;
    }
    const { batch, exhausted } = taken;
    c.remaining -= batch.length;
    c.lastUsed = this.clock();
    const done = exhausted || c.remaining <= 0;
    if (done) this.cursors.delete(id);
    const cursor: Document = { nextBatch: batch };
    if (c.tailable) cursor.postBatchResumeToken = c.tailable.resumeToken();
    const reply: Document = {
      cursor: Object.assign(cursor, { id: Long.fromNumber(done ? 0 : id), ns: c.ns }),
      ok: 1,
    };
    if (c.tailable && !done && batch.length === 0) Object.defineProperty(reply, AWAIT_DATA, { value: true });
    return reply;
  }

  /** Kill cursors of the caller's session; another session's cursor is not found from this one (and lives on). */
  kill(ids: unknown[], sessionKey?: string): Document {
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const raw of ids) {
      const id = Long.isLong(raw) ? raw.toNumber() : Number(raw);
      const c = this.cursors.get(id);
      const mine = c !== undefined && c.sessionKey === sessionKey;
      if (mine) this.cursors.delete(id);
      (mine ? killed : notFound).push(Long.fromNumber(id));
    }
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  }

  killSession(sessionKey: string): void {
    for (const [id, c] of this.cursors) if (c.sessionKey === sessionKey) this.cursors.delete(id);
  }

  private newId(): number {
    let id: number;
    do id = Math.floor(Math.random() * 2 ** 52) + 1;
    while (this.cursors.has(id));
    return id;
  }
}

function checkSession(c: CursorState, sessionKey: string | undefined): void {
  if (c.sessionKey === sessionKey) return;
  if (c.sessionKey === undefined)
    throw new CommandError(
      ErrorCode.Location50736,
      `Cannot run getMore on cursor ${c.id}, which was not created in a session, in session ${sessionKey}`,
    );
  if (sessionKey === undefined)
    throw new CommandError(
      ErrorCode.Location50737,
      `Cannot run getMore on cursor ${c.id}, which was created in session ${c.sessionKey}, without an lsid`,
    );
  throw new CommandError(
    ErrorCode.Location50738,
    `Cannot run getMore on cursor ${c.id}, which was created in session ${c.sessionKey}, in session ${sessionKey}`,
  );
}

function takeBatch(
  it: Iterator<Document>,
  max: number,
  mayPause: boolean,
): { batch: Document[]; exhausted: boolean } {
  const batch: Document[] = [];
  const started = performance.now();
  let bytes = 0;
  while (batch.length < max) {
    const next = it.next();
    if (next.done) return { batch, exhausted: true };
    if (next.value === CAUGHT_UP) break;
    if (next.value === SCAN_PAUSE) {
      if (mayPause && performance.now() - started > BATCH_TIME_BUDGET_MS) break;
      continue;
    }
    batch.push(next.value);
    bytes += next.value instanceof RawDocument ? next.value.bytes.length : calculateObjectSize(next.value);
    if (bytes >= MAX_BATCH_BYTES) break;
  }
  return { batch, exhausted: false };
}
