import { ObjectId } from 'bson';
import { referencedId } from '@odtp/schema';
import { hashId, writeId } from './id-set';

/**
 * A batch is resolved when it holds `size` distinct ids, or `size * PAIRS_PER_ID` references (many documents
 * pointing at few targets, like logs at their step): memory stays bounded either way.
 */
const PAIRS_PER_ID = 50;

/**
 * The buffers of resolved batches, for the next batches of a pass. A batch waits while the scan goes on, so its
 * typed arrays outlive the young generation; new ones for every batch (a log batch of 50,000 references grows to
 * about a megabyte) would pile up in the old generation, outside the JS heap, until its next collection. Bounded:
 * what exceeds `maxBytes` is left to the collector.
 */
export class ArrayPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private bytes = 0;

  constructor(private readonly maxBytes = 8 * 1024 * 1024) {}

  take(byteLength: number): ArrayBuffer {
    const buffer = this.free.get(byteLength)?.pop();
    if (!buffer) return new ArrayBuffer(byteLength);
    this.bytes -= byteLength;
    return buffer;
  }

  give(buffer: ArrayBuffer): void {
    if (this.bytes + buffer.byteLength > this.maxBytes) return;
    const list = this.free.get(buffer.byteLength) ?? [];
    list.push(buffer);
    this.free.set(buffer.byteLength, list);
    this.bytes += buffer.byteLength;
  }
}

/**
 * References waiting for resolution, packed in typed arrays: per reference 12 bytes of its document's ObjectId and
 * the index of its target; per distinct target its 12 bytes, found again through an open-addressing table of
 * indexes. A document id that is not an ObjectId, and a value that is not the target's ObjectId itself (an id
 * string, an [ObjectId, string] pair), are kept aside. A batch waits for its `$in` query while the scan goes on: had
 * it held an object per reference or per target (an ObjectId, its hex string, a map entry), the garbage collector
 * would copy and promote them all, and the old generation, and with it the process, would grow with the rate of
 * the scan. The targets become ObjectIds only for the query, and a reference's document and value only when it is
 * reported.
 */
export class PendingRefs {
  private readonly targetBytes: Uint8Array;
  /** Open addressing: 1 + a target's index, 0 for an empty slot. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** The empty slot the last unsuccessful `find` ended on. */
  private free = 0;
  private readonly probe = new Uint8Array(12);
  private docBytes = new Uint8Array(0);
  private targetOf = new Int32Array(0);
  private readonly otherDocIds = new Map<number, unknown>();
  private readonly otherValues = new Map<number, unknown>();
  private last?: ObjectId;
  private lastIndex = -1;
  /** References queued. */
  count = 0;
  /** Distinct targets queued. */
  distinct = 0;

  constructor(
    private readonly size: number,
    private readonly pool = new ArrayPool(0),
  ) {
    this.targetBytes = new Uint8Array(pool.take(size * 12));
    let slots = 16;
    while (slots < size * 2) slots *= 2;
    this.slots = new Int32Array(pool.take(slots * 4)).fill(0);
    this.mask = slots - 1;
  }

  /** Give the batch's buffers back to its pool: the batch is resolved and no longer read. */
  release(): void {
    for (const a of [this.targetBytes, this.slots, this.docBytes, this.targetOf])
      if (a.byteLength) this.pool.give(a.buffer as ArrayBuffer);
  }

  /** Queue a reference of document `docId` holding `value`, which names `id`; true when the batch is full. */
  add(docId: unknown, value: unknown, id: ObjectId): boolean {
    // Consecutive documents often share a target (a step's logs): no lookup then.
    let index = this.lastIndex;
    if (this.last === undefined || !this.last.equals(id)) {
      writeId(id, this.probe, 0);
      index = this.find(this.probe);
      if (index < 0) index = this.insert();
      this.last = id;
      this.lastIndex = index;
    }
    this.reserve();
    const i = this.count++;
    this.targetOf[i] = index;
    if (docId instanceof ObjectId) writeId(docId, this.docBytes, i * 12);
    else this.otherDocIds.set(i, docId);
    if (value !== id) this.otherValues.set(i, value);
    return this.distinct >= this.size || this.count >= this.size * PAIRS_PER_ID;
  }

