import { randomUUID } from 'node:crypto';
import { Binary, deserialize, ObjectId, serialize, UUID } from 'bson';
import type { Document } from 'bson';
import { formatValue, keyOf } from './bson-order';
import { CommandError, ErrorCode } from './errors';
import { checkSchema, validateSchema } from './json-schema';
import { compileFilter, pathValues } from './query-engine';

export interface IndexSpec extends Document {
  v: number;
  key: Document;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Document;
}

export type ValidationLevel = 'off' | 'strict' | 'moderate';
export type ValidationAction = 'error' | 'warn';

export interface CollectionOptions {
  validator?: Document;
  validationLevel?: ValidationLevel;
  validationAction?: ValidationAction;
}

/** A journal receives every state change so that a persistent store can replay it. */
export interface JournalSink {
  record(entry: Document): void;
}

export interface WriteOptions {
  bypassDocumentValidation?: boolean;
}

const ID_INDEX: IndexSpec = { v: 2, key: { _id: 1 }, name: '_id_' };

export function idKeyOf(id: unknown): string {
  return keyOf(id);
}

export function decode(buf: Uint8Array): Document {
  return deserialize(buf);
}

export function encode(doc: Document): Uint8Array {
  return serialize(doc, { checkKeys: false, ignoreUndefined: false });
}

/** A secondary index: index key -> the `_id` keys of the documents holding it. */
export class Index {
  readonly fields: [string, number | string][];
  private readonly partial?: (doc: Document) => boolean;
  readonly entries = new Map<string, Set<string>>();

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.entries(spec.key) as [string, number | string][];
    if (spec.partialFilterExpression) this.partial = compileFilter(spec.partialFilterExpression);
  }

  get name(): string {
    return this.spec.name;
  }

  get unique(): boolean {
    return this.spec.unique === true;
  }

  /** The index keys of a document, or an empty list when the index does not cover it. */
  keysFor(doc: Document): { key: string; values: unknown[] }[] {
    if (this.partial && !this.partial(doc)) return [];
    const perField = this.fields.map(([path]) => {
      const found = pathValues(doc, path).flatMap((v) =>
        Array.isArray(v) ? (v.length ? v : [undefined]) : [v],
      );
      return found.length ? found : [undefined];
    });
    if (this.spec.sparse && perField.every((vals) => vals.length === 1 && vals[0] === undefined)) return [];
    const multi = perField.filter((vals) => vals.length > 1).length;
    if (multi > 1) {
      throw new CommandError(
        ErrorCode.BadValue,
        `cannot index parallel arrays [${this.fields.map(([p]) => p).join('] [')}]`,
      );
    }
    let combos: unknown[][] = [[]];
    for (const vals of perField) combos = combos.flatMap((c) => vals.map((v) => [...c, v]));
    const seen = new Set<string>();
    const out: { key: string; values: unknown[] }[] = [];
    for (const values of combos) {
      const key = values.map(keyOf).join('\u0000');
      if (!seen.has(key)) {
        seen.add(key);
        out.push({ key, values });
      }
    }
    return out;
  }

  add(idKey: string, doc: Document): void {
    for (const { key } of this.keysFor(doc)) {
      let set = this.entries.get(key);
      if (!set) this.entries.set(key, (set = new Set()));
      set.add(idKey);
    }
  }

  remove(idKey: string, doc: Document): void {
    for (const { key } of this.keysFor(doc)) {
      const set = this.entries.get(key);
      if (!set) continue;
      set.delete(idKey);
      if (set.size === 0) this.entries.delete(key);
    }
  }

  lookup(key: string): Iterable<string> {
    return this.entries.get(key) ?? [];
  }

  byteSize(): number {
    let n = 0;
    for (const [k, set] of this.entries) n += k.length + 16 * set.size;
    return n;
  }
}

export class Collection {
  readonly docs = new Map<string, Uint8Array>();
  readonly indexes = new Map<string, Index>();
  uuid: UUID;
  /** False while a collection is staged (for `$out`) and not yet part of its database. */
  journaled = true;
  private validate?: (doc: Document) => boolean;
  private dataBytes = 0;

  constructor(
    public db: Database,
    public name: string,
    public options: CollectionOptions = {},
    uuid?: UUID,
  ) {
    this.uuid = uuid ?? new UUID();
    this.setOptions(options);
  }

  /** Move to another database/name (renameCollection). */
  rebind(db: Database, name: string): void {
    this.db = db;
    this.name = name;
  }

