import type { Document } from 'bson';
import type { ClientSession, Collection, Db, Filter } from 'mongodb';
import { supportsTransactions } from '@odtp/database';
import { idStringsToObjectIds, objectIdsToStrings, referenceGraph } from '@odtp/schema';
import { RepairCancelledError } from './errors';
import type { RepairJournal } from './journal';
import { hex } from './repair-rules';
import type { RepairAction } from './repair-rules';

const EDGES = referenceGraph();

/** Collections and paths that point at documents of `collection` (for "still referenced?" before removing one). */
async function referencedBy(db: Db, collection: string, id: unknown): Promise<string | undefined> {
  for (const e of EDGES.filter((x) => x.to === collection)) {
    const candidates = [id, hex(id)].filter((x) => x !== undefined);
    const hit = await db
      .collection(e.from)
      .findOne({ [e.path]: { $in: candidates } } as Filter<Document>, { projection: { _id: 1 } });
    if (hit) return `${e.from}.${e.path} of ${hex(hit._id) ?? String(hit._id)}`;
  }
  return undefined;
}

/**
 * Apply actions, journaling each changed document's before-image first and its after-image once changed. Where the
 * server runs transactions, each action (journal entry, quarantine copy, change, after-image) is one transaction:
 * a failure part-way leaves the document and its journal as they were, so undo restores exactly what was done.
 */
export async function applyActions(
  db: Db,
  journal: RepairJournal,
  runId: string,
  actions: RepairAction[],
  skipped: RepairAction[],
  control: { signal?: AbortSignal; onApplied?: (applied: number) => void } = {},
): Promise<number> {
  const transactions = await supportsTransactions(db);
  let applied = 0;
  for (const a of actions) {
    // between actions only: each action and its journal entries are written together or not at all
    if (control.signal?.aborted) throw new RepairCancelledError();
    if (a.kind === 'manual') {
      skipped.push(a);
      continue;
    }
    if (a.kind === 'quarantine' || a.kind === 'delete') {
      const holder = await referencedBy(db, a.collection, a.docId);
      if (holder) {
        skipped.push({ ...a, kind: 'manual', reason: `${a.reason}; kept: still referenced by ${holder}` });
        continue;
      }
    }
    const done = await atomically(db, transactions, journal, (session) =>
      applyJournaled(db, journal, runId, a, session),
    );
    if (done) control.onApplied?.(++applied);
  }
  return applied;
}

/** `work` in a transaction (retried on transient errors) when the server has them, else as it comes. */
async function atomically<T>(
  db: Db,
  transactions: boolean,
  journal: RepairJournal,
  work: (session?: ClientSession) => Promise<T>,
): Promise<T> {
  if (!transactions) {
    const result = await work(undefined);
    journal.commit();
    return result;
  }
  const session = db.client.startSession();
  try {
    let result: T | undefined;
    await session.withTransaction(async () => {
      journal.rollback(); // a retried attempt journals again
      result = await work(session);
    });
    journal.commit();
    return result as T;
  } catch (e) {
    journal.rollback();
    throw e;
  } finally {
    await session.endSession();
  }
}

/** One action with its journal entries; false when its document is gone. */
async function applyJournaled(
  db: Db,
  journal: RepairJournal,
  runId: string,
  a: RepairAction,
  session?: ClientSession,
): Promise<boolean> {
  const coll = db.collection(a.collection);
  const filter = { _id: a.docId } as Filter<Document>;
  const before = await coll.findOne(filter, { session });
  if (!before) return false;
  await journal.before(a.collection, a.docId, before, session);
  if (a.kind === 'quarantine') {
    const name = `${a.collection}_quarantine`;
    const q = db.collection(name);
    await journal.before(name, a.docId, await q.findOne(filter, { session }), session);
    await q.replaceOne(
      filter,
      { ...before, _quarantine: { runId, reason: a.reason, at: new Date() } },
      { upsert: true, session },
    );
    await journal.after(name, a.docId, session);
  }
  await applyOne(coll, filter, a, before, session);
  await journal.after(a.collection, a.docId, session);
  return true;
}

/** The change of one action to its document (quarantine's copy is made by the caller). */
async function applyOne(
  coll: Collection,
  filter: Filter<Document>,
  a: RepairAction,
  before: Document,
  session?: ClientSession,
): Promise<void> {
  const options = { session };
  const top = a.path?.split('.')[0] ?? '';
  const rest = a.path?.split('.').slice(1) ?? [];
  switch (a.kind) {
    case 'pull':
      await coll.updateOne(filter, { $pull: { [a.path!]: a.value } } as Document, options);
      break;
    case 'unset':
      await coll.updateOne(filter, { $unset: { [a.path!]: '' } }, options);
      break;
    case 'convert':
      await coll.updateOne(filter, { $set: { [top]: idStringsToObjectIds(before[top], rest) } }, options);
      break;
    case 'stringify':
      await coll.updateOne(filter, { $set: { [top]: objectIdsToStrings(before[top], rest) } }, options);
      break;
    case 'add-to-set':
      await coll.updateOne(filter, { $addToSet: { [a.path!]: a.value } } as Document, options);
      break;
    case 'set':
    case 'rename-key':
      await coll.updateOne(filter, { $set: { [a.path!]: a.value } }, options);
      break;
    case 'quarantine':
    case 'delete':
      await coll.deleteOne(filter, options);
      break;
    case 'manual':
      break;
  }
}
