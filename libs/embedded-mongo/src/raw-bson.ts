import { isUtf8 } from 'node:buffer';
import { deserialize } from 'bson';
import type { Document } from 'bson';

/** A document kept as its BSON bytes (replies copy it without decoding and re-encoding). */
export class RawDocument {
  constructor(readonly bytes: Uint8Array) {}
}

const FIXED_SIZE: Record<number, number> = {
  0x01: 8,
  0x07: 12,
  0x08: 1,
  0x09: 8,
  0x0a: 0,
  0x10: 4,
  0x11: 8,
  0x12: 8,
  0x13: 16,
  0x06: 0,
  0x7f: 0,
  0xff: 0,
};

function int32(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24);
}

/** Byte length of the value of a BSON element of `type` starting at `at`. */
function valueSize(b: Uint8Array, type: number, at: number): number {
  const fixed = FIXED_SIZE[type];
  if (fixed !== undefined) return fixed;
  switch (type) {
    case 0x02:
    case 0x0d:
    case 0x0e:
      return 4 + int32(b, at);
    case 0x03:
    case 0x04:
    case 0x0f:
      return int32(b, at);
    case 0x05:
      return 5 + int32(b, at);
    case 0x0b: {
      let end = at;
      while (end < b.length && b[end] !== 0) end++;
      end++;
      while (end < b.length && b[end] !== 0) end++;
      return end + 1 - at;
    }
    case 0x0c:
      return 4 + int32(b, at) + 12;
    default:
      throw new Error(`unknown BSON type 0x${type.toString(16)}`);
  }
}

/** Names as UTF-8 bytes, each with its position in the list, matched against element names without decoding them. */
export class NameIndex {
  private readonly byLength = new Map<number, { bytes: Uint8Array; index: number }[]>();

  constructor(readonly names: readonly string[]) {
    names.forEach((n, index) => {
      const bytes = Buffer.from(n, 'utf8');
      const list = this.byLength.get(bytes.length) ?? [];
      list.push({ bytes, index });
      this.byLength.set(bytes.length, list);
    });
  }

  /** The position of the name held in `b[start..end)`, or -1. */
  indexOf(b: Uint8Array, start: number, end: number): number {
    const list = this.byLength.get(end - start);
    if (!list) return -1;
    outer: for (const { bytes, index } of list) {
      for (let i = 0; i < bytes.length; i++) if (b[start + i] !== bytes[i]) continue outer;
      return index;
    }
    return -1;
  }
}

/** Field names (and `_id` when `withId`) compared against element names without decoding them. */
class FieldSet {
  private readonly index: NameIndex;
  /** How many distinct names: a document holds each at most once, so a scan can stop after that many. */
  readonly count: number;

  constructor(names: ReadonlySet<string>, withId: boolean) {
    this.index = new NameIndex([...new Set([...names, ...(withId ? ['_id'] : [])])]);
    this.count = this.index.names.length;
  }

  /** The position of the name held in `b[start..end)` among the distinct names, or -1. */
  indexOf(b: Uint8Array, start: number, end: number): number {
    return this.index.indexOf(b, start, end);
  }
}

const fieldSetCache = new WeakMap<ReadonlySet<string>, [FieldSet, FieldSet]>();

function fieldSet(names: ReadonlySet<string>, withId: boolean): FieldSet {
  let pair = fieldSetCache.get(names);
  if (!pair) {
    pair = [new FieldSet(names, false), new FieldSet(names, true)];
    fieldSetCache.set(names, pair);
  }
  return pair[withId ? 1 : 0];
}

/**
 * A document with only the top-level fields in `names` (and `_id` when `withId`), built by copying
 * their raw elements: no decoding at all.
 */
export function pickFields(b: Uint8Array, names: ReadonlySet<string>, withId: boolean): Uint8Array {
  const wanted = fieldSet(names, withId);
  const ranges: number[] = [];
  let size = 5;
  // Stop once every wanted name was seen (tracked as bits; a repeated name does not count twice).
  const all = wanted.count <= 30 ? (1 << wanted.count) - 1 : -1;
  let seen = 0;
  forEachElement(b, (_, nameStart, nameEnd, _type, elementEnd) => {
    const i = wanted.indexOf(b, nameStart, nameEnd);
    if (i >= 0) {
      // An element starts with its type byte, just before its name.
      ranges.push(nameStart - 1, elementEnd);
      size += elementEnd - nameStart + 1;
      if (all >= 0) seen |= 1 << i;
    }
    return seen !== all;
  });
  const out = Buffer.allocUnsafe(size);
  out.writeInt32LE(size, 0);
  let o = 4;
  for (let i = 0; i < ranges.length; i += 2) {
    for (let k = ranges[i]; k < ranges[i + 1]; k++) out[o++] = b[k];
  }
  out[o] = 0;
  return out;
}

