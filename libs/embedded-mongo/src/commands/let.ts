import type { Document } from 'bson';
import { CommandError, ErrorCode } from '../errors';
import { runPipeline } from '../query-engine';

/**
 * Command-level `let` (MongoDB 5.0+) for find, update, delete and findAndModify: the variables are evaluated once
 * (they may be expressions, `$$NOW` included) and bound where MongoDB binds them, in `$expr` of the filters and in
 * pipeline updates. Binding is by substitution: `$$name` (or `$$name.path`) becomes `{$literal: <value>}`.
 * aggregate gets the evaluated values as pipeline variables, and its leading `$match` (which the server answers
 * before the pipeline engine runs) bound like a filter.
 */
const LET_COMMANDS = new Set(['find', 'update', 'delete', 'findAndModify', 'findandmodify', 'aggregate']);
const USER_VARIABLE = /^[a-z][A-Za-z0-9_]*$/;

function evaluate(spec: Document): Document {
  for (const name of Object.keys(spec))
    if (!USER_VARIABLE.test(name))
      throw new CommandError(
        ErrorCode.FailedToParse,
        `'${name}' starts with an invalid character for a user variable name`,
      );
  const [values] = runPipeline([{}], [{ $replaceWith: spec }], () => []);
  return values ?? {};
}

function lookup(values: Document, reference: string): { found: boolean; value?: unknown } {
  const [name, ...path] = reference.slice(2).split('.');
  if (!(name in values)) return { found: false };
  let v: unknown = values[name];
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Document)[p] : undefined;
  return { found: true, value: v };
}

/** `value` with every reference to a let variable replaced by its value. */
function substitute(value: unknown, values: Document): unknown {
  if (typeof value === 'string' && value.startsWith('$$') && /^[a-z]/.test(value.slice(2))) {
    const hit = lookup(values, value);
    return hit.found ? { $literal: hit.value } : value;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, values));
  if (value === null || typeof value !== 'object' || value.constructor !== Object) return value;
  if ('$literal' in (value as Document)) return value;
  const out: Document = {};
  for (const [k, v] of Object.entries(value as Document)) out[k] = substitute(v, values);
  return out;
}

/** A filter with its `$expr` clauses (at any `$and`/`$or`/`$nor` depth) bound. */
function bindFilter(filter: unknown, values: Document): unknown {
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) return filter;
  const out: Document = {};
  for (const [k, v] of Object.entries(filter as Document)) {
    if (k === '$expr') out[k] = substitute(v, values);
    else if ((k === '$and' || k === '$or' || k === '$nor') && Array.isArray(v))
      out[k] = v.map((c) => bindFilter(c, values));
    else out[k] = v;
  }
  return out;
}

const bindUpdate = (u: unknown, values: Document): unknown => (Array.isArray(u) ? substitute(u, values) : u);

/** The command with its `let` variables bound (unchanged when it has none or binds them itself). */
export function bindLet(cmd: Document): Document {
  const name = Object.keys(cmd)[0];
  if (cmd.let === undefined || !LET_COMMANDS.has(name)) return cmd;
  if (cmd.let === null || typeof cmd.let !== 'object' || Array.isArray(cmd.let))
    throw new CommandError(
      ErrorCode.TypeMismatch,
      `BSON field '${name}.let' is the wrong type '${Array.isArray(cmd.let) ? 'array' : typeof cmd.let}', expected type 'object'`,
    );
  const values = evaluate(cmd.let as Document);
  const bound: Document = { ...cmd };
  if (name === 'find') bound.filter = bindFilter(cmd.filter, values);
  else if (name === 'aggregate') {
    bound.let = values;
    const first = Array.isArray(cmd.pipeline) ? (cmd.pipeline[0] as Document | undefined) : undefined;
    if (first && typeof first === 'object' && '$match' in first)
      bound.pipeline = [
        { $match: bindFilter(first.$match, values) },
        ...(cmd.pipeline as Document[]).slice(1),
      ];
  } else if (name === 'delete' && Array.isArray(cmd.deletes))
    bound.deletes = (cmd.deletes as Document[]).map((d) => ({ ...d, q: bindFilter(d?.q, values) }));
  else if (name === 'update' && Array.isArray(cmd.updates))
    bound.updates = (cmd.updates as Document[]).map((u) => ({
      ...u,
      q: bindFilter(u?.q, values),
      u: bindUpdate(u?.u, values),
    }));
  else {
    if (cmd.query !== undefined) bound.query = bindFilter(cmd.query, values);
    if (cmd.update !== undefined) bound.update = bindUpdate(cmd.update, values);
  }
  return bound;
}
