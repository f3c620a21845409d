import { Inject } from '@nestjs/common';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DatabaseService } from '@odtp/database';
import {
  AUDIT_LIMITS,
  CHECKS,
  failingViolations,
  IntegrityError,
  IntegrityErrorCode,
  IntegrityService,
  JOB_STATUSES,
  parseChecks,
  parseFailOn,
  parseLimit,
  parseReadPreference,
  READ_PREFERENCES,
  toJunit,
} from '@odtp/integrity';
import type { AuditReport, AuditRun, CheckName, FailOn, JobStatus } from '@odtp/integrity';
import type { ReadPreferenceMode } from 'mongodb';
import { Command, Option, SubCommand } from 'nest-commander';
import { CliError, parseChoice, parsePositiveInt } from '../cli-support';
import { JsonDatabaseCommand, print } from '../database-command';
import type { DatabaseOptions } from '../database-command';

interface AuditFlags extends DatabaseOptions {
  checks?: CheckName[];
  junit?: string;
  html?: string;
  failOn?: FailOn;
  batchSize?: number;
  samples?: number;
  readPreference?: ReadPreferenceMode;
  since?: 'last';
}

function reportText(report: AuditReport): string {
  const rows = report.findings
    .filter((f) => f.violations > 0)
    .map((f) => [
      f.severity,
      f.check,
      `${f.collection}.${f.path}`,
      String(f.violations),
      f.samples.slice(0, 3).map(String).join(', '),
    ]);
  const lines: string[] = [];
  if (rows.length) {
    const header = ['severity', 'check', 'where', 'violations', 'samples'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd();
    lines.push(line(header), ...rows.map(line));
  }
  for (const f of report.findings.filter((x) => x.violations > 0 && x.note))
    lines.push(`note on ${f.check} ${f.collection}.${f.path}: ${f.note}`);
  const backlog = report.upgrade?.backlog ?? [];
  if (backlog.length)
    lines.push(
      `upgrade backlog (not findings; odtp-db upgrade plan): ${backlog
        .map(
          (b) =>
            `${b.collection}.${b.path} ${b.values} ${b.form === 'both' ? 'both-forms pairs' : 'id strings'}`,
        )
        .join(', ')}`,
    );
  const c = report.coverage;
  if (c?.mode === 'incremental')
    lines.push(
      `incremental since audit ${c.base}: ${c.events} change event(s), ${c.changed} changed and ${c.deleted} deleted document(s), ${c.checked} checked${c.orphansRechecked ? `, orphans of ${c.orphansRechecked.join(', ')} checked in full` : ''}; every other violation carried over`,
    );
  else if (c?.fullBecause) lines.push(`full audit: ${c.fullBecause}`);
  lines.push(
    `audit ${report.id} (application ${report.app}): ${report.summary.errors} error(s), ${report.summary.warnings} warning(s) in ${report.summary.scanned} document(s); ${report.findings.length} findings, ${report.findings.filter((f) => f.violations > 0).length} with violations`,
  );
  return lines.join('\n');
}

/** A file to write after the audit: its folder must exist now, not after a long audit. */
function outputFile(file: string, flag: string): string {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new CliError(`${flag}: the folder ${dir} does not exist`, 2);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory())
    throw new CliError(`${flag}: ${file} is a folder`, 2);
  return file;
}

/** A run stopped by Ctrl-C or SIGTERM: said plainly (JSON on stdout with --json), exit 0 (nothing half-written). */
export function printInterrupted(e: unknown, json: boolean | undefined): boolean {
  if (!(e instanceof IntegrityError) || e.code !== IntegrityErrorCode.Interrupted) return false;
  if (json) print(JSON.stringify({ status: 'interrupted', ...e.details, error: e.message }, null, 2));
  else process.stderr.write(`odtp-db: ${e.message}\n`);
  process.exitCode = 0;
  return true;
}

/** The run as one line of `audit list`. */
function runLine(r: AuditRun): string {
  const progress =
    r.status === 'done' && r.summary
      ? `${r.summary.errors} error(s), ${r.summary.warnings} warning(s)`
      : `${r.progress?.scanned ?? 0} read${r.progress?.collection ? ` (${r.progress.collection})` : ''}`;
  const where = r.instance?.host ? ` on ${r.instance.host}` : '';
  return `${r.id}  ${r.startedAt.toISOString()}  ${r.status.padEnd(11)} ${(r.trigger ?? '').padEnd(8)} ${progress}${where}${r.error ? `  (${r.error})` : ''}`;
}

interface AuditListFlags extends DatabaseOptions {
  limit?: number;
  status?: JobStatus;
}

@SubCommand({
  name: 'list',
  description:
    'Audit runs of every instance and process, newest first: running (with progress), done, failed, cancelled, interrupted, abandoned',
})
export class AuditListCommand extends JsonDatabaseCommand<AuditListFlags> {
  constructor(
    database: DatabaseService,
    private readonly integrity: IntegrityService,
  ) {
    super(database);
  }

