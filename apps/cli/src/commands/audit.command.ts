import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DatabaseService } from '@odtp/database';
import { CHECKS, FAIL_ON_LEVELS, IntegrityService, ORPHAN_POLICIES, toJunit } from '@odtp/integrity';
import type { AuditReport, CheckName, FailOn, OrphanPolicy, RepairRun } from '@odtp/integrity';
import { COLLECTION_NAMES } from '@odtp/schema';
import type { CollectionName } from '@odtp/schema';
import type { ReadPreferenceMode } from 'mongodb';
import { Command, Option, SubCommand } from 'nest-commander';
import { CliError, parseChoice, parsePositiveInt, CommandGroup } from '../cli-support';
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
}

const READ_PREFERENCES = [
  'primary',
  'primaryPreferred',
  'secondary',
  'secondaryPreferred',
  'nearest',
] as const satisfies readonly ReadPreferenceMode[];

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

@Command({
  name: 'audit',
  description:
    'Audit references, two-way links, orphans, duplicates and schema violations (exit 0 clean, 3 findings at or above --fail-on, 1 failure)',
})
export class AuditCommand extends JsonDatabaseCommand<AuditFlags> {
  constructor(
    database: DatabaseService,
    private readonly integrity: IntegrityService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super(database);
  }

  protected async execute(_p: string[], options: AuditFlags): Promise<void> {
    const progress = process.stderr.isTTY && !options.json;
    // the same audit as the API's and the schedule's: under the integrity lease, stored in integrityReports
    const report = await this.integrity.audit({
      checks: options.checks,
      batchSize: options.batchSize,
      sampleLimit: options.samples,
      readPreference: options.readPreference,
      onProgress: progress
        ? (collection, n) =>
            process.stderr.write(`\r\x1b[Kauditing ${collection}: ${n.toLocaleString('en-US')} documents`)
        : undefined,
    });
    if (progress) process.stderr.write('\r\x1b[K');
    if (options.junit) fs.writeFileSync(options.junit, toJunit(report));
    if (options.html)
      fs.writeFileSync(
        options.html,
        await this.integrity.htmlReport(report.id, { apiBase: this.config.adminPublicUrl }),
      );
    // Plain JSON, as the API answers: ids as hex strings, dates as ISO strings.
    print(options.json ? JSON.stringify(report, null, 2) : reportText(report));
    const failOn = options.failOn ?? 'error';
    const failing =
      failOn === 'never'
        ? 0
        : failOn === 'error'
          ? report.summary.errors
          : report.summary.errors + report.summary.warnings;
    if (failing > 0) process.exitCode = 3;
  }

  @Option({
    flags: '--checks <list>',
    description: `comma-separated checks (default all: ${CHECKS.join(', ')})`,
  })
  parseChecks(v: string): CheckName[] {
    const list = v.split(',').map((c) => c.trim());
    const unknown = list.filter((c) => !(CHECKS as readonly string[]).includes(c));
    if (unknown.length)
      throw new CliError(`unknown check(s) ${unknown.join(', ')} (available: ${CHECKS.join(', ')})`, 2);
    return list as CheckName[];
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
    return parseChoice(v, FAIL_ON_LEVELS, '--fail-on');
  }

  @Option({
    flags: '--batch-size <n>',
    description: 'reference values resolved per $in query (default 1000)',
  })
  parseBatchSize(v: string): number {
    return parsePositiveInt(v, '--batch-size');
  }

  @Option({ flags: '--samples <n>', description: 'sample ids kept per finding (default 20)' })
  parseSamples(v: string): number {
    return parsePositiveInt(v, '--samples');
  }

  @Option({
    flags: '--read-preference <mode>',
    description: `read preference (${READ_PREFERENCES.join(', ')})`,
  })
  parseReadPreference(v: string): ReadPreferenceMode {
    return parseChoice(v, READ_PREFERENCES, '--read-preference');
  }
}

interface RepairFlags extends DatabaseOptions {
  report?: string;
  yes?: boolean;
  orphans?: Partial<Record<CollectionName, OrphanPolicy>>;
}

function runText(run: RepairRun): string {
  const lines: string[] = [];
  run.rounds.forEach((actions, i) => {
    lines.push(`round ${i + 1}: ${actions.length} action(s)`);
    for (const a of actions)
      lines.push(
        `  ${a.kind.padEnd(10)} ${a.collection} ${String(a.docId)}${a.path ? ` ${a.path}` : ''}: ${a.reason}`,
      );
  });
  for (const s of run.skipped) lines.push(`  left to you: ${s.collection} ${String(s.docId)}: ${s.reason}`);
  lines.push(
    run.dryRun
      ? `dry run: nothing changed (apply with --yes)`
      : `run ${run.runId}: ${run.applied} change(s) applied and journaled; ${run.remainingErrors} error(s) left (undo: odtp-db repair undo ${run.runId})`,
  );
  return lines.join('\n');
}

