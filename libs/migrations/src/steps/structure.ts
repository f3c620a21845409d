import { createHash } from 'node:crypto';
import { ObjectId } from 'bson';
import type { Document } from 'bson';
import { parseLegacyDate } from '@odtp/dump';
import { referencedId, referenceValue } from '@odtp/schema';
import { checkAborted, getPath, rewriteDocuments } from '../documents';
import type { Changes, MigrationContext, Step } from '../migration';

const hex = (v: unknown): string | undefined => referencedId(v)?.toHexString();

/**
 * Fold a duplicate reference field into the canonical one (executions `dt_id` into `digitalTwinRef`): copied
 * when the canonical one is missing, dropped when both agree, both kept and reported when they differ.
 */
export function foldReference(collection: string, from: string, into: string): Step {
  return {
    title: `${collection}: fold ${from} into ${into}`,
    run: (ctx) =>
      rewriteDocuments(
        ctx,
        collection,
        { [from]: { $exists: true } },
        (doc) => {
          const value: unknown = doc[from];
          const current: unknown = doc[into];
          if (value === null) return { $unset: { [from]: '' } };
          const id = referencedId(value);
          if (!id) {
            ctx.report.note(collection, doc._id, from, 'not an ObjectId: left as is');
            return null;
          }
          if (current === undefined || current === null)
            return { $set: { [into]: id }, $unset: { [from]: '' } };
          if (hex(current) === id.toHexString()) return { $unset: { [from]: '' } };
          ctx.report.note(collection, doc._id, from, `differs from ${into}: left both`);
          return null;
        },
        { projection: { [from]: 1, [into]: 1 } },
      ),
  };
}

/** Undo of foldReference: the duplicate field again, as the hex string older ODTP versions wrote. */
export function unfoldReference(collection: string, from: string, into: string): Step {
  return {
    title: `${collection}: copy ${into} to ${from}`,
    run: (ctx) =>
      rewriteDocuments(
        ctx,
        collection,
        { [from]: { $exists: false }, [into]: { $type: 'objectId' } },
        (doc) => ({ $set: { [from]: (doc[into] as ObjectId).toHexString() } }),
        { projection: { [into]: 1 } },
      ),
  };
}

/**
 * `components.versions[]` and `components.repoLink` rebuilt from the versions collection (`componentId`, and the
 * repoLink older versions carried). Existing entries are kept; missing version ids are appended in creation
 * order. A repoLink is set only where the component has none and its versions agree on one; when several
 * components would get the same link, each gets `<link>#<component id>` so the unique rule holds (reported).
 */
export function rebuildComponentVersions(): Step {
  return {
    title: 'components: versions[] and repoLink from the versions collection',
    async run(ctx) {
      const byComponent = new Map<string, { ids: ObjectId[]; links: Set<string> }>();
      const versions = ctx.db.collection('versions').find(
        {},
        {
          session: ctx.session,
          projection: { componentId: 1, repoLink: 1, 'component.repoLink': 1, created_at: 1 },
          sort: { created_at: 1, _id: 1 },
        },
      );
      for await (const v of versions) {
        const owner = hex(v.componentId);
        if (!owner || !(v._id instanceof ObjectId)) continue;
        const entry = byComponent.get(owner) ?? { ids: [], links: new Set<string>() };
        entry.ids.push(v._id);
        for (const link of [v.repoLink, getPath(v, 'component.repoLink')])
          if (typeof link === 'string' && link.trim()) entry.links.add(link.trim());
        byComponent.set(owner, entry);
      }
      // Which links each component would end up with, to find the ones several components would share.
      const proposed = new Map<string, string>();
      const uses = new Map<string, number>();
      for await (const c of ctx.db
        .collection('components')
        .find({}, { session: ctx.session, projection: { repoLink: 1 } })) {
        const id = hex(c._id);
        if (!id) continue;
        if (typeof c.repoLink === 'string' && c.repoLink) {
          uses.set(c.repoLink, (uses.get(c.repoLink) ?? 0) + 1);
          continue;
        }
        const links = [...(byComponent.get(id)?.links ?? [])];
        if (links.length === 1) {
          proposed.set(id, links[0]);
          uses.set(links[0], (uses.get(links[0]) ?? 0) + 1);
        } else
          ctx.report.note(
            'components',
            c._id,
            'repoLink',
            links.length
              ? `its versions name ${links.length} different repoLinks: left unset`
              : 'no version names a repoLink: left unset',
          );
      }
      return rewriteDocuments(
        ctx,
        'components',
        {},
        (c) => {
          const id = hex(c._id);
          if (!id) return null;
          const $set: Document = {};
          const derived = (byComponent.get(id)?.ids ?? []).map((v) =>
            referenceValue(ctx.app, 'components', 'versions', v),
          );
          if (!Array.isArray(c.versions)) $set.versions = derived;
          else {
            const have = new Set((c.versions as unknown[]).map(hex));
            const missing = derived.filter((v) => !have.has(hex(v)));
            if (missing.length) $set.versions = [...(c.versions as unknown[]), ...missing];
          }
          const link = proposed.get(id);
          if (link !== undefined) {
            if ((uses.get(link) ?? 0) > 1) {
              $set.repoLink = `${link}#${id}`;
              ctx.report.note(
                'components',
                c._id,
                'repoLink',
                `${link} is shared by ${uses.get(link)} components: stored with #<component id>`,
              );
            } else $set.repoLink = link;
          }
          return { $set };
        },
        { projection: { versions: 1, repoLink: 1 } },
      );
    },
  };
}