/**
 * Visit the top-level elements without decoding them: `visit` gets the bytes, where the element's name starts
 * and ends, its BSON type byte and where the element ends; the walk stops when it returns false.
 */
export function forEachElement(
  b: Uint8Array,
  visit: (bytes: Uint8Array, nameStart: number, nameEnd: number, type: number, elementEnd: number) => boolean,
): void {
  let at = 4;
  const end = int32(b, 0) - 1;
  while (at < end) {
    const type = b[at++];
    const nameStart = at;
    while (b[at] !== 0) at++;
    const nameEnd = at;
    at++;
    at += valueSize(b, type, at);
    if (!visit(b, nameStart, nameEnd, type, at)) return;
  }
}

/** Decode only the given top-level fields. */
export function decodeFields(b: Uint8Array, names: ReadonlySet<string>): Document {
  return deserialize(pickFields(b, names, names.has('_id')));
}

/**
 * The top-level fields a filter reads, or undefined when it needs the whole document
 * (`$expr`, `$where`, `$jsonSchema`, `$text`, or anything unusual).
 */
export function filterFields(filter: Document | undefined): Set<string> | undefined {
  const out = new Set<string>();
  const visit = (f: Document): boolean => {
    for (const [k, v] of Object.entries(f)) {
      if (k === '$and' || k === '$or' || k === '$nor') {
        if (!Array.isArray(v) || !v.every((c) => c && typeof c === 'object' && visit(c as Document)))
          return false;
      } else if (k === '$comment') continue;
      else if (k.startsWith('$')) return false;
      else {
        if (
          v &&
          typeof v === 'object' &&
          !Array.isArray(v) &&
          Object.keys(v as Document).some((op) => op === '$where' || op === '$expr')
        )
          return false;
        out.add(k.split('.')[0]);
      }
    }
    return true;
  };
  if (!filter) return out;
  return visit(filter) ? out : undefined;
}

function writeCString(parts: Uint8Array[], s: string): number {
  const bytes = Buffer.from(s, 'utf8');
  parts.push(bytes, new Uint8Array([0]));
  return bytes.length + 1;
}

function docFrom(parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  const out = Buffer.alloc(body.length + 5);
  out.writeInt32LE(out.length, 0);
  body.copy(out, 4);
  return out;
}

/** Wrap raw element bytes `(type, name, value)` for building a document by hand. */
export function element(type: number, name: string, value: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([type])];
  writeCString(parts, name);
  parts.push(value);
  return Buffer.concat(parts);
}

export function rawDocument(elements: Uint8Array[]): Buffer {
  return docFrom(elements);
}

/**
 * Whether every field name of the document (nested documents and arrays included) is valid UTF-8. js-bson checks
 * string values, not names; a name with broken UTF-8 would be stored as replacement characters.
 */
export function namesAreUtf8(b: Uint8Array): boolean {
  const stack: [number, number][] = [[4, int32(b, 0) - 1]];
  while (stack.length) {
    const [start, end] = stack.pop()!;
    let at = start;
    if (end > b.length) return false;
    while (at < end) {
      const type = b[at++];
      const nameStart = at;
      let high = false;
      while (at < end && b[at] !== 0) if (b[at++] >= 0x80) high = true;
      if (at >= end) return false; // a name without its terminating zero: malformed
      if (high && !isUtf8(b.subarray(nameStart, at))) return false;
      at++;
      const size = valueSize(b, type, at);
      // a malformed size must never move the walk backwards or past the document
      if (!(size >= 0) || at + size > end) return false;
      if (type === 0x03 || type === 0x04) {
        if (size < 5) return false;
        stack.push([at + 4, at + size - 1]);
      }
      at += size;
    }
  }
  return true;
}
