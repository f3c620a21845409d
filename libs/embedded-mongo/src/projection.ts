/** Projections of find and findAndModify: plain inclusions without decoding, the positional `$`, and the rest through the pipeline engine. */
import type { Document } from 'bson';
import { Aggregator } from 'mingo/aggregator';
import { CommandError, ErrorCode } from './errors';
import { getOwn, setOwn } from './own';
import { compileFilter, OPTIONS, wrapEngineError } from './query-engine';

export function project(doc: Document, projection: Document | undefined, filter?: Document): Document {
  if (!projection || Object.keys(projection).length === 0) return doc;
  const positional = Object.keys(projection).find((k) => k.endsWith('.$'));
  if (positional) return projectPositional(doc, projection, positional, filter);
  const fields = simpleInclusion(projection);
  if (fields) {
    const out: Document = {};
    if (fields.withId && doc._id !== undefined) out._id = doc._id;
    for (const f of fields.names) {
      const v = getOwn(doc, f);
      if (v !== undefined) setOwn(out, f, v);
    }
    return out;
  }
  try {
    return new Aggregator([{ $project: projection }], OPTIONS).run([doc])[0] as Document;
  } catch (e) {
    throw wrapEngineError(e);
  }
}

/**
 * The positional projection `{'<array>.$': 1}`: the array cut to its first element matching the query's conditions
 * on that array (mongod's rule). Top-level arrays only. Without a query (a projection checked on its own) the field
 * is left out.
 */
function projectPositional(doc: Document, projection: Document, key: string, filter?: Document): Document {
  const field = key.slice(0, -2);
  if (field.includes('.') || field.includes('$'))
    throw new CommandError(
      ErrorCode.BadValue,
      `positional projection on the nested path '${key}' is not supported by the embedded server`,
    );
  const rest: Document = { ...projection };
  delete rest[key];
  rest[field] = 1;
  const out = project(doc, rest);
  if (!filter) {
    delete out[field];
    return out;
  }
  const conditions = Object.fromEntries(
    Object.entries(filter).filter(([k]) => k === field || k.startsWith(field + '.')),
  );
  const values = doc[field];
  const pred = compileFilter(conditions);
  const found =
    Array.isArray(values) && Object.keys(conditions).length
      ? values.find((v) => pred({ ...doc, [field]: [v] }))
      : undefined;
  if (found === undefined)
    throw new CommandError(
      ErrorCode.Location51246,
      "Executor error during find command :: caused by :: positional operator '.$' couldn't find a matching element in the array",
    );
  out[field] = [found];
  return out;
}

const inclusionCache = new WeakMap<Document, { names: string[]; withId: boolean } | null>();

/** Top-level field names of a plain inclusion projection (`{a: 1, b: true, _id: 0}`), else null. */
export function simpleInclusion(projection: Document): { names: string[]; withId: boolean } | null {
  const cached = inclusionCache.get(projection);
  if (cached !== undefined) return cached;
  let withId = true;
  const names: string[] = [];
  let result: { names: string[]; withId: boolean } | null = { names, withId };
  for (const [k, v] of Object.entries(projection)) {
    if (k.includes('.') || k.startsWith('$')) result = null;
    else if (k === '_id' && (v === 0 || v === false)) withId = false;
    else if (v === 1 || v === true) {
      if (k !== '_id') names.push(k);
    } else result = null;
    if (!result) break;
  }
  // `{_id: 1}` keeps only the id; `{_id: 0}` alone is an exclusion projection.
  if (result) result = names.length || withId ? { names, withId } : null;
  inclusionCache.set(projection, result);
  return result;
}
