/** `$jsonSchema` compiled once into a boolean predicate, answering as validateSchema does. */
import type { Document } from 'bson';
import { compileRegex } from './regex';
import { bsonTypeName, compareBson, isNumeric, keyOf, matchesBsonType, toNumber } from './bson-order';

import { FAMILY_KEYS, jsonTypes } from './json-schema';

type Check = (value: unknown) => boolean;

const compiledCache = new WeakMap<Document, Check>();

/** The scalar keywords of compileSchema. */
function scalarChecks(k: string, spec: unknown, schema: Document, checks: Check[]): void {
  switch (k) {
    case 'bsonType': {
      const types = (Array.isArray(spec) ? spec : [spec]) as string[];
      checks.push((v) => types.some((t) => matchesBsonType(v, t)));
      break;
    }
    case 'type': {
      const tests = ((Array.isArray(spec) ? spec : [spec]) as string[]).map(
        (t) => jsonTypes[t] ?? (() => false),
      );
      checks.push((v) => tests.some((t) => t(v)));
      break;
    }
    case 'enum': {
      const values = spec as unknown[];
      if (values.every((e) => typeof e === 'string')) {
        const set = new Set(values as string[]);
        checks.push((v) => typeof v === 'string' && set.has(v));
      } else checks.push((v) => values.some((e) => compareBson(e, v) === 0 && keyOf(e) === keyOf(v)));
      break;
    }
    case 'minimum':
    case 'maximum': {
      const exclusive = schema[k === 'minimum' ? 'exclusiveMinimum' : 'exclusiveMaximum'] === true;
      const bound = toNumber(spec);
      checks.push((v) => {
        if (!isNumeric(v)) return true;
        const n = toNumber(v);
        return k === 'minimum' ? (exclusive ? n > bound : n >= bound) : exclusive ? n < bound : n <= bound;
      });
      break;
    }
    case 'multipleOf': {
      const m = toNumber(spec);
      checks.push((v) => !isNumeric(v) || toNumber(v) % m === 0);
      break;
    }
    case 'minLength': {
      const min = toNumber(spec);
      checks.push((v) => typeof v !== 'string' || (v.length >= min && [...v].length >= min));
      break;
    }
    case 'maxLength': {
      const max = toNumber(spec);
      checks.push((v) => typeof v !== 'string' || v.length <= max || [...v].length <= max);
      break;
    }
    case 'pattern': {
      const re = compileRegex(String(spec));
      checks.push((v) => typeof v !== 'string' || re.test(v));
      break;
    }
    default:
      break;
  }
}

/** The array keywords of compileSchema. */
function arrayChecks(k: string, spec: unknown, schema: Document, checks: Check[]): void {
  switch (k) {
    case 'minItems': {
      const min = toNumber(spec);
      checks.push((v) => !Array.isArray(v) || v.length >= min);
      break;
    }
    case 'maxItems': {
      const max = toNumber(spec);
      checks.push((v) => !Array.isArray(v) || v.length <= max);
      break;
    }
    case 'uniqueItems':
      if (spec === true)
        checks.push((v) => {
          if (!Array.isArray(v)) return true;
          const seen = new Set<string>();
          for (const x of v) {
            const key = keyOf(x);
            if (seen.has(key)) return false;
            seen.add(key);
          }
          return true;
        });
      break;
    case 'items':
      if (Array.isArray(spec)) {
        const subs = (spec as Document[]).map(compileSchema);
        const noExtra = schema.additionalItems === false;
        checks.push((v) => {
          if (!Array.isArray(v)) return true;
          for (let i = 0; i < subs.length && i < v.length; i++) if (!subs[i](v[i])) return false;
          return !(noExtra && v.length > subs.length);
        });
      } else {
        const sub = compileSchema(spec as Document);
        checks.push((v) => !Array.isArray(v) || v.every(sub));
      }
      break;
    default:
      break;
  }
}

/** The object keywords of compileSchema. */
function objectChecks(k: string, spec: unknown, schema: Document, checks: Check[]): void {
  const isObject = (v: unknown): v is Document => bsonTypeName(v) === 'object';
  switch (k) {
    case 'required': {
      const props = spec as string[];
      checks.push((v) => !isObject(v) || props.every((p) => p in v));
      break;
    }
    case 'minProperties':
    case 'maxProperties': {
      const bound = toNumber(spec);
      checks.push((v) => {
        if (!isObject(v)) return true;
        const n = Object.keys(v).length;
        return k === 'minProperties' ? n >= bound : n <= bound;
      });
      break;
    }
    case 'properties': {
      const props = Object.entries(spec as Document).map(
        ([p, sub]) => [p, compileSchema(sub as Document)] as const,
      );
      checks.push((v) => {
        if (!isObject(v)) return true;
        for (const [p, sub] of props) if (p in v && !sub(v[p])) return false;
        return true;
      });
      break;
    }
    default:
      break;
  }
}

