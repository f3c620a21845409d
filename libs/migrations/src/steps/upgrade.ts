import { ObjectId } from 'bson';
import type { Document } from 'bson';
import type { Db, Filter } from 'mongodb';
import type { AppLevel } from '@odtp/config';
import { appContract, idForm, referenceGraph } from '@odtp/schema';
import type { CollectionName } from '@odtp/schema';
import { getPath, rewriteDocuments } from '../documents';
import { MigrationError, MigrationErrorCode } from '../errors';
import type { Step } from '../migration';

/** Documents in an older release's shape inserted recently, at one path: it is still writing. */
export interface LegacyWrite {
  collection: CollectionName;
  path: string;
  /** What gives it away: "a string stepRef", "createdAt". */
  what: string;
  count: number;
  /** When the newest of them was inserted (its ObjectId's time). */
  newest: Date;
}

/** A value that is a string, not the string half of a both-forms pair. */
const loneString = (p: string): Document => ({
  $and: [{ [p]: { $type: 'string' } }, { [p]: { $not: { $type: 'array' } } }],
});

/**
 * What only `legacy` writes, compared with the release that follows it: references it writes as strings where the
 * newer release writes another form, and the fields it writes that the newer one does not.
 */
export function legacyShapes(
  legacy: AppLevel = 'odtp-0.5',
  newer: AppLevel = 'transition',
): { collection: CollectionName; path: string; what: string; filter: Document }[] {
  const old = appContract(legacy);
  const next = appContract(newer);
  const scalar = new Set(
    referenceGraph()
      .filter((e) => !e.many)
      .map((e) => `${e.from}.${e.path}`),
  );
  const out: { collection: CollectionName; path: string; what: string; filter: Document }[] = [];
  for (const [collection, c] of Object.entries(old.collections) as [
    CollectionName,
    NonNullable<(typeof old.collections)[CollectionName]>,
  ][]) {
    for (const [path, r] of Object.entries(c.references ?? {})) {
      if (!r.writes.includes('string') || idForm(next, collection, path) === 'string') continue;
      out.push({
        collection,
        path,
        what: `a string ${path}`,
        filter: scalar.has(`${collection}.${path}`) ? loneString(path) : { [path]: { $type: 'string' } },
      });
    }
    for (const path of Object.keys(c.fields ?? {}))
      if (!next.collections[collection]?.fields?.[path])
        out.push({ collection, path, what: path, filter: { [path]: { $exists: true } } });
  }
  return out;
}

/**
 * Documents inserted since `since` in the shape only `legacy` writes (by their ObjectId's time: ODTP's drivers
 * make `_id`s as they insert), per collection and path.
 */
export async function legacyWrites(
  db: Db,
  since: Date,
  legacy: AppLevel = 'odtp-0.5',
  maxTimeMS?: number,
): Promise<LegacyWrite[]> {
  const recent = { _id: { $gte: ObjectId.createFromTime(Math.floor(since.getTime() / 1000)) } };
  const out: LegacyWrite[] = [];
  for (const shape of legacyShapes(legacy)) {
    const filter = { $and: [recent, shape.filter] } as Filter<Document>;
    const coll = db.collection(shape.collection);
    const count = await coll.countDocuments(filter, { maxTimeMS });
    if (!count) continue;
    const [newest] = await coll
      .find(filter, { projection: { _id: 1 }, sort: { _id: -1 }, limit: 1, maxTimeMS })
      .toArray();
    out.push({
      collection: shape.collection,
      path: shape.path,
      what: shape.what,
      count,
      newest: newest._id instanceof ObjectId ? newest._id.getTimestamp() : since,
    });
  }
  return out;
}

export function legacyWritesText(writes: readonly LegacyWrite[], windowS: number): string {
  return writes
    .map((w) => `${w.count} document(s) with ${w.what} in ${w.collection} (newest ${w.newest.toISOString()})`)
    .concat([])
    .join('; ')
    .concat(` inserted in the last ${windowS} s (UPGRADE_WRITER_WINDOW_S)`);
}

/**
 * The end of an upgrade refuses to start while the older release still writes: documents in its shape inserted
 * within the window mean one of its clients still runs, and the target shapes would hide documents from it.
 */
export function refuseWhileLegacyWriters(legacy: AppLevel = 'odtp-0.5'): Step {
  return {
    title: `no ${legacy} client seen writing`,
    async run(ctx) {
      const windowS = ctx.upgradeWriterWindowS ?? 86_400;
      const writes = await legacyWrites(ctx.db, new Date(Date.now() - windowS * 1000), legacy);
      if (!writes.length) return {};
      const message = `an ${appContract(legacy).application} client is still running: ${legacyWritesText(writes, windowS)}; retire every one, then run again (see odtp-db upgrade plan)`;
      if (ctx.dryRun) {
        ctx.report.note(writes[0].collection, null, writes[0].path, message);
        return {};
      }
      throw new MigrationError(MigrationErrorCode.Refused, message, {
        legacyWrites: writes.map((w) => ({ ...w, newest: w.newest.toISOString() })),
      });
    },
  };
}

/**
 * createdAt/updatedAt folded into created_at/updated_at, for documents an older release went on writing after the
 * rename: the creation time that was there first stays, the later of the two update times wins.
 */
export function mergeCamelCaseTimestamps(collection: string): Step {
  return {
    title: `${collection}: createdAt/updatedAt folded into created_at/updated_at`,
    run: (ctx) =>
      rewriteDocuments(
        ctx,
        collection,
        { $or: [{ createdAt: { $exists: true } }, { updatedAt: { $exists: true } }] },
        (doc) => {
          const $set: Document = {};
          const created = getPath(doc, 'createdAt');
          const updated = getPath(doc, 'updatedAt');
          if (created !== undefined && getPath(doc, 'created_at') === undefined) $set.created_at = created;
          const current = getPath(doc, 'updated_at');
          if (updated instanceof Date && (!(current instanceof Date) || updated > current))
            $set.updated_at = updated;
          else if (updated !== undefined && current === undefined) $set.updated_at = updated;
          return { $set, $unset: { createdAt: '', updatedAt: '' } };
        },
        { projection: { createdAt: 1, updatedAt: 1, created_at: 1, updated_at: 1 } },
      ),
  };
}
