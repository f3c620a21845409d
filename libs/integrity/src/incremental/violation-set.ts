/**
 * The violation set of the newest complete audit: every violation it found, one document each, in
 * `integrity_violations`. A full audit writes a new set (named after it); an incremental audit updates its base's set
 * in place, so its cost follows the changes, not the violations: it retires the violations of the documents it
 * rechecks (`r`: its run id) and adds the ones it finds (`n`: its run id), and the set's pending run is recorded in
 * `integrity_violation_sets` before the first mark. Once the run's report is stored with its baseline the marks are
 * compacted (retired ones deleted, added ones kept); a run that did not end so (interrupted, killed, overflowed) is
 * rolled back by the next audit before it reads the set. Only the newest complete set is kept.
 */
import { EJSON } from 'bson';
import type { Document } from 'bson';
import type { Collection, Db, Filter } from 'mongodb';
import type { CollectionName } from '@odtp/schema';
import { idKey } from '../findings';
import type { CheckName, Violation } from '../findings';

export const VIOLATIONS_COLLECTION = 'integrity_violations';
export const VIOLATION_SETS_COLLECTION = 'integrity_violation_sets';

/** One stored violation: the value as extended JSON (a hostile value is data, never a field name). */
export interface StoredViolation {
  /** The set it belongs to (named after the full audit that started it). */
  a: string;
  /** Added by this incremental run, not yet compacted. */
  n?: string;
  /** Retired by this incremental run, not yet compacted. */
  r?: string;
  k: CheckName;
  c: string;
  p: string;
  t?: string;
  d: unknown;
  /** idKey of the value: duplicate partners are found by it. */
  g?: string;
  v?: string;
  x?: string;
}

/** The identity of a violation within a set (a document can break one check several times, once per value). */
export function violationKey(v: Violation): string {
  return `${v.check}|${v.collection}|${v.path}|${idKey(v.docId)}|${v.value === undefined ? '' : idKey(v.value)}`;
}

const WRITE_BATCH = 1000;

/** Writes the violations of one audit as they are found, a batch at a time, up to `max` (then it overflows). */
export class ViolationWriter {
  private buffer: StoredViolation[] = [];
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;
  private count = 0;
  /** More than `max` violations: the set is not kept (the next incremental audit runs in full). */
  overflowed = false;

  constructor(
    private readonly coll: Collection<StoredViolation>,
    private readonly set: string,
    private readonly max: number,
    /** The incremental run whose additions these are (marked until its report is stored). */
    private readonly pending?: string,
  ) {}

  /** Violations already in the set beside the ones this writer adds (an incremental run's carried ones). */
  offset = 0;

  get written(): number {
    return this.count;
  }

  add(v: Violation): void {
    if (this.overflowed) return;
    if (++this.count + this.offset > this.max) {
      this.overflowed = true;
      this.buffer = [];
      return;
    }
    this.buffer.push({
      a: this.set,
      ...(this.pending !== undefined ? { n: this.pending } : {}),
      k: v.check,
      c: v.collection,
      p: v.path,
      ...(v.target !== undefined ? { t: v.target } : {}),
      d: v.docId,
      ...(v.value !== undefined ? { g: idKey(v.value), v: EJSON.stringify(v.value as Document) } : {}),
      ...(v.detail !== undefined ? { x: v.detail } : {}),
    });
    if (this.buffer.length >= WRITE_BATCH) this.write();
  }

  private write(): void {
    const batch = this.buffer;
    this.buffer = [];
    this.queued++;
    this.chain = this.chain.then(async () => {
      try {
        if (this.failure || !batch.length) return;
        await this.coll.insertMany(batch, { ordered: false }).catch((e: unknown) => {
          this.failure = e;
        });
      } finally {
        this.queued--;
      }
    });
  }

  /** Batches handed to the database and not yet written. */
  private queued = 0;

  /**
   * Resolves once the writes keep up (at most two batches waiting): an audit awaits it between reply batches, so a
   * database slower to store violations than the audit is to find them slows the audit instead of filling memory.
   */
  async ready(): Promise<void> {
    if (this.queued > 2) await this.chain;
  }

  /** Everything added is stored (or the set overflowed); rethrows a failed write. */
  async flush(): Promise<void> {
    this.write();
    await this.chain;
    if (this.failure) throw this.failure;
  }
}

