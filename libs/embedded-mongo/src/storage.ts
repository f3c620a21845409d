import { randomUUID } from 'node:crypto';
import { Binary, deserialize, ObjectId, serialize, UUID } from 'bson';
import type { Document } from 'bson';
import { formatValue, keyOf, typeRank } from './bson-order';
import { CommandError, ErrorCode } from './errors';
import { checkSchema, validateSchema } from './json-schema';
import { DocStore } from './doc-store';
import { Index } from './index-tree';
import type { Bound, IndexSpec } from './index-tree';
import { compileFilter } from './query-engine';
import type { SortSpec } from './query-engine';

export type { IndexSpec } from './index-tree';

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

export function idKeyOf(id: unknown): string {
  return keyOf(id);
}

export function decode(buf: Uint8Array): Document {
  return deserialize(buf);
}

export function encode(doc: Document): Uint8Array {
  return serialize(doc, { checkKeys: false, ignoreUndefined: false });
}

export interface WriteOptions {
  bypassDocumentValidation?: boolean;
  /** The session key of the transaction making the write, if any. */
  txn?: string;
}

interface Uncommitted {
  owner: string;
  before: Uint8Array | null;
}

export interface Plan {
  stage: 'IDHACK' | 'IXSCAN' | 'COLLSCAN';
  indexName?: string;
  /** Candidate `_id` keys (undefined for a collection scan). */
  ids?: Iterable<string>;
  /** True when candidates come in the order of the requested sort. */
  sorted: boolean;
  /** True when every candidate matches the filter (an equality or `$in` that is the whole filter). */
  exact?: boolean;
}

const ID_SPEC: IndexSpec = { v: 2, key: { _id: 1 }, name: '_id_' };

