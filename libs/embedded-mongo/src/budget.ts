import { calculateObjectSize } from 'bson';
import type { Document } from 'bson';
import { checkTimeLimit } from './cursors';
import { CommandError, ErrorCode } from './errors';

/*
 * One execution budget for every command, besides its time limit (maxTimeMS, checked inside expressions too): no
 * value an expression builds may exceed what a BSON document can hold, and a blocking stage holds at most 100 MB,
 * as mongod's limits say (https://www.mongodb.com/docs/manual/reference/limits/).
 */

/** The largest BSON document (16 MiB). */
export const BSON_MAX_BYTES = 16 * 1024 * 1024;
/** What one blocking stage (or one `$push`/`$addToSet` accumulator) may hold in memory: 100 MiB. */
export const STAGE_MEMORY_BYTES = 100 * 1024 * 1024;
/** Elements an array can have and still fit in a BSON document (each takes at least 9 bytes past index 999,999). */
const MAX_ARRAY_ELEMENTS = Math.floor(BSON_MAX_BYTES / 9);

export function tooLarge(what: string, bytes: number): CommandError {
  return new CommandError(
    ErrorCode.BSONObjectTooLarge,
    `${what} would take ${bytes} bytes, over the maximum BSON size of ${BSON_MAX_BYTES} bytes`,
  );
}

/** Throws 10334 when a value an expression built cannot be stored in a document. */
export function checkValueSize(v: unknown): void {
  if (typeof v === 'string') {
    // a UTF-16 unit takes one to three bytes in UTF-8: the length is a lower bound of the BSON size
    if (v.length > BSON_MAX_BYTES) throw tooLarge('a string', v.length);
  } else if (Array.isArray(v) && v.length > MAX_ARRAY_ELEMENTS)
    throw tooLarge(`an array of ${v.length} elements`, v.length * 9);
}

/** BSON size of any value (a document, or a value as the single field of one). */
export function bsonSize(v: unknown): number {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date))
    return calculateObjectSize(v as Document);
  return calculateObjectSize({ v });
}

/**
 * An operator of the expression engine wrapped in the budget: the time limit is checked before it runs, and the
 * size of what it returns after. `(obj, expr, options) => value` is the engine's operator signature.
 */
export function budgeted<F extends (...args: never[]) => unknown>(op: F): F {
  return ((...args: Parameters<F>) => {
    checkTimeLimit();
    const value = op(...args);
    checkValueSize(value);
    return value;
  }) as F;
}

export function budgetedAll<T extends Record<string, unknown>>(ops: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, op] of Object.entries(ops))
    out[name] = typeof op === 'function' ? budgeted(op as never) : op;
  return out as T;
}

/** Whether the running command allows blocking stages to spill to disk (allowDiskUse; mongod 7.0's default: yes). */
let diskUse = true;

export function withDiskUse<T>(allowDiskUse: unknown, fn: () => T): T {
  const previous = diskUse;
  diskUse = allowDiskUse !== false;
  try {
    return fn();
  } finally {
    diskUse = previous;
  }
}

/**
 * Counts the bytes a blocking stage takes in, when the command said `allowDiskUse: false`: past 100 MB it fails
 * with 292 as mongod does (the embedded server never spills; with disk use allowed it keeps the stage in memory).
 */
export function stageMeter(stage: string): (doc: unknown) => void {
  if (diskUse) return () => undefined;
  let bytes = 0;
  return (doc) => {
    // a number is a size already known (raw BSON bytes)
    bytes += typeof doc === 'number' ? doc : bsonSize(doc);
    if (bytes > STAGE_MEMORY_BYTES)
      throw new CommandError(
        ErrorCode.QueryExceededMemoryLimitNoDiskUseAllowed,
        `Exceeded memory limit for ${stage}, but didn't allow external spilling; pass allowDiskUse:true to opt in. Memory limit: ${STAGE_MEMORY_BYTES} bytes`,
      );
  };
}

/** An accumulator that cannot spill (`$push`, `$addToSet`): its values of one group take at most 100 MB, or 146. */
export function checkAccumulatorMemory(name: string, values: unknown): void {
  if (!Array.isArray(values)) return;
  let bytes = 0;
  for (const v of values) {
    bytes += bsonSize(v);
    if (bytes > STAGE_MEMORY_BYTES)
      throw new CommandError(
        ErrorCode.ExceededMemoryLimit,
        `${name} used too much memory and cannot spill to disk. Memory limit: ${STAGE_MEMORY_BYTES} bytes`,
      );
  }
}

/** The deepest nesting mongod stores (documents and arrays, the top-level document counted). */
export const MAX_STORED_DEPTH = 100;

/** Throws 15 Overflow when `doc` nests documents or arrays deeper than mongod stores (iterative: any depth). */
export function checkStorageDepth(doc: Document): void {
  const stack: [unknown, number][] = [[doc, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (depth > MAX_STORED_DEPTH)
      throw new CommandError(
        ErrorCode.Overflow,
        `Document exceeds maximum nesting depth of ${MAX_STORED_DEPTH}`,
      );
    const children = Array.isArray(v) ? v : isPlainDocument(v) ? Object.values(v) : [];
    for (const c of children) if (c !== null && typeof c === 'object') stack.push([c, depth + 1]);
  }
}

function isPlainDocument(v: unknown): v is Document {
  if (v === null || typeof v !== 'object' || v instanceof Date || ArrayBuffer.isView(v)) return false;
  return typeof (v as { _bsontype?: unknown })._bsontype !== 'string' && !(v instanceof RegExp);
}
