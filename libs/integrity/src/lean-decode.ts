import { deserialize, ObjectId } from 'bson';
import type { Document } from 'bson';

/*
 * The documents an audit reads are projections on `_id` and reference paths: nearly always a few ObjectIds (a log's
 * `_id` and `stepRef`). Decoding them from the raw bytes of the reply, without the driver's generic document
 * decoding, halves what an audit costs the client (and what it leaves to the garbage collector). Any other value
 * (a string, an array, a sub-document...) decodes the whole document with bson's own `deserialize`, the driver's
 * default options, so every unusual shape is read exactly as before.
 */

const OBJECT_ID = 0x07;
const NULL = 0x0a;

/** Field names seen so far, by their bytes (a projection has few): no string is built per element. */
class NameCache {
  private readonly names: { bytes: Uint8Array; name: string }[] = [];

  read(bytes: Uint8Array, start: number, end: number): string {
    const length = end - start;
    for (const n of this.names) {
      if (n.bytes.length !== length) continue;
      let same = true;
      for (let i = 0; i < length && same; i++) same = n.bytes[i] === bytes[start + i];
      if (same) return n.name;
    }
    const name = Buffer.from(bytes.buffer, bytes.byteOffset + start, length).toString('utf8');
    // unbounded names (documents of any shape) are decoded, only the first few are kept
    if (this.names.length < 16) this.names.push({ bytes: bytes.slice(start, end), name });
    return name;
  }
}

const names = new NameCache();

/** bson builds an ObjectId from 12 bytes at an offset of a larger buffer (a constructor overload not in its types). */
type IdAt = new (bytes: Uint8Array, offset: number) => ObjectId;

/** Whether this bson has that overload (else the 12 bytes are viewed apart first). */
const idAtOffset = ((): boolean => {
  try {
    const probe = new Uint8Array(24);
    probe[12] = 1;
    return new (ObjectId as unknown as IdAt)(probe, 12).toHexString() === `01${'0'.repeat(22)}`;
  } catch {
    return false;
  }
})();

const objectIdAt = (bytes: Uint8Array, at: number): ObjectId =>
  idAtOffset ? new (ObjectId as unknown as IdAt)(bytes, at) : new ObjectId(bytes.subarray(at, at + 12));

/**
 * The BSON document at `start` of `bytes` (the whole of them by default) as a document: ObjectIds and nulls read
 * directly, anything else by `deserialize`.
 */
export function decodeLean(bytes: Uint8Array, start = 0): Document {
  const b = bytes;
  const size = b[start] | (b[start + 1] << 8) | (b[start + 2] << 16) | (b[start + 3] << 24);
  // anything unexpected (another type, a malformed document) is left to deserialize, which reads or refuses it
  const whole = (): Document => deserialize(b.subarray(start, start + size));
  if (size < 5 || start + size > b.length) return whole();
  const end = start + size - 1;
  const out: Document = {};
  let i = start + 4;
  while (i < end) {
    const type = b[i++];
    if (type !== OBJECT_ID && type !== NULL) return whole();
    const nameStart = i;
    while (i < end && b[i] !== 0) i++;
    if (i >= end || (type === OBJECT_ID && i + 13 > end)) return whole();
    const name = names.read(b, nameStart, i);
    // a field that would set the object's prototype is left to deserialize, which defines it as a field
    if (name === '__proto__') return whole();
    i++;
    if (type === NULL) out[name] = null;
    else {
      out[name] = objectIdAt(b, i);
      i += 12;
    }
  }
  return out;
}