  get ns(): string {
    return `${this.db.name}.${this.name}`;
  }

  get size(): number {
    return this.docs.size;
  }

  get bytes(): number {
    return this.dataBytes;
  }

  setOptions(options: CollectionOptions): void {
    if (options.validator) {
      if (options.validator.$jsonSchema !== undefined) checkSchema(options.validator.$jsonSchema);
      this.validate = compileFilter(options.validator);
    } else this.validate = undefined;
    this.options = options;
  }

  indexSpecs(): IndexSpec[] {
    return [ID_INDEX, ...[...this.indexes.values()].map((i) => i.spec)];
  }

  get(idKey: string): Document | undefined {
    const buf = this.docs.get(idKey);
    return buf ? decode(buf) : undefined;
  }

  *scan(): IterableIterator<Document> {
    for (const buf of this.docs.values()) yield decode(buf);
  }

  /** Documents that may match `filter`, using the `_id` or a secondary index for equality and `$in`. */
  candidates(filter: Document | undefined): Iterable<Document> {
    const ids = filter ? this.indexedIds(filter) : undefined;
    if (!ids) return this.scan();
    return this.fetch(ids);
  }

  private *fetch(ids: string[]): IterableIterator<Document> {
    for (const id of ids) {
      const doc = this.get(id);
      if (doc) yield doc;
    }
  }

  /** Plan description for explain: which index answers `filter`. */
  plan(filter: Document | undefined): { stage: 'IXSCAN' | 'COLLSCAN' | 'IDHACK'; indexName?: string } {
    if (!filter) return { stage: 'COLLSCAN' };
    const eq = equalityKeys(filter._id);
    if (eq) return { stage: 'IDHACK', indexName: '_id_' };
    for (const index of this.indexes.values()) {
      if (
        index.fields.length === 1 &&
        !index.spec.sparse &&
        !index.spec.partialFilterExpression &&
        equalityKeys(filter[index.fields[0][0]])
      ) {
        return { stage: 'IXSCAN', indexName: index.name };
      }
    }
    return { stage: 'COLLSCAN' };
  }

  private indexedIds(filter: Document): string[] | undefined {
    const idKeys = equalityKeys(filter._id);
    if (idKeys) return idKeys;
    for (const index of this.indexes.values()) {
      if (index.fields.length !== 1 || index.spec.sparse || index.spec.partialFilterExpression) continue;
      const keys = equalityKeys(filter[index.fields[0][0]]);
      if (!keys) continue;
      const out = new Set<string>();
      for (const k of keys) for (const id of index.lookup(k)) out.add(id);
      return [...out];
    }
    return undefined;
  }

  /** Throws code 121 when `doc` fails the validator under the collection's level and action. */
  checkValidation(doc: Document, previous: Document | undefined, opts: WriteOptions): void {
    if (!this.validate || opts.bypassDocumentValidation) return;
    const level = this.options.validationLevel ?? 'strict';
    if (level === 'off') return;
    if (this.validate(doc)) return;
    if (previous && level === 'moderate' && !this.validate(previous)) return;
    if ((this.options.validationAction ?? 'error') === 'warn') return;
    throw new CommandError(ErrorCode.DocumentValidationFailure, 'Document failed validation', {
      errInfo: { failingDocumentId: doc._id, details: this.validationDetails(doc) },
    });
  }

  private validationDetails(doc: Document): Document {
    const validator = this.options.validator ?? {};
    const schema = validator.$jsonSchema as Document | undefined;
    if (schema && Object.keys(validator).length === 1) {
      const details: Document = { operatorName: '$jsonSchema' };
      if (schema.title !== undefined) details.title = schema.title;
      details.schemaRulesNotSatisfied = validateSchema(schema, doc);
      return details;
    }
    const clauses = Object.entries(validator)
      .filter(([k, v]) => !compileFilter({ [k]: v })(doc))
      .map(([k, v]) => {
        if (k === '$jsonSchema')
          return { operatorName: '$jsonSchema', schemaRulesNotSatisfied: validateSchema(v as Document, doc) };
        return { operatorName: k.startsWith('$') ? k : '$eq', specifiedAs: { [k]: v } };
      });
    return {
      operatorName: '$and',
      clausesNotSatisfied: clauses.map((details, index) => ({ index, details })),
    };
  }

