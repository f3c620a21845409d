/** Views: their definition (create and collMod with viewOn/pipeline), their resolution to a collection and a pipeline, and the refusal of writes. */
import type { Document } from 'bson';
import { CommandError, ErrorCode } from '../errors';
import { validateCollectionName } from '../database';
import type { ViewDefinition } from '../database';
import type { CommandContext } from './context';
import { GENERIC_FIELDS, db } from './context';

/** mongod's maximum view depth (a view on a view ... on a collection). */
export const MAX_VIEW_DEPTH = 20;

/** A view resolved to the collection it finally reads and the whole pipeline to run over it. */
export interface ResolvedView {
  base: string;
  pipeline: Document[];
}

export function isView(ctx: CommandContext, name: string): boolean {
  return ctx.store.existingDb(ctx.dbName)?.views.has(name) === true;
}

export function resolveView(ctx: CommandContext, name: string): ResolvedView | undefined {
  const views = ctx.store.existingDb(ctx.dbName)?.views;
  let view = views?.get(name);
  if (!view) return undefined;
  const parts: Document[][] = [];
  let base = name;
  while (view) {
    if (parts.length === MAX_VIEW_DEPTH)
      throw new CommandError(
        ErrorCode.ViewDepthLimitExceeded,
        `View depth too deep or view cycle detected. Maximum depth is ${MAX_VIEW_DEPTH}`,
      );
    parts.unshift(view.pipeline);
    base = view.viewOn;
    view = views!.get(base);
  }
  return { base, pipeline: parts.flat() };
}

export function viewError(ctx: CommandContext, name: string): CommandError {
  return new CommandError(
    ErrorCode.CommandNotSupportedOnView,
    `Namespace ${ctx.dbName}.${name} is a view, not a collection`,
  );
}

/** Throws CommandNotSupportedOnView when `name` is a view (writes, indexes, collection statistics). */
export function refuseView(ctx: CommandContext, name: string): void {
  if (isView(ctx, name)) throw viewError(ctx, name);
}

// Options of `create` that a view cannot have (mongod: OptionNotSupportedOnView).
const COLLECTION_ONLY = [
  'validator',
  'validationLevel',
  'validationAction',
  'capped',
  'size',
  'max',
  'indexOptionDefaults',
  'timeseries',
  'clusteredIndex',
  'changeStreamPreAndPostImages',
  'encryptedFields',
  'expireAfterSeconds',
];

/** The view definition of a `create` or `collMod` command, validated: its fields, its pipeline, and no cycle. */
export function parseViewDefinition(ctx: CommandContext, name: string, command: string): ViewDefinition {
  const { viewOn, pipeline = [] } = ctx.cmd as { viewOn?: unknown; pipeline?: unknown };
  if (typeof viewOn !== 'string')
    throw new CommandError(
      viewOn === undefined ? ErrorCode.BadValue : ErrorCode.TypeMismatch,
      viewOn === undefined
        ? `'pipeline' requires 'viewOn' to also be specified`
        : `BSON field '${command}.viewOn' is the wrong type, expected type 'string'`,
    );
  if (viewOn.length === 0) throw new CommandError(ErrorCode.BadValue, "'viewOn' cannot be empty");
  validateCollectionName(viewOn);
  if (!Array.isArray(pipeline))
    throw new CommandError(
      ErrorCode.TypeMismatch,
      `BSON field '${command}.pipeline' is the wrong type, expected type 'array'`,
    );
  if (ctx.cmd.collation !== undefined)
    throw new CommandError(
      ErrorCode.IllegalOperation,
      "a view's collation option is not supported by the embedded server",
    );
  for (const k of COLLECTION_ONLY)
    if (ctx.cmd[k] !== undefined)
      throw new CommandError(ErrorCode.OptionNotSupportedOnView, `option not supported on a view: ${k}`);
  pipeline.forEach((stage: unknown, i) => {
    if (!stage || typeof stage !== 'object' || Array.isArray(stage) || Object.keys(stage).length !== 1)
      throw new CommandError(
        ErrorCode.Location40323,
        'A pipeline stage specification object must contain exactly one field.',
      );
    const stageName = Object.keys(stage)[0];
    if (stageName === '$out' || stageName === '$merge')
      throw new CommandError(
        ErrorCode.OptionNotSupportedOnView,
        `${stageName} cannot be used in a view definition (stage ${i} of the pipeline of ${ctx.dbName}.${name})`,
      );
  });
  const definition = { viewOn, pipeline: pipeline as Document[] };
  const cycle = cycleThrough(ctx, name, definition);
  if (cycle)
    throw new CommandError(
      ErrorCode.GraphContainsCycle,
      `View cycle detected: [${cycle.map((n) => `${ctx.dbName}.${n}`).join(', ')}]`,
    );
  return definition;
}

