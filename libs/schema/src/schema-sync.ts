import { EJSON } from 'bson';
import type { Document } from 'bson';
import type { Db } from 'mongodb';
import type { AppLevel } from '@odtp/config';
import { DomainError, HTTP } from '@odtp/errors';
import { appContract, rulesBreaking } from './contracts/contract';
import type { AppContract } from './contracts/contract';
import { deriveIndexes } from './indexes';
import type { IndexDefinition } from './indexes';
import { deriveJsonSchema } from './json-schema';
import { COLLECTIONS } from './registry';
import type { CollectionName } from './registry';

export const VALIDATION_LEVELS = ['strict', 'moderate'] as const;
export type ValidationLevel = (typeof VALIDATION_LEVELS)[number];
export const VALIDATION_ACTIONS = ['error', 'warn'] as const;
export type ValidationAction = (typeof VALIDATION_ACTIONS)[number];
/** An applied validator compared with the derived one. */
export const VALIDATOR_STATES = ['missing', 'same', 'differs'] as const;
export type ValidatorState = (typeof VALIDATOR_STATES)[number];
export const APPLY_STATUSES = ['applied', 'unchanged', 'refused'] as const;
export type ApplyStatus = (typeof APPLY_STATUSES)[number];

export interface SchemaOptions {
  /** Collections whose documents may not hold fields the schema does not declare. */
  strictCollections?: readonly string[];
  /** The application that runs on the database (default: target, the documented schema). */
  app?: AppLevel;
  /** The application level the validators are derived for (default: `app`). */
  rules?: AppLevel;
  /** Time limit of the plan's queries (maxTimeMS); default none. */
  maxTimeMS?: number;
}

/** The contract whose writes the derived validators accept. */
export function rulesContract(options: SchemaOptions = {}): AppContract {
  return appContract(options.rules ?? options.app ?? 'target');
}

export interface DuplicateGroup {
  index: string;
  key: Document;
  ids: unknown[];
}

/** What `schema plan` reports for one collection. */
export interface CollectionPlan {
  collection: CollectionName;
  /** The application level the validator was derived for. */
  app: AppLevel;
  /** Rules of that validator that would reject what the running application writes ("userRef: ODTP 0.5 writes a string"). */
  conflicts: string[];
  exists: boolean;
  validator: ValidatorState;
  level: string | null;
  action: string | null;
  violations: number;
  samples: unknown[];
  missingIndexes: string[];
  extraIndexes: string[];
  duplicates: DuplicateGroup[];
}

const SAMPLE_LIMIT = 10;

export function derivedValidator(name: CollectionName, options: SchemaOptions = {}): Document {
  const def = COLLECTIONS.find((c) => c.name === name)!;
  return {
    $jsonSchema: deriveJsonSchema(def, {
      additionalProperties: !(options.strictCollections ?? []).includes(name),
      contract: rulesContract(options),
    }),
  };
}

function canonical(v: unknown): string {
  return EJSON.stringify(v, { relaxed: false });
}

async function duplicatesFor(db: Db, index: IndexDefinition, maxTimeMS?: number): Promise<DuplicateGroup[]> {
  const group: Document = {};
  for (const field of Object.keys(index.key)) group[field.replace(/\./g, '_')] = `$${field}`;
  const rows = await db
    .collection(index.collection)
    .aggregate(
      [
        { $group: { _id: group, ids: { $push: '$_id' }, n: { $sum: 1 } } },
        { $match: { n: { $gt: 1 } } },
        { $sort: { n: -1 } },
        { $limit: 100 },
      ],
      { maxTimeMS },
    )
    .toArray();
  return rows.map((r) => {
    const key: Document = {};
    Object.keys(index.key).forEach(
      (field) => (key[field] = (r._id as Document)[field.replace(/\./g, '_')] ?? null),
    );
    return { index: index.name, key, ids: r.ids as unknown[] };
  });
}

/** Compare the database with the derived validators and indexes (read-only). */
export async function planSchema(db: Db, options: SchemaOptions = {}): Promise<CollectionPlan[]> {
  const infos = new Map(
    (await db.listCollections({}, { nameOnly: false }).toArray()).map((c) => [c.name, c as Document]),
  );
  const derivedIndexes = deriveIndexes();
  const rules = rulesContract(options);
  const breaking = rulesBreaking(rules, appContract(options.app ?? rules.level), options.strictCollections);
  const out: CollectionPlan[] = [];
  for (const { name } of COLLECTIONS) {
    const info = infos.get(name);
    const collOptions = (info?.options ?? {}) as Document;
    const validator = derivedValidator(name, options);
    const state = !collOptions.validator
      ? 'missing'
      : canonical(collOptions.validator) === canonical(validator)
        ? 'same'
        : 'differs';
    const coll = db.collection(name);
    const violationFilter = { $nor: [validator] };
    const maxTimeMS = options.maxTimeMS;
    const violations = info ? await coll.countDocuments(violationFilter, { maxTimeMS }) : 0;
    const samples = violations
      ? (
          await coll
            .find(violationFilter, { projection: { _id: 1 }, limit: SAMPLE_LIMIT, maxTimeMS })
            .toArray()
        ).map((d) => d._id)
      : [];
    const existing = info ? await coll.indexes() : [];
    const wanted = derivedIndexes.filter((i) => i.collection === name);
    const has = (i: IndexDefinition): boolean =>
      existing.some(
        (e) => e.name === i.name && canonical(e.key) === canonical(i.key) && (e.unique === true) === i.unique,
      );
    const missing = wanted.filter((i) => !has(i));
    const extraIndexes = existing
      .filter((e) => e.name !== '_id_' && !wanted.some((w) => w.name === e.name && has(w)))
      .map((e) => e.name as string);
    const duplicates: DuplicateGroup[] = [];
    if (info)
      for (const i of missing.filter((m) => m.unique))
        duplicates.push(...(await duplicatesFor(db, i, maxTimeMS)));
    out.push({
      collection: name,
      app: rules.level,
      conflicts: breaking
        .filter((b) => b.collection === name)
        .map((b) => `${b.collection}.${b.path}: ${b.text}`),
      exists: info !== undefined,
      validator: state,
      level: (collOptions.validationLevel as string | undefined) ?? null,
      action: (collOptions.validationAction as string | undefined) ?? null,
      violations,
      samples,
      missingIndexes: missing.map((i) => i.name),
      extraIndexes,
      duplicates,
    });
  }
  return out;
}

