/**
 * What changed in the ODTP collections between two positions of the change stream: the documents inserted,
 * updated or replaced, those deleted, the children whose listing parent may have dropped them, and whether a
 * collection was dropped or renamed (then only a full audit knows). Shared by the live watch and incremental audits.
 */
import type { Document, Timestamp } from 'bson';
import type { ChangeStreamDocument, Db } from 'mongodb';
import { MongoServerError } from 'mongodb';
import { COLLECTION_NAMES, OWNERSHIP } from '@odtp/schema';
import type { CollectionName } from '@odtp/schema';
import { IdSet } from '../live/change-scope';

/** The change stream of the ODTP collections (and the events that end a stream). */
export const ODTP_CHANGES: Document[] = [
  {
    $match: {
      $or: [
        { 'ns.coll': { $in: COLLECTION_NAMES } },
        { operationType: { $in: ['invalidate', 'dropDatabase'] } },
      ],
    },
  },
];

const WATCHED = new Set<string>(COLLECTION_NAMES);

/** The paths by which parents list children: parent collection -> [path, child collection]. */
const LISTINGS = new Map<string, [string, CollectionName][]>();
for (const o of OWNERSHIP)
  if (o.kind === 'lists')
    for (const p of o.parents)
      LISTINGS.set(p.collection, [...(LISTINGS.get(p.collection) ?? []), [p.path, o.child]]);

/** The changes read into sets. */
export interface ChangeSets {
  changed: IdSet;
  deleted: IdSet;
  /** Children a listing parent may have stopped listing (a delete, a replace, or an update of the list). */
  unlisted: Set<CollectionName>;
  /** Documents inserted (their existence changed, unlike an update's). */
  appeared: IdSet;
  /** Per collection, the top-level fields updates touched ('*' after a replace). */
  fields: Map<string, Set<string>>;
}

export const newChangeSets = (): ChangeSets => ({
  changed: new IdSet(),
  deleted: new IdSet(),
  unlisted: new Set(),
  appeared: new IdSet(),
  fields: new Map(),
});

function touches(fields: string[], path: string): boolean {
  return fields.some((f) => f === path || f.startsWith(`${path}.`) || path.startsWith(`${f}.`));
}

/**
 * Add one event to the sets; returns why only a full audit can follow it (a drop, rename or dropDatabase of an ODTP
 * collection, an invalidate), else undefined.
 */
export function collectChange(event: ChangeStreamDocument, sets: ChangeSets): string | undefined {
  const coll = (event as { ns?: { coll?: string } }).ns?.coll;
  if (event.operationType === 'dropDatabase' || event.operationType === 'invalidate')
    return `${event.operationType} of the database`;
  if (!coll || !WATCHED.has(coll)) return undefined;
  const collection = coll as CollectionName;
  const id = (event as { documentKey?: { _id: unknown } }).documentKey?._id;
  const listings = LISTINGS.get(collection) ?? [];
  switch (event.operationType) {
    case 'insert':
      sets.deleted.delete(collection, id);
      sets.changed.add(collection, id);
      sets.appeared.add(collection, id);
      return undefined;
    case 'update': {
      sets.deleted.delete(collection, id);
      sets.changed.add(collection, id);
      const d = event.updateDescription;
      const fields = [
        ...Object.keys(d?.updatedFields ?? {}),
        ...(d?.removedFields ?? []),
        ...(d?.truncatedArrays ?? []).map((t) => t.field),
      ];
      for (const [path, child] of listings) if (touches(fields, path)) sets.unlisted.add(child);
      touched(
        sets,
        collection,
        fields.map((f) => f.split('.')[0]),
      );
      return undefined;
    }
    case 'replace':
      sets.deleted.delete(collection, id);
      sets.changed.add(collection, id);
      for (const [, child] of listings) sets.unlisted.add(child);
      touched(sets, collection, ['*']);
      return undefined;
    case 'delete':
      sets.changed.delete(collection, id);
      sets.appeared.delete(collection, id);
      sets.deleted.add(collection, id);
      for (const [, child] of listings) sets.unlisted.add(child);
      return undefined;
    default:
      return `${event.operationType} of ${coll}`;
  }
}

function touched(sets: ChangeSets, collection: string, fields: string[]): void {
  const set = sets.fields.get(collection) ?? new Set<string>();
  for (const f of fields) set.add(f);
  sets.fields.set(collection, set);
}

/** Whether the server has no change streams (a standalone mongod). */
export function noChangeStreams(e: unknown): boolean {
  return (
    e instanceof MongoServerError &&
    (e.code === 40573 ||
      /only supported on replica sets|change streams? (are|is) not supported/i.test(e.message))
  );
}

/** The change stream's position now (taken before an audit reads), or undefined without change streams. */
export async function currentPosition(db: Db): Promise<Document | undefined> {
  const stream = db.watch(ODTP_CHANGES, { maxAwaitTimeMS: 1 });
  try {
    await stream.tryNext();
    return stream.resumeToken as Document;
  } catch (e) {
    if (noChangeStreams(e)) return undefined;
    throw e;
  } finally {
    await stream.close().catch(() => undefined);
  }
}

export interface ChangeWindow extends ChangeSets {
  events: number;
  /** Where the window ends: the next window starts after it. */
  position: Document;
  /** Why only a full audit can follow (a structural change, or more changed documents than `maxDocuments`). */
  full?: string;
}

/**
 * The changes after `from` up to now (events stamped after `until`, the server's clock, end the read; so does a
 * caught-up stream). Stops early when more than `maxDocuments` documents changed. Throws the server's error 286
 * when the history no longer holds `from`.
 */
export async function changesSince(
  db: Db,
  from: Document,
  options: { until: Date; maxDocuments: number; signal?: AbortSignal },
): Promise<ChangeWindow> {
  const sets = newChangeSets();
  const untilSeconds = Math.floor(options.until.getTime() / 1000);
  const stream = db.watch(ODTP_CHANGES, { startAfter: from, maxAwaitTimeMS: 1, batchSize: 1000 });
  let events = 0;
  try {
    for (;;) {
      if (options.signal?.aborted) throw options.signal.reason;
      const event = (await stream.tryNext()) as ChangeStreamDocument | null;
      if (!event) break;
      events++;
      const full = collectChange(event, sets);
      if (full) return { ...sets, events, position: stream.resumeToken as Document, full };
      if (sets.changed.size + sets.deleted.size > options.maxDocuments)
        return {
          ...sets,
          events,
          position: stream.resumeToken as Document,
          full: `more than ${options.maxDocuments.toLocaleString('en-US')} documents changed`,
        };
      const at = (event as { clusterTime?: Timestamp }).clusterTime;
      if (at && at.getHighBitsUnsigned() > untilSeconds) break;
    }
    return { ...sets, events, position: stream.resumeToken as Document };
  } finally {
    await stream.close().catch(() => undefined);
  }
}