async function versionOwners(ctx: MigrationContext): Promise<Map<string, unknown>> {
  const owners = new Map<string, unknown>();
  for await (const v of ctx.db
    .collection('versions')
    .find({}, { session: ctx.session, projection: { componentId: 1 } }))
    if (hex(v._id)) owners.set(hex(v._id)!, v.componentId);
  return owners;
}

/**
 * Legacy `workflowSchema.components: [{component, version}]` becomes `workflowSchema.component_versions: [version]`.
 * `components` is removed only when every entry's component is the component of its version (nothing is lost);
 * otherwise it stays and the execution is reported.
 */
export function workflowComponentsToVersions(): Step {
  return {
    title: 'executions: workflowSchema.components -> workflowSchema.component_versions',
    async run(ctx) {
      const owners = await versionOwners(ctx);
      return rewriteDocuments(
        ctx,
        'executions',
        {
          'workflowSchema.components': { $type: 'array' },
          'workflowSchema.component_versions': { $exists: false },
        },
        (doc) => {
          const entries = getPath(doc, 'workflowSchema.components') as unknown[];
          const versions: unknown[] = [];
          let consistent = true;
          for (const e of entries) {
            const version = e && typeof e === 'object' ? (e as Document).version : undefined;
            if (version === undefined || version === null) {
              ctx.report.note(
                'executions',
                doc._id,
                'workflowSchema.components',
                'an entry has no version: left as is',
              );
              return null;
            }
            const id = referencedId(version);
            versions.push(
              id ? referenceValue(ctx.app, 'executions', 'workflowSchema.component_versions', id) : version,
            );
            const owner = owners.get(hex(version) ?? '');
            if (owner === undefined || hex(owner) !== hex((e as Document).component)) consistent = false;
          }
          const change = {
            $set: { 'workflowSchema.component_versions': versions },
            $unset: {} as Record<string, ''>,
          };
          if (consistent) change.$unset['workflowSchema.components'] = '';
          else
            ctx.report.note(
              'executions',
              doc._id,
              'workflowSchema.components',
              "an entry names a component that is not its version's: components kept beside component_versions",
            );
          return change;
        },
        { projection: { workflowSchema: 1 } },
      );
    },
  };
}

/** Undo of workflowComponentsToVersions: `components: [{component, version}]` from the versions' components. */
export function workflowVersionsToComponents(): Step {
  return {
    title: 'executions: workflowSchema.component_versions -> workflowSchema.components',
    async run(ctx) {
      const owners = await versionOwners(ctx);
      return rewriteDocuments(
        ctx,
        'executions',
        { 'workflowSchema.component_versions': { $type: 'array' } },
        (doc) => {
          const versions = getPath(doc, 'workflowSchema.component_versions') as unknown[];
          const change = {
            $set: {} as Document,
            $unset: { 'workflowSchema.component_versions': '' as const },
          };
          if (getPath(doc, 'workflowSchema.components') === undefined)
            change.$set['workflowSchema.components'] = versions.map((v) => ({
              component: owners.get(hex(v) ?? '') ?? null,
              version: v,
            }));
          return change;
        },
        { projection: { workflowSchema: 1 } },
      );
    },
  };
}

/** A deterministic log id: the entry's time in the first 4 bytes (ids sort by time), then a hash of step and index. */
export function embeddedLogId(stepId: ObjectId, index: number, at: Date): ObjectId {
  const bytes = Buffer.alloc(12);
  bytes.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(at.getTime() / 1000))), 0);
  createHash('sha1').update(`${stepId.toHexString()}:${index}`).digest().copy(bytes, 4, 0, 8);
  return new ObjectId(bytes);
}

function logTime(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  if (typeof value === 'string') return parseLegacyDate(value);
  return undefined;
}

/**
 * Embedded `steps.logs[]` entries become documents of the `logs` collection (stepRef, timestamp, type,
 * logstring, any other keys kept), then the step's array is emptied. One step at a time and inserts in chunks,
 * so a 16 MB array is never held twice; ids are derived from (step, index), so a re-run after a crash inserts
 * nothing twice.
 */
