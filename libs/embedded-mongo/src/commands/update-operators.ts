/** Update documents: operator and pipeline updates, their checks, and the seed document of an upsert. */
import { ObjectId, Timestamp } from 'bson';
import type { Document } from 'bson';
import { keyOf, toNumber } from '../bson-order';
import { CommandError, ErrorCode } from '../errors';
import { setOwnPath } from '../own';
import { applyUpdate, structuredCloneBson } from '../query-engine';
import { idFirst } from './context';

export function isOperatorUpdate(u: Document): boolean {
  const keys = Object.keys(u);
  const ops = keys.filter((k) => k.startsWith('$'));
  if (ops.length > 0 && ops.length !== keys.length) {
    const plain = keys.find((k) => !k.startsWith('$'));
    throw new CommandError(
      ErrorCode.FailedToParse,
      `Unknown modifier: ${plain}. Expected a valid update modifier or pipeline-style update specified as an array`,
    );
  }
  return ops.length > 0;
}

export const UPDATE_OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$rename',
  '$push',
  '$pull',
  '$pullAll',
  '$addToSet',
  '$pop',
  '$currentDate',
  '$setOnInsert',
  '$bit',
]);

export function checkUpdateOperators(u: Document): void {
  const paths: string[] = [];
  for (const [op, spec] of Object.entries(u)) {
    if (!UPDATE_OPERATORS.has(op))
      throw new CommandError(
        ErrorCode.FailedToParse,
        `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) {
      throw new CommandError(
        ErrorCode.FailedToParse,
        `Modifiers operate on fields but we found type ${Array.isArray(spec) ? 'array' : typeof spec} instead. For example: {$mod: {<field>: ...}} not {$set: <value>}`,
      );
    }
    for (const [path, v] of Object.entries(spec as Document)) {
      checkPath(path);
      paths.push(path);
      if (op === '$rename') {
        if (typeof v !== 'string')
          throw new CommandError(
            ErrorCode.BadValue,
            `The 'to' field for $rename must be a string: ${path}: ${String(v)}`,
          );
        checkPath(v);
        if (v === path)
          throw new CommandError(
            ErrorCode.BadValue,
            `The source and target field for $rename must differ: ${path}: "${v}"`,
          );
        paths.push(v);
      }
      if (
        (op === '$inc' || op === '$mul') &&
        !['number', 'bigint'].includes(typeof v) &&
        !['Int32', 'Long', 'Double', 'Decimal128'].includes((v as { _bsontype?: string })?._bsontype ?? '')
      ) {
        throw new CommandError(
          ErrorCode.TypeMismatch,
          `Cannot ${op === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: {${path}: ${JSON.stringify(v)}}`,
        );
      }
    }
  }
  const clean = paths.map((p) => p.replace(/\.\$(\[[^\]]*\])?/g, ''));
  for (let i = 0; i < clean.length; i++) {
    for (let j = i + 1; j < clean.length; j++) {
      const [a, b] = [clean[i], clean[j]];
      if (a === b || a.startsWith(b + '.') || b.startsWith(a + '.')) {
        throw new CommandError(
          ErrorCode.ConflictingUpdateOperators,
          `Updating the path '${paths[j]}' would create a conflict at '${a.length <= b.length ? a : b}'`,
        );
      }
    }
  }
}

/** An update path with an empty part (`a..b`, a trailing dot) is refused, as mongod refuses it (EmptyFieldName). */
function checkPath(path: string): void {
  if (path === '') throw new CommandError(ErrorCode.EmptyFieldName, 'An empty update path is not valid.');
  if (path.split('.').some((p) => p === ''))
    throw new CommandError(
      ErrorCode.EmptyFieldName,
      `The update path '${path}' contains an empty field name, which is not allowed.`,
    );
}

/** Every `$[identifier]` of the update names one of the arrayFilters (mongod: BadValue otherwise). */
function checkArrayFilterIdentifiers(u: Document, arrayFilters: Document[] | undefined): void {
  const known = new Set(
    (arrayFilters ?? []).flatMap((f) => Object.keys(f ?? {}).map((k) => k.split('.')[0])),
  );
  for (const spec of Object.values(u))
    for (const path of Object.keys((spec ?? {}) as Document))
      for (const [, id] of path.matchAll(/\$\[([^\]]+)\]/g))
        if (!known.has(id))
          throw new CommandError(
            ErrorCode.BadValue,
            `No array filter found for identifier '${id}' in path '${path}'`,
          );
}

/** `$currentDate` as `$set` of the current date, or of a BSON Timestamp with `{$type: 'timestamp'}`. */
function currentDates(spec: Document): Document {
  const now = new Date();
  const out: Document = {};
  for (const [path, v] of Object.entries(spec)) {
    const type = v && typeof v === 'object' ? (v as Document).$type : v === true ? 'date' : undefined;
    if (type !== 'date' && type !== 'timestamp')
      throw new CommandError(
        ErrorCode.BadValue,
        `The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : {$type: 'date'}}}`,
      );
    out[path] =
      type === 'date' ? now : new Timestamp({ t: Math.floor(now.getTime() / 1000), i: ++timestampCounter });
  }
  return out;
}
let timestampCounter = 0;

export function checkNumericTargets(doc: Document, u: Document): void {
  for (const op of ['$inc', '$mul'] as const) {
    const spec = u[op] as Document | undefined;
    if (!spec) continue;
    for (const path of Object.keys(spec)) {
      if (path.includes('$')) continue;
      const parts = path.split('.');
      let cur: unknown = doc;
      for (const p of parts) cur = cur && typeof cur === 'object' ? (cur as Document)[p] : undefined;
      if (cur !== undefined && cur !== null && Number.isNaN(toNumber(cur))) {
        throw new CommandError(
          ErrorCode.TypeMismatch,
          `Cannot apply ${op} to a value of non-numeric type. {_id: ${JSON.stringify(doc._id)}} has the field '${parts[parts.length - 1]}' of non-numeric type ${typeof cur === 'string' ? 'string' : Array.isArray(cur) ? 'array' : typeof cur}`,
        );
      }
    }
  }
}

/** Drop a `$set` of `_id` to its current value; any other change of `_id` is code 66. */
export function withoutIdNoOp(op: string, spec: Document, doc: Document, isInsert: boolean): Document {
  if (isInsert) return spec;
  const out: Document = {};
  for (const [path, v] of Object.entries(spec)) {
    if (path === '_id' || path.startsWith('_id.')) {
      if ((op === '$set' || op === '$setOnInsert') && path === '_id' && keyOf(v) === keyOf(doc._id)) continue;
      if (op === '$setOnInsert') continue;
      throw new CommandError(
        ErrorCode.ImmutableField,
        "Performing an update on the path '_id' would modify the immutable field '_id'",
      );
    }
    out[path] = v;
  }
  return out;
}

/** The new version of `doc` after `u` (operators, pipeline or replacement). */
export function computeUpdate(
  doc: Document,
  u: Document | Document[],
  q: Document | undefined,
  arrayFilters: Document[] | undefined,
  isInsert: boolean,
  variables?: Document,
): Document {
  let next: Document;
  if (Array.isArray(u)) {
    next = applyUpdate(doc, u, undefined, undefined, variables);
    if (!('_id' in next) && '_id' in doc) next = { _id: doc._id, ...next };
  } else if (isOperatorUpdate(u)) {
    checkUpdateOperators(u);
    checkArrayFilterIdentifiers(u, arrayFilters);
    checkNumericTargets(doc, u);
    const modifier: Document = {};
    for (const [op, rawSpec] of Object.entries(u)) {
      const spec = withoutIdNoOp(op, rawSpec as Document, doc, isInsert);
      if (op === '$currentDate') {
        modifier.$set = { ...(modifier.$set as Document), ...currentDates(spec as Document) };
      } else if (op === '$setOnInsert') {
        if (isInsert) modifier.$set = { ...(modifier.$set as Document), ...(spec as Document) };
      } else if (op === '$set' && modifier.$set)
        modifier.$set = { ...(modifier.$set as Document), ...(spec as Document) };
      else modifier[op] = spec;
    }
    for (const [op, spec] of Object.entries(modifier))
      if (Object.keys(spec as Document).length === 0) delete modifier[op];
    next = Object.keys(modifier).length
      ? applyUpdate(doc, modifier, arrayFilters, isInsert ? undefined : q)
      : structuredCloneBson(doc);
  } else {
    for (const k of Object.keys(u)) {
      if (k.startsWith('$'))
        throw new CommandError(
          ErrorCode.BadValue,
          `The dollar ($) prefixed field '${k}' in '${k}' is not valid for storage.`,
        );
    }
    next = { ...u };
    if ('_id' in doc) {
      if ('_id' in next && keyOf(next._id) !== keyOf(doc._id)) {
        throw new CommandError(
          ErrorCode.ImmutableField,
          `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${JSON.stringify(next._id)}`,
        );
      }
      next = { _id: doc._id, ...next };
    }
  }
  if ('_id' in doc && (!('_id' in next) || keyOf(next._id) !== keyOf(doc._id))) {
    throw new CommandError(
      ErrorCode.ImmutableField,
      "Performing an update on the path '_id' would modify the immutable field '_id'",
    );
  }
  return idFirst(next);
}

/** The document an upsert starts from: the equality fields of the query. */
export function upsertSeed(q: Document | undefined): Document {
  const seed: Document = {};
  const visit = (filter: Document): void => {
    for (const [k, v] of Object.entries(filter)) {
      if (k === '$and' && Array.isArray(v)) v.forEach((c) => visit(c as Document));
      if (k.startsWith('$')) continue;
      let value: unknown = v;
      if (
        v &&
        typeof v === 'object' &&
        !Array.isArray(v) &&
        !(v instanceof Date) &&
        !(v instanceof ObjectId) &&
        !(v as { _bsontype?: string })._bsontype
      ) {
        const keys = Object.keys(v as Document);
        if (keys.some((x) => x.startsWith('$'))) {
          if (keys.length === 1 && keys[0] === '$eq') value = (v as Document).$eq;
          else continue;
        }
      }
      if (value instanceof RegExp) continue;
      setPath(seed, k, structuredCloneBson(value));
    }
  };
  if (q) visit(q);
  return seed;
}

export function setPath(doc: Document, path: string, value: unknown): void {
  setOwnPath(doc, path, value);
}