// Injectable: emits the constructor's parameter types, which the commands extending it inherit.
@Injectable()
abstract class RepairCommandBase extends JsonDatabaseCommand<RepairFlags> {
  constructor(
    database: DatabaseService,
    protected readonly integrity: IntegrityService,
  ) {
    super(database);
  }

  protected async repair(options: RepairFlags, dryRun: boolean): Promise<void> {
    if (!options.report)
      throw new CliError('--report ID is required (an audit report id: odtp-db audit prints it)', 2);
    const run = await this.integrity.repair(options.report, { dryRun, orphans: options.orphans });
    print(options.json ? JSON.stringify(run, null, 2) : runText(run));
  }

  @Option({ flags: '--report <id>', description: 'the audit report to repair from' })
  parseReport(v: string): string {
    return v;
  }

  @Option({
    flags: '--orphans <policies>',
    description: 'orphan policy per collection, e.g. outputs=keep,logs=delete (default quarantine)',
  })
  parseOrphans(v: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const part of v.split(',')) {
      const [c, p] = part.split('=');
      if (
        !(COLLECTION_NAMES as readonly string[]).includes(c) ||
        !(ORPHAN_POLICIES as readonly string[]).includes(p)
      )
        throw new CliError(
          `--orphans expects collection=${ORPHAN_POLICIES.join('|')} pairs (got "${part}")`,
          2,
        );
      out[c] = p;
    }
    return out;
  }
}

@SubCommand({ name: 'plan', description: 'List one action per violation of the report (changes nothing)' })
export class RepairPlanCommand extends RepairCommandBase {
  protected async execute(_p: string[], options: RepairFlags): Promise<void> {
    await this.repair(options, true);
  }
}

@SubCommand({
  name: 'apply',
  description: 'Apply the repairs (a dry run unless --yes); before-images go to repairJournal',
})
export class RepairApplyCommand extends RepairCommandBase {
  protected async execute(_p: string[], options: RepairFlags): Promise<void> {
    await this.repair(options, !options.yes);
  }

  @Option({ flags: '--yes', description: 'really change the database' })
  parseYes(): boolean {
    return true;
  }
}

interface UndoFlags extends DatabaseOptions {
  force?: boolean;
}

@SubCommand({
  name: 'undo',
  arguments: '<runId>',
  description:
    'Restore the documents a repair run changed, where each is still as the run left it (exit 2 listing the conflicts otherwise)',
})
export class RepairUndoCommand extends JsonDatabaseCommand<UndoFlags> {
  constructor(
    database: DatabaseService,
    private readonly integrity: IntegrityService,
  ) {
    super(database);
  }

  protected async execute([runId]: string[], options: UndoFlags): Promise<void> {
    const r = await this.integrity.undo(runId, { force: options.force ?? false });
    const forced = r.conflicts.length ? `, ${r.conflicts.length} of them changed since the run (forced)` : '';
    print(options.json ? JSON.stringify(r) : `restored ${r.restored} document(s) of run ${runId}${forced}`);
  }

  @Option({
    flags: '--force',
    description: 'restore documents changed since the run too (their later changes are lost)',
  })
  parseForce(): boolean {
    return true;
  }
}

interface ListFlags extends DatabaseOptions {
  limit?: number;
}

@SubCommand({
  name: 'list',
  description: 'Repair runs, newest first (API, CLI; interrupted ones show failed)',
})
export class RepairListCommand extends JsonDatabaseCommand<ListFlags> {
  constructor(
    database: DatabaseService,
    private readonly integrity: IntegrityService,
  ) {
    super(database);
  }

  protected async execute(_p: string[], options: ListFlags): Promise<void> {
    const page = await this.integrity.listRepairs(1, options.limit ?? 20);
    if (options.json) return print(JSON.stringify(page, null, 2));
    if (!page.items.length) return print('no repair runs');
    for (const r of page.items)
      print(
        `${r.runId}  ${r.startedAt.toISOString()}  ${r.status.padEnd(9)} ${r.dryRun ? 'plan ' : 'apply'} report ${r.reportId}  ${r.progress.applied} applied${r.undoneAt ? '  undone' : ''}${r.error ? `  (${r.error})` : ''}`,
      );
  }

  @Option({ flags: '--limit <n>', description: 'how many runs (default 20, at most 100)' })
  parseLimit(v: string): number {
    const n = parsePositiveInt(v, '--limit');
    if (n > 100) throw new CliError('--limit is at most 100', 2);
    return n;
  }
}

@Command({
  name: 'repair',
  description: 'Plan, apply (journaled), list and undo repairs of an audit report',
  subCommands: [RepairPlanCommand, RepairApplyCommand, RepairUndoCommand, RepairListCommand],
})
export class RepairCommand extends CommandGroup {}
