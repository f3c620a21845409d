/**
 * The violation set of an audit: every violation it found, one document each, in `integrity_violations`. An
 * incremental audit starts from the set of the last complete audit: the violations of documents no change can have
 * touched are carried over as they are, the others found again. Only the newest complete set is kept.
 */
import { EJSON } from 'bson';
import type { Document } from 'bson';
import type { Collection, Db, Filter } from 'mongodb';
import type { CollectionName } from '@odtp/schema';
import { idKey } from '../findings';
import type { CheckName, Violation } from '../findings';

export const VIOLATIONS_COLLECTION = 'integrity_violations';

/** One stored violation: the value as extended JSON (a hostile value is data, never a field name). */
interface StoredViolation {
  /** The audit whose set it belongs to. */
  a: string;
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
    private readonly audit: string,
    private readonly max: number,
  ) {}

  get written(): number {
    return this.count;
  }

  add(v: Violation): void {
    if (this.overflowed) return;
    if (++this.count > this.max) {
      this.overflowed = true;
      this.buffer = [];
      return;
    }
    this.buffer.push({
      a: this.audit,
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
    this.chain = this.chain.then(async () => {
      if (this.failure || !batch.length) return;
      await this.coll.insertMany(batch, { ordered: false }).catch((e: unknown) => {
        this.failure = e;
      });
    });
  }

  /** Everything added is stored (or the set overflowed); rethrows a failed write. */
  async flush(): Promise<void> {
    this.write();
    await this.chain;
    if (this.failure) throw this.failure;
  }
}

export class ViolationSets {
  private readonly coll: Collection<StoredViolation>;

  constructor(private readonly db: Db) {
    this.coll = db.collection<StoredViolation>(VIOLATIONS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.coll.createIndexes([
      { key: { a: 1, c: 1, d: 1 }, name: 'audit_document' },
      { key: { a: 1, k: 1, c: 1, p: 1, g: 1 }, name: 'audit_duplicate_key' },
    ]);
  }

  writer(audit: string, max: number): ViolationWriter {
    return new ViolationWriter(this.coll, audit, max);
  }

  /** The violations of an audit's set, streamed. */
  async *read(audit: string): AsyncGenerator<Violation> {
    for await (const s of this.coll.find({ a: audit }, { batchSize: 1000 }))
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

  /** Documents that shared a duplicate key with one of `ids` in the set (see change-scope.ts). */
  async partners(audit: string, collection: CollectionName, ids: unknown[]): Promise<unknown[]> {
    const out: unknown[] = [];
    const mine = await this.coll
      .find({ a: audit, k: 'duplicate', c: collection, d: { $in: ids } } as Filter<StoredViolation>, {
        projection: { p: 1, g: 1 },
      })
      .toArray();
    const byPath = new Map<string, Set<string>>();
    for (const m of mine) if (m.g !== undefined) byPath.set(m.p, (byPath.get(m.p) ?? new Set()).add(m.g));
    for (const [p, keys] of byPath)
      for await (const s of this.coll.find(
        { a: audit, k: 'duplicate', c: collection, p, g: { $in: [...keys] } },
        { projection: { d: 1 } },
      ))
        out.push(s.d);
    return out;
  }

  /** Remove every set but these audits' (the newest complete one, and the one being written). */
  async retain(audits: string[]): Promise<void> {
    await this.coll.deleteMany({ a: { $nin: audits } });
  }
}