  /** The distinct targets, as ObjectIds (for the query that resolves them). */
  targets(): ObjectId[] {
    const out = new Array<ObjectId>(this.distinct);
    for (let t = 0; t < this.distinct; t++) out[t] = this.target(t);
    return out;
  }

  /** The index of target `id`, or -1 when it is not one of this batch's targets. */
  indexOf(id: ObjectId): number {
    writeId(id, this.probe, 0);
    return this.find(this.probe);
  }

  /** The index of reference `i`'s target. */
  targetIndex(i: number): number {
    return this.targetOf[i];
  }

  /** The hex string of reference `i`'s target. */
  key(i: number): string {
    return Buffer.from(this.targetBytes.buffer, this.targetOf[i] * 12, 12).toString('hex');
  }

  docId(i: number): unknown {
    return this.otherDocIds.has(i)
      ? this.otherDocIds.get(i)
      : new ObjectId(this.docBytes.subarray(i * 12, i * 12 + 12));
  }

  /** The hex string of reference `i`'s document id when it is an ObjectId (without building the ObjectId). */
  docHex(i: number): string | undefined {
    if (this.otherDocIds.has(i)) return undefined;
    return Buffer.from(this.docBytes.buffer, i * 12, 12).toString('hex');
  }

  value(i: number): unknown {
    return this.otherValues.has(i) ? this.otherValues.get(i) : this.target(this.targetOf[i]);
  }

  private target(t: number): ObjectId {
    return new ObjectId(this.targetBytes.subarray(t * 12, t * 12 + 12));
  }

  /** The index of the target with these 12 bytes, or -1 (and `free` is the empty slot it would take). */
  private find(bytes: Uint8Array): number {
    const h = hashId(bytes);
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const slot = this.slots[s];
      if (slot === 0) {
        this.free = s;
        return -1;
      }
      const at = (slot - 1) * 12;
      let same = true;
      for (let k = 0; k < 12 && same; k++) same = this.targetBytes[at + k] === bytes[k];
      if (same) return slot - 1;
    }
  }

  /** Add the probed bytes as a new target in the slot `find` left free. */
  private insert(): number {
    const index = this.distinct++;
    this.targetBytes.set(this.probe, index * 12);
    this.slots[this.free] = index + 1;
    return index;
  }

  /** Room for one more reference (the arrays double; the old ones go back to the pool). */
  private reserve(): void {
    if (this.count < this.targetOf.length) return;
    const capacity = Math.max(1024, this.targetOf.length * 2);
    const targetOf = new Int32Array(this.pool.take(capacity * 4));
    targetOf.set(this.targetOf);
    const docBytes = new Uint8Array(this.pool.take(capacity * 12));
    docBytes.set(this.docBytes);
    if (this.targetOf.byteLength) {
      this.pool.give(this.targetOf.buffer as ArrayBuffer);
      this.pool.give(this.docBytes.buffer as ArrayBuffer);
    }
    this.targetOf = targetOf;
    this.docBytes = docBytes;
  }
}

/** Children waiting to be looked up in their parents: their ids packed, and those that are no id at all. */
export class OrphanCandidates {
  readonly ids: PendingRefs;
  readonly notIds: unknown[] = [];

  constructor(
    private readonly size: number,
    pool?: ArrayPool,
  ) {
    this.ids = new PendingRefs(size, pool);
  }

  /** Queue a child's `_id`; true when the batch is full. */
  add(docId: unknown): boolean {
    const id = referencedId(docId);
    if (!id) this.notIds.push(docId);
    else if (this.ids.add(docId, id, id)) return true;
    return this.notIds.length >= this.size;
  }

  get count(): number {
    return this.ids.count + this.notIds.length;
  }
}
