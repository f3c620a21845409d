import type { Document } from 'bson';

/*
 * Documents are built from what clients send: a field may be named `__proto__`, `constructor` or `prototype`. Such a
 * name is data. Writing it with `obj[key] = value` would set the object's prototype (`__proto__`), and walking a path
 * through inherited members would reach Object.prototype and change it for the whole process. Every write of a
 * client-chosen key goes through setOwn, and every path walk reads own properties only.
 */

/** Set an own, enumerable data property, also for the key `__proto__` (never the prototype setter). */
export function setOwn(obj: Document, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/** The own property `key` of `obj`, or undefined (never an inherited member such as `constructor`). */
export function getOwn(obj: unknown, key: string): unknown {
  return obj !== null && typeof obj === 'object' && Object.hasOwn(obj, key)
    ? (obj as Document)[key]
    : undefined;
}

/** Set the dotted `path` of `doc`, creating sub-documents on the way, own properties only. */
export function setOwnPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur: Document = doc;
  for (const p of parts.slice(0, -1)) {
    const next = getOwn(cur, p);
    if (next === null || typeof next !== 'object') {
      const created: Document = {};
      setOwn(cur, p, created);
      cur = created;
    } else cur = next as Document;
  }
  setOwn(cur, parts[parts.length - 1], value);
}
