import { ObjectId } from 'bson';
import { ObjectIdSet } from './id-set';
import type { AppLevel, AuditMode } from '@odtp/config';

export const CHECKS = [
  'dangling-reference',
  'type-drift',
  'query-mismatch',
  'broken-inverse',
  'orphan',
  'duplicate',
  'schema-violation',
] as const;
export type CheckName = (typeof CHECKS)[number];
export const SEVERITIES = ['error', 'warning'] as const;
export type Severity = (typeof SEVERITIES)[number];
/** From which severity on an audit fails a pipeline (`--fail-on`). */
export const FAIL_ON_LEVELS = ['error', 'warning', 'never'] as const;
export type FailOn = (typeof FAIL_ON_LEVELS)[number];

/**
 * Orphans are unreachable but not broken (ODTP reruns leave older outputs unlinked); everything else is an error,
 * except type drift where the configured application itself writes ids as strings (a warning: the strings are
 * what it reads; they are converted when it moves to the target schema).
 */
export const SEVERITY: Record<CheckName, Severity> = {
  'dangling-reference': 'error',
  'type-drift': 'error',
  'query-mismatch': 'error',
  'broken-inverse': 'error',
  orphan: 'warning',
  duplicate: 'error',
  'schema-violation': 'error',
};

/** One check on one edge (reference checks) or one collection (orphan, duplicate, schema checks). */
export interface Finding {
  check: CheckName;
  severity: Severity;
  collection: string;
  path: string;
  /** The referenced collection (and, for broken-inverse, the path that must point back). */
  target?: string;
  /** Documents of `collection` the check looked at. */
  scanned: number;
  violations: number;
  /** Distinct missing ids (dangling-reference). */
  distinctMissing?: number;
  /** `_id`s of offending documents, capped. */
  samples: unknown[];
  durationMs: number;
  /** Why the check did not run (it then reports 0 violations); absent when it ran. */
  skipped?: string;
  /** What the finding means for the application that runs on the database, when that changes its reading. */
  note?: string;
}

export interface AuditSummary {
  /** Violations in findings of severity error. */
  errors: number;
  /** Violations in findings of severity warning. */
  warnings: number;
  /** Documents read (each collection counted once). */
  scanned: number;
}

/**
 * Reference values at one path in a form the configured application (or a release beside it) writes that is not
 * the target's: `string`, an id string; `both`, the [ObjectId, id string] pair. Not findings: what an upgrade to
 * the target schema converts (see odtp-db upgrade plan).
 */
export interface BacklogCount {
  collection: string;
  path: string;
  form: 'string' | 'both';
  values: number;
}

/** Which mode ran and what it covered. */
export interface AuditCoverage {
  mode: AuditMode;
  /** Why a full audit ran where an incremental one was asked. */
  fullBecause?: string;
  /** Incremental: the report it started from (its violations carried over where nothing changed). */
  base?: string;
  /** Incremental: change events read since the base. */
  events?: number;
  /** Incremental: documents inserted, updated or replaced since the base. */
  changed?: number;
  /** Incremental: documents deleted since the base. */
  deleted?: number;
  /** Incremental: documents audited (the changed ones, their referrers, duplicate partners, listed children). */
  checked?: number;
  /** Incremental: child collections whose orphans were checked in full (a parent may have dropped one). */
  orphansRechecked?: string[];
  /** Incremental audits since the last full one (0 for a full audit). */
  sinceFull: number;
}

export interface AuditReport {
  id: string;
  /** The application level the audit respected (ODTP_APP or --app). */
  app: AppLevel;
  startedAt: Date;
  finishedAt: Date;
  database: string;
  summary: AuditSummary;
  findings: Finding[];
  /** Under an application level other than target: what is still in its forms (the upgrade backlog). */
  upgrade?: {
    backlog: BacklogCount[];
    /** An incremental audit carries the backlog of the full audit it descends from: that report's id. */
    asOf?: string;
  };
  /** Which mode ran and what it covered (absent in reports stored before audits had modes). */
  coverage?: AuditCoverage;
}

/** One offending value or document, as the scan meets it (repairs are planned from these). */
export interface Violation {
  check: CheckName;
  collection: string;
  path: string;
  target?: string;
  docId: unknown;
  /** The offending reference value, when there is one. */
  value?: unknown;
  detail?: string;
}

export function idKey(v: unknown): string {
  if (v instanceof ObjectId) return v.toHexString();
  return typeof v === 'string' ? `s:${v}` : JSON.stringify(v);
}

const DISTINCT_CAP = 1_000_000;

/** Accumulates findings: counts, capped samples, distinct missing ids. */
export class FindingCollector {
  private readonly findings = new Map<string, Finding>();
  private readonly sampleKeys = new Map<string, Set<string>>();
  /** Per dangling-reference finding, its distinct missing ids: ObjectIds packed, other values by key. */
  private readonly missing = new Map<string, { ids: ObjectIdSet; others: Set<string> }>();

  constructor(private readonly sampleLimit: number) {}

  /** Declare a finding (so it is reported with 0 violations when nothing is found). */
  declare(
    check: CheckName,
    collection: string,
    path: string,
    target?: string,
    severity: Severity = SEVERITY[check],
  ): Finding {
    const key = `${check}|${collection}|${path}`;
    let f = this.findings.get(key);
    if (!f) {
      f = {
        check,
        severity,
        collection,
        path,
        ...(target ? { target } : {}),
        scanned: 0,
        violations: 0,
        ...(check === 'dangling-reference' ? { distinctMissing: 0 } : {}),
        samples: [],
        durationMs: 0,
      };
      this.findings.set(key, f);
      this.sampleKeys.set(key, new Set());
    }
    return f;
  }

  find(check: CheckName, collection: string, path: string): Finding | undefined {
    return this.findings.get(`${check}|${collection}|${path}`);
  }

  add(v: Violation): void {
    const key = `${v.check}|${v.collection}|${v.path}`;
    const f = this.declare(v.check, v.collection, v.path, v.target);
    f.violations++;
    const seen = this.sampleKeys.get(key)!;
    const k = idKey(v.docId);
    if (f.samples.length < this.sampleLimit && !seen.has(k)) {
      seen.add(k);
      f.samples.push(v.docId);
    }
    if (v.check === 'dangling-reference' && v.value !== undefined) {
      let set = this.missing.get(key);
      if (!set) this.missing.set(key, (set = { ids: new ObjectIdSet(), others: new Set<string>() }));
      if (set.ids.size + set.others.size < DISTINCT_CAP) {
        if (v.value instanceof ObjectId) set.ids.add(v.value);
        else set.others.add(idKey(v.value));
      }
      f.distinctMissing = set.ids.size + set.others.size;
    }
  }

  all(): Finding[] {
    return [...this.findings.values()];
  }
}
