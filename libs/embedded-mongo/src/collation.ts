import type { Document } from 'bson';
import { compareBson } from './bson-order';
import { CommandError, ErrorCode } from './errors';
import { compileFilter, pathValues } from './query-engine';
import type { Predicate } from './query-engine';

/**
 * Collations (`{locale, strength, caseLevel, caseFirst, numericOrdering, alternate}`) through `Intl.Collator`, for the
 * operations that take one: find, count, distinct, aggregate (`$match` first, `$sort`), update, delete and
 * findAndModify. Strings compare by the collator wherever they are (top level, in arrays, in embedded documents);
 * other types keep BSON order. `locale: "simple"` is the binary comparison (no collation). Strengths 4 and 5 compare
 * as 3 (ICU's quaternary and identical levels have no Intl equivalent).
 */
export interface Collation {
  spec: Document;
  collator: Intl.Collator;
}

const FIELDS = new Set([
  'locale',
  'strength',
  'caseLevel',
  'caseFirst',
  'numericOrdering',
  'alternate',
  'maxVariable',
  'backwards',
  'normalization',
  'version',
]);

function bad(message: string): never {
  throw new CommandError(ErrorCode.BadValue, message);
}

/** The collation of a command or statement; undefined for none or `simple`. */
export function parseCollation(spec: unknown): Collation | undefined {
  if (spec === undefined || spec === null) return undefined;
  if (typeof spec !== 'object' || Array.isArray(spec)) bad('collation must be an object');
  const s = spec as Document;
  for (const k of Object.keys(s)) if (!FIELDS.has(k)) bad(`unknown collation spec field: ${k}`);
  if (typeof s.locale !== 'string') bad('Missing expected field "locale"');
  if (s.locale === 'simple') {
    if (Object.keys(s).length > 1)
      bad('If "locale" is "simple", then "strength" and the other options must be absent');
    return undefined;
  }
  const locale = s.locale.replace(/_/g, '-');
  let supported: string[] = [];
  try {
    supported = Intl.Collator.supportedLocalesOf(locale);
  } catch {
    // an invalid tag
  }
  if (!supported.length) bad(`Field 'locale' is invalid in: { locale: "${s.locale}" }`);
  const strength = s.strength === undefined ? 3 : Number(s.strength);
  if (!Number.isInteger(strength) || strength < 1 || strength > 5)
    bad('collation strength must be an integer from 1 to 5');
  if (s.caseFirst !== undefined && !['upper', 'lower', 'off'].includes(s.caseFirst as string))
    bad("caseFirst must be 'upper', 'lower' or 'off'");
  if (s.alternate !== undefined && !['non-ignorable', 'shifted'].includes(s.alternate as string))
    bad("alternate must be 'non-ignorable' or 'shifted'");
  const sensitivity: Intl.CollatorOptions['sensitivity'] =
    strength === 1
      ? s.caseLevel === true
        ? 'case'
        : 'base'
      : strength === 2
        ? s.caseLevel === true
          ? 'variant'
          : 'accent'
        : 'variant';
  const collator = new Intl.Collator(locale, {
    usage: 'sort',
    sensitivity,
    numeric: s.numericOrdering === true,
    caseFirst: s.caseFirst === 'upper' || s.caseFirst === 'lower' ? s.caseFirst : 'false',
    ignorePunctuation: s.alternate === 'shifted',
  });
  return { spec: s, collator };
}

/**
 * The key a string has in an index that declares this collation: strings the collation calls equal get the same key
 * for the scripts whose equality is case and accents (strength 1 folds case and strips accents, strength 2 folds
 * case, 3 and above keep both; `caseLevel` keeps case; `alternate: shifted` drops punctuation and spaces), all in
 * Unicode NFC. Used for unique-key checks; such indexes never serve binary queries.
 */
export function collationKey(c: Collation, s: string): string {
  const strength = c.spec.strength === undefined ? 3 : Number(c.spec.strength);
  const locale = String(c.spec.locale).replace(/_/g, '-');
  let k = s.normalize('NFD');
  if (strength === 1) k = k.replace(/\p{M}/gu, '');
  if (strength <= 2 && c.spec.caseLevel !== true) k = k.toLocaleLowerCase(locale);
  if (c.spec.alternate === 'shifted') k = k.replace(/[\p{P}\p{Z}\s]/gu, '');
  return k.normalize('NFC');
}

