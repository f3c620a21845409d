import { ObjectId } from 'bson';
import type { Document } from 'bson';
import { parseLegacyDate } from '@odtp/dump';
import { idForm, idStringsToObjectIds, referencedId, referenceGraph } from '@odtp/schema';
import type { CollectionName, SchemaEffect } from '@odtp/schema';
import { getPath, rewriteDocuments } from '../documents';
import type { MigrationContext, Step } from '../migration';

function projectionOf(paths: readonly string[]): Document {
  return Object.fromEntries([...new Set(paths.map((p) => p.split('.')[0]))].map((k) => [k, 1]));
}

/** How one path is converted: what the application writes there, and whether the path holds one id. */
interface PathPlan {
  path: string;
  form: 'objectId' | 'both' | 'string';
  scalar: boolean;
}

/** The documents a path still holds in another form than the application's. */
function pendingFilter(plan: PathPlan): Document | undefined {
  const p = plan.path;
  if (plan.form === 'string') return undefined;
  if (plan.form === 'both')
    // anything but the pair (an id string, a lone ObjectId): arrays of two are the pair already
    return { $and: [{ [p]: { $exists: true } }, { [p]: { $ne: null } }, { [p]: { $not: { $size: 2 } } }] };
  if (plan.scalar) return { $or: [{ [p]: { $type: 'string' } }, { [p]: { $type: 'array' } }] };
  return { [p]: { $type: 'string' } };
}

/** The value of a path holding one id, in `form` (undefined: leave it; not an id, reported). */
function scalarIn(value: unknown, form: 'objectId' | 'both'): unknown {
  const parts = Array.isArray(value) ? value : [value];
  const ids = parts.map((v) => referencedId(v)?.toHexString());
  if (!parts.length || ids.some((h) => h === undefined) || new Set(ids).size !== 1) return undefined;
  const id = new ObjectId(ids[0]);
  return form === 'both' ? [id, ids[0]] : id;
}

/**
 * Reference values become what the application writes there (ctx.app): ObjectIds (the target), both forms of the
 * id (`[ObjectId, id string]`, where a transition release keeps older releases' string queries working), or left
 * as strings (where it still writes strings). Scalars, array elements, nested paths and arrays of sub-documents;
 * a pair found where one ObjectId belongs is folded into it. Strings that are not ids are left and reported.
 */
export function referencesToObjectId(collection: string, paths: readonly string[]): Step {
  const scalar = new Set(
    referenceGraph()
      .filter((e) => e.from === collection && !e.many)
      .map((e) => e.path),
  );
  return {
    title: `${collection}: string ids -> ObjectId in ${paths.join(', ')}`,
    run: (ctx) => {
      const plans: PathPlan[] = paths.map((path) => ({
        path,
        form: idForm(ctx.app, collection, path),
        scalar: scalar.has(path) && !path.includes('.'),
      }));
      const filters = plans.map(pendingFilter).filter((f): f is Document => f !== undefined);
      if (!filters.length) return Promise.resolve({ [collection]: 0 });
      return rewriteDocuments(
        ctx,
        collection,
        { $or: filters },
        (doc) => {
          const $set: Document = {};
          for (const plan of plans) {
            if (plan.form === 'string') continue;
            const top = plan.path.split('.')[0];
            const current: unknown = $set[top] ?? doc[top];
            if (current === undefined || current === null) continue;
            if (plan.scalar) {
              const next = scalarIn(current, plan.form);
              if (next === undefined)
                ctx.report.note(
                  collection,
                  doc._id,
                  plan.path,
                  `not an id (${JSON.stringify(current).slice(0, 60)}): left as is`,
                );
              else if (!sameIds(current, next)) $set[top] = next;
              continue;
            }
            const next = idStringsToObjectIds(current, plan.path.split('.').slice(1), (bad) =>
              ctx.report.note(
                collection,
                doc._id,
                plan.path,
                `not an ObjectId (${JSON.stringify(bad.slice(0, 40))}): left as is`,
              ),
            );
            if (changedIds(current, next)) $set[top] = next;
          }
          return { $set };
        },
        { projection: projectionOf(paths) },
      );
    },
  };
}

/** Whether two values are the same ids in the same forms. */
function sameIds(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameIds(x, b[i]));
  if (a instanceof ObjectId && b instanceof ObjectId) return a.equals(b);
  return a === b;
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
