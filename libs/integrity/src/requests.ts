import type { ReadPreferenceMode } from 'mongodb';
import { AUDIT_MODES } from '@odtp/config';
import type { AuditMode } from '@odtp/config';
import { COLLECTION_NAMES } from '@odtp/schema';
import type { CollectionName } from '@odtp/schema';
import { IntegrityError, IntegrityErrorCode } from './errors';
import { CHECKS, FAIL_ON_LEVELS } from './findings';
import type { AuditSummary, CheckName, FailOn } from './findings';
import { ORPHAN_POLICIES } from './repair-rules';
import type { OrphanPolicy } from './repair-rules';

/*
 * The one parser of each request, whichever door it comes through: the API's DTOs declare the same limits (for
 * Swagger and a first 400) and the service parses again; the CLI parses its flags here. Errors name the field as
 * the caller knows it (`batchSize` in the API, `--batch-size` in the CLI).
 */

/** The limits and defaults of an audit's tuning. */
export const AUDIT_LIMITS = {
  /** Reference values resolved per `$in` query. */
  batchSize: { min: 1, max: 10_000, default: 1000 },
  /** Sample ids kept per finding. */
  sampleLimit: { min: 0, max: 1000, default: 20 },
} as const;

export const READ_PREFERENCES = [
  'primary',
  'primaryPreferred',
  'secondary',
  'secondaryPreferred',
  'nearest',
] as const satisfies readonly ReadPreferenceMode[];

/** An audit as asked, within the limits, defaults applied. */
export interface AuditRequest {
  /** Checks to run (default all). */
  checks?: CheckName[];
  batchSize: number;
  sampleLimit: number;
  readPreference?: ReadPreferenceMode;
  /** full (default) or incremental: what changed since the last complete audit (a full one when it cannot). */
  mode?: AuditMode;
}

/** An audit as a caller sends it (a DTO, parsed CLI flags): anything, checked by parseAuditRequest. */
export interface AuditRequestInput {
  checks?: unknown;
  batchSize?: unknown;
  sampleLimit?: unknown;
  readPreference?: unknown;
  mode?: unknown;
}

/** What a caller calls each field (the API's property names unless given). */
export type FieldNames<T> = Partial<Record<keyof T, string>>;

const invalid = (message: string): IntegrityError =>
  new IntegrityError(IntegrityErrorCode.InvalidRequest, message);

const shown = (v: unknown): string => (typeof v === 'string' ? `"${v.slice(0, 60)}"` : JSON.stringify(v));

/** An integer within `limits` (a number, or a string of digits as a flag gives it). */
export function parseLimit(field: keyof typeof AUDIT_LIMITS, value: unknown, name: string = field): number {
  const { min, max } = AUDIT_LIMITS[field];
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    throw invalid(`${name} must be an integer from ${min} to ${max} (got ${shown(value)})`);
  return n;
}

/** Checks from a list or a comma-separated string; each must be known, none twice. */
export function parseChecks(value: unknown, name = 'checks'): CheckName[] {
  const list = typeof value === 'string' ? value.split(',').map((c) => c.trim()) : value;
  if (!Array.isArray(list) || list.length === 0)
    throw invalid(`${name} must be a non-empty list of checks (available: ${CHECKS.join(', ')})`);
  const unknown = list.filter((c) => !(CHECKS as readonly unknown[]).includes(c));
  if (unknown.length)
    throw invalid(
      `unknown check(s) ${unknown.map(shown).join(', ')} in ${name} (available: ${CHECKS.join(', ')})`,
    );
  if (new Set(list).size !== list.length) throw invalid(`${name} names a check twice`);
  return list as CheckName[];
}

function parseChoice<T extends string>(value: unknown, choices: readonly T[], name: string): T {
  if (!(choices as readonly unknown[]).includes(value))
    throw invalid(`${name} must be one of ${choices.join(', ')} (got ${shown(value)})`);
  return value as T;
}

