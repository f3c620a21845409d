import { EJSON, ObjectId } from 'bson';
import type { Document } from 'bson';
import type { Db } from 'mongodb';
import type { AppLevel } from '@odtp/config';
import {
  appContract,
  COLLECTIONS,
  deriveJsonSchema,
  referenceGraph,
  referencedId,
  referenceValue,
  writesStringReference,
} from '@odtp/schema';
import type { AppContract, CollectionName, Edge } from '@odtp/schema';
import type { CheckName, Finding, Violation } from './findings';

export const ORPHAN_POLICIES = ['quarantine', 'delete', 'keep'] as const;
export type OrphanPolicy = (typeof ORPHAN_POLICIES)[number];

export const REPAIR_KINDS = [
  'pull',
  'unset',
  'convert',
  'stringify',
  'add-to-set',
  'set',
  'quarantine',
  'delete',
  'rename-key',
  'manual',
] as const;
/** `convert`: id strings to ObjectIds; `stringify`: ObjectIds to the id strings the application queries with. */
export type RepairKind = (typeof REPAIR_KINDS)[number];

/** One change to one document; `manual` ones are listed for a person and never applied. */
export interface RepairAction {
  kind: RepairKind;
  check: CheckName;
  collection: string;
  docId: unknown;
  path?: string;
  value?: unknown;
  reason: string;
}

/** What a plan depends on besides the violations. */
export interface PlanContext {
  db: Db;
  app: AppContract;
  /** What to do with orphans, per collection (default quarantine). */
  orphans?: Partial<Record<CollectionName, OrphanPolicy>>;
}

/**
 * How violations of one check are repaired: `plan` turns them into actions, `describe` says in words what plan
 * does for a finding (the HTML report shows it beside the samples). Both read the same decision functions below,
 * so the words cannot drift from what is done.
 */
interface RepairRule {
  plan(violations: Violation[], ctx: PlanContext): Promise<RepairAction[]>;
  describe(finding: Pick<Finding, 'collection' | 'path'>, app: AppContract): string;
}

const EDGES = referenceGraph();
export const edgeOf = (collection: string, path: string): Edge | undefined =>
  EDGES.find((e) => e.from === collection && e.path === path);

function requiredPaths(collection: string): Set<string> {
  const def = COLLECTIONS.find((c) => c.name === collection);
  return new Set(def ? ((deriveJsonSchema(def).required as string[] | undefined) ?? []) : []);
}

export const hex = (v: unknown): string | undefined => referencedId(v)?.toHexString();

/** An action on the offending value of `v` itself (same collection, document and path). */
function onValue(kind: RepairKind, v: Violation, reason: string): RepairAction {
  return {
    kind,
    check: v.check,
    collection: v.collection,
    docId: v.docId,
    path: v.path,
    value: v.value,
    reason,
  };
}

// ---- the decisions, shared by plan and describe ----

/** A reference that must go: pulled from an array, unset when optional, the document an orphan when required. */
function removal(collection: string, path: string): 'pull' | 'unset' | 'orphan' {
  if (edgeOf(collection, path)?.many) return 'pull';
  return requiredPaths(collection).has(path) ? 'orphan' : 'unset';
}

/** Type drift: an id string is converted unless the application writes strings there; a non-id is removed. */
function driftDecision(
  app: AppContract,
  collection: string,
  path: string,
  idString: boolean,
): 'leave' | 'convert' | 'pull' | 'unset' | 'manual' {
  if (idString) return writesStringReference(app, collection, path) ? 'leave' : 'convert';
  const r = removal(collection, path);
  return r === 'orphan' ? 'manual' : r;
}

/** A broken two-way link is mended on the side that lacks it: a single reference set, an array entry added. */
const inverseKind = (edge: Edge): 'set' | 'add-to-set' => (edge.many ? 'set' : 'add-to-set');

/** The value a duplicate gets: ` [<id>]` appended (`#<id>` for a repoLink, which must stay a URL). */
function duplicateValue(field: string, current: unknown, suffix: string): string {
  return field === 'repoLink' && typeof current === 'string'
    ? `${current}#${suffix}`
    : `${current === null || current === undefined ? '' : String(current)} [${suffix}]`.trim();
}

