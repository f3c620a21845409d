import { EJSON } from 'bson';
import type { Document } from 'bson';
import type { ClientSession, Db, Filter } from 'mongodb';
import { supportsTransactions } from '@odtp/database';
import { DomainError, HTTP } from '@odtp/errors';

export const JOURNAL_COLLECTION = 'repairJournal';
/** One document per repair run: what was asked, how it ended, and whether it was undone. */
export const RUNS_COLLECTION = 'repairRuns';

export const REPAIR_ERROR_CODES = ['UNKNOWN_REPAIR_RUN', 'UNDO_CONFLICT', 'ALREADY_UNDONE'] as const;
export type RepairErrorCode = (typeof REPAIR_ERROR_CODES)[number];

export class RepairError extends DomainError {
  declare readonly code: RepairErrorCode;

  constructor(
    message: string,
    code: RepairErrorCode = 'UNKNOWN_REPAIR_RUN',
    details: Record<string, unknown> = {},
  ) {
    super(
      { code, httpStatus: code === 'UNKNOWN_REPAIR_RUN' ? HTTP.notFound : HTTP.conflict, exitCode: 2 },
      message,
      details,
    );
  }
}

/** A document changed since the repair run changed it: undo leaves it alone (unless forced). */
export interface UndoConflict {
  collection: string;
  docId: unknown;
  reason: string;
}

export interface UndoResult {
  restored: number;
  /** Documents undo left alone because they changed after the run (restored anyway with force). */
  conflicts: UndoConflict[];
}

const same = (a: unknown, b: unknown): boolean =>
  EJSON.stringify({ v: a as Document }, { relaxed: false }) ===
  EJSON.stringify({ v: b as Document }, { relaxed: false });

/**
 * The journal of one repair run: for every document it changes, the before-image (written before the first change)
 * and the after-image (written after each change). A crash between the two leaves an entry without an after-image,
 * which undo treats with care (see undoRepair).
 */
export class RepairJournal {
  private readonly journaled = new Set<string>();
  /** Keys journaled in the open transaction: kept by commit(), forgotten by rollback(). */
  private pending = new Set<string>();
  private seq = 0;

  constructor(
    private readonly db: Db,
    private readonly runId: string,
  ) {}

  private key(collection: string, id: unknown): string {
    return `${collection}|${EJSON.stringify({ id: id as Document })}`;
  }

  /** Keep the before-image of a document about to change (once per run). */
  async before(
    collection: string,
    id: unknown,
    image: Document | null,
    session?: ClientSession,
  ): Promise<void> {
    const key = this.key(collection, id);
    if (this.journaled.has(key) || this.pending.has(key)) return;
    this.pending.add(key);
    await this.db.collection(JOURNAL_COLLECTION).insertOne(
      {
        runId: this.runId,
        seq: this.seq++,
        collection,
        docId: id,
        before: image,
        at: new Date(),
      },
      { session },
    );
  }

  /** Record the document as the change left it (null: deleted). */
  async after(collection: string, id: unknown, session?: ClientSession): Promise<void> {
    const now = await this.db.collection(collection).findOne({ _id: id } as Filter<Document>, { session });
    await this.db
      .collection(JOURNAL_COLLECTION)
      .updateOne(
        { runId: this.runId, collection, docId: id } as Filter<Document>,
        { $set: { after: now } },
        { session },
      );
  }

  /** The writes since the last commit or rollback are durable. */
  commit(): void {
    for (const k of this.pending) this.journaled.add(k);
    this.pending = new Set();
  }

  /** The writes since the last commit were rolled back (an aborted transaction). */
  rollback(): void {
    this.pending = new Set();
  }
}

/** Documents restored per transaction by undo. */
export const UNDO_TRANSACTION_DOCS = 1000;

interface Work {
  collection: string;
  docId: unknown;
  before: Document | null;
}

/**
 * Undo a repair run from its journal, newest change first. A document is restored to its before-image only while
 * it is still as the run left it (its after-image). One changed since is a conflict: conflicts are listed and
 * nothing is restored (409 / exit 2), unless `force` restores everything. An entry without an after-image (the run
 * stopped between journaling a document and changing it) needs nothing when the document still equals its
 * before-image, and is a conflict otherwise. A run can be undone once.
 */
