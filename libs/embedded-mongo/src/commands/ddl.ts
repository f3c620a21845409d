/** Collections, databases and indexes: create, collMod, listCollections, drop, renameCollection, createIndexes, listIndexes, dropIndexes, collStats, dbStats, listDatabases, dropDatabase. */
import type { Document } from 'bson';
import { keyOf, toNumber } from '../bson-order';
import { CommandError, ErrorCode } from '../errors';
import { parseCollation } from '../collation';
import { checkSchema } from '../json-schema';
import { compileFilter } from '../query-engine';
import { toStoredOptions, validateCollectionName } from '../database';
import type {
  CollectionOptions,
  IndexSpec,
  ValidationAction,
  ValidationLevel,
  Collection,
} from '../collection';
import type { CommandContext, Handler } from './context';
import { db, existing, optionalDoc, optionalNum, requireCollectionName, sessionKey } from './context';
import { createView, isView, modifyView, refuseView, viewInfo } from './views';

export function parseCollectionOptions(ctx: CommandContext, base: CollectionOptions): CollectionOptions {
  const out: CollectionOptions = { ...base };
  if ('validator' in ctx.cmd) {
    const v = ctx.cmd.validator;
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw new CommandError(
        ErrorCode.TypeMismatch,
        "BSON field 'validator' is the wrong type, expected type 'object'",
      );
    if ((v as Document).$jsonSchema !== undefined) checkSchema((v as Document).$jsonSchema);
    compileFilter(v as Document);
    out.validator = Object.keys(v as Document).length ? (v as Document) : undefined;
  }
  if ('validationLevel' in ctx.cmd) {
    const lvl = ctx.cmd.validationLevel;
    if (!['off', 'strict', 'moderate'].includes(lvl))
      throw new CommandError(
        ErrorCode.BadValue,
        `Enumeration value '${lvl}' for field 'validationLevel' is not a valid value.`,
      );
    out.validationLevel = lvl as ValidationLevel;
  }
  if ('validationAction' in ctx.cmd) {
    const act = ctx.cmd.validationAction;
    if (!['error', 'warn'].includes(act))
      throw new CommandError(
        ErrorCode.BadValue,
        `Enumeration value '${act}' for field 'validationAction' is not a valid value.`,
      );
    out.validationAction = act as ValidationAction;
  }
  if (out.validator) {
    out.validationLevel ??= 'strict';
    out.validationAction ??= 'error';
  }
  return out;
}

export const UNSUPPORTED_CREATE = [
  'capped',
  'timeseries',
  'clusteredIndex',
  'changeStreamPreAndPostImages',
  'encryptedFields',
];

export const create: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'create');
  if (ctx.cmd.viewOn !== undefined || ctx.cmd.pipeline !== undefined) return createView(ctx, name);
  for (const k of UNSUPPORTED_CREATE) {
    if (ctx.cmd[k] !== undefined && ctx.cmd[k] !== false)
      throw new CommandError(
        ErrorCode.IllegalOperation,
        `create option '${k}' is not supported by the embedded server`,
      );
  }
  const options = parseCollectionOptions(ctx, {});
  // `simple` is the binary default: stored as no collation
  if (parseCollation(ctx.cmd.collation)) options.collation = ctx.cmd.collation as Document;
  const database = db(ctx);
  const found = database.get(name) ?? database.views.get(name);
  if (found) {
    throw new CommandError(ErrorCode.NamespaceExists, `Collection ${ctx.dbName}.${name} already exists.`);
  }
  database.create(name, options);
  return { ok: 1 };
};

export const collMod: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'collMod');
  if (isView(ctx, name)) return modifyView(ctx, name);
  const coll = existing(ctx, name);
  if (!coll) throw new CommandError(ErrorCode.NamespaceNotFound, `ns does not exist: ${ctx.dbName}.${name}`);
  const options = parseCollectionOptions(ctx, coll.options);
  coll.setOptions(options);
  ctx.store.record({ op: 'collMod', db: ctx.dbName, coll: name, options: toStoredOptions(options) });
  return { ok: 1 };
};

export function collectionInfo(coll: Collection): Document {
  return {
    name: coll.name,
    type: 'collection',
    options: toStoredOptions(coll.options),
    info: { readOnly: false, uuid: coll.uuid },
    idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
  };
}