function orphanAction(v: Violation, ctx: PlanContext, reason: string): RepairAction {
  const policy = ctx.orphans?.[v.collection as CollectionName] ?? 'quarantine';
  return {
    kind: policy === 'keep' ? 'manual' : policy,
    check: v.check,
    collection: v.collection,
    docId: v.docId,
    reason: policy === 'keep' ? `${reason}; policy keep` : reason,
  };
}

const quarantineWords = (collection: string, why: string): string =>
  `quarantine: the document moves to ${collection}_quarantine (${why})`;

function removalWords(collection: string, path: string): string {
  switch (removal(collection, path)) {
    case 'pull':
      return 'pull: the value is removed from the array';
    case 'unset':
      return 'unset: the reference is removed';
    case 'orphan':
      return quarantineWords(collection, 'a required reference');
  }
}

/** One action per violation (undefined: nothing to do), for the rules that look at violations one by one. */
function each(
  decide: (v: Violation, ctx: PlanContext) => RepairAction | undefined | Promise<RepairAction | undefined>,
): RepairRule['plan'] {
  return async (violations, ctx) => {
    const out: RepairAction[] = [];
    for (const v of violations) {
      const a = await decide(v, ctx);
      if (a) out.push(a);
    }
    return out;
  };
}

// ---- the table ----

const danglingReference: RepairRule = {
  plan: each((v, ctx) => {
    const edge = edgeOf(v.collection, v.path);
    if (!edge) return undefined;
    const reason = `${v.path} -> ${edge.to} ${hex(v.value) ?? String(v.value)} does not exist`;
    const r = removal(v.collection, v.path);
    return r === 'orphan'
      ? orphanAction(v, ctx, `${reason} (a required reference: the document cannot stand without it)`)
      : onValue(r, v, reason);
  }),
  describe: (f) => removalWords(f.collection, f.path),
};

const typeDrift: RepairRule = {
  plan: each((v, ctx) => {
    if (!edgeOf(v.collection, v.path)) return undefined;
    const idString = typeof v.value === 'string' && referencedId(v.value) !== undefined;
    const decision = driftDecision(ctx.app, v.collection, v.path, idString);
    if (decision === 'leave') return undefined; // the id strings the application writes are what it reads
    if (decision === 'convert') return onValue('convert', v, `${v.path}: id stored as a string`);
    const what = `${v.path}: ${JSON.stringify(v.value)} is not an id`;
    return onValue(decision, v, decision === 'manual' ? `${what} and the reference is required` : what);
  }),
  describe: (f, app) => {
    const other = driftDecision(app, f.collection, f.path, false);
    const nonId =
      other === 'manual'
        ? 'manual: a required reference that is not an id'
        : removalWords(f.collection, f.path);
    return driftDecision(app, f.collection, f.path, true) === 'leave'
      ? `left alone when an id string (${app.application} writes id strings here); otherwise ${nonId}`
      : `convert: the id string becomes an ObjectId; a value that is no id: ${nonId}`;
  },
};

const queryMismatch: RepairRule = {
  plan: each((v, ctx) =>
    edgeOf(v.collection, v.path)
      ? onValue(
          'stringify',
          v,
          `${v.path}: ${ctx.app.application} finds it by the id string, not the ObjectId`,
        )
      : undefined,
  ),
  describe: (_f, app) => `stringify: the ObjectId becomes the id string ${app.application} queries with`,
};

/** A document id as the application writes it at `collection.path` (an id string where it writes strings). */
function asReference(app: AppContract, collection: string, path: string, id: unknown): unknown {
  return id instanceof ObjectId ? referenceValue(app, collection, path, id) : id;
}

