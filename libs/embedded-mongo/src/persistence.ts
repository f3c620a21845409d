import * as fs from 'node:fs';
import * as path from 'node:path';
import { Binary, deserialize, serialize } from 'bson';
import type { Document } from 'bson';
import { changeFromRecord, changeOfRecord, changeRecord, timeOf, toTimestamp } from './change-log';
import type { Timestamp } from 'bson';
import { Collection, idKeyOf } from './collection';
import { toStoredOptions } from './database';
import type { CollectionOptions, IndexSpec, JournalSink } from './collection';
import type { Store } from './store';

const JOURNAL = 'journal.bson';
const SNAPSHOT = 'snapshot.bson';
const LOCK = 'mongod.lock';
const FRAME_HEADER = 8;
const COMPACT_MIN_BYTES = 64 * 1024 * 1024;

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

export function crc32(buf: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

export class CorruptDataError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
  ) {
    super(
      `corrupt data file ${file} at offset ${offset}: ${reason}; refusing to start (move the file away to start empty)`,
    );
    this.name = 'CorruptDataError';
  }
}

export class DbPathLockedError extends Error {
  constructor(dir: string, pid: number) {
    super(
      `dbPath ${dir} is in use by another embedded server (pid ${pid}); stop it or choose another dbPath`,
    );
    this.name = 'DbPathLockedError';
  }
}

function frame(entry: Document): Buffer {
  const body = Buffer.from(serialize(entry));
  const head = Buffer.alloc(FRAME_HEADER);
  head.writeUInt32LE(body.length, 0);
  head.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([head, body]);
}

/**
 * Read the records of a framed file. A bad record at the very end is a torn write and is dropped
 * (its offset returned so the file can be truncated); a bad record followed by more data is corruption.
 */
export function readRecords(
  file: string,
  onRecord: (entry: Document) => void,
): { validBytes: number; torn: boolean } {
  if (!fs.existsSync(file)) return { validBytes: 0, torn: false };
  const buf = fs.readFileSync(file);
  let offset = 0;
  while (offset < buf.length) {
    const remaining = buf.length - offset;
    if (remaining < FRAME_HEADER) return { validBytes: offset, torn: true };
    const len = buf.readUInt32LE(offset);
    const crc = buf.readUInt32LE(offset + 4);
    const end = offset + FRAME_HEADER + len;
    if (len < 5 || end > buf.length) {
      if (end > buf.length && len >= 5 && len < 64 * 1024 * 1024) return { validBytes: offset, torn: true };
      throw new CorruptDataError(file, offset, `invalid record length ${len}`);
    }
    const body = buf.subarray(offset + FRAME_HEADER, end);
    if (crc32(body) !== crc) {
      if (end === buf.length) return { validBytes: offset, torn: true };
      throw new CorruptDataError(file, offset, 'checksum mismatch');
    }
    let entry: Document;
    try {
      entry = deserialize(body);
    } catch (e) {
      throw new CorruptDataError(file, offset, `undecodable record (${(e as Error).message})`);
    }
    onRecord(entry);
    offset = end;
  }
  return { validBytes: offset, torn: false };
}

/** Apply one journal record to the store (no validation: the write was checked when it was made). */
export function applyRecord(store: Store, r: Document): void {
  if (r.op === 'change') return store.changes.restore(changeFromRecord(r));
  if (r.op === 'changesLost') return store.changes.markLost(timeOf(r.ts as Timestamp));
  // a stamped record is also a change of the history (the document it overwrites is read before it goes)
  const stamp = r.ts as Timestamp | undefined;
  const prev = stamp && r.op === 'put' && r.ch === 'u' ? overwritten(store, r) : undefined;
  applyState(store, r);
  if (stamp) {
    const change = changeOfRecord(r, timeOf(stamp), r.wall as Date, prev);
    if (change) store.changes.restore(change);
  }
}

function overwritten(store: Store, r: Document): Uint8Array | undefined {
  const doc = deserialize((r.doc as Binary).value(), { promoteBuffers: false });
  return store
    .existingDb(r.db as string)
    ?.get(r.coll as string)
    ?.docs.get(idKeyOf(doc._id));
}

function applyState(store: Store, r: Document): void {
  const db = store.db(r.db as string);
  const coll = (): Collection => db.ensure(r.coll as string).coll;
  switch (r.op) {
    case 'createCollection':
      db.collections.set(
        r.coll as string,
        new Collection(db, r.coll as string, r.options as CollectionOptions, r.uuid),
      );
      break;
    case 'dropCollection':
      db.collections.delete(r.coll as string);
      break;
    case 'collMod':
      coll().setOptions(r.options as CollectionOptions);
      break;
    case 'createIndex':
      coll().createIndex(r.spec as IndexSpec);
      break;
    case 'dropIndex':
      coll().indexes.delete(r.name as string);
      break;
    case 'put': {
      const buf = (r.doc as Binary).value();
      const doc = deserialize(buf);
      coll().rawPut(idKeyOf(doc._id), buf, doc);
      break;
    }
    case 'del':
      coll().rawDelete(r.id);
      break;
    case 'renameCollection': {
      const src = db.get(r.coll as string);
      if (!src) break;
      const dst = store.db(r.toDb as string);
      db.collections.delete(r.coll as string);
      src.rebind(dst, r.toColl as string);
      dst.collections.set(r.toColl as string, src);
      break;
    }
    case 'createView':
      db.views.set(r.coll as string, { viewOn: r.viewOn as string, pipeline: r.pipeline as Document[] });
      break;
    case 'dropView':
      db.views.delete(r.coll as string);
      break;
    case 'dropDatabase':
      store.dbs.delete(r.db as string);
      break;
    default:
      throw new Error(`unknown journal record ${String(r.op)}`);
  }
}

