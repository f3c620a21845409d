import { APP_LEVELS } from '@odtp/config';
import type { AppLevel } from '@odtp/config';
import { DomainError, HTTP } from '@odtp/errors';
import { ObjectId } from 'bson';
import type { Document } from 'bson';
import { referenceGraph } from '../graph';
import { mapAt } from '../paths';
import { COLLECTION_NAMES, COLLECTIONS } from '../registry';
import type { CollectionName } from '../registry';
import odtp05 from './odtp-0.5.contract.json';
import transition from './transition.contract.json';

/** The BSON types a contract may name (the `$jsonSchema` `bsonType` aliases). */
export const CONTRACT_BSON_TYPES = ['objectId', 'string', 'null', 'date', 'bool', 'array', 'object'] as const;
export type ContractBsonType = (typeof CONTRACT_BSON_TYPES)[number];

/** A reference path of the target graph that the application writes with other types than an ObjectId. */
export interface ReferenceWrite {
  /** What the application writes there, its usual form first (the form seeds and repairs write). */
  writes: ContractBsonType[];
  /**
   * It writes both forms of the id at once, the two-element array `[ObjectId, id string]`: an older release's
   * string query and a newer one's ObjectId query both find it (MongoDB matches an array by any element).
   */
  both?: boolean;
  /** It reads both forms there (`{path: {$in: [id, idString]}}`): converting what is stored cannot hide anything. */
  readsBoth?: boolean;
  note?: string;
}

/** A field the target schema does not declare (or declares under another name) that the application writes. */
export interface FieldWrite {
  bsonType: ContractBsonType[];
  description: string;
  /** The target field this one stands for (camelCase timestamps): the application writes this one instead. */
  insteadOf?: string;
  /** The target field this one repeats (dt_id repeats digitalTwinRef), in this field's first type. */
  copyOf?: string;
}

/** A query the application relies on, with the value type it sends. */
export interface QueryFact {
  path: string;
  valueType: 'string';
  operation: string;
  query: string;
}

export interface CollectionContract {
  references?: Record<string, ReferenceWrite>;
  fields?: Record<string, FieldWrite>;
  queries?: QueryFact[];
}

/** What one application level writes and queries, where it differs from the target schema. */
export interface AppContract {
  level: AppLevel;
  /** How people name the application ("ODTP 0.5"). */
  application: string;
  description: string;
  collections: Partial<Record<CollectionName, CollectionContract>>;
  /** What a release of this application must change to live on the target schema. */
  toTarget: string[];
  /**
   * An older release that may still run beside this one during an upgrade: what it writes stays valid (validators,
   * audits count it as upgrade backlog) and its string queries must keep finding their documents.
   */
  beside?: AppLevel;
}

export class ContractError extends DomainError {
  constructor(message: string) {
    super({ code: 'INVALID_CONTRACT', httpStatus: HTTP.internal, exitCode: 1 }, message);
  }
}