const isPlainObject = (v: unknown): v is Document =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && (v as Document).constructor === Object;

/** BSON order, with strings (also inside arrays and embedded documents) compared by the collation. */
export function collatedCompare(a: unknown, b: unknown, c: Collation | undefined): number {
  if (!c) return compareBson(a, b);
  if (typeof a === 'string' && typeof b === 'string') return Math.sign(c.collator.compare(a, b));
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const d = collatedCompare(a[i], b[i], c);
      if (d) return d;
    }
    return Math.sign(a.length - b.length);
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
      const d = compareBson(ka[i], kb[i]) || collatedCompare(a[ka[i]], b[kb[i]], c);
      if (d) return d;
    }
    return Math.sign(ka.length - kb.length);
  }
  return compareBson(a, b);
}

const hasString = (v: unknown): boolean =>
  typeof v === 'string' ||
  (Array.isArray(v) ? v.some(hasString) : isPlainObject(v) && Object.values(v).some(hasString));

/** Whether a field value (or, for an array, one of its elements or the array itself) satisfies `test`. */
function anyValue(
  doc: Document,
  path: string,
  test: (v: unknown) => boolean,
  matchMissing: boolean,
): boolean {
  const values = pathValues(doc, path);
  if (!values.length) return matchMissing;
  return values.some((v) => test(v) || (Array.isArray(v) && v.some(test)));
}

const RANGE: Record<string, (d: number) => boolean> = {
  $gt: (d) => d > 0,
  $gte: (d) => d >= 0,
  $lt: (d) => d < 0,
  $lte: (d) => d <= 0,
};

/** One `{path: condition}` clause; operators on strings use the collation, anything else the binary engine. */
function fieldClause(path: string, cond: unknown, c: Collation): Predicate {
  const binary = compileFilter({ [path]: cond });
  const operators =
    isPlainObject(cond) && Object.keys(cond).length > 0 && Object.keys(cond).every((k) => k.startsWith('$'));
  if (!operators) {
    if (!hasString(cond)) return binary;
    return (doc) => anyValue(doc, path, (v) => collatedCompare(v, cond, c) === 0, false);
  }
  const parts = Object.entries(cond).map(([op, operand]): Predicate => {
    const eq = (v: unknown): boolean => collatedCompare(v, operand, c) === 0;
    const inList = (v: unknown): boolean =>
      Array.isArray(operand) &&
      operand.some((o) =>
        o instanceof RegExp ? typeof v === 'string' && o.test(v) : collatedCompare(v, o, c) === 0,
      );
    if (op === '$eq' && hasString(operand)) return (doc) => anyValue(doc, path, eq, false);
    if (op === '$ne' && hasString(operand)) return (doc) => !anyValue(doc, path, eq, false);
    if (op === '$in' && hasString(operand))
      return (doc) => anyValue(doc, path, inList, (operand as unknown[]).includes(null));
    if (op === '$nin' && hasString(operand))
      return (doc) => !anyValue(doc, path, inList, (operand as unknown[]).includes(null));
    if (op in RANGE && typeof operand === 'string')
      return (doc) =>
        anyValue(doc, path, (v) => typeof v === 'string' && RANGE[op](c.collator.compare(v, operand)), false);
    return compileFilter({ [path]: { [op]: operand } });
  });
  return (doc) => parts.every((p) => p(doc));
}

/** A filter evaluated with a collation. */
export function compileCollated(filter: Document | undefined, c: Collation): Predicate {
  if (!filter || Object.keys(filter).length === 0) return () => true;
  const clauses = Object.entries(filter).map(([key, value]): Predicate => {
    if ((key === '$and' || key === '$or' || key === '$nor') && Array.isArray(value)) {
      const subs = value.map((f) => compileCollated(f as Document, c));
      if (key === '$and') return (doc) => subs.every((s) => s(doc));
      if (key === '$or') return (doc) => subs.some((s) => s(doc));
      return (doc) => !subs.some((s) => s(doc));
    }
    if (key.startsWith('$')) return compileFilter({ [key]: value });
    return fieldClause(key, value, c);
  });
  return (doc) => clauses.every((p) => p(doc));
}
