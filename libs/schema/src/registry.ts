import type { Schema } from 'mongoose';
import { ComponentSchema } from './collections/component.schema';
import { DigitalTwinSchema } from './collections/digital-twin.schema';
import { ExecutionSchema } from './collections/execution.schema';
import { LogSchema } from './collections/log.schema';
import { OutputSchema } from './collections/output.schema';
import { ResultSchema } from './collections/result.schema';
import { StepSchema } from './collections/step.schema';
import { UserSchema } from './collections/user.schema';
import { VersionSchema } from './collections/version.schema';
import { WorkflowSchema } from './collections/workflow.schema';

export const COLLECTION_NAMES = [
  'users',
  'digitalTwins',
  'components',
  'versions',
  'workflows',
  'executions',
  'steps',
  'outputs',
  'results',
  'logs',
] as const;
export type CollectionName = (typeof COLLECTION_NAMES)[number];

export interface CollectionDefinition {
  name: CollectionName;
  schema: Schema;
  description: string;
}

/** The ten collections of the target schema, in reference-dependency order (referenced before referencing). */
export const COLLECTIONS: readonly CollectionDefinition[] = [
  { name: 'users', schema: UserSchema, description: 'people who own and run digital twins' },
  { name: 'digitalTwins', schema: DigitalTwinSchema, description: 'projects owned by users' },
  { name: 'components', schema: ComponentSchema, description: 'GitHub repositories of components' },
  { name: 'versions', schema: VersionSchema, description: 'tagged commits of components' },
  { name: 'workflows', schema: WorkflowSchema, description: 'ordered lists of component versions' },
  { name: 'executions', schema: ExecutionSchema, description: 'runnable workflows of a digital twin' },
  { name: 'steps', schema: StepSchema, description: 'one component version run inside an execution' },
  { name: 'outputs', schema: OutputSchema, description: 'files a step produced' },
  { name: 'results', schema: ResultSchema, description: 'overall results of execution runs' },
  { name: 'logs', schema: LogSchema, description: 'log lines of steps' },
];

/** Two-way links whose sides must agree, each declared once as [side, other side]. */
export const INVERSE_PAIRS: readonly [
  { collection: CollectionName; path: string },
  { collection: CollectionName; path: string },
][] = [
  [
    { collection: 'users', path: 'digitalTwins' },
    { collection: 'digitalTwins', path: 'userRef' },
  ],
  [
    { collection: 'digitalTwins', path: 'executions' },
    { collection: 'executions', path: 'digitalTwinRef' },
  ],
  [
    { collection: 'executions', path: 'steps' },
    { collection: 'steps', path: 'executionRef' },
  ],
  [
    { collection: 'components', path: 'versions' },
    { collection: 'versions', path: 'componentId' },
  ],
];

/**
 * Which parents own which children: a child that no owner reaches is an orphan. `lists`: a parent holds the
 * child's id at `path` (the child is reached when some parent lists it); `refersTo`: the child holds its parent's id
 * at `path` (the child is an orphan when that parent is missing).
 */
export type Ownership =
  | { child: CollectionName; kind: 'lists'; parents: readonly { collection: CollectionName; path: string }[] }
  | { child: CollectionName; kind: 'refersTo'; path: string; parent: CollectionName };

export const OWNERSHIP: readonly Ownership[] = [
  { child: 'steps', kind: 'lists', parents: [{ collection: 'executions', path: 'steps' }] },
  {
    child: 'outputs',
    kind: 'lists',
    parents: [
      { collection: 'steps', path: 'output' },
      { collection: 'results', path: 'output' },
    ],
  },
  { child: 'versions', kind: 'lists', parents: [{ collection: 'components', path: 'versions' }] },
  { child: 'logs', kind: 'refersTo', path: 'stepRef', parent: 'steps' },
];

/** How `collection`'s documents are owned, if they are. */
export function ownershipOf(collection: string): Ownership | undefined {
  return OWNERSHIP.find((o) => o.child === collection);
}

export function collectionDefinition(name: string): CollectionDefinition | undefined {
  return COLLECTIONS.find((c) => c.name === name);
}