export const listCollections: Handler = (ctx) => {
  const filter = optionalDoc(ctx, 'filter');
  const pred = compileFilter(filter);
  const database = ctx.store.existingDb(ctx.dbName);
  const infos = database
    ? [
        ...[...database.collections.values()].map(collectionInfo),
        ...[...database.views].map(([name, view]) => viewInfo(name, view)),
      ].filter(pred)
    : [];
  const out = ctx.cmd.nameOnly === true ? infos.map((i) => ({ name: i.name, type: i.type })) : infos;
  const batchSize = optionalNum((ctx.cmd.cursor as Document | undefined)?.batchSize);
  return ctx.cursors.open(`${ctx.dbName}.$cmd.listCollections`, out, {
    batchSize: batchSize ?? Number.MAX_SAFE_INTEGER,
    sessionKey: sessionKey(ctx),
  });
};

export const drop: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'drop');
  const coll = existing(ctx, name);
  const ns = `${ctx.dbName}.${name}`;
  if (!coll) {
    ctx.store.existingDb(ctx.dbName)?.dropView(name);
    return { ns, ok: 1 };
  }
  const nIndexesWas = coll.indexSpecs().length;
  db(ctx).drop(name);
  return { nIndexesWas, ns, ok: 1 };
};

export function splitNs(ns: unknown, field: string): { db: string; coll: string } {
  if (typeof ns !== 'string' || !ns.includes('.'))
    throw new CommandError(
      ErrorCode.InvalidNamespace,
      `Invalid namespace specified '${String(ns)}' for ${field}`,
    );
  const i = ns.indexOf('.');
  return { db: ns.slice(0, i), coll: ns.slice(i + 1) };
}

export const renameCollection: Handler = (ctx) => {
  if (ctx.dbName !== 'admin')
    throw new CommandError(
      ErrorCode.Unauthorized,
      'renameCollection may only be run against the admin database.',
    );
  const from = splitNs(ctx.cmd.renameCollection, 'renameCollection');
  const to = splitNs(ctx.cmd.to, 'to');
  validateCollectionName(to.coll);
  const srcDb = ctx.store.existingDb(from.db);
  const src = srcDb?.get(from.coll);
  if (srcDb?.views.has(from.coll))
    throw new CommandError(
      ErrorCode.CommandNotSupportedOnView,
      `cannot rename view: ${from.db}.${from.coll}`,
    );
  if (!srcDb || !src) throw new CommandError(ErrorCode.NamespaceNotFound, 'source namespace does not exist');
  if (from.db === to.db && from.coll === to.coll)
    throw new CommandError(ErrorCode.IllegalOperation, "Can't rename a collection to itself");
  const dstDb = ctx.store.db(to.db);
  if (dstDb.views.has(to.coll))
    throw new CommandError(
      ErrorCode.NamespaceExists,
      `a view already exists with that name: ${to.db}.${to.coll}`,
    );
  if (dstDb.get(to.coll)) {
    if (ctx.cmd.dropTarget !== true)
      throw new CommandError(ErrorCode.NamespaceExists, 'target namespace exists');
    dstDb.drop(to.coll);
  }
  srcDb.collections.delete(from.coll);
  src.rebind(dstDb, to.coll);
  dstDb.collections.set(to.coll, src);
  ctx.store.record({
    op: 'renameCollection',
    db: from.db,
    coll: from.coll,
    toDb: to.db,
    toColl: to.coll,
  });
  return { ok: 1 };
};

export function validateIndexSpec(spec: unknown): IndexSpec {
  if (!spec || typeof spec !== 'object')
    throw new CommandError(ErrorCode.TypeMismatch, 'index specification must be an object');
  const s = spec as Document;
  if (!s.key || typeof s.key !== 'object' || Object.keys(s.key as Document).length === 0) {
    throw new CommandError(ErrorCode.CannotCreateIndex, 'Index keys cannot be empty.');
  }
  for (const [f, v] of Object.entries(s.key as Document)) {
    const ok =
      typeof v === 'string'
        ? ['text', '2d', '2dsphere', 'hashed'].includes(v)
        : toNumber(v) !== 0 && !Number.isNaN(toNumber(v));
    if (!ok)
      throw new CommandError(
        ErrorCode.CannotCreateIndex,
        `Values in the index key pattern can contain only non-zero numbers or the special strings: bad value for field ${f}: ${JSON.stringify(v)}`,
      );
  }
  if (typeof s.name !== 'string' || s.name.length === 0) {
    throw new CommandError(ErrorCode.FailedToParse, "The field 'name' must be a non-empty string");
  }
  if (s.partialFilterExpression !== undefined) compileFilter(s.partialFilterExpression as Document);
  const out: IndexSpec = { v: 2, key: s.key as Document, name: s.name };
  for (const [k, v] of Object.entries(s)) {
    if (k === 'key' || k === 'name' || k === 'v' || k === 'ns' || k === 'background') continue;
    out[k] = v;
  }
  if (out.unique === false) delete out.unique;
  if (out.sparse === false) delete out.sparse;
  return out;
}