export async function undoRepair(
  db: Db,
  runId: string,
  options: { force?: boolean } = {},
): Promise<UndoResult> {
  const journal = db.collection(JOURNAL_COLLECTION);
  const entries = await journal.find({ runId }, { sort: { seq: -1 } }).toArray();
  if (!entries.length)
    throw new RepairError(`unknown repair run "${runId}" (nothing in ${JOURNAL_COLLECTION})`);
  const undone = entries.find((e) => e.undoneAt instanceof Date);
  if (undone)
    throw new RepairError(
      `repair run ${runId} was already undone (${(undone.undoneAt as Date).toISOString()}); undoing it again would overwrite later changes`,
      'ALREADY_UNDONE',
    );
  const conflicts: UndoConflict[] = [];
  const work: Work[] = [];
  for (const e of entries) {
    const collection = e.collection as string;
    const current = await db.collection(collection).findOne({ _id: e.docId } as Filter<Document>);
    const before = (e.before ?? null) as Document | null;
    // as before the run already (an undo that stopped part-way, or a change that never happened): nothing to do
    if (same(current, before)) continue;
    if ('after' in e && same(current, e.after)) work.push({ collection, docId: e.docId, before });
    else
      conflicts.push({
        collection,
        docId: e.docId,
        reason:
          'after' in e
            ? 'changed after the repair run (undo would overwrite that change)'
            : 'the run stopped between journaling and changing it, and it differs from its before-image',
      });
  }
  if (conflicts.length && !options.force)
    throw new RepairError(
      `undo of repair run ${runId} refused, nothing restored: ${conflicts.length} document(s) changed since the run (${conflicts
        .slice(0, 5)
        .map((c) => `${c.collection} ${EJSON.stringify({ id: c.docId as Document }).slice(6, -1)}`)
        .join(', ')}${conflicts.length > 5 ? ', …' : ''}); use --force (API: force) to restore them anyway`,
      'UNDO_CONFLICT',
      { conflicts: conflicts.slice(0, 100) },
    );
  if (options.force) for (const c of conflicts) work.push({ ...c, before: entryBefore(entries, c) });
  // Documents come back before the copies that replaced them go (a quarantined document is restored, then its
  // quarantine copy deleted): even without transactions a failure part-way never leaves a document in neither place.
  const ordered = [...work.filter((w) => w.before !== null), ...work.filter((w) => w.before === null)];
  const undoneAt = new Date();
  const restore = async (part: Work[], last: boolean, session?: ClientSession): Promise<void> => {
    for (const w of part) {
      const coll = db.collection(w.collection);
      const filter = { _id: w.docId } as Filter<Document>;
      if (w.before === null) await coll.deleteOne(filter, { session });
      // a before-image was in the database before the run: the validator applied since must not keep it out
      else await coll.replaceOne(filter, w.before, { upsert: true, bypassDocumentValidation: true, session });
    }
    if (!last) return;
    await journal.updateMany({ runId }, { $set: { undoneAt } }, { session });
    await db
      .collection(RUNS_COLLECTION)
      .updateOne({ _id: runId as never }, { $set: { undoneAt } }, { session });
  };
  // In transactions where the server has them: an undo of up to UNDO_TRANSACTION_DOCS documents that fails
  // part-way leaves everything as it was; a larger one goes in parts of that size, and undo run again resumes it
  // (what is already restored equals its before-image and is skipped).
  const parts: Work[][] = [];
  for (let i = 0; i < ordered.length; i += UNDO_TRANSACTION_DOCS)
    parts.push(ordered.slice(i, i + UNDO_TRANSACTION_DOCS));
  if (!parts.length) parts.push([]);
  const transactions = await supportsTransactions(db);
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    if (!transactions) {
      await restore(part, last);
      continue;
    }
    const session = db.client.startSession();
    try {
      await session.withTransaction(() => restore(part, last, session));
    } finally {
      await session.endSession();
    }
  }
  for (const name of new Set(entries.map((e) => e.collection as string)))
    if (name.endsWith('_quarantine') && (await db.collection(name).estimatedDocumentCount()) === 0)
      await db
        .collection(name)
        .drop()
        .catch(() => undefined);
  return { restored: work.length, conflicts: options.force ? conflicts : [] };
}

function entryBefore(entries: Document[], c: UndoConflict): Document | null {
  const e = entries.find((x) => x.collection === c.collection && same(x.docId, c.docId));
  return (e?.before ?? null) as Document | null;
}
