import { ObjectId } from 'bson';
import type { Document } from 'bson';
import { parseLegacyDate } from '@odtp/dump';
import { idStringsToObjectIds } from '@odtp/schema';
import type { CollectionName, SchemaEffect } from '@odtp/schema';
import { getPath, rewriteDocuments } from '../documents';
import type { MigrationContext, Step } from '../migration';

function projectionOf(paths: readonly string[]): Document {
  return Object.fromEntries([...new Set(paths.map((p) => p.split('.')[0]))].map((k) => [k, 1]));
}

/**
 * Reference values stored as 24-hex strings become ObjectIds at each path (scalars, array elements, nested
 * paths, arrays of sub-documents). Strings that are not ids are left untouched and listed in the report.
 */
export function referencesToObjectId(collection: string, paths: readonly string[]): Step {
  return {
    title: `${collection}: string ids -> ObjectId in ${paths.join(', ')}`,
    run: (ctx) =>
      rewriteDocuments(
        ctx,
        collection,
        { $or: paths.map((p) => ({ [p]: { $type: 'string' } })) },
        (doc) => {
          const $set: Document = {};
          const byTop = new Map<string, string[]>();
          for (const p of paths) {
            const top = p.split('.')[0];
            byTop.set(top, [...(byTop.get(top) ?? []), p]);
          }
          for (const [top, ps] of byTop) {
            let value: unknown = doc[top];
            if (value === undefined) continue;
            let converted = false;
            for (const p of ps) {
              const before: unknown = value;
              value = idStringsToObjectIds(value, p.split('.').slice(1), (bad) =>
                ctx.report.note(
                  collection,
                  doc._id,
                  p,
                  `not an ObjectId (${JSON.stringify(bad.slice(0, 40))}): left as is`,
                ),
              );
              if (before !== value) converted ||= changedIds(before, value);
            }
            if (converted) $set[top] = value;
          }
          return { $set };
        },
        { projection: projectionOf(paths) },
      ),
  };
}

/** The effects of converting string references at these paths (what a migration declares it affects). */
export function referenceEffects(paths: Partial<Record<CollectionName, readonly string[]>>): SchemaEffect[] {
  return (Object.entries(paths) as [CollectionName, readonly string[]][]).flatMap(([collection, ps]) =>
    ps.map((path) => ({ collection, path, change: 'reference-to-objectid' as const })),
  );
}

/** One referencesToObjectId step per collection of `paths`. */
export function referenceSteps(paths: Partial<Record<CollectionName, readonly string[]>>): Step[] {
  return (Object.entries(paths) as [CollectionName, readonly string[]][]).map(([collection, ps]) =>
    referencesToObjectId(collection, ps),
  );
}

/** Whether conversion produced at least one new ObjectId (structural copies alone do not count). */
function changedIds(before: unknown, after: unknown): boolean {
  if (typeof before === 'string' && after instanceof ObjectId) return true;
  if (Array.isArray(before) && Array.isArray(after)) return before.some((b, i) => changedIds(b, after[i]));
  if (before && after && typeof before === 'object' && typeof after === 'object')
    return Object.keys(before).some((k) => changedIds((before as Document)[k], (after as Document)[k]));
  return false;
}

/** Date strings (ISO 8601 or Python's `str(datetime)`, naive = UTC) become Dates; anything else is reported. */
export function dateStringsToDates(collection: string, fields: readonly string[]): Step {
  return {
    title: `${collection}: date strings -> Date in ${fields.join(', ')}`,
    run: (ctx) =>
      rewriteDocuments(
        ctx,
        collection,
        { $or: fields.map((f) => ({ [f]: { $type: 'string' } })) },
        (doc) => {
          const $set: Document = {};
          for (const f of fields) {
            const v: unknown = doc[f];
            if (typeof v !== 'string') continue;
            const d = parseLegacyDate(v);
            if (d) $set[f] = d;
            else
              ctx.report.note(
                collection,
                doc._id,
                f,
                `not a date (${JSON.stringify(v.slice(0, 40))}): left as is`,
              );
          }
          return { $set };
        },
        { projection: projectionOf(fields) },
      ),
  };
}

/** A single value at `path` becomes a one-element array; null elements (never a user) are dropped and counted. */
export function scalarToArray(collection: string, path: string): Step {
  return {
    title: `${collection}: ${path} as an array`,
    run: (ctx) =>
      rewriteDocuments(
        ctx,
        collection,
        { $or: [{ [path]: { $exists: true, $not: { $type: 'array' } } }, { [path]: null }] },
        (doc) => {
          const value = getPath(doc, path);
          if (value === undefined) return null;
          if (Array.isArray(value)) {
            const kept = value.filter((v) => v !== null);
            if (kept.length === value.length) return null;
            ctx.report.note(collection, doc._id, path, 'null entries removed');
            return { $set: { [path]: kept } };
          }
          if (value === null) {
            ctx.report.note(collection, doc._id, path, 'null replaced by an empty array');
            return { $set: { [path]: [] } };
          }
          return { $set: { [path]: [value] } };
        },
        { projection: { [path]: 1 } },
      ),
  };
}

/** Undo of scalarToArray: one-element arrays become the single value again (what older ODTP versions read). */
export function singleElementArrayToScalar(collection: string, path: string): Step {
  return {
    title: `${collection}: one-element ${path} arrays as a single value`,
    run: (ctx) =>
      rewriteDocuments(
        ctx,
        collection,
        { [path]: { $size: 1 } },
        (doc) => {
          const value = getPath(doc, path);
          return Array.isArray(value) && value.length === 1
            ? { $set: { [path]: value[0] as unknown } }
            : null;
        },
        { projection: { [path]: 1 } },
      ),
  };
}

/** Set `field` to `value` in every document of the collections where it is missing. */
export function defaultValue(collections: readonly string[], field: string, value: unknown): Step {
  return {
    title: `${field}: ${JSON.stringify(value)} where missing in ${collections.join(', ')}`,
    async run(ctx: MigrationContext) {
      const out: Record<string, number> = {};
      for (const c of collections) {
        const filter = { [field]: { $exists: false } };
        const coll = ctx.db.collection(c);
        out[c] = ctx.dryRun
          ? await coll.countDocuments(filter, { session: ctx.session })
          : (await coll.updateMany(filter, { $set: { [field]: value } }, { session: ctx.session }))
              .modifiedCount;
      }
      return out;
    },
  };
}