export function sameOptions(a: IndexSpec, b: IndexSpec): boolean {
  const pick = (s: IndexSpec): string =>
    keyOf({
      unique: s.unique === true,
      sparse: s.sparse === true,
      pfe: s.partialFilterExpression ?? null,
      ttl: s.expireAfterSeconds ?? null,
      collation: s.collation ?? null,
    });
  return pick(a) === pick(b);
}

export const createIndexes: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'createIndexes');
  const specs = ctx.cmd.indexes;
  if (!Array.isArray(specs) || specs.length === 0)
    throw new CommandError(ErrorCode.BadValue, 'Must specify at least one index to create');
  const parsed = specs.map(validateIndexSpec);
  refuseView(ctx, name);
  const { coll, created } = db(ctx).ensure(name);
  for (const spec of parsed) {
    // an index without a collation takes the collection's; `simple` asks for binary keys
    if (spec.collation === undefined && coll.options.collation) spec.collation = coll.options.collation;
    else if (spec.collation !== undefined && !parseCollation(spec.collation)) delete spec.collation;
  }
  const before = coll.indexSpecs().length;
  const toBuild: IndexSpec[] = [];
  for (const spec of parsed) {
    if (spec.name === '_id_' || keyOf(spec.key) === keyOf({ _id: 1 })) continue;
    const sameName = coll.indexes.get(spec.name);
    if (sameName) {
      if (keyOf(sameName.spec.key) !== keyOf(spec.key)) {
        throw new CommandError(
          ErrorCode.IndexKeySpecsConflict,
          `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName.spec)}`,
        );
      }
      if (!sameOptions(sameName.spec, spec)) {
        throw new CommandError(
          ErrorCode.IndexOptionsConflict,
          `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName.spec)}`,
        );
      }
      continue;
    }
    const sameKey = [...coll.indexes.values()].find(
      (i) => keyOf(i.spec.key) === keyOf(spec.key) && sameOptions(i.spec, spec),
    );
    if (sameKey) {
      throw new CommandError(
        ErrorCode.IndexOptionsConflict,
        `Index already exists with a different name: ${sameKey.name}`,
      );
    }
    toBuild.push(spec);
  }
  for (const spec of toBuild) {
    coll.createIndex(spec);
    ctx.store.record({ op: 'createIndex', db: ctx.dbName, coll: name, spec });
  }
  const reply: Document = {
    numIndexesBefore: before,
    numIndexesAfter: coll.indexSpecs().length,
    createdCollectionAutomatically: created,
  };
  if (toBuild.length === 0) reply.note = 'all indexes already exist';
  reply.ok = 1;
  return reply;
};

export const listIndexes: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'listIndexes');
  refuseView(ctx, name);
  const coll = existing(ctx, name);
  if (!coll) throw new CommandError(ErrorCode.NamespaceNotFound, `ns does not exist: ${ctx.dbName}.${name}`);
  return ctx.cursors.open(`${ctx.dbName}.${name}`, coll.indexSpecs(), {
    batchSize: Number.MAX_SAFE_INTEGER,
    sessionKey: sessionKey(ctx),
  });
};

