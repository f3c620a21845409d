import type { Document } from 'bson';
import { compileRegex } from './regex';
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

export const jsonTypes: Record<string, (v: unknown) => boolean> = {
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
    if (k === 'pattern') compileRegex(String(v));
    if (k === 'properties' || k === 'patternProperties') {
      for (const [p, sub] of Object.entries(v as Document)) {
        if (k === 'patternProperties') compileRegex(p);
        checkSchema(sub, `${path}.${k}.${p}`);
      }
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

export const FAMILY_KEYS = {
  scalar: [
    'bsonType',
    'type',
    'enum',
    'minimum',
    'maximum',
    'multipleOf',
    'minLength',
    'maxLength',
    'pattern',
  ],
  array: ['minItems', 'maxItems', 'uniqueItems', 'items'],
  object: ['required', 'minProperties', 'maxProperties', 'properties'],
  propertyRule: ['patternProperties', 'additionalProperties', 'dependencies'],
  combinator: ['allOf', 'anyOf', 'oneOf', 'not'],
};

/** A rule `operatorName: spec` that `value` fails, in mongod's errInfo shape. */
function ruleFailure(
  operatorName: string,
  spec: unknown,
  reason: string,
  value: unknown,
  extra: Document = {},
): SchemaRuleFailure {
  return { operatorName, specifiedAs: { [operatorName]: spec }, reason, consideredValue: value, ...extra };
}

/** The scalar keywords of validateSchema. */
function scalarFailures(
  k: string,
  spec: unknown,
  schema: Document,
  value: unknown,
  failures: SchemaRuleFailure[],
): void {
  switch (k) {
    case 'bsonType': {
      const types = Array.isArray(spec) ? spec : [spec];
      if (!types.some((t) => matchesBsonType(value, t))) {
        failures.push(
          ruleFailure('bsonType', spec, 'type did not match', value, { consideredType: bsonTypeName(value) }),
        );
      }
      break;
    }
    case 'type': {
      const types = (Array.isArray(spec) ? spec : [spec]) as string[];
      if (!types.some((t) => jsonTypes[t]?.(value))) {
        failures.push(
          ruleFailure('type', spec, 'type did not match', value, { consideredType: bsonTypeName(value) }),
        );
      }
      break;
    }
    case 'enum':
      if (!(spec as unknown[]).some((e) => compareBson(e, value) === 0 && keyOf(e) === keyOf(value))) {
        failures.push(ruleFailure('enum', spec, 'value was not found in enum', value));
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
        if (!ok) failures.push(ruleFailure(k, spec, 'comparison failed', value));
      }
      break;
    case 'multipleOf':
      if (isNumeric(value) && toNumber(value) % toNumber(spec) !== 0) {
        failures.push(
          ruleFailure('multipleOf', spec, 'considered value is not a multiple of the specified value', value),
        );
      }
      break;
    case 'minLength':
    case 'maxLength':
      if (typeof value === 'string') {
        const len = [...value].length;
        if (k === 'minLength' ? len < toNumber(spec) : len > toNumber(spec)) {
          failures.push(ruleFailure(k, spec, 'specified string length was not satisfied', value));
        }
      }
      break;
    case 'pattern':
      if (typeof value === 'string' && !compileRegex(String(spec)).test(value)) {
        failures.push(ruleFailure('pattern', spec, 'regular expression did not match', value));
      }
      break;
    default:
      break;
  }
}

/** The array keywords of validateSchema. */
function arrayFailures(
  k: string,
  spec: unknown,
  schema: Document,
  value: unknown,
  failures: SchemaRuleFailure[],
): void {
  switch (k) {
    case 'minItems':
    case 'maxItems':
      if (
        Array.isArray(value) &&
        (k === 'minItems' ? value.length < toNumber(spec) : value.length > toNumber(spec))
      ) {
        failures.push(ruleFailure(k, spec, 'array did not match specified length', value));
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
          failures.push(
            ruleFailure('uniqueItems', true, 'found a duplicate item', value, { duplicatedValue: dup }),
          );
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
    default:
      break;
  }
}

/** The object keywords of validateSchema. */
function objectFailures(
  k: string,
  spec: unknown,
  schema: Document,
  value: unknown,
  failures: SchemaRuleFailure[],
): void {
  const isObject = bsonTypeName(value) === 'object';
  switch (k) {
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
    default:
      break;
  }
}

/** The property rules of validateSchema: patternProperties, additionalProperties, dependencies. */
function propertyRuleFailures(
  k: string,
  spec: unknown,
  schema: Document,
  value: unknown,
  failures: SchemaRuleFailure[],
): void {
  const isObject = bsonTypeName(value) === 'object';
  switch (k) {
    case 'patternProperties':
      if (isObject) {
        const notSatisfied: Document[] = [];
        for (const [pattern, sub] of Object.entries(spec as Document)) {
          const re = compileRegex(pattern);
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
        const patterns = Object.keys((schema.patternProperties as Document) ?? {}).map((p) =>
          compileRegex(p),
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
    default:
      break;
  }
}

/** The combinator keywords of validateSchema. */
function combinatorFailures(
  k: string,
  spec: unknown,
  schema: Document,
  value: unknown,
  failures: SchemaRuleFailure[],
): void {
  switch (k) {
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

/** Failures of `value` against `schema`; an empty array means it validates. */
export function validateSchema(schema: Document, value: unknown): SchemaRuleFailure[] {
  const failures: SchemaRuleFailure[] = [];
  for (const [k, spec] of Object.entries(schema)) FAILURES.get(k)?.(k, spec, schema, value, failures);
  return failures;
}

type KeywordFailures = (
  k: string,
  spec: unknown,
  schema: Document,
  value: unknown,
  failures: SchemaRuleFailure[],
) => void;

/** Which function checks each keyword (keywords outside the list are ignored, as mongod's are rejected earlier). */
const FAILURES = new Map<string, KeywordFailures>([
  ...FAMILY_KEYS.scalar.map((k): [string, KeywordFailures] => [k, scalarFailures]),
  ...FAMILY_KEYS.array.map((k): [string, KeywordFailures] => [k, arrayFailures]),
  ...FAMILY_KEYS.object.map((k): [string, KeywordFailures] => [k, objectFailures]),
  ...FAMILY_KEYS.propertyRule.map((k): [string, KeywordFailures] => [k, propertyRuleFailures]),
  ...FAMILY_KEYS.combinator.map((k): [string, KeywordFailures] => [k, combinatorFailures]),
]);
