/** A database of an embedded server: its collections and views, journaled through its store. */
import { Binary } from 'bson';
import type { Document, UUID } from 'bson';
import { Collection } from './collection';
import type { CollectionOptions, StoreLink } from './collection';
import { CommandError, ErrorCode } from './errors';

/** A view: a pipeline over another collection or view of the same database (mongod keeps these in system.views). */
export interface ViewDefinition {
  viewOn: string;
  pipeline: Document[];
}

/** What a database needs of its store: the journal and transactions, for itself and its collections. */
export interface DatabaseStoreLink extends StoreLink {
  /** A collection created inside the running transaction is dropped again if that transaction aborts. */
  createdInTransaction(coll: Collection): void;
}

export class Database {
  readonly collections = new Map<string, Collection>();
  readonly views = new Map<string, ViewDefinition>();
  constructor(
    readonly store: DatabaseStoreLink,
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
    if (this.collections.has(name) || this.views.has(name))
      throw new CommandError(ErrorCode.NamespaceExists, `Collection ${this.name}.${name} already exists.`);
    const coll = new Collection(this, name, options, uuid);
    this.collections.set(name, coll);
    this.store.createdInTransaction(coll);
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

  /** Define (or, with `replace`, redefine) the view `name`. */
  defineView(name: string, view: ViewDefinition, replace = false): void {
    validateCollectionName(name);
    if (!replace && (this.collections.has(name) || this.views.has(name)))
      throw new CommandError(ErrorCode.NamespaceExists, `Namespace ${this.name}.${name} already exists`);
    this.views.set(name, view);
    this.store.record({
      op: 'createView',
      db: this.name,
      coll: name,
      viewOn: view.viewOn,
      pipeline: view.pipeline,
    });
  }

  dropView(name: string): boolean {
    const existed = this.views.delete(name);
    if (existed) this.store.record({ op: 'dropView', db: this.name, coll: name });
    return existed;
  }
}

export function toStoredOptions(options: CollectionOptions): Document {
  const out: Document = {};
  if (options.validator) out.validator = options.validator;
  if (options.validationLevel) out.validationLevel = options.validationLevel;
  if (options.validationAction) out.validationAction = options.validationAction;
  if (options.collation) out.collation = options.collation;
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
