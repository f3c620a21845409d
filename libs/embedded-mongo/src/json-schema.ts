import type { Document } from 'bson';
import { bsonTypeName, compareBson, isNumeric, keyOf, matchesBsonType, toNumber } from './bson-order';
import { CommandError, ErrorCode } from './errors';

/**
 * An evaluator for MongoDB's `$jsonSchema` (draft 4 subset plus `bsonType`), returning failure details
 * shaped like mongod's `errInfo.details.schemaRulesNotSatisfied`.
 */
export type SchemaRuleFailure = Document;

const supportedKeywords = new Set([
  'bsonType',
  'type',
  'required',
  'properties',
  'patternProperties',
  'additionalProperties',
  'enum',
  'items',
  'additionalItems',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minProperties',
  'maxProperties',
  'dependencies',
  'anyOf',
  'allOf',
  'oneOf',
  'not',
  'description',
  'title',
]);

const jsonTypes: Record<string, (v: unknown) => boolean> = {
  object: (v) => bsonTypeName(v) === 'object',
  array: Array.isArray,
  number: isNumeric,
  boolean: (v) => typeof v === 'boolean',
  string: (v) => typeof v === 'string',
  null: (v) => v === null,
};

/** Throws code 51089-like BadValue errors for schemas mongod would refuse. */
export function checkSchema(schema: unknown, path = '$jsonSchema'): void {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) {
    throw new CommandError(ErrorCode.TypeMismatch, `${path} must be an object`);
  }
  for (const [k, v] of Object.entries(schema as Document)) {
    if (!supportedKeywords.has(k)) {
      throw new CommandError(ErrorCode.FailedToParse, `Unknown $jsonSchema keyword: ${k}`);
    }
    if (k === 'properties' || k === 'patternProperties') {
      for (const [p, sub] of Object.entries(v as Document)) checkSchema(sub, `${path}.${k}.${p}`);
    } else if (k === 'items' && !Array.isArray(v)) checkSchema(v, `${path}.items`);
    else if ((k === 'additionalProperties' || k === 'additionalItems') && typeof v === 'object')
      checkSchema(v, `${path}.${k}`);
    else if (k === 'not') checkSchema(v, `${path}.not`);
    else if (k === 'anyOf' || k === 'allOf' || k === 'oneOf') {
      if (!Array.isArray(v) || v.length === 0)
        throw new CommandError(ErrorCode.BadValue, `$jsonSchema keyword '${k}' must be a nonempty array`);
      v.forEach((s, i) => checkSchema(s, `${path}.${k}.${i}`));
    } else if (k === 'required' && (!Array.isArray(v) || v.length === 0)) {
      throw new CommandError(ErrorCode.BadValue, "$jsonSchema keyword 'required' must be a nonempty array");
    } else if (k === 'bsonType' && !(Array.isArray(v) ? v : [v]).every((t) => typeof t === 'string')) {
      throw new CommandError(
        ErrorCode.TypeMismatch,
        "$jsonSchema keyword 'bsonType' must be a string or an array of strings",
      );
    }
  }
}