export interface ApplyOptions extends SchemaOptions {
  level?: ValidationLevel;
  action?: ValidationAction;
  force?: boolean;
  prune?: boolean;
}

export interface ApplyResult {
  status: ApplyStatus;
  /** What was done (or, when refused, nothing). */
  changes: string[];
  /** Why apply refused, or what --force could still not do. */
  problems: string[];
  plan: CollectionPlan[];
}

/**
 * Create or collMod every collection with its derived validator, level and action, and create missing
 * indexes (drop extra ones only with `prune`). Refuses, changing nothing, while documents violate the
 * schema under action `error` or duplicates block a unique index, unless `force` (which still cannot build
 * a blocked unique index).
 */
export async function applySchema(db: Db, options: ApplyOptions = {}): Promise<ApplyResult> {
  const level = options.level ?? 'strict';
  const action = options.action ?? 'error';
  const plan = await planSchema(db, options);
  const problems: string[] = [];
  for (const p of plan) {
    problems.push(...p.conflicts.map((c) => `${c}: the ${p.app} rules would reject it`));
    if (action === 'error' && p.violations > 0) {
      problems.push(
        `${p.collection}: ${p.violations} document(s) violate the schema (e.g. ${p.samples
          .slice(0, 3)
          .map((s) => EJSON.stringify(s))
          .join(', ')}); fix them, or use --action warn`,
      );
    }
    for (const d of p.duplicates) {
      problems.push(
        `${p.collection}: unique index ${d.index} is blocked by duplicates of ${EJSON.stringify(d.key)} (ids ${d.ids.map((i) => EJSON.stringify(i)).join(', ')})`,
      );
    }
  }
  if (problems.length && !options.force) return { status: 'refused', changes: [], problems, plan };
  const changes: string[] = [];
  const indexes = deriveIndexes();
  for (const p of plan) {
    const validator = derivedValidator(p.collection, options);
    if (!p.exists) {
      await db.createCollection(p.collection, {
        validator,
        validationLevel: level,
        validationAction: action,
      });
      changes.push(`${p.collection}: created with validator (${level}, ${action})`);
    } else if (p.validator !== 'same' || p.level !== level || p.action !== action) {
      await db.command({
        collMod: p.collection,
        validator,
        validationLevel: level,
        validationAction: action,
      });
      changes.push(
        `${p.collection}: validator ${p.validator === 'missing' ? 'added' : p.validator === 'differs' ? 'updated' : 'kept'} (${level}, ${action})`,
      );
    }
    const blocked = new Set(p.duplicates.map((d) => d.index));
    for (const name of p.missingIndexes) {
      const def = indexes.find((i) => i.collection === p.collection && i.name === name)!;
      if (blocked.has(name)) {
        changes.push(
          `${p.collection}: unique index ${name} NOT created: duplicates block it even with --force`,
        );
        continue;
      }
      const clash = (await db.collection(p.collection).indexes()).find((e) => e.name === name);
      if (clash) await db.collection(p.collection).dropIndex(name);
      await db.collection(p.collection).createIndex(def.key, { name, unique: def.unique || undefined });
      changes.push(`${p.collection}: index ${name} created`);
    }
    if (options.prune) {
      for (const name of p.extraIndexes) {
        await db.collection(p.collection).dropIndex(name);
        changes.push(`${p.collection}: extra index ${name} dropped`);
      }
    }
  }
  return { status: changes.length ? 'applied' : 'unchanged', changes, problems, plan };
}

/** `schema apply` refused: nothing changed; `details` lists the problems (violations, duplicates, broken rules). */
export class SchemaApplyRefused extends DomainError {
  declare readonly details: string[];

  constructor(problems: string[]) {
    super(
      { code: 'SCHEMA_APPLY_REFUSED', httpStatus: HTTP.conflict, exitCode: 2 },
      `schema apply refused, nothing changed:\n  ${problems.join('\n  ')}\n(use --force to apply the rest anyway)`,
      problems,
    );
  }
}

/** The derived schema of every collection, keyed by collection name (for `schema export`). */
export function exportSchemas(options: SchemaOptions = {}): Record<string, Document> {
  return Object.fromEntries(
    COLLECTIONS.map((c) => [c.name, derivedValidator(c.name, options).$jsonSchema as Document]),
  );
}