export function parseReadPreference(value: unknown, name = 'readPreference'): ReadPreferenceMode {
  return parseChoice(value, READ_PREFERENCES, name);
}

/** The audit to run: every field checked, defaults applied. */
export function parseAuditRequest(
  input: AuditRequestInput,
  names: FieldNames<AuditRequestInput> = {},
): AuditRequest {
  const request: AuditRequest = {
    batchSize:
      input.batchSize === undefined
        ? AUDIT_LIMITS.batchSize.default
        : parseLimit('batchSize', input.batchSize, names.batchSize),
    sampleLimit:
      input.sampleLimit === undefined
        ? AUDIT_LIMITS.sampleLimit.default
        : parseLimit('sampleLimit', input.sampleLimit, names.sampleLimit),
  };
  if (input.checks !== undefined) request.checks = parseChecks(input.checks, names.checks);
  if (input.readPreference !== undefined)
    request.readPreference = parseReadPreference(input.readPreference, names.readPreference);
  if (input.mode !== undefined) request.mode = parseChoice(input.mode, AUDIT_MODES, names.mode ?? 'mode');
  if (request.mode === 'incremental' && request.checks)
    throw invalid(`an incremental audit runs every check (leave out ${names.checks ?? 'checks'})`);
  return request;
}

/** From which severity on an audit fails a pipeline: error (default), warning, never. */
export function parseFailOn(value: unknown, name = 'failOn'): FailOn {
  return parseChoice(value, FAIL_ON_LEVELS, name);
}

/** The violations that fail a pipeline at `failOn` (exit 3 when more than 0). */
export function failingViolations(
  summary: Pick<AuditSummary, 'errors' | 'warnings'>,
  failOn: FailOn,
): number {
  if (failOn === 'never') return 0;
  return failOn === 'error' ? summary.errors : summary.errors + summary.warnings;
}

/** A repair as asked: a plan unless `dryRun` is false, and what to do with orphans per collection. */
export interface RepairRequest {
  dryRun: boolean;
  orphans?: Partial<Record<CollectionName, OrphanPolicy>>;
}

export interface RepairRequestInput {
  dryRun?: unknown;
  orphans?: unknown;
}

/** Orphan policies from an object or `collection=policy,…` (the CLI's form). */
export function parseOrphans(
  value: unknown,
  name = 'orphans',
): Partial<Record<CollectionName, OrphanPolicy>> {
  const pairs: [string, unknown][] =
    typeof value === 'string'
      ? value.split(',').map((part) => {
          const [c, p] = part.split('=');
          return [c, p];
        })
      : typeof value === 'object' && value !== null && !Array.isArray(value)
        ? Object.entries(value)
        : [];
  if (!pairs.length)
    throw invalid(
      `${name} must map collections to ${ORPHAN_POLICIES.join(', ')}, e.g. outputs=keep,logs=delete`,
    );
  const out: Partial<Record<CollectionName, OrphanPolicy>> = {};
  for (const [c, p] of pairs) {
    if (
      !(COLLECTION_NAMES as readonly string[]).includes(c) ||
      !(ORPHAN_POLICIES as readonly unknown[]).includes(p)
    )
      throw invalid(
        `${name} expects collection=${ORPHAN_POLICIES.join('|')} pairs for the collections ${COLLECTION_NAMES.join(', ')} (got ${shown(`${c}=${String(p)}`)})`,
      );
    out[c as CollectionName] = p as OrphanPolicy;
  }
  return out;
}

export function parseRepairRequest(
  input: RepairRequestInput,
  names: FieldNames<RepairRequestInput> = {},
): RepairRequest {
  if (input.dryRun !== undefined && typeof input.dryRun !== 'boolean')
    throw invalid(`${names.dryRun ?? 'dryRun'} must be true or false`);
  return {
    dryRun: input.dryRun ?? true,
    ...(input.orphans !== undefined ? { orphans: parseOrphans(input.orphans, names.orphans) } : {}),
  };
}
