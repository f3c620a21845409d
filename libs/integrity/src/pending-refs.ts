import { ObjectId } from 'bson';

/**
 * A batch is resolved when it holds `size` distinct ids, or `size * PAIRS_PER_ID` references (many documents
 * pointing at few targets, like logs at their step): memory stays bounded either way.
 */
const PAIRS_PER_ID = 50;

/**
 * References waiting for resolution, packed: per reference 12 bytes of its document's ObjectId and the index of its
 * target among the batch's distinct ids, in typed arrays; a document id that is not an ObjectId, and a value that is
 * not the target's ObjectId itself (an id string, an [ObjectId, string] pair), kept aside. A batch of 50,000
 * references of logs is then a few hundred kilobytes outside the JS heap instead of 100,000 objects the garbage
 * collector copies and promotes while the batch waits for its `$in` query.
 */
export class PendingRefs {
  /** The distinct target ids, their hex strings, and each one's index by hex string. */
  readonly targets: ObjectId[] = [];
  private readonly keys: string[] = [];
  private readonly indexOf = new Map<string, number>();
  private docBytes = new Uint8Array(0);
  private targetOf = new Int32Array(0);
  private readonly otherDocIds = new Map<number, unknown>();
  private readonly otherValues = new Map<number, unknown>();
  private last?: ObjectId;
  private lastIndex = -1;
  /** References queued. */
  count = 0;

  constructor(private readonly size: number) {}

  /** Queue a reference of document `docId` holding `value`, which names `id`; true when the batch is full. */
  add(docId: unknown, value: unknown, id: ObjectId): boolean {
    // Consecutive documents often share a target (a step's logs): no hex conversion then.
    let index = this.lastIndex;
    if (this.last === undefined || !this.last.equals(id)) {
      const key = id.toHexString();
      const known = this.indexOf.get(key);
      if (known === undefined) {
        index = this.targets.length;
        this.indexOf.set(key, index);
        this.keys.push(key);
        this.targets.push(id);
      } else index = known;
      this.last = id;
      this.lastIndex = index;
    }
    this.reserve();
    const i = this.count++;
    this.targetOf[i] = index;
    if (docId instanceof ObjectId) this.docBytes.set(docId.id, i * 12);
    else this.otherDocIds.set(i, docId);
    if (value !== id) this.otherValues.set(i, value);
    return this.targets.length >= this.size || this.count >= this.size * PAIRS_PER_ID;
  }

  /** The hex string of reference `i`'s target (the key its target is found under). */
  key(i: number): string {
    return this.keys[this.targetOf[i]];
  }

  docId(i: number): unknown {
    return this.otherDocIds.has(i)
      ? this.otherDocIds.get(i)
      : new ObjectId(this.docBytes.slice(i * 12, i * 12 + 12));
  }

  value(i: number): unknown {
    return this.otherValues.has(i) ? this.otherValues.get(i) : this.targets[this.targetOf[i]];
  }

  /** Room for one more reference (the arrays double). */
  private reserve(): void {
    if (this.count < this.targetOf.length) return;
    const capacity = Math.max(1024, this.targetOf.length * 2);
    const targetOf = new Int32Array(capacity);
    targetOf.set(this.targetOf);
    this.targetOf = targetOf;
    const docBytes = new Uint8Array(capacity * 12);
    docBytes.set(this.docBytes);
    this.docBytes = docBytes;
  }
}
