import { EJSON, ObjectId } from 'bson';
import type { Document } from 'bson';
import type { Db } from 'mongodb';
import { parseLegacyDate } from '@odtp/dump';
import { embeddedLogId } from '@odtp/migrations';
import { isHexId } from '@odtp/schema';

/* Leaf-by-leaf comparison of a dump with the migrated database: every value of every document must be found
   where the migrations put it (renamed, moved, converted from a string), or the list of what is missing says
   which value went where. */

type Path = (string | number)[];
interface Leaf {
  path: Path;
  value: unknown;
}

function* leavesOf(value: unknown, path: Path = []): Generator<Leaf> {
  if (Array.isArray(value) && value.length) {
    for (let i = 0; i < value.length; i++) yield* leavesOf(value[i], [...path, i]);
  } else if (
    value !== null &&
    typeof value === 'object' &&
    !(value instanceof ObjectId) &&
    !(value instanceof Date) &&
    !Array.isArray(value) &&
    Object.keys(value).length
  ) {
    for (const [k, v] of Object.entries(value as Document)) yield* leavesOf(v, [...path, k]);
  } else yield { path, value };
}

/** A value in a form where an id string equals its ObjectId and a date string equals its Date. */
function norm(v: unknown): string {
  if (v instanceof ObjectId) return `oid:${v.toHexString()}`;
  if (v instanceof Date) return `date:${v.getTime()}`;
  if (isHexId(v)) return `oid:${v.toLowerCase()}`;
  if (typeof v === 'string') {
    const d = parseLegacyDate(v);
    if (d) return `date:${d.getTime()}`;
  }
  return EJSON.stringify({ v }, { relaxed: false });
}

function at(doc: unknown, path: Path): unknown {
  let v: unknown = doc;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

const FIELD_RENAMES: Record<string, Record<string, string>> = {
  versions: {
    version: 'odtp_version',
    dockerHubLink: 'imageLink',
    Component: 'component',
    ComponentId: 'componentId',
  },
  results: { executionRed: 'executionRef' },
  executions: { createdAt: 'created_at', updatedAt: 'updated_at', dt_id: 'digitalTwinRef' },
  steps: { createdAt: 'created_at', updatedAt: 'updated_at' },
};
const WORKFLOW_RENAMES: Record<string, string> = {
  worflowExecutor: 'workflowExecutor',
  worflowExecutorVersion: 'workflowExecutorVersion',
  worflowExecutorSchema: 'workflowExecutorSchema',
  WorkflowExecutorSchema: 'workflowExecutorSchema',
};

export interface LeafCheck {
  checked: number;
  missing: string[];
}

/**
 * Check every leaf of `dump` (documents as written before migrating: plain JSON strings or BSON values) against
 * the migrated database. `dropped` lists leaves the migrations remove on purpose (reported by them).
 */
export async function checkLeaves(
  db: Db,
  dump: Record<string, Document[]>,
  dropped: (collection: string, path: Path, value: unknown) => boolean = () => false,
): Promise<LeafCheck> {
  const missing: string[] = [];
  let checked = 0;
  const fetch = async (collection: string, id: unknown): Promise<Document | null> =>
    db.collection(collection).findOne({ _id: (isHexId(id) ? new ObjectId(id) : id) as ObjectId });
  for (const [source, docs] of Object.entries(dump)) {
    const collection = source === 'output' ? 'outputs' : source;
    for (const before of docs) {
      const after = await fetch(collection, before._id);
      for (const leaf of leavesOf(before)) {
        checked++;
        if (dropped(collection, leaf.path, leaf.value)) continue;
        const where = `${source} ${norm(before._id)} ${leaf.path.join('.')} = ${norm(leaf.value)}`;
        let found: unknown;
        const [head, ...rest] = leaf.path as [string, ...Path];
        if (collection === 'steps' && head === 'logs' && rest.length) {
          const [index, ...sub] = rest as [number, ...Path];
          const entry: unknown = (before.logs as unknown[])[index];
          const entryTime = entry && typeof entry === 'object' ? (entry as Document).timestamp : undefined;
          const time =
            entryTime instanceof Date
              ? entryTime
              : ((typeof entryTime === 'string' ? parseLegacyDate(entryTime) : undefined) ??
                (before.timestamp instanceof Date
                  ? before.timestamp
                  : typeof before.timestamp === 'string'
                    ? parseLegacyDate(before.timestamp)
                    : undefined) ??
                new ObjectId(norm(before._id).slice(4)).getTimestamp());
          const log = await fetch(
            'logs',
            embeddedLogId(new ObjectId(norm(before._id).slice(4)), index, time!),
          );
          found = sub.length ? at(log, sub) : log?.logstring;
        } else if (collection === 'executions' && head === 'workflowSchema') {
          const [key, ...sub] = rest as [string, ...Path];
          if (key === 'components' && at(after, ['workflowSchema', 'components']) === undefined) {
            const [index, field] = sub as [number, string];
            const version: unknown = at(after, ['workflowSchema', 'component_versions', index]);
            found = field === 'version' ? version : (await fetch('versions', version))?.componentId;
          } else found = at(after, ['workflowSchema', WORKFLOW_RENAMES[key] ?? key, ...sub]);
        } else if (
          collection === 'outputs' &&
          head === 'access_control' &&
          rest[0] === 'authorized_users' &&
          rest.length === 1
        ) {
          const users: unknown = at(after, ['access_control', 'authorized_users']);
          found = Array.isArray(users) && users.length === 1 ? users[0] : users;
        } else {
          // Renamed, or still where it was while the renaming migration is held for the application.
          found = at(after, [FIELD_RENAMES[collection]?.[head] ?? head, ...rest]);
          if (norm(found) !== norm(leaf.value) && FIELD_RENAMES[collection]?.[head])
            found = at(after, [head, ...rest]) ?? found;
        }
        if (norm(found) !== norm(leaf.value)) missing.push(`${where}: found ${norm(found)}`);
      }
    }
  }
  return { checked, missing };
}
