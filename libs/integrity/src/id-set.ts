import type { ObjectId } from 'bson';

/** bson's ObjectIds write their 12 bytes into a buffer without allocating (`serializeInto`, not in its typings). */
type SerializableId = { serializeInto?: (into: Uint8Array, at: number) => number };

/** Write `id`'s 12 bytes at `at` (through `id.id`, a new 12-byte buffer, where bson has no `serializeInto`). */
export function writeId(id: ObjectId, into: Uint8Array, at: number): void {
  const serializeInto = (id as unknown as SerializableId).serializeInto;
  if (typeof serializeInto === 'function') serializeInto.call(id, into, at);
  else into.set(id.id, at);
}

/** A hash of 12 id bytes at `at`: the counter and random bytes of an ObjectId (its last 8) spread well. */
export function hashId(bytes: Uint8Array, at = 0): number {
  let h = Math.imul(
    bytes[at + 8] | (bytes[at + 9] << 8) | (bytes[at + 10] << 16) | (bytes[at + 11] << 24),
    0x9e3779b1,
  );
  h ^= Math.imul(
    bytes[at + 4] | (bytes[at + 5] << 8) | (bytes[at + 6] << 16) | (bytes[at + 7] << 24),
    0x85ebca6b,
  );
  h ^= Math.imul(
    bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24),
    0xc2b2ae35,
  );
  return h ^ (h >>> 15);
}

/**
 * A set of ObjectIds as 12 bytes each in a typed array, with an open-addressing table of indexes (grown at half
 * full): about 28 bytes an id outside the JS heap, where a set of hex strings costs some 100 on it.
 */
export class ObjectIdSet {
  private bytes = new Uint8Array(12 * 64);
  private slots = new Int32Array(128);
  private readonly probe = new Uint8Array(12);
  size = 0;

  /** Add `id`; true when it was not in the set. */
  add(id: ObjectId): boolean {
    writeId(id, this.probe, 0);
    const mask = this.slots.length - 1;
    for (let s = hashId(this.probe) & mask; ; s = (s + 1) & mask) {
      const slot = this.slots[s];
      if (slot === 0) break;
      const at = (slot - 1) * 12;
      let same = true;
      for (let k = 0; k < 12 && same; k++) same = this.bytes[at + k] === this.probe[k];
      if (same) return false;
    }
    if ((this.size + 1) * 12 > this.bytes.length) {
      const bytes = new Uint8Array(this.bytes.length * 2);
      bytes.set(this.bytes);
      this.bytes = bytes;
    }
    this.bytes.set(this.probe, this.size * 12);
    this.size++;
    if (this.size * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(this.size - 1);
    return true;
  }

  /** Put id number `index` in the first free slot of its probe sequence. */
  private place(index: number): void {
    const mask = this.slots.length - 1;
    let s = hashId(this.bytes, index * 12) & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = index + 1;
  }

  private rehash(slots: number): void {
    this.slots = new Int32Array(slots);
    for (let i = 0; i < this.size; i++) this.place(i);
  }
}