/** The data folder and its files belong to the user running the server alone. */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

function acquireLock(dir: string): string {
  const file = path.join(dir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', FILE_MODE);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return file;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (pid && pid !== process.pid && isAlive(pid)) throw new DbPathLockedError(dir, pid);
      if (pid === process.pid) throw new DbPathLockedError(dir, pid);
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock ${file}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Append-only journal of BSON records with a periodic snapshot, in one folder. */
export class FileJournal implements JournalSink {
  private pending: Buffer[] = [];
  private fd: number;
  private journalBytes: number;
  private snapshotBytes: number;
  private readonly lockFile: string;

  private constructor(
    readonly dir: string,
    private readonly store: Store,
  ) {
    this.lockFile = acquireLock(dir);
    try {
      const journalFile = path.join(dir, JOURNAL);
      readRecords(path.join(dir, SNAPSHOT), (r) => applyRecord(store, r));
      const { validBytes, torn } = readRecords(journalFile, (r) => applyRecord(store, r));
      if (torn) fs.truncateSync(journalFile, validBytes);
      this.fd = fs.openSync(journalFile, 'a', FILE_MODE);
      fs.chmodSync(journalFile, FILE_MODE);
      this.journalBytes = validBytes;
      this.snapshotBytes = fs.existsSync(path.join(dir, SNAPSHOT))
        ? fs.statSync(path.join(dir, SNAPSHOT)).size
        : 0;
    } catch (e) {
      fs.rmSync(this.lockFile, { force: true });
      throw e;
    }
  }

  /** Load the folder into `store` and attach the journal to it. */
  static open(dir: string, store: Store): FileJournal {
    fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    // the data is the database: readable by its owner only, whatever the umask or an older release left
    fs.chmodSync(dir, DIR_MODE);
    for (const f of [SNAPSHOT, JOURNAL])
      if (fs.existsSync(path.join(dir, f))) fs.chmodSync(path.join(dir, f), FILE_MODE);
    const journal = new FileJournal(dir, store);
    store.journal = journal;
    return journal;
  }

  record(entry: Document): void {
    this.pending.push(frame(entry));
  }

  /** Write what the last command changed; `durable` also fsyncs (j: true or w: "majority"). */
  flush(durable: boolean): void {
    if (this.pending.length === 0) {
      if (durable) fs.fsyncSync(this.fd);
      return;
    }
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    let written = 0;
    while (written < data.length) written += fs.writeSync(this.fd, data, written);
    this.journalBytes += data.length;
    if (durable) fs.fsyncSync(this.fd);
    if (this.journalBytes > Math.max(COMPACT_MIN_BYTES, this.snapshotBytes)) this.compact();
  }

  /** Write the whole store as a snapshot and start an empty journal. */
  compact(): void {
    const tmp = path.join(this.dir, SNAPSHOT + '.tmp');
    const fd = fs.openSync(tmp, 'w', FILE_MODE);
    let bytes = 0;
    const write = (entry: Document): void => {
      const f = frame(entry);
      let w = 0;
      while (w < f.length) w += fs.writeSync(fd, f, w);
      bytes += f.length;
    };
    for (const db of this.store.dbs.values()) {
      for (const coll of db.collections.values()) {
        write({
          op: 'createCollection',
          db: db.name,
          coll: coll.name,
          options: toStoredOptions(coll.options),
          uuid: coll.uuid,
        });
        for (const index of coll.indexes.values())
          write({ op: 'createIndex', db: db.name, coll: coll.name, spec: index.spec });
        for (const buf of coll.docs.values())
          write({ op: 'put', db: db.name, coll: coll.name, doc: new Binary(buf) });
      }
      for (const [name, view] of db.views)
        write({ op: 'createView', db: db.name, coll: name, viewOn: view.viewOn, pipeline: view.pipeline });
    }
    // the change history change streams resume from outlives the journal it came with
    write({ op: 'changesLost', ts: toTimestamp(this.store.changes.lostBefore) });
    for (const change of this.store.changes.held()) write(changeRecord(change));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, path.join(this.dir, SNAPSHOT));
    fs.ftruncateSync(this.fd, 0);
    fs.fsyncSync(this.fd);
    this.journalBytes = 0;
    this.snapshotBytes = bytes;
  }

  close(): void {
    this.flush(true);
    fs.closeSync(this.fd);
    fs.rmSync(this.lockFile, { force: true });
  }
}
