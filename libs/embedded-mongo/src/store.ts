/** The store of an embedded server: its databases by name, sessions, transactions, the journal. */
import { createHash, randomUUID } from 'node:crypto';
import { Binary, ObjectId } from 'bson';
import type { Document } from 'bson';
import { keyOf } from './bson-order';
import { ChangeLog, changeKindOf, changeOfRecord, toTimestamp } from './change-log';
import type { Collection, JournalSink } from './collection';
import { Database, validateDbName } from './database';
import type { DatabaseStoreLink } from './database';

/** A journal record held back by a transaction, with the document its write overwrote (for its change event). */
export interface Captured {
  entry: Document;
  prev?: Uint8Array;
}

export type TransactionState = 'active' | 'committed' | 'aborted';

/** A multi-document transaction of one session. */
export interface Transaction {
  owner: string;
  txnNumber: number;
  state: TransactionState;
  touched: Set<Collection>;
  /** Journal records of its writes (with the document each overwrote), journaled and published only at commit. */
  records: Captured[];
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

export class Store implements DatabaseStoreLink {
  readonly dbs = new Map<string, Database>();
  readonly sessions = new LocalSessions();
  journal?: JournalSink;
  /** The change history change streams read (mongod's oplog). */
  readonly changes: ChangeLog;
  readonly transactions = new Map<string, Transaction>();
  readonly processId = new ObjectId();
  readonly instanceId = randomUUID();
  /** While a transaction's command runs, its journal records are captured here. */
  private capture?: Captured[];
  /** The transaction whose command runs, if any. */
  private running?: Transaction;

  constructor(options: { changeLogBytes?: number } = {}) {
    this.changes = new ChangeLog(options.changeLogBytes);
  }

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
    const db = this.dbs.get(name);
    if (!db) return;
    // as mongod: a drop event per collection, then the database's
    for (const coll of [...db.collections.keys()]) db.drop(coll);
    this.dbs.delete(name);
    this.record({ op: 'dropDatabase', db: name });
  }

  /** A state change: journaled (and published to change streams) now, or at commit inside a transaction. */
  record(entry: Document, prev?: Uint8Array): void {
    if (this.capture) this.capture.push({ entry, prev });
    else this.publish(entry, prev);
  }

  /** Stamp a committed change with its cluster time, hand it to change streams and to the journal. */
  private publish(entry: Document, prev: Uint8Array | undefined): void {
    if (changeKindOf(entry)) {
      const at = this.changes.tick();
      const wall = new Date();
      entry.ts = toTimestamp(at);
      entry.wall = wall;
      this.changes.append(changeOfRecord(entry, at, wall, prev)!);
    }
    this.journal?.record(entry);
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
    for (const r of txn.records) this.publish(r.entry, r.prev);
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
    for (const coll of txn.created) {
      const db = this.dbs.get(coll.db.name);
      if (coll.docs.size === 0 && db?.get(coll.name) === coll) db.collections.delete(coll.name);
    }
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
