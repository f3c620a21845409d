/**
 * Which documents a set of changes can have put in or out of violation: the changed documents themselves, every
 * document that references a changed or deleted one (through the reference graph's paths, indexed by the schema's
 * indexes, in both the ObjectId and the id-string form), the children a changed parent lists, and the documents
 * that shared a duplicate key with one.
 */
import { ObjectId } from 'bson';
import type { Document } from 'bson';
import type { Db, Filter } from 'mongodb';
import { OWNERSHIP, referenceGraph, referencedId, valuesAt } from '@odtp/schema';
import type { CollectionName, Edge } from '@odtp/schema';
import type { DocumentScope } from '../auditor';
import { idKey } from '../findings';

/**
 * The documents of `collection` that shared a duplicate key with one of `ids` (known from recorded duplicate
 * violations: a deleted document's key is gone with it).
 */
export type DuplicatePartners = (collection: CollectionName, ids: unknown[]) => Promise<unknown[]>;

/** Ids by collection, each id once. */
export class IdSet {
  private readonly byCollection = new Map<CollectionName, Map<string, unknown>>();

  add(collection: CollectionName, id: unknown): void {
    let ids = this.byCollection.get(collection);
    if (!ids) this.byCollection.set(collection, (ids = new Map()));
    ids.set(idKey(id), id);
  }

  delete(collection: CollectionName, id: unknown): void {
    this.byCollection.get(collection)?.delete(idKey(id));
  }

  has(collection: CollectionName, id: unknown): boolean {
    return this.byCollection.get(collection)?.has(idKey(id)) ?? false;
  }

  get size(): number {
    let n = 0;
    for (const ids of this.byCollection.values()) n += ids.size;
    return n;
  }

  entries(): [CollectionName, unknown[]][] {
    return [...this.byCollection].map(([c, ids]) => [c, [...ids.values()]]);
  }

  toMap(): Map<CollectionName, unknown[]> {
    return new Map(this.entries());
  }

  toScope(): DocumentScope {
    return Object.fromEntries(this.entries()) as DocumentScope;
  }
}

const BATCH = 1000;

/** The values a reference to these ids may hold: the ObjectId and its hex string (ODTP 0.5 writes strings). */
function referenceValues(ids: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const id of ids) {
    out.push(id);
    const oid = referencedId(id);
    if (oid && !(id instanceof ObjectId)) out.push(oid);
    if (oid) out.push(oid.toHexString());
  }
  return out;
}

/**
 * What the changes were, beyond which documents: with it, a referrer is checked only when what it can see of its
 * target changed (the target appeared or went: dangling references, orphan logs; or the target's inverse path
 * changed: broken inverses). A plain update of a step then costs nothing for its logs.
 */
export interface Refinement {
  /** Documents inserted. */
  appeared: IdSet;
  /** Per collection, the top-level fields updates touched ('*': a replace). */
  fields: Map<string, Set<string>>;
}

/** The ids of `edge.to` whose change a referrer through `edge` can see. */
function referredIds(refined: Refinement, edge: Edge, deleted: IdSet, changed: IdSet): unknown[] {
  const to = edge.to;
  const of = (set: IdSet): unknown[] => set.toMap().get(to) ?? [];
  const fields = refined.fields.get(to);
  const inverse = edge.inverse?.split('.')[0];
  const inverseTouched = inverse !== undefined && !!fields && (fields.has('*') || fields.has(inverse));
  return [...of(deleted), ...(inverseTouched ? of(changed) : of(refined.appeared))];
}

/** The documents to check after `changed` (inserted, updated, replaced) and `deleted` documents. */
export async function changeScope(
  db: Db,
  partners: DuplicatePartners,
  changed: IdSet,
  deleted: IdSet,
  signal?: AbortSignal,
  refined?: Refinement,
): Promise<IdSet> {
  const scope = new IdSet();
  for (const [collection, ids] of changed.entries()) for (const id of ids) scope.add(collection, id);
  const touched = new IdSet();
  for (const set of [changed, deleted])
    for (const [collection, ids] of set.entries()) for (const id of ids) touched.add(collection, id);
  const edges = referenceGraph();
  for (const [target, ids] of touched.entries()) {
    for (const edge of edges.filter((e) => e.to === target)) {
      const targets = refined ? referredIds(refined, edge, deleted, changed) : ids;
      for (let i = 0; i < targets.length; i += BATCH) {
        if (signal?.aborted) return scope;
        const values = referenceValues(targets.slice(i, i + BATCH));
        const cursor = db
          .collection(edge.from)
          .find({ [edge.path]: { $in: values } } as Filter<Document>, { projection: { _id: 1 } });
        for await (const d of cursor) scope.add(edge.from, d._id);
      }
    }
    // documents that shared a duplicate key with a changed or deleted one may no longer be duplicates
    for (const id of await partners(target, ids)) scope.add(target, id);
  }
  await listedChildren(db, changed, scope, signal);
  for (const [collection, ids] of deleted.entries()) for (const id of ids) scope.delete(collection, id);
  return scope;
}

/** The children a changed parent lists now (an inserted or updated parent can end a child's orphanhood). */
async function listedChildren(db: Db, changed: IdSet, scope: IdSet, signal?: AbortSignal): Promise<void> {
  for (const o of OWNERSHIP) {
    if (o.kind !== 'lists') continue;
    for (const parent of o.parents) {
      const ids = changed.toMap().get(parent.collection) ?? [];
      for (let i = 0; i < ids.length; i += BATCH) {
        if (signal?.aborted) return;
        const cursor = db
          .collection(parent.collection)
          .find({ _id: { $in: ids.slice(i, i + BATCH) } } as Filter<Document>, {
            projection: { [parent.path]: 1 },
          });
        for await (const d of cursor)
          for (const v of valuesAt(d, parent.path)) {
            const id = referencedId(v);
            if (id) scope.add(o.child, id);
          }
      }
    }
  }
}