export const dropIndexes: Handler = (ctx) => {
  const name = requireCollectionName(ctx, Object.keys(ctx.cmd)[0]);
  refuseView(ctx, name);
  const coll = existing(ctx, name);
  if (!coll) throw new CommandError(ErrorCode.NamespaceNotFound, `ns not found ${ctx.dbName}.${name}`);
  const nIndexesWas = coll.indexSpecs().length;
  const which = ctx.cmd.index;
  let names: string[];
  if (which === '*') names = [...coll.indexes.keys()];
  else if (typeof which === 'string') names = [which];
  else if (Array.isArray(which)) names = which.map(String);
  else if (which && typeof which === 'object') {
    const found = [...coll.indexes.values()].find((i) => keyOf(i.spec.key) === keyOf(which));
    if (!found) {
      if (keyOf(which) === keyOf({ _id: 1 }))
        throw new CommandError(ErrorCode.InvalidOptions, 'cannot drop _id index');
      throw new CommandError(ErrorCode.IndexNotFound, `can't find index with key: ${JSON.stringify(which)}`);
    }
    names = [found.name];
  } else throw new CommandError(ErrorCode.TypeMismatch, "BSON field 'dropIndexes.index' is the wrong type");
  for (const n of names) {
    if (n === '_id_') throw new CommandError(ErrorCode.InvalidOptions, 'cannot drop _id index');
    if (!coll.indexes.has(n))
      throw new CommandError(ErrorCode.IndexNotFound, `index not found with name [${n}]`);
  }
  for (const n of names) {
    coll.indexes.delete(n);
    ctx.store.record({ op: 'dropIndex', db: ctx.dbName, coll: name, name: n });
  }
  const reply: Document = { nIndexesWas };
  if (which === '*') reply.msg = 'non-_id indexes dropped for collection';
  reply.ok = 1;
  return reply;
};

export const collStats: Handler = (ctx) => {
  const name = requireCollectionName(ctx, 'collStats');
  refuseView(ctx, name);
  const scale = toNumber(ctx.cmd.scale ?? 1) || 1;
  return { ...collStatsDoc(ctx, existing(ctx, name), name, scale), ok: 1 };
};

export const dbStats: Handler = (ctx) => {
  const scale = toNumber(ctx.cmd.scale ?? 1) || 1;
  const colls = [...(ctx.store.existingDb(ctx.dbName)?.collections.values() ?? [])];
  const objects = colls.reduce((a, c) => a + c.size, 0);
  const dataSize = colls.reduce((a, c) => a + c.bytes, 0);
  const indexes = colls.reduce((a, c) => a + c.indexSpecs().length, 0);
  const indexSize = colls.reduce(
    (a, c) => a + Object.values(c.indexBytes()).reduce((x: number, y) => x + Number(y), 0),
    0,
  );
  return {
    db: ctx.dbName,
    collections: colls.length,
    views: 0,
    objects,
    avgObjSize: objects ? dataSize / objects : 0,
    dataSize: dataSize / scale,
    storageSize: dataSize / scale,
    indexes,
    indexSize: indexSize / scale,
    totalSize: (dataSize + indexSize) / scale,
    scaleFactor: scale,
    fsUsedSize: 0,
    fsTotalSize: 0,
    ok: 1,
  };
};

export const listDatabases: Handler = (ctx) => {
  const filter = compileFilter(optionalDoc(ctx, 'filter'));
  const dbs = [...ctx.store.dbs.values()]
    .filter((d) => d.collections.size > 0)
    .map((d) => {
      const size = [...d.collections.values()].reduce((a, c) => a + c.bytes, 0);
      return { name: d.name, sizeOnDisk: size, empty: size === 0 };
    })
    .filter(filter);
  if (ctx.cmd.nameOnly === true) return { databases: dbs.map((d) => ({ name: d.name })), ok: 1 };
  const totalSize = dbs.reduce((a, d) => a + d.sizeOnDisk, 0);
  return { databases: dbs, totalSize, totalSizeMb: Math.floor(totalSize / 1024 / 1024), ok: 1 };
};

export const dropDatabase: Handler = (ctx) => {
  ctx.store.dropDb(ctx.dbName);
  return { ok: 1 };
};

export function collStatsDoc(
  ctx: CommandContext,
  coll: Collection | undefined,
  name: string,
  scale = 1,
): Document {
  const count = coll?.size ?? 0;
  const size = coll?.bytes ?? 0;
  const indexSizes = coll?.indexBytes() ?? {};
  const totalIndexSize = Object.values(indexSizes).reduce((a: number, b) => a + Number(b), 0);
  return {
    ns: `${ctx.dbName}.${name}`,
    size: Math.floor(size / scale),
    count,
    avgObjSize: count ? Math.floor(size / count) : 0,
    storageSize: Math.floor(size / scale),
    freeStorageSize: 0,
    capped: false,
    nindexes: coll ? coll.indexSpecs().length : 0,
    indexBuilds: [],
    totalIndexSize: Math.floor(totalIndexSize / scale),
    totalSize: Math.floor((size + totalIndexSize) / scale),
    indexSizes,
    scaleFactor: scale,
  };
}