/** The namespaces a view reads: the one it is on, and those its pipeline reads ($lookup, $graphLookup, $unionWith, in $facet too). */
export function dependencies(view: ViewDefinition): string[] {
  const out = [view.viewOn];
  const walk = (stages: unknown): void => {
    if (!Array.isArray(stages)) return;
    for (const stage of stages as unknown[]) {
      if (!stage || typeof stage !== 'object') continue;
      for (const [k, v] of Object.entries(stage as Document)) {
        const spec = (v ?? {}) as Document;
        if (k === '$lookup' || k === '$graphLookup') {
          if (typeof spec.from === 'string') out.push(spec.from);
          walk(spec.pipeline);
        } else if (k === '$unionWith') {
          if (typeof v === 'string') out.push(v);
          else if (typeof spec.coll === 'string') out.push(spec.coll);
          walk(spec.pipeline);
        } else if (k === '$facet') for (const sub of Object.values(spec)) walk(sub);
      }
    }
  };
  walk(view.pipeline);
  return out;
}

/** The path back to `name` when the view graph, with `name` defined as `view`, has a cycle through it. */
function cycleThrough(ctx: CommandContext, name: string, view: ViewDefinition): string[] | undefined {
  const views = ctx.store.existingDb(ctx.dbName)?.views;
  const seen = new Set<string>();
  const search = (node: string, path: string[]): string[] | undefined => {
    if (node === name) return [...path, node];
    const def = views?.get(node);
    if (!def || seen.has(node)) return undefined;
    seen.add(node);
    for (const next of dependencies(def)) {
      const found = search(next, [...path, node]);
      if (found) return found;
    }
    return undefined;
  };
  for (const next of dependencies(view)) {
    const found = search(next, [name]);
    if (found) return found;
  }
  return undefined;
}

export function createView(ctx: CommandContext, name: string): Document {
  if (ctx.txn)
    throw new CommandError(
      ErrorCode.OperationNotSupportedInTransaction,
      'Cannot create a view in a multi-document transaction.',
    );
  const database = db(ctx);
  if (database.get(name) || database.views.has(name))
    throw new CommandError(ErrorCode.NamespaceExists, `Namespace ${ctx.dbName}.${name} already exists`);
  database.defineView(name, parseViewDefinition(ctx, name, 'create'));
  return { ok: 1 };
}

/** collMod on a view: only its viewOn and pipeline change. */
export function modifyView(ctx: CommandContext, name: string): Document {
  for (const k of Object.keys(ctx.cmd).slice(1))
    if (k !== 'viewOn' && k !== 'pipeline' && !GENERIC_FIELDS.has(k))
      throw new CommandError(ErrorCode.InvalidOptions, `option not supported on a view: ${k}`);
  if (ctx.cmd.viewOn === undefined || ctx.cmd.pipeline === undefined)
    throw new CommandError(
      ErrorCode.InvalidOptions,
      "must specify both 'viewOn' and 'pipeline' when modifying a view",
    );
  db(ctx).defineView(name, parseViewDefinition(ctx, name, 'collMod'), true);
  return { ok: 1 };
}

/** The listCollections entry of a view. */
export function viewInfo(name: string, view: ViewDefinition): Document {
  return {
    name,
    type: 'view',
    options: { viewOn: view.viewOn, pipeline: view.pipeline },
    info: { readOnly: true },
  };
}