/** Failures of `value` against `schema`; an empty array means it validates. */
export function validateSchema(schema: Document, value: unknown): SchemaRuleFailure[] {
  const failures: SchemaRuleFailure[] = [];
  const isObject = bsonTypeName(value) === 'object';
  for (const [k, spec] of Object.entries(schema)) {
    switch (k) {
      case 'bsonType': {
        const types = Array.isArray(spec) ? spec : [spec];
        if (!types.some((t) => matchesBsonType(value, t))) {
          failures.push({
            operatorName: 'bsonType',
            specifiedAs: { bsonType: spec },
            reason: 'type did not match',
            consideredValue: value,
            consideredType: bsonTypeName(value),
          });
        }
        break;
      }
      case 'type': {
        const types = (Array.isArray(spec) ? spec : [spec]) as string[];
        if (!types.some((t) => jsonTypes[t]?.(value))) {
          failures.push({
            operatorName: 'type',
            specifiedAs: { type: spec },
            reason: 'type did not match',
            consideredValue: value,
            consideredType: bsonTypeName(value),
          });
        }
        break;
      }
      case 'enum':
        if (!(spec as unknown[]).some((e) => compareBson(e, value) === 0 && keyOf(e) === keyOf(value))) {
          failures.push({
            operatorName: 'enum',
            specifiedAs: { enum: spec },
            reason: 'value was not found in enum',
            consideredValue: value,
          });
        }
        break;
      case 'minimum':
      case 'maximum':
        if (isNumeric(value)) {
          const exclusive = schema[k === 'minimum' ? 'exclusiveMinimum' : 'exclusiveMaximum'] === true;
          const v = toNumber(value);
          const bound = toNumber(spec);
          const ok =
            k === 'minimum' ? (exclusive ? v > bound : v >= bound) : exclusive ? v < bound : v <= bound;
          if (!ok)
            failures.push({
              operatorName: k,
              specifiedAs: { [k]: spec },
              reason: 'comparison failed',
              consideredValue: value,
            });
        }
        break;
      case 'multipleOf':
        if (isNumeric(value) && toNumber(value) % toNumber(spec) !== 0) {
          failures.push({
            operatorName: 'multipleOf',
            specifiedAs: { multipleOf: spec },
            reason: 'considered value is not a multiple of the specified value',
            consideredValue: value,
          });
        }
        break;
      case 'minLength':
      case 'maxLength':
        if (typeof value === 'string') {
          const len = [...value].length;
          if (k === 'minLength' ? len < toNumber(spec) : len > toNumber(spec)) {
            failures.push({
              operatorName: k,
              specifiedAs: { [k]: spec },
              reason: 'specified string length was not satisfied',
              consideredValue: value,
            });
          }
        }
        break;
      case 'pattern':
        if (typeof value === 'string' && !new RegExp(String(spec), 'u').test(value)) {
          failures.push({
            operatorName: 'pattern',
            specifiedAs: { pattern: spec },
            reason: 'regular expression did not match',
            consideredValue: value,
          });
        }
        break;
      case 'minItems':
      case 'maxItems':
        if (
          Array.isArray(value) &&
          (k === 'minItems' ? value.length < toNumber(spec) : value.length > toNumber(spec))
        ) {
          failures.push({
            operatorName: k,
            specifiedAs: { [k]: spec },
            reason: 'array did not match specified length',
            consideredValue: value,
          });
        }
        break;
      case 'uniqueItems':
        if (spec === true && Array.isArray(value)) {
          const seen = new Set<string>();
          const dup = value.find((x) => {
            const key = keyOf(x);
            if (seen.has(key)) return true;
            seen.add(key);
            return false;
          });
          if (dup !== undefined) {
            failures.push({
              operatorName: 'uniqueItems',
              specifiedAs: { uniqueItems: true },
              reason: 'found a duplicate item',
              consideredValue: value,
              duplicatedValue: dup,
            });
          }
        }
        break;
      case 'items':
        if (Array.isArray(value)) {
          if (Array.isArray(spec)) {
            spec.forEach((sub: Document, i) => {
              if (i < value.length) {
                const details = validateSchema(sub, value[i]);
                if (details.length)
                  failures.push({
                    operatorName: 'items',
                    reason: 'At least one item did not match the sub-schema',
                    itemIndex: i,
                    details,
                  });
              }
            });
            const extra = schema.additionalItems;
            if (extra === false && value.length > spec.length) {
              failures.push({
                operatorName: 'additionalItems',
                specifiedAs: { additionalItems: false },
                reason: 'found additional items',
                additionalItems: value.slice(spec.length),
              });
            }
          } else {
            for (let i = 0; i < value.length; i++) {
              const details = validateSchema(spec as Document, value[i]);
              if (details.length) {
                failures.push({
                  operatorName: 'items',
                  reason: 'At least one item did not match the sub-schema',
                  itemIndex: i,
                  details,
                });
                break;
              }
            }
          }
        }
        break;
      case 'required':
        if (isObject) {
          const missing = (spec as string[]).filter((p) => !(p in (value as Document)));
          if (missing.length)
            failures.push({
              operatorName: 'required',
              specifiedAs: { required: spec },
              missingProperties: missing,
            });
        }
        break;
      case 'minProperties':
      case 'maxProperties':
        if (isObject) {
          const n = Object.keys(value as Document).length;
          if (k === 'minProperties' ? n < toNumber(spec) : n > toNumber(spec)) {
            failures.push({
              operatorName: k,
              specifiedAs: { [k]: spec },
              reason: 'specified number of properties was not satisfied',
              numberOfProperties: n,
            });
          }
        }
        break;
      case 'properties':
        if (isObject) {
          const notSatisfied: Document[] = [];
          for (const [prop, sub] of Object.entries(spec as Document)) {
            if (!(prop in (value as Document))) continue;
            const details = validateSchema(sub as Document, (value as Document)[prop]);
            if (details.length) {
              const entry: Document = { propertyName: prop };
              if ((sub as Document).description !== undefined)
                entry.description = (sub as Document).description;
              entry.details = details;
              notSatisfied.push(entry);
            }
          }
          if (notSatisfied.length)
            failures.push({ operatorName: 'properties', propertiesNotSatisfied: notSatisfied });
        }
        break;
      case 'patternProperties':
        if (isObject) {
          const notSatisfied: Document[] = [];
          for (const [pattern, sub] of Object.entries(spec as Document)) {
            const re = new RegExp(pattern, 'u');
            for (const [prop, v] of Object.entries(value as Document)) {
              if (!re.test(prop)) continue;
              const details = validateSchema(sub as Document, v);
              if (details.length) notSatisfied.push({ propertyName: prop, regex: pattern, details });
            }
          }
          if (notSatisfied.length)
            failures.push({ operatorName: 'patternProperties', propertiesNotSatisfied: notSatisfied });
        }
        break;
      case 'additionalProperties':
        if (isObject && spec !== true) {
          const known = new Set(Object.keys((schema.properties as Document) ?? {}));
          const patterns = Object.keys((schema.patternProperties as Document) ?? {}).map(
            (p) => new RegExp(p, 'u'),
          );
          const extra = Object.keys(value as Document).filter(
            (p) => !known.has(p) && !patterns.some((re) => re.test(p)),
          );
          if (spec === false) {
            if (extra.length)
              failures.push({
                operatorName: 'additionalProperties',
                specifiedAs: { additionalProperties: false },
                additionalProperties: extra,
              });
          } else if (typeof spec === 'object') {
            const bad = extra
              .map((p) => ({
                propertyName: p,
                details: validateSchema(spec as Document, (value as Document)[p]),
              }))
              .filter((e) => e.details.length > 0);
            if (bad.length)
              failures.push({
                operatorName: 'additionalProperties',
                reason: 'at least one additional property did not match the subschema',
                failingProperties: bad,
              });
          }
        }
        break;
      case 'dependencies':
        if (isObject) {
          for (const [prop, dep] of Object.entries(spec as Document)) {
            if (!(prop in (value as Document))) continue;
            if (Array.isArray(dep)) {
              const missing = dep.filter((p: string) => !(p in (value as Document)));
              if (missing.length)
                failures.push({
                  operatorName: 'dependencies',
                  failingDependencies: [{ conditionalProperty: prop, missingProperties: missing }],
                });
            } else {
              const details = validateSchema(dep as Document, value);
              if (details.length)
                failures.push({
                  operatorName: 'dependencies',
                  failingDependencies: [{ conditionalProperty: prop, details }],
                });
            }
          }
        }
        break;
      case 'allOf':
      case 'anyOf':
      case 'oneOf': {
        const results = (spec as Document[]).map((sub) => validateSchema(sub, value));
        const passed = results.filter((r) => r.length === 0).length;
        const ok = k === 'allOf' ? passed === results.length : k === 'anyOf' ? passed > 0 : passed === 1;
        if (!ok) {
          if (k === 'oneOf' && passed > 1) {
            failures.push({
              operatorName: 'oneOf',
              specifiedAs: { oneOf: spec },
              reason: 'more than one subschema matched',
              matchingSchemaIndexes: results.map((r, i) => (r.length === 0 ? i : -1)).filter((i) => i >= 0),
            });
          } else {
            failures.push({
              operatorName: k,
              schemasNotSatisfied: results
                .map((details, index) => ({ index, details }))
                .filter((e) => e.details.length > 0),
            });
          }
        }
        break;
      }
      case 'not':
        if (validateSchema(spec as Document, value).length === 0) {
          failures.push({
            operatorName: 'not',
            specifiedAs: { not: spec },
            reason: 'child expression matched',
          });
        }
        break;
      default:
        break;
    }
  }
  return failures;
}

