import type { Document } from 'bson';
import { referenceGraph } from './graph';
import { COLLECTIONS } from './registry';
import type { CollectionDefinition, CollectionName } from './registry';

export interface IndexDefinition {
  collection: CollectionName;
  name: string;
  key: Record<string, 1 | -1>;
  unique: boolean;
  /** Why the index exists: a uniqueness rule, or a reference path queried from the target side. */
  reason: string;
}

function indexName(key: Record<string, number>): string {
  return Object.entries(key)
    .map(([k, v]) => `${k}_${v}`)
    .join('_');
}

/** The indexes of the target schema: the declared uniqueness rules plus one index per reference path. */
export function deriveIndexes(definitions: readonly CollectionDefinition[] = COLLECTIONS): IndexDefinition[] {
  const out: IndexDefinition[] = [];
  for (const def of definitions) {
    for (const [key, options] of def.schema.indexes() as [Record<string, 1 | -1>, Document][]) {
      out.push({
        collection: def.name,
        name: (options.name as string) ?? indexName(key),
        key,
        unique: options.unique === true,
        reason: options.unique ? 'uniqueness rule' : 'declared index',
      });
    }
  }
  for (const edge of referenceGraph(definitions)) {
    const covered = out.some((i) => i.collection === edge.from && Object.keys(i.key)[0] === edge.path);
    if (!covered) {
      out.push({
        collection: edge.from,
        name: `${edge.path}_1`,
        key: { [edge.path]: 1 },
        unique: false,
        reason: `reference to ${edge.to}`,
      });
    }
  }
  return out;
}
