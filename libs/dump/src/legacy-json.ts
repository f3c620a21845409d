import { ObjectId } from 'bson';
import type { Document } from 'bson';

/**
 * Field names that hold references in any ODTP generation (current names and legacy ones such as `executionRed`,
 * steps' `component`, `dt_id`, `workflowSchema.components[].version`).
 */
export const REFERENCE_FIELDS: ReadonlySet<string> = new Set([
  'userRef',
  'digitalTwins',
  'digitalTwinRef',
  'dt_id',
  'executions',
  'executionRef',
  'executionRed',
  'steps',
  'stepRef',
  'versions',
  'componentId',
  'ComponentId',
  'component',
  'component_version',
  'component_versions',
  'version',
  'workflow_id',
  'output',
  'authorized_users',
]);

/** Fields that hold timestamps in any generation. */
export const DATE_FIELDS: ReadonlySet<string> = new Set([
  'created_at',
  'updated_at',
  'createdAt',
  'updatedAt',
  'timestamp',
  'start_timestamp',
  'end_timestamp',
]);

const HEX24 = /^[0-9a-fA-F]{24}$/;
// ISO 8601 or Python's str(datetime): "2023-12-06 07:07:49.633000", optionally with a zone.
const DATE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/;

/** A date string as a Date (naive times are UTC, as ODTP wrote them with utcnow); undefined when it is not one. */
export function parseLegacyDate(value: string): Date | undefined {
  const m = DATE.exec(value);
  if (!m) return undefined;
  const fraction = m[3] ? m[3].slice(0, 4).padEnd(4, '0') : '';
  const zone = m[4]
    ? m[4] === 'Z'
      ? 'Z'
      : m[4].length === 5
        ? `${m[4].slice(0, 3)}:${m[4].slice(3)}`
        : m[4]
    : 'Z';
  const d = new Date(`${m[1]}T${m[2]}${fraction}${zone}`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Where ids stay strings: the application that wrote the dump wrote them as strings there. */
export type KeepStringIds = (collection: string, path: string) => boolean;

interface Where {
  collection: string;
  keep: KeepStringIds;
}

function convert(value: unknown, field: string | undefined, path: string, where: Where): unknown {
  if (typeof value === 'string') {
    if (
      field !== undefined &&
      (field === '_id' || REFERENCE_FIELDS.has(field)) &&
      HEX24.test(value) &&
      (path === '_id' || !where.keep(where.collection, path))
    )
      return new ObjectId(value);
    if (field !== undefined && DATE_FIELDS.has(field)) return parseLegacyDate(value) ?? value;
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => convert(v, field, path, where));
  if (value && typeof value === 'object') {
    const out: Document = {};
    for (const [k, v] of Object.entries(value as Document))
      out[k] = convert(v, k, path ? `${path}.${k}` : k, where);
    return out;
  }
  return value;
}

/**
 * Turn a plain-JSON ODTP document (ids and dates written as strings) into BSON values: 24-hex strings in `_id` and
 * reference fields become ObjectIds, except where `keep` says the application wrote them as strings (ODTP 0.5
 * writes stepRef, userRef... as strings and queries them so), date strings become Dates.
 */
export function fromLegacyJson(doc: Document, collection = '', keep: KeepStringIds = () => false): Document {
  return convert(doc, undefined, '', { collection, keep }) as Document;
}