const TARGET: AppContract = {
  level: 'target',
  application: 'the target schema',
  description:
    'An ODTP release that reads and writes the documented schema (what the Mongoose schemas of @odtp/schema say).',
  collections: {},
  toTarget: [],
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Every path the target schema declares per collection, and its reference paths. */
function targetPaths(): Map<CollectionName, { paths: Set<string>; references: Set<string> }> {
  const out = new Map<CollectionName, { paths: Set<string>; references: Set<string> }>();
  for (const def of COLLECTIONS) {
    const paths = new Set<string>();
    def.schema.eachPath((p) => paths.add(p));
    out.set(def.name, { paths, references: new Set() });
  }
  for (const e of referenceGraph()) out.get(e.from)!.references.add(e.path);
  return out;
}

function types(v: unknown, where: string): ContractBsonType[] {
  if (
    !Array.isArray(v) ||
    !v.length ||
    !v.every((t) => (CONTRACT_BSON_TYPES as readonly unknown[]).includes(t))
  )
    throw new ContractError(`${where} must be a non-empty list of ${CONTRACT_BSON_TYPES.join(', ')}`);
  return v as ContractBsonType[];
}

function text(v: unknown, where: string): string {
  if (typeof v !== 'string' || !v.trim()) throw new ContractError(`${where} must be a non-empty string`);
  return v;
}

/**
 * Check a contract file against the target schema: every reference is a reference path of the graph, every field
 * is one the target does not declare, every `insteadOf`/`copyOf` and query path exists. Throws ContractError
 * naming the first problem.
 */
export function parseContract(raw: unknown, file: string): AppContract {
  if (!isRecord(raw)) throw new ContractError(`${file}: must be a JSON object`);
  const level = raw.level;
  if (typeof level !== 'string' || !(APP_LEVELS as readonly string[]).includes(level) || level === 'target')
    throw new ContractError(
      `${file}: level must be one of ${APP_LEVELS.filter((l) => l !== 'target').join(', ')}`,
    );
  const known = targetPaths();
  const collections: Partial<Record<CollectionName, CollectionContract>> = {};
  if (!isRecord(raw.collections)) throw new ContractError(`${file}: collections must be an object`);
  for (const [name, value] of Object.entries(raw.collections)) {
    const at = `${file}: collections.${name}`;
    if (!(COLLECTION_NAMES as readonly string[]).includes(name))
      throw new ContractError(`${at}: unknown collection`);
    if (!isRecord(value)) throw new ContractError(`${at} must be an object`);
    const target = known.get(name as CollectionName)!;
    const c: CollectionContract = {};
    if (value.references !== undefined) {
      if (!isRecord(value.references)) throw new ContractError(`${at}.references must be an object`);
      c.references = {};
      for (const [path, r] of Object.entries(value.references)) {
        if (!target.references.has(path))
          throw new ContractError(`${at}.references.${path}: not a reference path of the target schema`);
        if (!isRecord(r)) throw new ContractError(`${at}.references.${path} must be an object`);
        for (const flag of ['both', 'readsBoth'] as const)
          if (r[flag] !== undefined && typeof r[flag] !== 'boolean')
            throw new ContractError(`${at}.references.${path}.${flag} must be true or false`);
        c.references[path] = {
          writes: types(r.writes, `${at}.references.${path}.writes`),
          ...(r.both === true ? { both: true } : {}),
          ...(r.readsBoth === true ? { readsBoth: true } : {}),
          ...(r.note !== undefined ? { note: text(r.note, `${at}.references.${path}.note`) } : {}),
        };
      }
    }
    if (value.fields !== undefined) {
      if (!isRecord(value.fields)) throw new ContractError(`${at}.fields must be an object`);
      c.fields = {};
      for (const [path, f] of Object.entries(value.fields)) {
        if (target.paths.has(path))
          throw new ContractError(`${at}.fields.${path}: the target schema declares it (use references)`);
        if (!isRecord(f)) throw new ContractError(`${at}.fields.${path} must be an object`);
        for (const key of ['insteadOf', 'copyOf'] as const)
          if (f[key] !== undefined && !target.paths.has(String(f[key])))
            throw new ContractError(`${at}.fields.${path}.${key}: ${String(f[key])} is not a target path`);
        c.fields[path] = {
          bsonType: types(f.bsonType, `${at}.fields.${path}.bsonType`),
          description: text(f.description, `${at}.fields.${path}.description`),
          ...(f.insteadOf !== undefined ? { insteadOf: String(f.insteadOf) } : {}),
          ...(f.copyOf !== undefined ? { copyOf: String(f.copyOf) } : {}),
        };
      }
    }
    if (value.queries !== undefined) {
      if (!Array.isArray(value.queries)) throw new ContractError(`${at}.queries must be a list`);
      c.queries = value.queries.map((q: unknown, i) => {
        const w = `${at}.queries.${i}`;
        if (!isRecord(q)) throw new ContractError(`${w} must be an object`);
        const path = text(q.path, `${w}.path`);
        if (!target.paths.has(path) && !(c.fields && path in c.fields))
          throw new ContractError(`${w}.path: ${path} is neither a target path nor a field of the contract`);
        if (q.valueType !== 'string') throw new ContractError(`${w}.valueType must be "string"`);
        return {
          path,
          valueType: 'string' as const,
          operation: text(q.operation, `${w}.operation`),
          query: text(q.query, `${w}.query`),
        };
      });
    }
    collections[name as CollectionName] = c;
  }
  const toTarget = raw.toTarget;
  if (!Array.isArray(toTarget) || !toTarget.every((t) => typeof t === 'string'))
    throw new ContractError(`${file}: toTarget must be a list of strings`);
  const beside = raw.beside;
  if (
    beside !== undefined &&
    (typeof beside !== 'string' ||
      !(APP_LEVELS as readonly string[]).includes(beside) ||
      !levelBefore(beside as AppLevel, level as AppLevel))
  )
    throw new ContractError(`${file}: beside must name an older application level`);
  return {
    ...(beside !== undefined ? { beside: beside as AppLevel } : {}),
    level: level as AppLevel,
    application: text(raw.application, `${file}: application`),
    description: text(raw.description, `${file}: description`),
    collections,
    toTarget: toTarget as string[],
  };
}

/** The contract files, one per released application level. */
const CONTRACT_FILES: readonly [string, unknown][] = [
  ['odtp-0.5.contract.json', odtp05],
  ['transition.contract.json', transition],
];

const CONTRACTS = new Map<AppLevel, AppContract>([
  ...CONTRACT_FILES.map(([file, raw]): [AppLevel, AppContract] => {
    const c = parseContract(raw, file);
    return [c.level, c];
  }),
  ['target', TARGET],
]);

/** The contract of an application level. */
export function appContract(level: AppLevel): AppContract {
  const c = CONTRACTS.get(level);
  if (!c)
    throw new ContractError(`no contract for application level "${level}" (known: ${APP_LEVELS.join(', ')})`);
  return c;
}

/** Every contract, oldest application first. */
export function allContracts(): AppContract[] {
  return APP_LEVELS.map(appContract);
}

/** Whether level `a` comes before `b` (older application). */
export function levelBefore(a: AppLevel, b: AppLevel): boolean {
  return APP_LEVELS.indexOf(a) < APP_LEVELS.indexOf(b);
}

/** The application's contract and the one of the release that may run beside it: what the database may receive. */
export function writersOf(contract: AppContract): AppContract[] {
  return contract.beside ? [contract, appContract(contract.beside)] : [contract];
}

function referenceWrite(contract: AppContract, collection: string, path: string): ReferenceWrite | undefined {
  return contract.collections[collection as CollectionName]?.references?.[path];
}

/**
 * The types the database may receive at a reference path from the application (and the release beside it): an
 * ObjectId, plus what their contracts list (`array` for the both-forms pair).
 */
export function referenceTypes(contract: AppContract, collection: string, path: string): ContractBsonType[] {
  const written = writersOf(contract).flatMap((c) => referenceWrite(c, collection, path)?.writes ?? []);
  return [...new Set<ContractBsonType>(['objectId', ...written])];
}

/** Whether the application (or the release beside it) writes references at this path as strings. */
export function writesStringReference(contract: AppContract, collection: string, path: string): boolean {
  return writersOf(contract).some((c) =>
    (referenceWrite(c, collection, path)?.writes ?? []).includes('string'),
  );
}

/** Whether the application writes both forms of the id at this path (`[ObjectId, id string]`). */
export function writesBothForms(contract: AppContract, collection: string, path: string): boolean {
  return referenceWrite(contract, collection, path)?.both === true;
}

/** The string queries on a path of the application and of the release beside it (the value type they send). */
export function queriesOn(contract: AppContract, collection: string, path: string): QueryFact[] {
  return writersOf(contract).flatMap((c) =>
    (c.collections[collection as CollectionName]?.queries ?? []).filter((q) => q.path === path),
  );
}

/**
 * How the application usually writes an id at `collection.path`: as a string (ODTP 0.5's stepRef, userRef, and the
 * dt_id it repeats beside digitalTwinRef) or as an ObjectId (everywhere else).
 */
export function idForm(
  contract: AppContract,
  collection: string,
  path: string,
): 'string' | 'objectId' | 'both' {
  const c = contract.collections[collection as CollectionName];
  if (c?.references?.[path]?.both) return 'both';
  const usual = c?.references?.[path]?.writes[0] ?? c?.fields?.[path]?.bsonType[0];
  return usual === 'string' ? 'string' : 'objectId';
}

/**
 * A reference as the application writes it at `collection.path` (see idForm). Used by seeds, repairs, imports and
 * migrations that create references.
 */
export function referenceValue(
  contract: AppContract,
  collection: string,
  path: string,
  id: ObjectId,
): ObjectId | string | [ObjectId, string] {
  const form = idForm(contract, collection, path);
  return form === 'string' ? id.toHexString() : form === 'both' ? [id, id.toHexString()] : id;
}

/**
 * A document of the target shape as the application writes it: references in its usual form, fields it writes
 * instead of target ones renamed, fields it repeats copied (seeds write this; the target contract changes nothing).
 */
export function toAppShape(contract: AppContract, collection: CollectionName, doc: Document): Document {
  const c = contract.collections[collection];
  if (!c) return doc;
  let out: Document = doc;
  for (const path of Object.keys(c.references ?? {})) {
    out = mapAt(out, path.split('.'), (v) =>
      v instanceof ObjectId ? referenceValue(contract, collection, path, v) : v,
    ) as Document;
  }
  for (const [field, f] of Object.entries(c.fields ?? {})) {
    if (f.insteadOf && f.insteadOf in out) {
      const { [f.insteadOf]: value, ...rest } = out;
      out = { ...rest, [field]: value as unknown };
    } else if (f.copyOf && out[f.copyOf] !== undefined && out[f.copyOf] !== null) {
      const v: unknown = out[f.copyOf];
      out = { ...out, [field]: f.bsonType[0] === 'string' && v instanceof ObjectId ? v.toHexString() : v };
    }
  }
  return out;
}

/** One way the application departs from the target schema, worded for people. */
export interface Deviation {
  collection: CollectionName;
  path: string;
  kind: 'reference' | 'field' | 'query';
  /** Without the path, for lists keyed by it: "ODTP 0.5 writes a string". */
  text: string;
  /** With the path: "ODTP 0.5 queries outputs.stepRef as a string (delete execution cascade ...)". */
  sentence: string;
}

function typeWords(types: readonly ContractBsonType[]): string {
  const words: Record<ContractBsonType, string> = {
    objectId: 'an ObjectId',
    string: 'a string',
    null: 'null',
    date: 'a date',
    bool: 'a boolean',
    array: 'an array',
    object: 'a document',
  };
  return types.map((t) => words[t]).join(' or ');
}

/** Everything the contract's application does differently from the target schema. */
export function deviations(contract: AppContract): Deviation[] {
  const out: Deviation[] = [];
  const app = contract.application;
  for (const [name, c] of Object.entries(contract.collections) as [CollectionName, CollectionContract][]) {
    for (const [path, r] of Object.entries(c.references ?? {})) {
      const what = typeWords(r.writes.filter((t) => t !== 'objectId'));
      out.push({
        collection: name,
        path,
        kind: 'reference',
        text: `${app} writes ${what}`,
        sentence: `${app} writes ${name}.${path} as ${what}`,
      });
    }
    for (const [path, f] of Object.entries(c.fields ?? {})) {
      const instead = f.insteadOf ? ` instead of ${f.insteadOf}` : '';
      out.push({
        collection: name,
        path,
        kind: 'field',
        text: `${app} writes ${path}${instead} (${typeWords(f.bsonType)})`,
        sentence: `${app} writes ${name}.${path}${instead} (${typeWords(f.bsonType)})`,
      });
    }
    for (const q of c.queries ?? [])
      out.push({
        collection: name,
        path: q.path,
        kind: 'query',
        text: `${app} queries it as a string (${q.operation})`,
        sentence: `${app} queries ${name}.${q.path} as a string (${q.operation}: ${q.query})`,
      });
  }
  return out;
}

/**
 * The rules of `rules` that would reject what the application of `app` writes: its reference types that `rules`
 * does not accept, and its fields where `rules` forbids undeclared fields (strict collections) or requires the
 * target field it writes under another name. Empty when `rules` is at or below `app`.
 */
export function rulesBreaking(
  rules: AppContract,
  app: AppContract,
  strictCollections: readonly string[] = [],
): Deviation[] {
  const out: Deviation[] = [];
  const required = (collection: string, path: string): boolean => {
    const def = COLLECTIONS.find((c) => c.name === collection);
    const type = def?.schema.path(path) as { options?: { required?: unknown } } | undefined;
    return type?.options?.required === true;
  };
  for (const d of deviations(app)) {
    const c = app.collections[d.collection]!;
    if (d.kind === 'reference') {
      const accepted = new Set(referenceTypes(rules, d.collection, d.path));
      if (c.references![d.path].writes.some((t) => !accepted.has(t))) out.push(d);
    } else if (d.kind === 'field') {
      const f = c.fields![d.path];
      const declared = rules.collections[d.collection]?.fields?.[d.path] !== undefined;
      if (declared) continue;
      if (strictCollections.includes(d.collection) || (f.insteadOf && required(d.collection, f.insteadOf)))
        out.push(d);
    }
  }
  return out;
}

/** How a migration changes what applications read and write, declared in the migration file. */
export interface SchemaEffect {
  collection: CollectionName;
  path: string;
  /**
   * `reference-to-objectid`: ids become what the application writes there (safe where it reads both forms);
   * `to-target`: values become the target shape whatever the application writes (the end of an upgrade);
   * `rename`, `remove`: a field renamed or removed.
   */
  change: 'reference-to-objectid' | 'to-target' | 'rename' | 'remove';
}

/**
 * Why the application of `contract` cannot live with these effects: every fact of its contract on an affected
 * path (what it writes or queries there). Empty when the effects are safe for it.
 */
export function effectConflicts(contract: AppContract, effects: readonly SchemaEffect[]): string[] {
  const rank = { query: 0, reference: 1, field: 2 };
  const all = deviations(contract).sort((a, b) => rank[a.kind] - rank[b.kind]);
  const out: string[] = [];
  for (const e of effects)
    for (const d of all) {
      if (d.collection !== e.collection || d.path !== e.path || out.includes(d.sentence)) continue;
      // an application that reads both forms is safe from a conversion that writes its own forms
      const readsBoth =
        e.change === 'reference-to-objectid' &&
        d.kind === 'reference' &&
        referenceWrite(contract, d.collection, d.path)?.readsBoth === true;
      if (!readsBoth) out.push(d.sentence);
    }
  return out;
}

/** The oldest application level the effects are safe for. */
export function lowestSafeLevel(effects: readonly SchemaEffect[]): AppLevel {
  return APP_LEVELS.find((l) => effectConflicts(appContract(l), effects).length === 0) ?? 'target';
}
