/** The expression operators, accumulators and stages the embedded server adds to or wraps around the engine's. */
import { Decimal128, Long, ObjectId } from 'bson';
import type { Document } from 'bson';
import { evalExpr } from 'mingo/core';
import type { Iterator as LazyIterator } from 'mingo/lazy';
import type { Options } from 'mingo/types';
import { BSON_MAX_BYTES, checkAccumulatorMemory, stageMeter, tooLarge } from './budget';
import { bsonTypeName, isNumeric, toNumber } from './bson-order';
import { checkTimeLimit } from './cursors';
import { CommandError, ErrorCode } from './errors';
import { asRegex, compileRegex } from './regex';
import type { Regex } from './regex';

function convertTo(value: unknown, to: string): unknown {
  if (value === null || value === undefined) return null;
  switch (to) {
    case 'string':
      if (typeof value === 'string') return value;
      if (value instanceof ObjectId) return value.toHexString();
      if (value instanceof Date) return value.toISOString();
      if (isNumeric(value))
        return value instanceof Decimal128 || value instanceof Long
          ? value.toString()
          : String(toNumber(value));
      if (typeof value === 'boolean') return String(value);
      break;
    case 'objectId':
      if (value instanceof ObjectId) return value;
      if (typeof value === 'string' && /^[0-9a-fA-F]{24}$/.test(value)) return new ObjectId(value);
      break;
    case 'date':
      if (value instanceof Date) return value;
      if (value instanceof ObjectId) return value.getTimestamp();
      if (typeof value === 'string') {
        const d = new Date(value);
        if (!Number.isNaN(d.getTime())) return d;
      }
      if (isNumeric(value)) return new Date(toNumber(value));
      break;
    case 'int':
    case 'long':
      if (isNumeric(value)) return Math.trunc(toNumber(value));
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value);
      if (value instanceof Date) return value.getTime();
      break;
    case 'double':
    case 'decimal':
      if (isNumeric(value)) return toNumber(value);
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)))
        return Number(value);
      if (value instanceof Date) return value.getTime();
      break;
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (isNumeric(value)) return toNumber(value) !== 0;
      return true;
    default:
      throw new CommandError(ErrorCode.BadValue, `Unknown type name: ${to}`);
  }
  throw new CommandError(
    ErrorCode.ConversionFailure,
    `Unsupported conversion from ${bsonTypeName(value)} to ${to} in $convert with no onError value`,
  );
}

const typeCodes = new Map<number, string>([
  [1, 'double'],
  [2, 'string'],
  [7, 'objectId'],
  [8, 'bool'],
  [9, 'date'],
  [16, 'int'],
  [18, 'long'],
  [19, 'decimal'],
]);

function converter(to: string) {
  return (obj: unknown, expr: unknown, options: Options): unknown =>
    convertTo(evalExpr(obj, expr, options), to);
}

/** The arguments of `$regexMatch`/`$regexFind`/`$regexFindAll`: null input matches nothing. */
function regexArgs(obj: unknown, expr: unknown, options: Options): { input: string | null; re: Regex } {
  const spec = expr as Document;
  const input = evalExpr(obj, spec.input, options);
  const regex = evalExpr(obj, spec.regex, options);
  const opts = spec.options === undefined ? '' : String(evalExpr(obj, spec.options, options) ?? '');
  if (input !== null && input !== undefined && typeof input !== 'string')
    throw new CommandError(ErrorCode.BadValue, '$regex operators need a string input');
  const re = asRegex(regex);
  return {
    input: typeof input === 'string' ? input : null,
    re: re && !opts ? re : compileRegex(re ? re.source : String(regex), `${re?.options ?? ''}${opts}`),
  };
}

/** One `$regexFind` result: the match, its index in code points, and the captures. */
function foundAt(input: string, m: { index: number; end: number; groups: (string | undefined)[] }): Document {
  return {
    match: input.slice(m.index, m.end),
    idx: [...input.slice(0, m.index)].length,
    captures: m.groups.map((g) => g ?? null),
  };
}