type Check = (value: unknown) => boolean;

const compiledCache = new WeakMap<Document, Check>();

/**
 * The schema compiled once into a boolean predicate: the same answer as `validateSchema(schema, v).length === 0`
 * (a spec checks it on many documents), without building failure details or re-reading the schema per value.
 * For validators, `$jsonSchema` filters and the seed loader's hot path.
 */
export function compileSchema(schema: Document): Check {
  const cached = compiledCache.get(schema);
  if (cached) return cached;
  const checks: Check[] = [];
  const isObject = (v: unknown): v is Document => bsonTypeName(v) === 'object';
  for (const [k, spec] of Object.entries(schema)) {
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
        const re = new RegExp(String(spec), 'u');
        checks.push((v) => typeof v !== 'string' || re.test(v));
        break;
      }
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
      case 'patternProperties': {
        const pats = Object.entries(spec as Document).map(
          ([p, sub]) => [new RegExp(p, 'u'), compileSchema(sub as Document)] as const,
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
        const patterns = Object.keys((schema.patternProperties as Document) ?? {}).map(
          (p) => new RegExp(p, 'u'),
        );
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
  const all: Check = checks.length === 1 ? checks[0] : (v) => checks.every((c) => c(v));
  compiledCache.set(schema, all);
  return all;
}