  protected async execute(_p: string[], options: AuditListFlags): Promise<void> {
    const page = await this.integrity.list(1, options.limit ?? 20, options.status);
    // `audit` has a --json of its own, which commander gives it even when written after `list`
    const json = options.json ?? this.command.parent?.opts<AuditFlags>().json === true;
    if (json) return print(JSON.stringify(page, null, 2));
    if (!page.items.length) return print('no audit runs');
    for (const r of page.items) print(runLine(r));
  }

  @Option({ flags: '--limit <n>', description: 'how many runs (default 20, at most 100)' })
  parseLimit(v: string): number {
    const n = parsePositiveInt(v, '--limit');
    if (n > 100) throw new CliError('--limit is at most 100', 2);
    return n;
  }

  @Option({ flags: '--status <status>', description: `only runs in this state (${JOB_STATUSES.join(', ')})` })
  parseStatus(v: string): JobStatus {
    return parseChoice(v, JOB_STATUSES, '--status');
  }
}

@Command({
  name: 'audit',
  description:
    'Audit references, two-way links, orphans, duplicates and schema violations (exit 0 clean, 3 findings at or above --fail-on, 1 failure; Ctrl-C stops after the current batch, records the run as interrupted and exits 0); `audit list` shows the runs',
  subCommands: [AuditListCommand],
})
export class AuditCommand extends JsonDatabaseCommand<AuditFlags> {
  constructor(
    database: DatabaseService,
    private readonly integrity: IntegrityService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super(database);
  }

  protected override interrupt(): Promise<void> {
    return this.integrity.jobs.shutdown();
  }

  protected async execute(_p: string[], options: AuditFlags): Promise<void> {
    const progress = process.stderr.isTTY && !options.json;
    let report: AuditReport;
    try {
      // the same audit as the API's and the schedule's: a job under the integrity lease, stored in integrityReports
      report = await this.integrity.audit(
        {
          checks: options.checks,
          batchSize: options.batchSize,
          sampleLimit: options.samples,
          readPreference: options.readPreference,
          mode: options.since ? 'incremental' : 'full',
        },
        {
          names: { checks: '--checks', mode: '--since', batchSize: '--batch-size', sampleLimit: '--samples' },
          onProgress: progress
            ? (collection, n) =>
                process.stderr.write(`\r\x1b[Kauditing ${collection}: ${n.toLocaleString('en-US')} documents`)
            : undefined,
        },
      );
    } catch (e) {
      if (progress) process.stderr.write('\r\x1b[K');
      if (printInterrupted(e, options.json)) return;
      throw e;
    }
    if (progress) process.stderr.write('\r\x1b[K');
    if (options.junit) fs.writeFileSync(options.junit, toJunit(report));
    if (options.html)
      fs.writeFileSync(
        options.html,
        await this.integrity.htmlReport(report.id, { apiBase: this.config.adminPublicUrl }),
      );
    // Plain JSON, as the API answers: ids as hex strings, dates as ISO strings.
    print(options.json ? JSON.stringify(report, null, 2) : reportText(report));
    if (failingViolations(report.summary, options.failOn ?? 'error') > 0) process.exitCode = 3;
  }

  @Option({
    flags: '--checks <list>',
    description: `comma-separated checks (default all: ${CHECKS.join(', ')})`,
  })
  parseChecks(v: string): CheckName[] {
    return parseChecks(v, '--checks');
  }

  @Option({ flags: '--junit <file>', description: 'also write JUnit XML (one testcase per finding)' })
  parseJunit(v: string): string {
    return outputFile(v, '--junit');
  }

  @Option({
    flags: '--html <file>',
    description:
      'also write the report as one self-contained HTML page (reference graph, trend, findings with samples)',
  })
  parseHtml(v: string): string {
    return outputFile(v, '--html');
  }

  @Option({
    flags: '--fail-on <level>',
    description: 'exit 3 when findings of this severity or above exist: error (default), warning, never',
  })
  parseFailOn(v: string): FailOn {
    return parseFailOn(v, '--fail-on');
  }

  @Option({
    flags: '--batch-size <n>',
    description: `reference values resolved per $in query (${AUDIT_LIMITS.batchSize.min}..${AUDIT_LIMITS.batchSize.max}, default ${AUDIT_LIMITS.batchSize.default})`,
  })
  parseBatchSize(v: string): number {
    return parseLimit('batchSize', v, '--batch-size');
  }

  @Option({
    flags: '--samples <n>',
    description: `sample ids kept per finding (${AUDIT_LIMITS.sampleLimit.min}..${AUDIT_LIMITS.sampleLimit.max}, default ${AUDIT_LIMITS.sampleLimit.default})`,
  })
  parseSamples(v: string): number {
    return parseLimit('sampleLimit', v, '--samples');
  }

  @Option({
    flags: '--since <last>',
    description:
      'incremental: audit only what changed since the last complete audit (its violations carried over where nothing changed); a full audit when it cannot, saying why',
  })
  parseSince(v: string): 'last' {
    if (v !== 'last')
      throw new CliError(`--since must be "last" (the last complete audit), got "${v.slice(0, 60)}"`, 2);
    return v;
  }

  @Option({
    flags: '--read-preference <mode>',
    description: `read preference (${READ_PREFERENCES.join(', ')})`,
  })
  parseReadPreference(v: string): ReadPreferenceMode {
    return parseReadPreference(v, '--read-preference');
  }
}