const regexExpressions = {
  $regexMatch: (obj: unknown, expr: unknown, options: Options): boolean => {
    const { input, re } = regexArgs(obj, expr, options);
    return input !== null && re.test(input);
  },
  $regexFind: (obj: unknown, expr: unknown, options: Options): Document | null => {
    const { input, re } = regexArgs(obj, expr, options);
    const m = input === null ? null : re.exec(input);
    return m ? foundAt(input!, m) : null;
  },
  $regexFindAll: (obj: unknown, expr: unknown, options: Options): Document[] => {
    const { input, re } = regexArgs(obj, expr, options);
    const out: Document[] = [];
    if (input === null) return out;
    // code points before each match, counted once over the input (not once per match)
    let unit = 0;
    let points = 0;
    for (const m of re.matches(input)) {
      if ((out.length & 0xff) === 0) checkTimeLimit();
      for (; unit < m.index; unit++) {
        const c = input.charCodeAt(unit);
        if (c < 0xdc00 || c > 0xdfff) points++;
      }
      out.push({ match: input.slice(m.index, m.end), idx: points, captures: m.groups.map((g) => g ?? null) });
    }
    return out;
  },
};

export const customExpressions = {
  ...regexExpressions,
  $type: (obj: unknown, expr: unknown, options: Options): unknown => {
    const v = evalExpr(obj, Array.isArray(expr) ? expr[0] : expr, options);
    return bsonTypeName(v);
  },
  $toString: converter('string'),
  $toObjectId: converter('objectId'),
  $toDate: converter('date'),
  $toInt: converter('int'),
  $toLong: converter('long'),
  $toDouble: converter('double'),
  $toDecimal: converter('decimal'),
  $toBool: converter('bool'),
  $isNumber: (obj: unknown, expr: unknown, options: Options): unknown =>
    isNumeric(evalExpr(obj, expr, options)),
  $convert: (obj: unknown, expr: unknown, options: Options): unknown => {
    const spec = expr as Document;
    const input = evalExpr(obj, spec.input, options);
    const toRaw = evalExpr(obj, spec.to, options);
    const to = typeof toRaw === 'number' ? typeCodes.get(toRaw) : String(toRaw);
    if (input === null || input === undefined)
      return 'onNull' in spec ? evalExpr(obj, spec.onNull, options) : null;
    try {
      return convertTo(input, to ?? 'unknown');
    } catch (e) {
      if ('onError' in spec) return evalExpr(obj, spec.onError, options);
      throw e;
    }
  },
};

/**
 * `$range` that knows its length before it builds anything: one that would not fit in a BSON document is 10334 at
 * once, and a long one checks the time limit as it grows.
 */
export function boundedRange(obj: unknown, expr: unknown, options: Options): number[] {
  const args = (evalExpr(obj, expr, options) as unknown[]) ?? [];
  const [start, end, step] = ['starting value', 'ending value', 'step value'].map((name, i) => {
    const v = i === 2 && args[2] === undefined ? 1 : args[i];
    const n = isNumeric(v) ? toNumber(v) : NaN;
    if (!Number.isInteger(n) || Math.abs(n) > 2 ** 31)
      throw new CommandError(
        ErrorCode.BadValue,
        `$range requires a ${name} that can be represented as a 32-bit integer`,
      );
    return n;
  });
  if (step === 0) throw new CommandError(ErrorCode.BadValue, '$range requires a non-zero step value');
  const length = Math.max(0, Math.ceil((end - start) / step));
  if (length > BSON_MAX_BYTES / 9) throw tooLarge(`$range of ${length} elements`, length * 9);
  const out = new Array<number>(length);
  for (let i = 0, v = start; i < length; i++, v += step) {
    if ((i & 0xfff) === 0) checkTimeLimit();
    out[i] = v;
  }
  return out;
}

export type PipelineOp = (coll: LazyIterator, expr: unknown, options: Options) => LazyIterator;
export type AccumulatorOp = (coll: unknown[], expr: unknown, options: Options) => unknown;

/** A blocking stage that counts what it takes in (292 past 100 MB when the command refused disk use). */
export function metered(stage: string, op: PipelineOp): PipelineOp {
  return (coll, expr, options) => {
    const meter = stageMeter(stage);
    return op(
      coll.map((d: unknown) => {
        checkTimeLimit();
        meter(d);
        return d;
      }),
      expr,
      options,
    );
  };
}

/** An accumulator that cannot spill: its values of one group take at most 100 MB (146). */
export function bounded(name: string, op: AccumulatorOp): AccumulatorOp {
  return (coll, expr, options) => {
    checkTimeLimit();
    const values = op(coll, expr, options);
    checkAccumulatorMemory(name, values);
    return values;
  };
}