  /** Throws E11000 when `doc` would duplicate a unique key held by another document. */
  checkUnique(doc: Document, idKey: string, isNew: boolean): void {
    if (isNew && this.docs.has(idKey)) throw this.duplicateError(ID_INDEX, [doc._id]);
    for (const index of this.indexes.values()) {
      if (!index.unique) continue;
      for (const { key, values } of index.keysFor(doc)) {
        for (const other of index.lookup(key)) {
          if (other !== idKey) throw this.duplicateError(index.spec, values);
        }
      }
    }
  }

  duplicateError(spec: IndexSpec, values: unknown[]): CommandError {
    const fields = Object.keys(spec.key);
    const keyValue: Document = {};
    fields.forEach((f, i) => (keyValue[f] = values[i] ?? null));
    const shown = fields.map((f, i) => `${f}: ${formatValue(values[i] ?? null)}`).join(', ');
    return new CommandError(
      ErrorCode.DuplicateKey,
      `E11000 duplicate key error collection: ${this.ns} index: ${spec.name} dup key: { ${shown} }`,
      { keyPattern: spec.key, keyValue },
    );
  }

  /** Insert a document after validation and unique checks; `_id` must be set. */
  insert(doc: Document, opts: WriteOptions = {}): void {
    const idKey = idKeyOf(doc._id);
    this.checkValidation(doc, undefined, opts);
    this.checkUnique(doc, idKey, true);
    for (const index of this.indexes.values()) index.keysFor(doc);
    this.put(idKey, doc, undefined);
  }

  /** Replace an existing document (same `_id`) after validation and unique checks. */
  replace(previous: Document, next: Document, opts: WriteOptions = {}): void {
    const idKey = idKeyOf(previous._id);
    this.checkValidation(next, previous, opts);
    this.checkUnique(next, idKey, false);
    for (const index of this.indexes.values()) index.keysFor(next);
    this.put(idKey, next, previous);
  }

  remove(doc: Document): void {
    const idKey = idKeyOf(doc._id);
    const buf = this.docs.get(idKey);
    if (!buf) return;
    for (const index of this.indexes.values()) index.remove(idKey, doc);
    this.docs.delete(idKey);
    this.dataBytes -= buf.byteLength;
    if (this.journaled)
      this.db.store.journal?.record({ op: 'del', db: this.db.name, coll: this.name, id: doc._id });
  }

  private put(idKey: string, doc: Document, previous: Document | undefined): void {
    const buf = encode(doc);
    if (buf.byteLength > 16 * 1024 * 1024) {
      throw new CommandError(ErrorCode.BadValue, `object to insert exceeds cappedMaxSize`);
    }
    this.rawPut(idKey, buf, doc, previous);
    if (this.journaled)
      this.db.store.journal?.record({ op: 'put', db: this.db.name, coll: this.name, doc: new Binary(buf) });
  }

  /** Store without checks (replay of the journal). */
  rawPut(idKey: string, buf: Uint8Array, doc?: Document, previous?: Document): void {
    const old = this.docs.get(idKey);
    if (old) {
      const prev = previous ?? decode(old);
      for (const index of this.indexes.values()) index.remove(idKey, prev);
      this.dataBytes -= old.byteLength;
    }
    const current = doc ?? decode(buf);
    this.docs.set(idKey, buf);
    this.dataBytes += buf.byteLength;
    for (const index of this.indexes.values()) index.add(idKey, current);
  }

  rawDelete(id: unknown): void {
    const idKey = idKeyOf(id);
    const buf = this.docs.get(idKey);
    if (!buf) return;
    const doc = decode(buf);
    for (const index of this.indexes.values()) index.remove(idKey, doc);
    this.docs.delete(idKey);
    this.dataBytes -= buf.byteLength;
  }

  /** Build an index over existing documents; throws E11000 (and builds nothing) on duplicates. */
  createIndex(spec: IndexSpec): void {
    const index = new Index(spec);
    for (const [idKey, buf] of this.docs) {
      const doc = decode(buf);
      if (index.unique) {
        for (const { key, values } of index.keysFor(doc)) {
          const holders = index.entries.get(key);
          if (holders && holders.size > 0) throw this.duplicateError(spec, values);
        }
      }
      index.add(idKey, doc);
    }
    this.indexes.set(spec.name, index);
  }

  indexBytes(): Document {
    const sizes: Document = { _id_: this.docs.size * 24 };
    for (const index of this.indexes.values()) sizes[index.name] = index.byteSize();
    return sizes;
  }
}

