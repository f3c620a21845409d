import type { Document } from 'bson';
import { getOwn, setOwn } from './own';

/*
 * The update most writes send: `$set` and `$unset` of plain field paths through sub-documents. Applying it needs no
 * query engine; the general path (mingo's updater) builds an operator context and compiles the filter for every
 * document, which dominates a stream of small conditional updates. Anything else (positional or array-filter
 * paths, arrays or scalars on the way, conflicting paths, other operators) returns undefined and takes the general
 * path, so errors and edge cases stay where they are defined.
 */

const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

function isPlainObject(v: unknown): v is Document {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

function simplePaths(spec: unknown): string[] | undefined {
  if (!isPlainObject(spec)) return undefined;
  const paths = Object.keys(spec);
  for (const p of paths) {
    if (p.includes('$')) return undefined;
    for (const part of p.split('.')) if (part === '' || RESERVED.has(part)) return undefined;
  }
  return paths;
}

/** The sub-document holding the last part of `parts`, creating missing ones when `create`; undefined when not plain. */
function parentOf(doc: Document, parts: string[], create: boolean): Document | undefined | null {
  let cur = doc;
  for (const part of parts.slice(0, -1)) {
    const next = getOwn(cur, part);
    if (next === undefined) {
      if (!create) return null; // nothing to unset
      const created: Document = {};
      setOwn(cur, part, created);
      cur = created;
    } else if (isPlainObject(next)) cur = next;
    else return undefined;
  }
  return cur;
}

/**
 * Apply `modifier` to `copy` (already a private copy) when it is only `$set`/`$unset` of plain paths through
 * sub-documents; returns false, with `copy` untouched, when the general path must apply it.
 */
export function applySimpleUpdate(
  copy: Document,
  modifier: Document,
  clone: <T>(v: T) => T,
  arrayFilters: Document[] | undefined,
): boolean {
  if (arrayFilters?.length) return false;
  const ops = Object.keys(modifier);
  if (ops.length === 0 || ops.some((op) => op !== '$set' && op !== '$unset')) return false;
  const sets = modifier.$set === undefined ? [] : simplePaths(modifier.$set);
  const unsets = modifier.$unset === undefined ? [] : simplePaths(modifier.$unset);
  if (!sets || !unsets) return false;
  const all = [...sets, ...unsets].sort();
  for (let i = 1; i < all.length; i++)
    if (all[i] === all[i - 1] || all[i].startsWith(`${all[i - 1]}.`)) return false; // a conflict: reported there
  // check every path before changing anything
  for (const p of all) if (parentOf(copy, p.split('.'), false) === undefined) return false;
  for (const p of sets) {
    const parts = p.split('.');
    const parent = parentOf(copy, parts, true) as Document;
    setOwn(parent, parts[parts.length - 1], clone((modifier.$set as Document)[p]));
  }
  for (const p of unsets) {
    const parts = p.split('.');
    const parent = parentOf(copy, parts, false);
    if (parent) delete parent[parts[parts.length - 1]];
  }
  return true;
}