/** The property rules of compileSchema: patternProperties, additionalProperties, dependencies. */
function propertyRuleChecks(k: string, spec: unknown, schema: Document, checks: Check[]): void {
  const isObject = (v: unknown): v is Document => bsonTypeName(v) === 'object';
  switch (k) {
    case 'patternProperties': {
      const pats = Object.entries(spec as Document).map(
        ([p, sub]) => [compileRegex(p), compileSchema(sub as Document)] as const,
      );
      checks.push((v) => {
        if (!isObject(v)) return true;
        for (const [re, sub] of pats)
          for (const [p, x] of Object.entries(v)) if (re.test(p) && !sub(x)) return false;
        return true;
      });
      break;
    }
    case 'additionalProperties': {
      if (spec === true) break;
      const known = new Set(Object.keys((schema.properties as Document) ?? {}));
      const patterns = Object.keys((schema.patternProperties as Document) ?? {}).map((p) => compileRegex(p));
      const sub =
        spec === false ? undefined : typeof spec === 'object' ? compileSchema(spec as Document) : undefined;
      if (spec !== false && !sub) break;
      checks.push((v) => {
        if (!isObject(v)) return true;
        for (const p of Object.keys(v)) {
          if (known.has(p) || patterns.some((re) => re.test(p))) continue;
          if (!sub || !sub(v[p])) return false;
        }
        return true;
      });
      break;
    }
    case 'dependencies': {
      const deps = Object.entries(spec as Document).map(
        ([p, dep]) => [p, Array.isArray(dep) ? (dep as string[]) : compileSchema(dep as Document)] as const,
      );
      checks.push((v) => {
        if (!isObject(v)) return true;
        for (const [p, dep] of deps) {
          if (!(p in v)) continue;
          if (Array.isArray(dep) ? !dep.every((q) => q in v) : !dep(v)) return false;
        }
        return true;
      });
      break;
    }
    default:
      break;
  }
}

/** The combinator keywords of compileSchema. */
function combinatorChecks(k: string, spec: unknown, schema: Document, checks: Check[]): void {
  switch (k) {
    case 'allOf':
    case 'anyOf':
    case 'oneOf': {
      const subs = (spec as Document[]).map(compileSchema);
      if (k === 'allOf') checks.push((v) => subs.every((s) => s(v)));
      else if (k === 'anyOf') checks.push((v) => subs.some((s) => s(v)));
      else checks.push((v) => subs.filter((s) => s(v)).length === 1);
      break;
    }
    case 'not': {
      const sub = compileSchema(spec as Document);
      checks.push((v) => !sub(v));
      break;
    }
    default:
      break;
  }
}

type KeywordChecks = (k: string, spec: unknown, schema: Document, checks: Check[]) => void;

const CHECKS = new Map<string, KeywordChecks>([
  ...FAMILY_KEYS.scalar.map((k): [string, KeywordChecks] => [k, scalarChecks]),
  ...FAMILY_KEYS.array.map((k): [string, KeywordChecks] => [k, arrayChecks]),
  ...FAMILY_KEYS.object.map((k): [string, KeywordChecks] => [k, objectChecks]),
  ...FAMILY_KEYS.propertyRule.map((k): [string, KeywordChecks] => [k, propertyRuleChecks]),
  ...FAMILY_KEYS.combinator.map((k): [string, KeywordChecks] => [k, combinatorChecks]),
]);

/**
 * The schema compiled once into a boolean predicate: the same answer as `validateSchema(schema, v).length === 0`
 * (a spec checks it on many documents), without building failure details or re-reading the schema per value.
 * For validators, `$jsonSchema` filters and the seed loader's hot path.
 */
export function compileSchema(schema: Document): Check {
  const cached = compiledCache.get(schema);
  if (cached) return cached;
  const checks: Check[] = [];
  for (const [k, spec] of Object.entries(schema)) CHECKS.get(k)?.(k, spec, schema, checks);
  const all: Check = checks.length === 1 ? checks[0] : (v) => checks.every((c) => c(v));
  compiledCache.set(schema, all);
  return all;
}