export class Collection {
  readonly docs = new DocStore();
  readonly indexes = new Map<string, Index>();
  /** Documents written by open transactions, with their committed before-image (null: inserted). */
  readonly uncommitted = new Map<string, Uncommitted>();
  uuid: UUID;
  /** False while a collection is staged (for `$out`) and not yet part of its database. */
  journaled = true;
  private validate?: (doc: Document) => boolean;
  private dataBytes = 0;
  /** The `_id` index as a tree, built on the first range or ordered scan of `_id`. */
  private idTree?: Index;

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
    return [ID_SPEC, ...[...this.indexes.values()].map((i) => i.spec)];
  }

  private record(entry: Document): void {
    if (this.journaled) this.db.store.record(entry);
  }

  // ---------- reads (as seen by `viewer`: the session key of a transaction, or undefined) ----------

  get(idKey: string, viewer?: string): Document | undefined {
    const buf = this.getRaw(idKey, viewer);
    return buf ? decode(buf) : undefined;
  }

  /** The BSON bytes of a document as `viewer` sees it. */
  getRaw(idKey: string, viewer?: string): Uint8Array | undefined {
    if (this.uncommitted.size > 0) {
      const u = this.uncommitted.get(idKey);
      if (u && u.owner !== viewer) return u.before ?? undefined;
    }
    return this.docs.get(idKey);
  }

  *scan(viewer?: string): IterableIterator<Document> {
    for (const buf of this.scanRaw(viewer)) yield decode(buf);
  }

  *scanRaw(viewer?: string): IterableIterator<Uint8Array> {
    if (this.uncommitted.size === 0) {
      yield* this.docs.values();
      return;
    }
    for (const [id, buf] of this.docs) {
      const u = this.uncommitted.get(id);
      if (u && u.owner !== viewer) {
        if (u.before) yield u.before;
      } else yield buf;
    }
    for (const [id, u] of this.uncommitted) {
      if (u.owner !== viewer && u.before && !this.docs.has(id)) yield u.before;
    }
  }

  /** Documents that may match `filter`, in `sort` order when the plan says `sorted`. */
  candidates(
    filter: Document | undefined,
    viewer?: string,
    sort?: SortSpec,
  ): { docs: Iterable<Document>; plan: Plan } {
    const { bufs, plan } = this.rawCandidates(filter, viewer, sort);
    return { docs: mapIter(bufs, decode), plan };
  }

  /** As `candidates`, as BSON bytes. */
  rawCandidates(
    filter: Document | undefined,
    viewer?: string,
    sort?: SortSpec,
  ): { bufs: Iterable<Uint8Array>; plan: Plan } {
    const plan = this.plan(filter, sort);
    if (!plan.ids) return { bufs: this.scanRaw(viewer), plan };
    let ids: Iterable<string> = plan.ids;
    const hidden = this.hiddenIds(viewer);
    if (hidden.length > 0) {
      ids = [...new Set([...ids, ...hidden])];
      plan.sorted = false;
      plan.exact = false;
    }
    return { bufs: this.fetchRaw(ids, viewer), plan };
  }

  private hiddenIds(viewer?: string): string[] {
    if (this.uncommitted.size === 0) return [];
    return [...this.uncommitted].filter(([, u]) => u.owner !== viewer).map(([id]) => id);
  }

  private *fetchRaw(ids: Iterable<string>, viewer?: string): IterableIterator<Uint8Array> {
    for (const id of ids) {
      const buf = this.getRaw(id, viewer);
      if (buf) yield buf;
    }
  }

  /** Choose how to answer `filter` (and `sort`): `_id` lookup, an index scan, or a collection scan. */
  plan(filter: Document | undefined, sort?: SortSpec): Plan {
    const f = filter ?? {};
    const idEq = equalityValues(f._id);
    if (idEq) {
      // mongod answers a single `_id` equality with IDHACK and `_id: {$in}` with an IXSCAN of `_id_`.
      const single =
        idEq.length === 1 && !(f._id && typeof f._id === 'object' && '$in' in (f._id as Document));
      return {
        stage: single ? 'IDHACK' : 'IXSCAN',
        indexName: '_id_',
        ids: [...new Set(idEq.map(keyOf))],
        sorted: false,
        // The candidates are exactly the matches when the equality is the whole filter.
        exact: Object.keys(f).length === 1,
      };
    }
    for (const index of this.indexes.values()) {
      const cond = f[index.firstField];
      const eq = equalityValues(cond);
      if (eq && (index.complete || (!index.spec.partialFilterExpression && eq.every((v) => v !== null)))) {
        return {
          stage: 'IXSCAN',
          indexName: index.name,
          ids: index.equalAny(eq),
          sorted: false,
          exact: Object.keys(f).length === 1,
        };
      }
      const range = rangeBounds(cond);
      if (range && !index.spec.partialFilterExpression) {
        const sorted = sortIs(sort, index.firstField, 1);
        return {
          stage: 'IXSCAN',
          indexName: index.name,
          ids: unique(index.range(range.low, range.high)),
          sorted,
        };
      }
    }
    const idRange = rangeBounds(f._id);
    if (idRange) {
      return {
        stage: 'IXSCAN',
        indexName: '_id_',
        ids: this.idIndex().range(idRange.low, idRange.high),
        sorted: sortIs(sort, '_id', 1),
      };
    }
    if (sort && Object.keys(sort).length === 1) {
      const [field, dir] = Object.entries(sort)[0];
      const index =
        field === '_id'
          ? this.idIndex()
          : [...this.indexes.values()].find((i) => i.firstField === field && i.complete);
      if (index)
        return { stage: 'IXSCAN', indexName: index.name, ids: unique(index.ordered(dir < 0)), sorted: true };
    }
    return { stage: 'COLLSCAN', sorted: false };
  }

  private idIndex(): Index {
    if (!this.idTree) {
      const tree = new Index(ID_SPEC);
      for (const [id, buf] of this.docs) tree.add(id, { _id: decode(buf)._id });
      this.idTree = tree;
    }
    return this.idTree;
  }

  // ---------- write checks ----------

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

  /**
   * Claim `idKey` for a write. A transaction may not write a document another open transaction wrote
   * (WriteConflict); a write outside transactions aborts the transaction holding the document.
   */
  private claim(idKey: string, opts: WriteOptions): void {
    const u = this.uncommitted.get(idKey);
    if (u && u.owner !== opts.txn) {
      if (opts.txn) throw writeConflict();
      this.db.store.abortTransaction(u.owner, 'a write outside the transaction modified the same document');
    }
    if (opts.txn && !this.uncommitted.has(idKey)) {
      this.uncommitted.set(idKey, { owner: opts.txn, before: this.docs.get(idKey) ?? null });
      this.db.store.touch(opts.txn, this);
    }
  }

  /** Throws E11000 when `doc` would duplicate a unique key held by another document. */
  checkUnique(doc: Document, idKey: string, isNew: boolean, opts: WriteOptions = {}): void {
    if (isNew && this.docs.has(idKey)) {
      const u = this.uncommitted.get(idKey);
      if (u && u.owner !== opts.txn) {
        this.claim(idKey, opts);
        if (this.docs.has(idKey)) throw this.duplicateError(ID_SPEC, [doc._id]);
      } else throw this.duplicateError(ID_SPEC, [doc._id]);
    }
    for (const index of this.indexes.values()) {
      if (!index.unique) continue;
      for (const values of index.keysFor(doc)) {
        let other = index.conflict(values, idKey);
        if (
          other !== undefined &&
          this.uncommitted.get(other) &&
          this.uncommitted.get(other)!.owner !== opts.txn
        ) {
          this.claim(other, opts);
          other = index.conflict(values, idKey);
        }
        if (other !== undefined) throw this.duplicateError(index.spec, values);
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
      {
        keyPattern: spec.key,
        keyValue,
      },
    );
  }

  // ---------- writes ----------

  /** Insert a document after validation and unique checks; `_id` must be set. */
  insert(doc: Document, opts: WriteOptions = {}): void {
    const idKey = idKeyOf(doc._id);
    this.checkValidation(doc, undefined, opts);
    this.checkUnique(doc, idKey, true, opts);
    for (const index of this.indexes.values()) index.keysFor(doc);
    this.claim(idKey, opts);
    this.put(idKey, doc, undefined);
  }

  /** Replace an existing document (same `_id`) after validation and unique checks. */
  replace(previous: Document, next: Document, opts: WriteOptions = {}): void {
    const idKey = idKeyOf(previous._id);
    this.claim(idKey, opts);
    this.checkValidation(next, previous, opts);
    this.checkUnique(next, idKey, false, opts);
    for (const index of this.indexes.values()) index.keysFor(next);
    this.put(idKey, next, previous);
  }

  remove(doc: Document, opts: WriteOptions = {}): void {
    const idKey = idKeyOf(doc._id);
    if (!this.docs.has(idKey)) return;
    this.claim(idKey, opts);
    this.rawDelete(doc._id, doc);
    this.record({ op: 'del', db: this.db.name, coll: this.name, id: doc._id });
  }

  private put(idKey: string, doc: Document, previous: Document | undefined): void {
    const buf = encode(doc);
    if (buf.byteLength > 16 * 1024 * 1024) {
      throw new CommandError(
        ErrorCode.BadValue,
        `BSONObj size: ${buf.byteLength} is invalid. Size must be between 0 and 16793600(16MB)`,
      );
    }
    this.rawPut(idKey, buf, doc, previous);
    this.record({ op: 'put', db: this.db.name, coll: this.name, doc: new Binary(buf) });
  }

  /** Store without checks (journal replay, rollback). */
  rawPut(idKey: string, buf: Uint8Array, doc?: Document, previous?: Document): void {
    const old = this.docs.get(idKey);
    const current = doc ?? decode(buf);
    if (old) {
      const prev = previous ?? decode(old);
      for (const index of this.indexes.values()) index.remove(idKey, prev);
      this.dataBytes -= old.byteLength;
    } else this.idTree?.add(idKey, { _id: current._id });
    this.docs.set(idKey, buf);
    this.dataBytes += buf.byteLength;
    for (const index of this.indexes.values()) index.add(idKey, current);
  }

  rawDelete(id: unknown, known?: Document): void {
    const idKey = idKeyOf(id);
    const buf = this.docs.get(idKey);
    if (!buf) return;
    const doc = known ?? decode(buf);
    for (const index of this.indexes.values()) index.remove(idKey, doc);
    this.idTree?.remove(idKey, { _id: doc._id });
    this.docs.delete(idKey);
    this.dataBytes -= buf.byteLength;
  }

  /** Undo the writes of transaction `owner` (its before-images go back). */
  rollback(owner: string): void {
    for (const [id, u] of [...this.uncommitted]) {
      if (u.owner !== owner) continue;
      this.uncommitted.delete(id);
      if (u.before) this.rawPut(id, u.before);
      else {
        const buf = this.docs.get(id);
        if (buf) this.rawDelete(decode(buf)._id);
      }
    }
  }

  /** Make the writes of transaction `owner` visible to everyone. */
  commit(owner: string): void {
    for (const [id, u] of [...this.uncommitted]) if (u.owner === owner) this.uncommitted.delete(id);
  }

  /** Build an index over existing documents; throws E11000 (and builds nothing) on duplicates. */
  createIndex(spec: IndexSpec): void {
    const index = new Index(spec);
    for (const [idKey, buf] of this.docs) {
      const doc = decode(buf);
      if (index.unique) {
        for (const values of index.keysFor(doc)) {
          if (index.conflict(values, idKey) !== undefined) throw this.duplicateError(spec, values);
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

export function writeConflict(): CommandError {
  return new CommandError(
    ErrorCode.WriteConflict,
    'Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.',
    {},
    ['TransientTransactionError'],
  );
}

function unique(ids: Iterable<string>): Iterable<string> {
  return (function* () {
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      yield id;
    }
  })();
}

function* mapIter<T, U>(it: Iterable<T>, fn: (t: T) => U): IterableIterator<U> {
  for (const x of it) yield fn(x);
}

function sortIs(sort: SortSpec | undefined, field: string, dir: number): boolean {
  if (!sort) return false;
  const entries = Object.entries(sort);
  return entries.length === 1 && entries[0][0] === field && entries[0][1] === dir;
}

/** Bounds of a pure range predicate (`$gt`/`$gte`/`$lt`/`$lte` with scalar values), else undefined. */
function rangeBounds(cond: unknown): { low?: Bound; high?: Bound } | undefined {
  if (!cond || typeof cond !== 'object' || Array.isArray(cond) || isPlainScalar(cond)) return undefined;
  const entries = Object.entries(cond as Document);
  if (entries.length === 0) return undefined;
  const out: { low?: Bound; high?: Bound } = {};
  for (const [op, v] of entries) {
    if (!isPlainScalar(v) && typeof v !== 'string') return undefined;
    if (op === '$gt' || op === '$gte') out.low = { value: v, inclusive: op === '$gte' };
    else if (op === '$lt' || op === '$lte') out.high = { value: v, inclusive: op === '$lte' };
    else return undefined;
  }
  if (out.low && out.high && typeRank(out.low.value) !== typeRank(out.high.value)) return undefined;
  return out;
}

/** The values of an equality or `$in` predicate on scalars, else undefined. */
export function equalityValues(cond: unknown): unknown[] | undefined {
  if (cond === undefined) return undefined;
  if (isPlainScalar(cond)) return [cond];
  if (cond && typeof cond === 'object' && !Array.isArray(cond)) {
    const keys = Object.keys(cond as Document);
    if (keys.length !== 1) return undefined;
    const v = (cond as Document)[keys[0]];
    if (keys[0] === '$eq' && isPlainScalar(v)) return [v];
    if (keys[0] === '$in' && Array.isArray(v) && v.every(isPlainScalar)) return v;
  }
  return undefined;
}

function isPlainScalar(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return true;
  if (typeof v !== 'object') return false;
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
    this.store.record({
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
    const journal = this.store;
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
    if (existed) this.store.record({ op: 'dropCollection', db: this.name, coll: name });
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

export type TransactionState = 'active' | 'committed' | 'aborted';

/** A multi-document transaction of one session. */
export interface Transaction {
  owner: string;
  txnNumber: number;
  state: TransactionState;
  touched: Set<Collection>;
  /** Journal records of its writes, written to the journal only at commit. */
  records: Document[];
  abortReason?: string;
}

export class Store {
  readonly dbs = new Map<string, Database>();
  journal?: JournalSink;
  readonly transactions = new Map<string, Transaction>();
  readonly processId = new ObjectId();
  readonly instanceId = randomUUID();
  /** While a transaction's command runs, its journal records are captured here. */
  private capture?: Document[];

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
    if (this.dbs.delete(name)) this.record({ op: 'dropDatabase', db: name });
  }

  record(entry: Document): void {
    if (this.capture) this.capture.push(entry);
    else this.journal?.record(entry);
  }

  /** Run `fn` with journal records going to `txn` (they reach the journal only if it commits). */
  within<T>(txn: Transaction | undefined, fn: () => T): T {
    if (!txn) return fn();
    const previous = this.capture;
    this.capture = txn.records;
    try {
      return fn();
    } finally {
      this.capture = previous;
    }
  }

  begin(owner: string, txnNumber: number): Transaction {
    const existing = this.transactions.get(owner);
    if (existing?.state === 'active')
      this.abortTransaction(owner, 'a new transaction was started on the session');
    const txn: Transaction = { owner, txnNumber, state: 'active', touched: new Set(), records: [] };
    this.transactions.set(owner, txn);
    return txn;
  }

  touch(owner: string, coll: Collection): void {
    this.transactions.get(owner)?.touched.add(coll);
  }

  commitTransaction(owner: string): void {
    const txn = this.transactions.get(owner);
    if (!txn || txn.state !== 'active') return;
    for (const coll of txn.touched) coll.commit(owner);
    for (const r of txn.records) this.journal?.record(r);
    txn.records = [];
    txn.touched.clear();
    txn.state = 'committed';
  }

  abortTransaction(owner: string, reason: string): void {
    const txn = this.transactions.get(owner);
    if (!txn || txn.state !== 'active') return;
    for (const coll of txn.touched) coll.rollback(owner);
    txn.records = [];
    txn.touched.clear();
    txn.state = 'aborted';
    txn.abortReason = reason;
  }

  endSession(owner: string): void {
    this.abortTransaction(owner, 'the session ended');
    this.transactions.delete(owner);
  }
}