/** Normalised `_id`-style equality keys of a filter value, or undefined when it is not a plain equality / `$in`. */
export function equalityKeys(cond: unknown): string[] | undefined {
  if (cond === undefined) return undefined;
  if (isPlainScalar(cond)) return [keyOf(cond)];
  if (cond && typeof cond === 'object' && !Array.isArray(cond)) {
    const keys = Object.keys(cond as Document);
    if (keys.length !== 1) return undefined;
    const v = (cond as Document)[keys[0]];
    if (keys[0] === '$eq' && isPlainScalar(v)) return [keyOf(v)];
    if (keys[0] === '$in' && Array.isArray(v) && v.every(isPlainScalar)) return v.map(keyOf);
  }
  return undefined;
}

function isPlainScalar(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v !== 'object') return true;
  if (v instanceof ObjectId || v instanceof Date) return true;
  const t = (v as { _bsontype?: string })._bsontype;
  return t === 'Int32' || t === 'Double' || t === 'Long' || t === 'Decimal128';
}

export class Database {
  readonly collections = new Map<string, Collection>();
  constructor(
    readonly store: Store,
    readonly name: string,
  ) {}

  get(name: string): Collection | undefined {
    return this.collections.get(name);
  }

  /** The collection, created implicitly (as on a first write) when missing. */
  ensure(name: string): { coll: Collection; created: boolean } {
    const existing = this.collections.get(name);
    if (existing) return { coll: existing, created: false };
    return { coll: this.create(name, {}), created: true };
  }

  create(name: string, options: CollectionOptions, uuid?: UUID): Collection {
    validateCollectionName(name);
    if (this.collections.has(name))
      throw new CommandError(ErrorCode.NamespaceExists, `Collection ${this.name}.${name} already exists.`);
    const coll = new Collection(this, name, options, uuid);
    this.collections.set(name, coll);
    this.store.journal?.record({
      op: 'createCollection',
      db: this.name,
      coll: name,
      options: toStoredOptions(options),
      uuid: coll.uuid,
    });
    return coll;
  }

  /** Attach a staged collection (built by `$out`) under its name, journaling its full content. */
  adopt(coll: Collection): void {
    this.collections.set(coll.name, coll);
    coll.journaled = true;
    const journal = this.store.journal;
    if (!journal) return;
    journal.record({
      op: 'createCollection',
      db: this.name,
      coll: coll.name,
      options: toStoredOptions(coll.options),
      uuid: coll.uuid,
    });
    for (const index of coll.indexes.values())
      journal.record({ op: 'createIndex', db: this.name, coll: coll.name, spec: index.spec });
    for (const buf of coll.docs.values())
      journal.record({ op: 'put', db: this.name, coll: coll.name, doc: new Binary(buf) });
  }

  drop(name: string): boolean {
    const existed = this.collections.delete(name);
    if (existed) this.store.journal?.record({ op: 'dropCollection', db: this.name, coll: name });
    return existed;
  }
}

export function toStoredOptions(options: CollectionOptions): Document {
  const out: Document = {};
  if (options.validator) out.validator = options.validator;
  if (options.validationLevel) out.validationLevel = options.validationLevel;
  if (options.validationAction) out.validationAction = options.validationAction;
  return out;
}

export function validateCollectionName(name: string): void {
  if (typeof name !== 'string' || name.length === 0)
    throw new CommandError(ErrorCode.InvalidNamespace, 'Invalid namespace specified: empty collection name');
  if (name.includes('$') || name.includes('\0') || name.startsWith('.') || name.startsWith('system.')) {
    throw new CommandError(ErrorCode.InvalidNamespace, `Invalid collection name: ${name}`);
  }
}

export function validateDbName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || /[/\\. "$*<>:|?\0]/.test(name) || name.length > 63) {
    throw new CommandError(ErrorCode.InvalidNamespace, `Invalid database name: '${name}'`);
  }
}

export class Store {
  readonly dbs = new Map<string, Database>();
  journal?: JournalSink;
  readonly processId = new ObjectId();
  readonly instanceId = randomUUID();

  db(name: string): Database {
    let db = this.dbs.get(name);
    if (!db) {
      validateDbName(name);
      db = new Database(this, name);
      this.dbs.set(name, db);
    }
    return db;
  }

  existingDb(name: string): Database | undefined {
    return this.dbs.get(name);
  }

  dropDb(name: string): void {
    if (this.dbs.delete(name)) this.journal?.record({ op: 'dropDatabase', db: name });
  }
}