/** A violation retired from a set: what a finding's counts, samples and distinct ids need. */
export interface RetiredViolation {
  check: CheckName;
  collection: string;
  path: string;
  docId: unknown;
}

/** A set's state: the incremental run whose marks are not compacted yet. */
interface SetState {
  _id: string;
  pending?: string;
}

const RETIRE_BATCH = 1000;
const RETIRED_PROJECTION = { k: 1, c: 1, p: 1, d: 1, g: 1 } as const;

export class ViolationSets {
  private readonly coll: Collection<StoredViolation>;
  private readonly state: Collection<SetState>;

  constructor(db: Db) {
    this.coll = db.collection<StoredViolation>(VIOLATIONS_COLLECTION);
    this.state = db.collection<SetState>(VIOLATION_SETS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.coll.createIndexes([
      { key: { a: 1, c: 1, d: 1 }, name: 'audit_document' },
      { key: { a: 1, k: 1, c: 1, p: 1, g: 1 }, name: 'audit_duplicate_key' },
      { key: { a: 1, n: 1 }, name: 'set_added' },
      { key: { a: 1, r: 1 }, name: 'set_retired' },
    ]);
  }

  /** A writer into `set`; an incremental run's additions are marked with its id (`pending`). */
  writer(set: string, max: number, pending?: string): ViolationWriter {
    return new ViolationWriter(this.coll, set, max, pending);
  }

  /**
   * What the set's pending run left is finished (compacted) when that run is `committed` (its report is the base of
   * the next audit), or undone (rolled back) when it is not: the run was stopped, killed, or kept no baseline.
   */
  async settle(set: string, committed: string): Promise<'compacted' | 'rolled back' | undefined> {
    const pending = (await this.state.findOne({ _id: set }))?.pending;
    if (pending === undefined) return undefined;
    if (pending === committed) {
      await this.compact(set, pending);
      return 'compacted';
    }
    await this.coll.deleteMany({ a: set, n: pending });
    await this.coll.updateMany({ a: set, r: pending }, { $unset: { r: '' } });
    await this.state.updateOne({ _id: set, pending }, { $unset: { pending: '' } });
    return 'rolled back';
  }

  /** Record `run` as the set's pending run, before it marks anything. */
  async begin(set: string, run: string): Promise<void> {
    await this.state.updateOne({ _id: set }, { $set: { pending: run } }, { upsert: true });
  }

  /** The run's report is stored: its retired violations are deleted and its additions kept. */
  async compact(set: string, run: string): Promise<void> {
    await this.coll.deleteMany({ a: set, r: run });
    await this.coll.updateMany({ a: set, n: run }, { $unset: { n: '' } });
    await this.state.updateOne({ _id: set, pending: run }, { $unset: { pending: '' } });
  }

  /** Retire (for `run`) every violation of these documents, whatever its check; returns what was retired. */
  async retireDocuments(
    set: string,
    run: string,
    collection: CollectionName,
    ids: unknown[],
  ): Promise<RetiredViolation[]> {
    const out: RetiredViolation[] = [];
    for (let i = 0; i < ids.length; i += RETIRE_BATCH)
      out.push(
        ...(await this.retire(set, run, {
          a: set,
          c: collection,
          d: { $in: ids.slice(i, i + RETIRE_BATCH) },
        } as Filter<StoredViolation>)),
      );
    return out;
  }

  /** Retire (for `run`) every violation of one check of a collection (at one path, when given). */
  retireFinding(
    set: string,
    run: string,
    check: CheckName,
    collection: string,
    path?: string,
  ): Promise<RetiredViolation[]> {
    return this.retire(set, run, {
      a: set,
      k: check,
      c: collection,
      ...(path !== undefined ? { p: path } : {}),
    });
  }

  /**
   * Retire (for `run`) these very violations where the set holds them: what a scoped check found again of a
   * document outside its scope (the members of a duplicate group a new document joined).
   */
  async retireViolations(set: string, run: string, violations: Violation[]): Promise<RetiredViolation[]> {
    const groups = new Map<string, { v: Violation; ids: Map<string, unknown>; keys: Set<string> }>();
    for (const v of violations) {
      const group = `${v.check}|${v.collection}|${v.path}`;
      const g = groups.get(group) ?? { v, ids: new Map(), keys: new Set() };
      groups.set(group, g);
      g.ids.set(idKey(v.docId), v.docId);
      g.keys.add(violationKey(v));
    }
    const out: RetiredViolation[] = [];
    for (const { v, ids, keys } of groups.values()) {
      const all = [...ids.values()];
      for (let i = 0; i < all.length; i += RETIRE_BATCH)
        out.push(
          ...(await this.retire(
            set,
            run,
            {
              a: set,
              k: v.check,
              c: v.collection,
              p: v.path,
              d: { $in: all.slice(i, i + RETIRE_BATCH) },
            } as Filter<StoredViolation>,
            (s) => keys.has(`${s.k}|${s.c}|${s.p}|${idKey(s.d)}|${s.g ?? ''}`),
          )),
        );
    }
    return out;
  }

  private async retire(
    set: string,
    run: string,
    filter: Filter<StoredViolation>,
    only: (s: Pick<StoredViolation, 'k' | 'c' | 'p' | 'd' | 'g'>) => boolean = () => true,
  ): Promise<RetiredViolation[]> {
    const found = (
      await this.coll
        .find({ ...filter, r: { $exists: false } } as Filter<StoredViolation>, {
          projection: RETIRED_PROJECTION,
        })
        .toArray()
    ).filter(only);
    for (let i = 0; i < found.length; i += RETIRE_BATCH)
      await this.coll.updateMany(
        { _id: { $in: found.slice(i, i + RETIRE_BATCH).map((s) => s._id) } },
        { $set: { r: run } },
      );
    return found.map((s) => ({ check: s.k, collection: s.c, path: s.p, docId: s.d }));
  }

  /**
   * The violations of a set, streamed: as they stand once `pending` (an incremental run) is compacted, or without
   * any pending run's marks.
   */
  async *read(set: string, pending?: string): AsyncGenerator<Violation> {
    for await (const s of this.coll.find({ a: set }, { batchSize: 1000 })) {
      if (s.n !== undefined && s.n !== pending) continue;
      if (s.r !== undefined && s.r === pending) continue;
      yield {
        check: s.k,
        collection: s.c,
        path: s.p,
        ...(s.t !== undefined ? { target: s.t } : {}),
        docId: s.d,
        ...(s.v !== undefined ? { value: EJSON.parse(s.v) as unknown } : {}),
        ...(s.x !== undefined ? { detail: s.x } : {}),
      };
    }
  }

  /** Up to `limit` documents with a violation of one finding that is not retired (its samples). */
  async samples(
    set: string,
    check: CheckName,
    collection: string,
    path: string,
    limit: number,
  ): Promise<unknown[]> {
    const docs = await this.coll
      .find({ a: set, k: check, c: collection, p: path, r: { $exists: false } } as Filter<StoredViolation>, {
        projection: { d: 1 },
      })
      .limit(limit)
      .toArray();
    return docs.map((s) => s.d);
  }

  /** Distinct missing ids of a dangling-reference finding that are not retired, counted up to `cap`. */
  async distinctMissing(set: string, collection: string, path: string, cap: number): Promise<number> {
    const [row] = await this.coll
      .aggregate<{ n: number }>([
        { $match: { a: set, k: 'dangling-reference', c: collection, p: path, r: { $exists: false } } },
        { $group: { _id: '$g' } },
        { $limit: cap },
        { $count: 'n' },
      ])
      .toArray();
    return row?.n ?? 0;
  }

  /** Documents that shared a duplicate key with one of `ids` in the set (see change-scope.ts). */
  async partners(set: string, collection: CollectionName, ids: unknown[]): Promise<unknown[]> {
    const out: unknown[] = [];
    const mine = await this.coll
      .find({ a: set, k: 'duplicate', c: collection, d: { $in: ids } } as Filter<StoredViolation>, {
        projection: { p: 1, g: 1 },
      })
      .toArray();
    const byPath = new Map<string, Set<string>>();
    for (const m of mine) if (m.g !== undefined) byPath.set(m.p, (byPath.get(m.p) ?? new Set()).add(m.g));
    for (const [p, keys] of byPath)
      for await (const s of this.coll.find(
        { a: set, k: 'duplicate', c: collection, p, g: { $in: [...keys] } },
        { projection: { d: 1 } },
      ))
        out.push(s.d);
    return out;
  }

  /** Remove every set but these (the newest complete one, and the one being written). */
  async retain(sets: string[]): Promise<void> {
    await this.coll.deleteMany({ a: { $nin: sets } });
    await this.state.deleteMany({ _id: { $nin: sets } });
  }
}
