import { Injectable } from '@nestjs/common';
import { DatabaseService } from '@odtp/database';
import { IntegrityService, parseOrphans } from '@odtp/integrity';
import type { OrphanPolicy, RepairRun } from '@odtp/integrity';
import type { CollectionName } from '@odtp/schema';
import { Command, Option, SubCommand } from 'nest-commander';
import { CliError, CommandGroup, parsePositiveInt } from '../cli-support';
import { JsonDatabaseCommand, print } from '../database-command';
import type { DatabaseOptions } from '../database-command';
import { printInterrupted } from './audit.command';

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

  protected override interrupt(): Promise<void> {
    return this.integrity.jobs.shutdown();
  }

  protected async repair(options: RepairFlags, dryRun: boolean): Promise<void> {
    if (!options.report)
      throw new CliError('--report ID is required (an audit report id: odtp-db audit prints it)', 2);
    let run: RepairRun;
    try {
      run = await this.integrity.repair(options.report, { dryRun, orphans: options.orphans });
    } catch (e) {
      if (printInterrupted(e, options.json)) return;
      throw e;
    }
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
  parseOrphans(v: string): Partial<Record<CollectionName, OrphanPolicy>> {
    return parseOrphans(v, '--orphans');
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
  description:
    'Repair runs of every instance and process, newest first (running, done, failed, cancelled, interrupted, abandoned)',
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
        `${r.runId}  ${r.startedAt.toISOString()}  ${r.status.padEnd(11)} ${r.dryRun ? 'plan ' : 'apply'} report ${r.reportId}  ${r.progress.applied} applied${r.undoneAt ? '  undone' : ''}${r.error ? `  (${r.error})` : ''}`,
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
