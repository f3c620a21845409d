/** Databases and the store of an embedded server: collections by name, transactions, the journal. */
import { createHash, randomUUID } from 'node:crypto';
import { Binary, ObjectId } from 'bson';
import type { Document, UUID } from 'bson';
import { keyOf } from './bson-order';
import { CommandError, ErrorCode } from './errors';
import { Collection } from './storage';
import type { CollectionOptions, JournalSink } from './storage';

/** A view: a pipeline over another collection or view of the same database (mongod keeps these in system.views). */
export interface ViewDefinition {
  viewOn: string;
  pipeline: Document[];
}

export class Database {
  readonly collections = new Map<string, Collection>();
  readonly views = new Map<string, ViewDefinition>();
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

export type TransactionState = 'active' | 'committed' | 'aborted';

/** A multi-document transaction of one session. */
export interface Transaction {
  owner: string;
  txnNumber: number;
  state: TransactionState;
  touched: Set<Collection>;
  /** Journal records of its writes, written to the journal only at commit. */
  records: Document[];
  /** Collections its writes created implicitly: gone again if it aborts (mongod rolls the creation back too). */
  created: Collection[];
  abortReason?: string;
}

// The uid of a session without authentication: SHA-256 of the empty user name, as mongod computes it.
const NO_USER_UID = new Binary(createHash('sha256').update('').digest());

/** The sessions commands have used, as mongod's logical session cache keeps them for `$listLocalSessions`. */
export class LocalSessions {
  /** Sessions kept at most (the least recently used go first), so that a client minting ids cannot grow it. */
  static readonly LIMIT = 10_000;
  /** mongod's localLogicalSessionTimeoutMinutes default. */
  static readonly TIMEOUT_MS = 30 * 60_000;
  private readonly used = new Map<string, { id: unknown; lastUse: Date }>();

  touch(id: unknown): void {
    const key = keyOf(id);
    this.used.delete(key);
    this.used.set(key, { id, lastUse: new Date() });
    if (this.used.size > LocalSessions.LIMIT) this.used.delete(this.used.keys().next().value!);
  }

  end(key: string): void {
    this.used.delete(key);
  }

  list(now = Date.now()): Document[] {
    for (const [key, s] of this.used)
      if (now - s.lastUse.getTime() > LocalSessions.TIMEOUT_MS) this.used.delete(key);
    return [...this.used.values()].map((s) => ({ _id: { id: s.id, uid: NO_USER_UID }, lastUse: s.lastUse }));
  }
}

export class Store {
  readonly dbs = new Map<string, Database>();
  readonly sessions = new LocalSessions();
  journal?: JournalSink;
  readonly transactions = new Map<string, Transaction>();
  readonly processId = new ObjectId();
  readonly instanceId = randomUUID();
  /** While a transaction's command runs, its journal records are captured here. */
  private capture?: Document[];
  /** The transaction whose command runs, if any. */
  private running?: Transaction;

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
    const previousTxn = this.running;
    this.capture = txn.records;
    this.running = txn;
    try {
      return fn();
    } finally {
      this.capture = previous;
      this.running = previousTxn;
    }
  }

  createdInTransaction(coll: Collection): void {
    this.running?.created.push(coll);
  }

  begin(owner: string, txnNumber: number): Transaction {
    const existing = this.transactions.get(owner);
    if (existing?.state === 'active')
      this.abortTransaction(owner, 'a new transaction was started on the session');
    const txn: Transaction = {
      owner,
      txnNumber,
      state: 'active',
      touched: new Set(),
      records: [],
      created: [],
    };
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
    txn.created = [];
    txn.touched.clear();
    txn.state = 'committed';
  }

  abortTransaction(owner: string, reason: string): void {
    const txn = this.transactions.get(owner);
    if (!txn || txn.state !== 'active') return;
    for (const coll of txn.touched) coll.rollback(owner);
    // a collection the transaction created is dropped with it, unless someone else has written to it since
    for (const coll of txn.created)
      if (coll.docs.size === 0 && coll.db.get(coll.name) === coll) coll.db.collections.delete(coll.name);
    txn.records = [];
    txn.created = [];
    txn.touched.clear();
    txn.state = 'aborted';
    txn.abortReason = reason;
  }

  endSession(owner: string): void {
    this.abortTransaction(owner, 'the session ended');
    this.transactions.delete(owner);
  }
}
