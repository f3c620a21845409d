import { EJSON } from 'bson';
import { deriveIndexes, planSchema } from '@odtp/schema';
import { MigrationError, MigrationErrorCode } from '../errors';
import type { Changes, Step } from '../migration';

/**
 * Create the indexes derived from the schemas. Duplicates that would block a unique index are looked for
 * first; when there are any the step stops before creating anything, naming the ids (a dry run lists them in
 * the report instead).
 */
export function createSchemaIndexes(): Step {
  return {
    title: 'create the indexes of the schema (after checking for duplicates)',
    async run(ctx) {
      const plan = await planSchema(ctx.db);
      const duplicates = plan.flatMap((p) => p.duplicates.map((d) => ({ collection: p.collection, ...d })));
      if (duplicates.length) {
        const text = duplicates
          .map(
            (d) =>
              `${d.collection}.${d.index} ${EJSON.stringify(d.key)}: ids ${d.ids.map((i) => EJSON.stringify(i)).join(', ')}`,
          )
          .join('; ');
        if (!ctx.dryRun)
          throw new MigrationError(
            MigrationErrorCode.Blocked,
            `duplicates block unique indexes (nothing was changed): ${text}`,
            { duplicates: EJSON.serialize(duplicates) },
          );
        for (const d of duplicates)
          ctx.report.note(d.collection, d.ids[0], d.index, `duplicate key ${EJSON.stringify(d.key)}`);
      }
      const changes: Changes = {};
      for (const p of plan) {
        for (const name of p.missingIndexes) {
          const def = deriveIndexes().find((i) => i.collection === p.collection && i.name === name)!;
          ctx.report.note(p.collection, null, name, ctx.dryRun ? 'index to create' : 'index created');
          if (!ctx.dryRun)
            await ctx.db
              .collection(p.collection)
              .createIndex(def.key, { name, unique: def.unique || undefined });
        }
      }
      return changes;
    },
  };
}

/** Undo of createSchemaIndexes: drop the derived indexes that exist. */
export function dropSchemaIndexes(): Step {
  return {
    title: 'drop the indexes of the schema',
    async run(ctx) {
      const existing = new Set(
        (await ctx.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name),
      );
      for (const def of deriveIndexes()) {
        if (!existing.has(def.collection)) continue;
        const has = (await ctx.db.collection(def.collection).indexes()).some((i) => i.name === def.name);
        if (!has) continue;
        ctx.report.note(def.collection, null, def.name, ctx.dryRun ? 'index to drop' : 'index dropped');
        if (!ctx.dryRun) await ctx.db.collection(def.collection).dropIndex(def.name);
      }
      return {};
    },
  };
}
