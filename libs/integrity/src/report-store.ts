import { EJSON } from 'bson';
import type { Document } from 'bson';
import type { Collection, Db } from 'mongodb';
import type { AuditReport, CheckName, Finding } from './findings';

export const REPORTS_COLLECTION = 'integrityReports';

export interface Page<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
}

type StoredReport = Omit<AuditReport, 'id'> & { _id: string };

/** Audit reports in `integrityReports`, newest first, keeping the last `retention` (default 100). */
export class ReportStore {
  private readonly coll: Collection<StoredReport>;

  constructor(
    db: Db,
    private readonly retention = 100,
  ) {
    this.coll = db.collection<StoredReport>(REPORTS_COLLECTION);
  }

  async save(report: AuditReport): Promise<void> {
    const { id, ...rest } = report;
    await this.coll.insertOne({ _id: id, ...rest });
    const old = await this.coll
      .find({}, { projection: { _id: 1 }, sort: { startedAt: -1, _id: -1 }, skip: this.retention })
      .toArray();
    if (old.length) await this.coll.deleteMany({ _id: { $in: old.map((o) => o._id) } });
  }

  private static toReport(doc: StoredReport): AuditReport {
    const { _id, ...rest } = doc;
    return { id: _id, ...rest };
  }

  async get(id: string): Promise<AuditReport | null> {
    const doc = await this.coll.findOne({ _id: id });
    return doc ? ReportStore.toReport(doc) : null;
  }

  async latest(): Promise<AuditReport | null> {
    const doc = await this.coll.findOne({}, { sort: { startedAt: -1, _id: -1 } });
    return doc ? ReportStore.toReport(doc) : null;
  }

  /** The report before the given one (for "new since the previous report"). */
  async previous(report: AuditReport): Promise<AuditReport | null> {
    const doc = await this.coll.findOne(
      { startedAt: { $lt: report.startedAt } },
      { sort: { startedAt: -1, _id: -1 } },
    );
    return doc ? ReportStore.toReport(doc) : null;
  }

  /**
   * Errors and warnings per check of the last `limit` reports that started no later than `until`, oldest first
   * (the trend of an HTML report).
   */
  async trend(until: Date, limit = 20): Promise<TrendPoint[]> {
    const docs = await this.coll
      .find(
        { startedAt: { $lte: until } },
        {
          projection: {
            startedAt: 1,
            summary: 1,
            'findings.check': 1,
            'findings.severity': 1,
            'findings.violations': 1,
          },
          sort: { startedAt: -1, _id: -1 },
          limit,
        },
      )
      .toArray();
    return docs.reverse().map((d) => trendPoint({ ...ReportStore.toReport(d), findings: d.findings ?? [] }));
  }

  /** Reports without their findings (summaries), newest first. */
  async list(page: number, pageSize: number): Promise<Page<Omit<AuditReport, 'findings'>>> {
    const total = await this.coll.countDocuments();
    const docs = await this.coll
      .find(
        {},
        {
          projection: { findings: 0 },
          sort: { startedAt: -1, _id: -1 },
          skip: (page - 1) * pageSize,
          limit: pageSize,
        },
      )
      .toArray();
    return {
      items: docs.map(({ _id, ...summary }) => ({ id: _id, ...summary })),
      page,
      pageSize,
      total,
    };
  }
}

/** One report in a trend: its totals and, per check, the violations by severity. */
export interface TrendPoint {
  id: string;
  startedAt: Date;
  errors: number;
  warnings: number;
  byCheck: Partial<Record<CheckName, { errors: number; warnings: number }>>;
}

export function trendPoint(
  report: Pick<AuditReport, 'id' | 'startedAt' | 'summary' | 'findings'>,
): TrendPoint {
  const byCheck: TrendPoint['byCheck'] = {};
  for (const f of report.findings) {
    const c = (byCheck[f.check] ??= { errors: 0, warnings: 0 });
    if (f.severity === 'error') c.errors += f.violations;
    else c.warnings += f.violations;
  }
  return {
    id: report.id,
    startedAt: report.startedAt,
    errors: report.summary.errors,
    warnings: report.summary.warnings,
    byCheck,
  };
}

/** Findings of a report filtered by check and collection, paged. */
export function pageFindings(
  report: AuditReport,
  filter: { check?: CheckName; collection?: string },
  page: number,
  pageSize: number,
): Page<Finding> {
  const all = report.findings.filter(
    (f) =>
      (!filter.check || f.check === filter.check) &&
      (!filter.collection || f.collection === filter.collection),
  );
  return { items: all.slice((page - 1) * pageSize, page * pageSize), page, pageSize, total: all.length };
}

/** Findings present in `current` with more violations than in `previous` (or not there at all). */
export function newFindings(current: AuditReport, previous: AuditReport | null): Finding[] {
  const before = new Map(
    (previous?.findings ?? []).map((f) => [`${f.check}|${f.collection}|${f.path}`, f.violations]),
  );
  return current.findings.filter(
    (f) => f.violations > (before.get(`${f.check}|${f.collection}|${f.path}`) ?? 0),
  );
}

/** `s` safe inside XML or HTML text and attribute values. */
export function xml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** JUnit XML: one testcase per finding, a failure for each finding with violations. */
export function toJunit(report: AuditReport): string {
  const byCheck = new Map<string, Finding[]>();
  for (const f of report.findings) byCheck.set(f.check, [...(byCheck.get(f.check) ?? []), f]);
  const failures = report.findings.filter((f) => f.violations > 0).length;
  const seconds = (report.finishedAt.getTime() - report.startedAt.getTime()) / 1000;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="odtp-db audit ${xml(report.database)}" tests="${report.findings.length}" failures="${failures}" time="${seconds}">`,
  ];
  for (const [check, findings] of byCheck) {
    lines.push(
      `  <testsuite name="${xml(check)}" tests="${findings.length}" failures="${findings.filter((f) => f.violations).length}" timestamp="${report.startedAt.toISOString()}">`,
    );
    for (const f of findings) {
      const name = `${f.collection}.${f.path}${f.target ? ` -> ${f.target}` : ''}`;
      lines.push(
        `    <testcase classname="${xml(`${check}.${f.collection}`)}" name="${xml(name)}" time="${f.durationMs / 1000}">`,
      );
      if (f.violations)
        lines.push(
          `      <failure type="${xml(f.severity)}" message="${xml(`${f.violations} violation(s) in ${f.scanned} document(s)`)}">${xml(
            `samples: ${f.samples.map((s) => EJSON.stringify(s as Document)).join(', ')}`,
          )}</failure>`,
        );
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}