export function moveEmbeddedLogs(chunk = 1000): Step {
  return {
    title: 'steps.logs[] -> logs collection',
    async run(ctx) {
      let inserted = 0;
      const logs = ctx.db.collection('logs');
      const flush = async (docs: Document[]): Promise<void> => {
        if (!docs.length) return;
        checkAborted(ctx);
        if (ctx.dryRun) {
          inserted += docs.length;
          return;
        }
        try {
          inserted += (await logs.insertMany(docs, { ordered: false, session: ctx.session })).insertedCount;
        } catch (e) {
          const err = e as {
            code?: number;
            writeErrors?: { code?: number }[];
            insertedCount?: number;
            result?: { insertedCount?: number };
          };
          const errors = err.writeErrors ?? [];
          if (!errors.length || errors.some((w) => w.code !== 11000)) throw e;
          inserted += err.insertedCount ?? err.result?.insertedCount ?? 0;
        }
      };
      const steps = await rewriteDocuments(
        ctx,
        'steps',
        { 'logs.0': { $exists: true } },
        async (step) => {
          if (!(step._id instanceof ObjectId)) {
            ctx.report.note('steps', step._id, 'logs', 'the step _id is not an ObjectId: logs left embedded');
            return null;
          }
          const fallback = logTime(step.timestamp) ?? step._id.getTimestamp();
          let batch: Document[] = [];
          const entries = step.logs as unknown[];
          for (let i = 0; i < entries.length; i++) {
            const entry = entries[i];
            const fields: Document =
              entry && typeof entry === 'object' && !Array.isArray(entry)
                ? { ...(entry as Document) }
                : { logstring: entry };
            if (!(entry && typeof entry === 'object'))
              ctx.report.note('steps', step._id, 'logs', 'an entry is not a document: moved as logstring');
            let at = logTime(fields.timestamp);
            if (!at) {
              if (fields.timestamp !== undefined) fields.legacy_timestamp = fields.timestamp as unknown;
              ctx.report.note(
                'steps',
                step._id,
                'logs.timestamp',
                "missing or not a date: the step's time used",
              );
              at = fallback;
            }
            batch.push({
              _id: embeddedLogId(step._id, i, at),
              stepRef: referenceValue(ctx.app, 'logs', 'stepRef', step._id),
              ...fields,
              timestamp: at,
            });
            if (batch.length >= chunk) {
              await flush(batch);
              batch = [];
            }
          }
          await flush(batch);
          return { $set: { logs: [] } };
        },
        { projection: { logs: 1, timestamp: 1 }, batchSize: 1 },
      );
      return { ...steps, logs: inserted };
    },
  };
}

/** Required values that older generations never wrote, derived where possible and always reported. */
export function fillRequiredFields(): Step {
  const timestamped = ['users', 'digitalTwins', 'components', 'versions', 'workflows', 'outputs', 'results'];
  return {
    title: 'required created_at/updated_at from the _id, names of unnamed twins and executions',
    async run(ctx) {
      const out: Changes = {};
      for (const c of timestamped) {
        const r = await rewriteDocuments(
          ctx,
          c,
          { $or: [{ created_at: null }, { updated_at: null }] },
          (doc) => {
            const created =
              doc.created_at instanceof Date
                ? doc.created_at
                : doc._id instanceof ObjectId
                  ? doc._id.getTimestamp()
                  : undefined;
            if (!created) {
              ctx.report.note(c, doc._id, 'created_at', 'missing and the _id holds no time: left unset');
              return null;
            }
            const $set: Document = {};
            if (doc.created_at === undefined || doc.created_at === null) {
              $set.created_at = created;
              ctx.report.note(c, doc._id, 'created_at', "missing: set from the _id's time");
            }
            if (doc.updated_at === undefined || doc.updated_at === null) $set.updated_at = created;
            return { $set };
          },
          { projection: { created_at: 1, updated_at: 1 } },
        );
        out[c] = r[c];
      }
      for (const [c, field, label] of [
        ['digitalTwins', 'name', 'digital twin'],
        ['executions', 'title', 'execution'],
      ] as const) {
        const r = await rewriteDocuments(
          ctx,
          c,
          { $or: [{ [field]: null }, { [field]: '' }] },
          (doc) => {
            ctx.report.note(c, doc._id, field, `missing: set to "${label} <id>"`);
            return { $set: { [field]: `${label} ${hex(doc._id) ?? String(doc._id)}` } };
          },
          { projection: { _id: 1 } },
        );
        out[c] = (out[c] ?? 0) + r[c];
      }
      return out;
    },
  };
}
