/** The blocking sort of a find that no index serves: bounded in time, in memory, and in what it decodes. */
import { compareBson } from '../bson-order';
import { stageMeter } from '../budget';
import { checkTimeLimit } from '../cursors';
import { sortKey } from '../query-engine';
import type { SortSpec } from '../query-engine';
import { decodeFields } from '../raw-bson';

interface Entry {
  buf: Uint8Array;
  /** Scan order: ties keep it, as a stable sort does. */
  i: number;
  keys: unknown[];
}

/**
 * The documents (BSON bytes) in sort order. Only the top-level fields the sort reads are decoded; with `keep` > 0
 * only the first `keep` are kept as the scan goes (a top-k heap: memory and comparisons follow `keep`, not the
 * collection), as mongod does for a sort with a limit. The time limit is checked as documents are read and as they
 * are compared; without disk use a sort holding more than 100 MB fails with 292.
 */
export function sortRaw(bufs: Iterable<Uint8Array>, sort: SortSpec, keep: number): Uint8Array[] {
  const spec = Object.entries(sort);
  const names = new Set(spec.map(([p]) => p.split('.')[0]));
  const meter = stageMeter('$sort');
  let comparisons = 0;
  const compare = (a: Entry, b: Entry): number => {
    if ((++comparisons & 0x3ff) === 0) checkTimeLimit();
    for (let j = 0; j < spec.length; j++) {
      const c = compareBson(a.keys[j], b.keys[j]);
      if (c !== 0) return c * spec[j][1];
    }
    return a.i - b.i;
  };
  const heap = keep > 0 ? new MaxHeap<Entry>(compare) : undefined;
  const all: Entry[] = [];
  let i = 0;
  for (const buf of bufs) {
    if ((i & 255) === 0) checkTimeLimit();
    const fields = decodeFields(buf, names);
    const entry = { buf, i: i++, keys: spec.map(([p, dir]) => sortKey(fields, p, dir)) };
    if (!heap) {
      meter(buf.byteLength);
      all.push(entry);
    } else if (heap.size < keep) {
      meter(buf.byteLength);
      heap.push(entry);
    } else if (compare(entry, heap.top()) < 0) heap.replaceTop(entry);
  }
  const entries = heap ? heap.items() : all;
  return entries.sort(compare).map((e) => e.buf);
}

/** A binary max-heap: the largest item (by `compare`) on top. */
class MaxHeap<T> {
  private readonly data: T[] = [];

  constructor(private readonly compare: (a: T, b: T) => number) {}

  get size(): number {
    return this.data.length;
  }

  top(): T {
    return this.data[0];
  }

  items(): T[] {
    return this.data;
  }

  push(item: T): void {
    const d = this.data;
    d.push(item);
    let i = d.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.compare(d[i], d[parent]) <= 0) break;
      [d[i], d[parent]] = [d[parent], d[i]];
      i = parent;
    }
  }

  replaceTop(item: T): void {
    const d = this.data;
    d[0] = item;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let largest = i;
      if (l < d.length && this.compare(d[l], d[largest]) > 0) largest = l;
      if (r < d.length && this.compare(d[r], d[largest]) > 0) largest = r;
      if (largest === i) return;
      [d[i], d[largest]] = [d[largest], d[i]];
      i = largest;
    }
  }
}