const brokenInverse: RepairRule = {
  /**
   * A parent listing a child whose own reference (the authority) is missing gets it set, one naming another
   * parent loses the child; a child pointing at a parent that does not list it is added to the parent.
   */
  plan: each(async (v, ctx) => {
    const edge = edgeOf(v.collection, v.path);
    if (!edge?.inverse) return undefined;
    const inverse = edge.inverse;
    const target = referencedId(v.value)!;
    const back = (reason: string): RepairAction => ({
      kind: inverseKind(edge),
      check: v.check,
      collection: edge.to,
      docId: target,
      path: inverse,
      value: asReference(ctx.app, edge.to, inverse, v.docId),
      reason,
    });
    if (!edge.many) return back(`${v.collection} ${hex(v.docId)} points at it through ${v.path}`);
    const child = await ctx.db.collection(edge.to).findOne({ _id: target }, { projection: { [inverse]: 1 } });
    const owner: unknown = child?.[inverse];
    if (owner === undefined || owner === null)
      return back(`${v.collection} ${hex(v.docId)} lists it in ${v.path}; ${inverse} was missing`);
    return onValue(
      'pull',
      v,
      `${edge.to} ${target.toHexString()} belongs to ${hex(owner) ?? String(owner)} (its ${inverse})`,
    );
  }),
  describe: (f) => {
    const edge = edgeOf(f.collection, f.path);
    if (!edge?.inverse) return 'manual';
    return `${inverseKind(edge)}: the missing link is written to ${edge.to}.${edge.inverse}${edge.many ? `, or the entry is pulled when the ${edge.to} document belongs to another parent` : ''}`;
  },
};

const orphan: RepairRule = {
  plan: each((v, ctx) => orphanAction(v, ctx, `no parent reaches it (${v.path})`)),
  describe: (f) =>
    `${quarantineWords(f.collection, 'policy per collection: quarantine, delete or keep')}, unless something still references it`,
};

/** Duplicates of a unique key: the oldest document keeps the value, the others get a suffix (duplicateValue). */
function renameDuplicates(group: Violation[]): RepairAction[] {
  const sorted = [...group].sort((a, b) => (hex(a.docId) ?? '').localeCompare(hex(b.docId) ?? ''));
  const fields = sorted[0].path.split('+');
  const field = fields[fields.length - 1];
  return sorted.slice(1).map((v) => {
    const current = (v.value as Document | null)?.[field.replace(/\./g, '_')] as unknown;
    return {
      kind: 'rename-key',
      check: 'duplicate',
      collection: v.collection,
      docId: v.docId,
      path: field,
      value: duplicateValue(field, current ?? null, hex(v.docId) ?? String(v.docId)),
      reason: `${sorted.length} documents share ${JSON.stringify(v.value)}; ${hex(sorted[0].docId)} keeps it`,
    };
  });
}

const duplicate: RepairRule = {
  plan: async (violations) => {
    const groups = new Map<string, Violation[]>();
    for (const v of violations) {
      const key = `${v.collection}|${v.path}|${EJSON.stringify({ k: v.value as Document })}`;
      groups.set(key, [...(groups.get(key) ?? []), v]);
    }
    return [...groups.values()].flatMap(renameDuplicates);
  },
  describe: (f) => {
    const fields = f.path.split('+');
    const field = fields[fields.length - 1];
    return `rename-key: the oldest document keeps the value, the others become "${duplicateValue(field, '<value>', '<id>')}"`;
  },
};

const schemaViolation: RepairRule = {
  plan: each((v) => ({
    kind: 'manual',
    check: v.check,
    collection: v.collection,
    docId: v.docId,
    reason: 'fails the derived $jsonSchema (see schema plan); fixed by other actions or by hand',
  })),
  describe: () => 'manual: fixed by the other actions or by hand (see schema plan)',
};

/** Every check and how its violations are repaired. */
export const REPAIR_RULES: Readonly<Record<CheckName, RepairRule>> = {
  'dangling-reference': danglingReference,
  'type-drift': typeDrift,
  'query-mismatch': queryMismatch,
  'broken-inverse': brokenInverse,
  orphan,
  duplicate,
  'schema-violation': schemaViolation,
};

/** What `repair plan` does with the violations of a finding, in words. */
export function describeRepair(
  finding: Pick<Finding, 'check' | 'collection' | 'path'>,
  app: AppLevel = 'target',
): string {
  return REPAIR_RULES[finding.check].describe(finding, appContract(app));
}
