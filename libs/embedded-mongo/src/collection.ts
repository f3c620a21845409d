import { Binary, deserialize, serialize, UUID } from 'bson';
import type { Document } from 'bson';
import { formatValue, keyOf } from './bson-order';
import { checkStorageDepth } from './budget';
import { CommandError, ErrorCode } from './errors';
import { setOwn } from './own';
import { DocStore } from './doc-store';
import { Index } from './index-tree';
import type { IndexSpec } from './index-tree';
import type { SortSpec } from './query-engine';
import { mapIter, planQuery } from './planner';
import type { Plan } from './planner';
import type { CollectionOptions, WriteOptions } from './collection-options';
import { CollectionValidator } from './validation';

export type { IndexSpec } from './index-tree';
export type { Plan } from './planner';

export type {
  CollectionOptions,
  ValidationAction,
  ValidationLevel,
  WriteOptions,
} from './collection-options';

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

interface Uncommitted {
  owner: string;
  before: Uint8Array | null;
}

const ID_SPEC: IndexSpec = { v: 2, key: { _id: 1 }, name: '_id_' };

/**
 * What a collection needs of the store that holds it: the journal, and the transactions that claim its documents.
 * (A narrow interface: the collection knows neither its database class nor the store's.)
 */
export interface StoreLink {
  /** Journal (and publish to change streams) a state change; `prev`: the document a write overwrote. */
  record(entry: Document, prev?: Uint8Array): void;
  abortTransaction(owner: string, reason: string): void;
  touch(owner: string, coll: Collection): void;
}

/** The database a collection belongs to, as the collection sees it: a name and its store. */
export interface CollectionParent {
  readonly name: string;
  readonly store: StoreLink;
}

export class Collection {
  readonly docs = new DocStore();
  readonly indexes = new Map<string, Index>();
  /** Documents written by open transactions, with their committed before-image (null: inserted). */
  readonly uncommitted = new Map<string, Uncommitted>();
  uuid: UUID;
  /** False while a collection is staged (for `$out`) and not yet part of its database. */
  journaled = true;
  private validator?: CollectionValidator;
  private dataBytes = 0;
  /** The `_id` index as a tree, built on the first range or ordered scan of `_id`. */
  private idTree?: Index;

  constructor(
    public db: CollectionParent,
    public name: string,
    public options: CollectionOptions = {},
    uuid?: UUID,
  ) {
    this.uuid = uuid ?? new UUID();
    this.setOptions(options);
  }

  /** Move to another database/name (renameCollection). */
  rebind(db: CollectionParent, name: string): void {
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
    this.validator = options.validator
      ? new CollectionValidator({ ...options, validator: options.validator })
      : undefined;
    this.options = options;
  }

  indexSpecs(): IndexSpec[] {
    return [ID_SPEC, ...[...this.indexes.values()].map((i) => i.spec)];
  }

  private record(entry: Document, prev?: Uint8Array): void {
    if (this.journaled) this.db.store.record(entry, prev);
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
    return planQuery(this, filter, sort);
  }

  idIndex(): Index {
    if (!this.idTree) {
      const tree = new Index(ID_SPEC);
      for (const [id, buf] of this.docs) tree.add(id, { _id: decode(buf)._id });
      this.idTree = tree;
    }
    return this.idTree;
  }

  /** Throws code 121 when `doc` fails the validator under the collection's level and action. */
  checkValidation(doc: Document, previous: Document | undefined, opts: WriteOptions): void {
    this.validator?.check(doc, previous, opts);
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
    fields.forEach((f, i) => setOwn(keyValue, f, values[i] ?? null));
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
    checkStorageDepth(doc);
    const idKey = idKeyOf(doc._id);
    this.checkValidation(doc, undefined, opts);
    this.checkUnique(doc, idKey, true, opts);
    for (const index of this.indexes.values()) index.keysFor(doc);
    this.claim(idKey, opts);
    this.put(idKey, doc, undefined, 'i');
  }

  /** Replace an existing document (same `_id`) after validation and unique checks. */
  replace(previous: Document, next: Document, opts: WriteOptions = {}): void {
    checkStorageDepth(next);
    const idKey = idKeyOf(previous._id);
    this.claim(idKey, opts);
    this.checkValidation(next, previous, opts);
    this.checkUnique(next, idKey, false, opts);
    for (const index of this.indexes.values()) index.keysFor(next);
    this.put(idKey, next, previous, opts.replacement ? 'r' : 'u');
  }

  remove(doc: Document, opts: WriteOptions = {}): void {
    const idKey = idKeyOf(doc._id);
    if (!this.docs.has(idKey)) return;
    this.claim(idKey, opts);
    this.rawDelete(doc._id, doc);
    this.record({ op: 'del', db: this.db.name, coll: this.name, id: doc._id });
  }

  /** `ch`: what change streams see: an insert, an update or a replacement. */
  private put(idKey: string, doc: Document, previous: Document | undefined, ch: 'i' | 'u' | 'r'): void {
    const buf = encode(doc);
    if (buf.byteLength > 16 * 1024 * 1024) {
      throw new CommandError(
        ErrorCode.BadValue,
        `BSONObj size: ${buf.byteLength} is invalid. Size must be between 0 and 16793600(16MB)`,
      );
    }
    const overwritten = ch === 'u' ? this.docs.get(idKey) : undefined;
    this.rawPut(idKey, buf, doc, previous);
    this.record({ op: 'put', db: this.db.name, coll: this.name, doc: new Binary(buf), ch }, overwritten);
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
